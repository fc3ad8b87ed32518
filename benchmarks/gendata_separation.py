"""Do the generated LReID domains separate the methods? Three checks, per seed and on average.

    python benchmarks/gendata_separation.py                       # config/lreid.yaml, seeds 0 1
    python benchmarks/gendata_separation.py --seeds 0 1 2 --set train.epochs=4
    python benchmarks/gendata_separation.py --config config/config.yaml   # the 2-task default

Runs the benchmark's own plan (`reid.lreid.plan.benchmark_plan`) in this process for
fine-tuning and joint training only: generates every seen and unseen domain, trains each phase
with the library's trainer (`run_phase`), evaluates every step's model and the untrained
reference model (step 0) on every set with the benchmark's task-free features. For a config
without `unseen` sets (the 2-task default) the seen tasks stand in for them in check (i).

 (i)   random < half: the untrained model's Unseen-Avg mAP < half of fine-tuning's after the
       last step;
 (ii)  forgetting: fine-tuning's Seen-Avg mAP after the last step is >= 10 points below the mean
       of each seen domain's mAP right after it was learnt;
 (iii) joint > fine-tuning: joint training's Seen-Avg mAP is above fine-tuning's.

Work happens in --workdir (default: results/gendata_separation/), so earlier runs are reused.
Prints a per-set table, the checks and the time of each phase.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd
from common import ROOT

import reid.data  # noqa: F401  (registers the datasets)
from reid.commands.base import load_cli_config
from reid.data.prepare import prepare_task
from reid.engine.models import load_model
from reid.engine.runtime import Runtime
from reid.engine.trainer import run_phase
from reid.lreid.checks import separation
from reid.lreid.evaluate import evaluate_sets, reference_model
from reid.lreid.plan import benchmark_evaluation, benchmark_plan, benchmark_sets, unseen_tasks
from reid.runs import dataset_dir, is_complete, run_dir


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "lreid.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--methods", nargs="+", default=["finetune", "joint"])
    parser.add_argument("--set", action="append", default=[], help="key=value override")
    parser.add_argument(
        "--synthetic",
        action="append",
        default=[],
        help="key=value set in every generated domain's `synthetic` (e.g. difficulty=0.5)",
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "results" / "gendata_separation")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--features",
        help="feature source (default: the benchmark's, mean:all); `task`: each seen set's own "
        "pipeline, as the 2-task default's evaluation (`reid evaluate`) uses",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def load(args: argparse.Namespace) -> dict[str, Any]:
    """The config with the overrides, restricted to the asked methods and seeds."""
    import yaml

    from reid.config import validate_config

    config = load_cli_config(argparse.Namespace(config=[args.config.resolve()], set=args.set))
    for item in args.synthetic:  # every seen and unseen generated domain
        key, value = item.split("=", 1)
        for task in list(config["tasks"]) + list(config.get("unseen") or []):
            task["synthetic"][key] = yaml.safe_load(value)
    config = validate_config(config)
    config["comparison"]["methods"] = list(args.methods)
    config["comparison"]["seeds"] = list(args.seeds)
    config["benchmark"]["enabled"] = True
    if config["benchmark"]["features"] == "task":
        config["benchmark"]["features"] = "mean:all"
    return config


def prepare(config: dict[str, Any]) -> float:
    """Generate every seen and unseen domain not yet there; seconds taken."""
    started = time.perf_counter()
    for task in list(config["tasks"]) + unseen_tasks(config):
        dest = Path(dataset_dir(config, task))
        if not (dest / "READY.json").is_file():
            prepare_task(task, dest, config["data"])
    return time.perf_counter() - started


def train(plan: dict[str, Any], runtime: Runtime) -> list[dict[str, Any]]:
    """Train every run of the plan not yet complete (parents first: the plan's order)."""
    times = []
    for spec in plan["specs"]:
        folder = run_dir(spec)
        if is_complete(folder):
            continue
        started, cpu = time.perf_counter(), time.process_time()
        metrics = run_phase(spec, folder, runtime)
        times.append(
            {
                "kind": spec["kind"],
                "phase": spec["phase"],
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu,
                "train_seconds": metrics["train_seconds"],
            }
        )
    return times


def _source(features: str, item: dict[str, Any], pipelines: int) -> str | None:
    """The feature source for one set: `task` is the set's own pipeline (None when the model
    has none for it yet), the untrained model's is its backbone; others as given."""
    if features != "task":
        return features
    if pipelines == 0:
        return "base"
    index = item["index"]
    return f"pipeline:{index}" if index is not None and index < pipelines else None


def evaluate(config, plan, runtime, features: str) -> tuple[list[dict[str, Any]], list[float]]:
    """mAP / Rank-1 of every evaluation of the plan on every set."""
    sets = benchmark_sets(config)
    evaluation = dict(config["evaluation"], features=features)
    rows, seconds = [], []
    for item in plan["evals"]:
        started = time.process_time()
        if item["reference"]:
            model = reference_model(plan["references"][item["run"]])
        else:
            model, _ = load_model(Path("results/runs") / item["run"] / "model.pt")
        for entry in sets:
            source = _source(features, entry, len(model.pipelines))
            if source is None:
                continue
            out = evaluate_sets(model, [entry], dict(evaluation, features=source), runtime)
            out = out["sets"][entry["name"]]
            rows.append(
                {
                    **{k: item[k] for k in ("method", "seed", "step")},
                    "set": entry["name"],
                    "kind": out["kind"],
                    "index": out["index"],
                    "mAP": 100 * out["mAP"],
                    "rank1": 100 * out["rank1"],
                    "queries": out["num_valid_queries"],
                }
            )
        seconds.append(time.process_time() - started)
    return rows, seconds


def check_rows(rows: list[dict[str, Any]], has_unseen: bool) -> list[dict[str, Any]]:
    """The three checks of `reid.lreid.checks` on these evaluations; without unseen sets (the
    2-task default) the seen tasks stand in for them in check (i)."""
    frame = pd.DataFrame(rows)
    if not has_unseen:
        frame = pd.concat([frame, frame[frame["kind"] == "seen"].assign(kind="unseen")])
    return separation(frame)


def report(rows, checks: list[dict[str, Any]], steps: int) -> None:
    """Print the per-set table of the last step and the checks per seed and over seeds."""
    print("\nmAP / Rank-1 per set (last step; reference = untrained, step 0), valid queries")
    names = list(dict.fromkeys(r["set"] for r in rows))
    for method in dict.fromkeys(r["method"] for r in rows):
        for seed in sorted({r["seed"] for r in rows}):
            got = {
                r["set"]: r
                for r in rows
                if r["method"] == method and r["seed"] == seed and r["step"] in (0, steps)
            }
            cells = " ".join(
                f"{n}={got[n]['mAP']:.1f}/{got[n]['rank1']:.1f}" for n in names if n in got
            )
            print(f"  {method:>9} seed {seed}: {cells}")
    print("  valid queries: " + " ".join(f"{n}={_queries(rows, n)}" for n in names))
    print("\nchecks (mAP points; mean [95% t-interval] over seeds, paired by seed):")
    for row in checks:
        seeds = ", ".join(f"{seed}: {value:.1f}" for seed, value in row["seeds"].items())
        print(
            f"  {row['check']:<10} {row['claim']}: {row['mean']:.1f} "
            f"[{row['ci95_low']:.1f}, {row['ci95_high']:.1f}] (per seed {seeds}): {row['verdict']}"
        )


def _queries(rows, name: str) -> int:
    return min(r["queries"] for r in rows if r["set"] == name)


def _print_times(generate_s: float, times: list[dict[str, Any]], eval_s: list[float]) -> None:
    """Wall and CPU seconds per run kind (CPU time is what a busy machine does not inflate)."""
    print(f"\ntime: generating every domain {generate_s:.1f} s (wall)")
    for kind in dict.fromkeys(t["kind"] for t in times):
        some = [t for t in times if t["kind"] == kind]
        wall = statistics.fmean(t["seconds"] for t in some)
        cpu = statistics.fmean(t["cpu_seconds"] for t in some)
        print(f"  {len(some)} {kind} runs: mean {wall:.1f} s wall, {cpu:.1f} s CPU")
    if eval_s:
        mean = statistics.fmean(eval_s)
        print(f"  {len(eval_s)} model evaluations on every set: mean {mean:.1f} s CPU")


def main() -> int:
    args = parse_args()
    config = load(args)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.json:
        args.json = args.json.resolve()
    os.chdir(args.workdir)
    runtime = Runtime(threads=args.threads)
    generate_s = prepare(config)
    plan = benchmark_plan(config)
    times = train(plan, runtime)
    features = args.features or benchmark_evaluation(config)["features"]
    rows, eval_s = evaluate(config, plan, runtime, features)
    steps = len(config["tasks"])
    checks = check_rows(rows, bool(config.get("unseen")))
    report(rows, checks, steps)
    _print_times(generate_s, times, eval_s)
    if args.json:
        payload = {"rows": rows, "checks": checks, "times": times, "eval_seconds": eval_s}
        Path(args.json).write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
