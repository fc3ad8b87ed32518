"""`reid train` and `reid evaluate`: one training phase, one evaluation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from reid import paths
from reid.commands.base import (
    add_config_args,
    add_runtime_args,
    command,
    config_task,
    json_arg,
    load_cli_config,
    runtime_from,
)
from reid.io import write_json


def _train_args(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser)
    add_runtime_args(parser)
    parser.add_argument("--spec", type=json_arg, help="a run spec as JSON or @file (rules use it)")
    parser.add_argument("--phase", type=int, help="phase of the config's main run to train")
    parser.add_argument("--run-dir", type=Path, help="run folder (default results/runs/<hash>)")
    parser.add_argument("--runs-root", type=Path, default=Path(paths.runs_root()))


@command("train", "train one phase (resuming from its last checkpoint)", _train_args)
def train(args: argparse.Namespace) -> int:
    from reid.engine import run_phase
    from reid.runs import is_complete, main_chain, run_hash, run_lock

    config: dict[str, Any] | None = None
    if args.spec is not None:
        spec = args.spec
    else:
        config = load_cli_config(args)
        if args.phase is None:
            raise SystemExit("reid train: give --spec or --phase")
        if args.amp:  # the precision is part of the run: it names another run folder
            config["train"]["amp"] = args.amp
        spec = main_chain(config)[args.phase - 1]
    run_dir = args.run_dir or args.runs_root / run_hash(spec)
    with run_lock(run_dir):
        if is_complete(run_dir):
            print(f"{run_dir}: already trained, reused")
            return 0
        metrics = run_phase(spec, run_dir, runtime_from(args, config), run_root=args.runs_root)
    print(json.dumps(metrics, indent=2))
    return 0


def _evaluate_args(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser)
    add_runtime_args(parser)
    parser.add_argument("--model", type=Path, required=True, help="a run's model.pt")
    parser.add_argument("--task", help="task name from the config")
    parser.add_argument("--task-json", type=json_arg, help="a spec task entry (rules use it)")
    parser.add_argument("--task-index", type=int, help="index of the task's pipeline")
    parser.add_argument(
        "--tasks-json",
        type=json_arg,
        help='several tasks in one job (rules use it): [{"index": i, "task": entry}, ...]; '
        'writes {"tasks": {name: metrics}}',
    )
    parser.add_argument("--eval-json", type=json_arg, help="the evaluation section as JSON")
    parser.add_argument("--features", help="override the feature source (task, base, mean:0,1…)")
    parser.add_argument("--out", type=Path, help="write the metrics JSON here")


@command(
    "evaluate", "evaluate a trained model on a task (Rank-k, mAP) and write JSON", _evaluate_args
)
def evaluate(args: argparse.Namespace) -> int:
    from reid.engine.evaluate import evaluate_run

    config: dict[str, Any] | None = None
    if args.tasks_json is not None:
        return _evaluate_tasks(args)
    if args.task_json is not None:
        task, index, evaluation = args.task_json, args.task_index, args.eval_json
    else:
        config = load_cli_config(args)
        index, task = config_task(config, args.task, "evaluate")
        evaluation = config["evaluation"]
    evaluation = dict(evaluation)
    if args.features:
        evaluation["features"] = args.features
    result = evaluate_run(args.model, task, index, evaluation, runtime_from(args, config))
    text = json.dumps({k: v for k, v in result.items() if k != "cmc"}, indent=2)
    print(text)
    if args.out:
        write_json(args.out, result)
    return 0


def _evaluate_tasks(args: argparse.Namespace) -> int:
    """Every task of `--tasks-json` with one loaded model, in one process (one job per run)."""
    from reid.engine.evaluate import evaluate_run
    from reid.engine.trainer import load_model

    evaluation = dict(args.eval_json or {})
    if args.features:
        evaluation["features"] = args.features
    runtime = runtime_from(args, None)
    model, _ = load_model(args.model)
    results = {}
    for item in args.tasks_json:
        task = item["task"]
        result = evaluate_run(args.model, task, item["index"], evaluation, runtime, model=model)
        results[task["name"]] = result
        summary = {k: v for k, v in result.items() if k != "cmc"}
        print(json.dumps({"task": task["name"], **summary}))
    if args.out:
        write_json(args.out, {"model": str(args.model), "tasks": results})
    return 0
