"""`reid ranklist`: the top-10 gallery images of fixed task queries for a trained model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reid.commands.base import (
    add_config_args,
    add_runtime_args,
    command,
    config_task,
    json_arg,
    load_cli_config,
    runtime_from,
)
from reid.errors import ConfigError
from reid.io import write_bytes, write_json


def _ranklist_args(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser)
    add_runtime_args(parser)
    parser.add_argument("--model", type=Path, required=True, help="a run's model.pt")
    parser.add_argument("--task", help="task name from the config")
    parser.add_argument(
        "--settings",
        type=json_arg,
        help="JSON (or @file) with task, evaluation, label, phase, seed (rules use it; "
        "replaces --config/--task and the options below)",
    )
    parser.add_argument("--queries", type=int, default=8, help="number of queries (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the query choice")
    parser.add_argument("--top", type=int, default=10, help="gallery images per query")
    parser.add_argument("--label", default="", help="what the report calls this list")
    parser.add_argument("--phase", type=int, default=None, help="phase after which the model is")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write (JSON beside it)")


def _settings(value: Any) -> dict[str, Any]:
    missing = [k for k in ("task", "evaluation") if not isinstance(value, dict) or k not in value]
    if missing:
        raise ConfigError(f"reid ranklist --settings: give a JSON object with {', '.join(missing)}")
    return value


@command(
    "ranklist", "draw the top-k gallery images of seeded task queries (PNG + JSON)", _ranklist_args
)
def ranklist(args: argparse.Namespace) -> int:
    from reid.engine.ranklists import ranklist_for_run

    config: dict[str, Any] | None = None
    if args.settings is not None:
        settings = _settings(args.settings)
        task, evaluation = settings["task"], settings["evaluation"]
        index = int(settings.get("task_index", 0))
        for key in ("label", "phase", "seed", "queries", "top"):
            setattr(args, key, settings.get(key, getattr(args, key)))
    else:
        config = load_cli_config(args)
        index, task = config_task(config, args.task, "ranklist")
        evaluation = config["evaluation"]
    if args.queries < 1 or args.top < 1:
        raise ConfigError("reid ranklist: queries and top must be at least 1")
    png, record = ranklist_for_run(
        args.model,
        task,
        index,
        evaluation,
        count=args.queries,
        seed=args.seed,
        top=args.top,
        runtime=runtime_from(args, config),
    )
    record.update({"label": args.label, "phase": args.phase, "model": str(args.model)})
    record["png"] = args.out.name
    write_bytes(args.out, png)
    write_json(args.out.with_suffix(".json"), record)
    print(args.out)
    return 0
