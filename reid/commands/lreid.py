"""`reid lifelong`: the lifelong re-ID benchmark's evaluation of one model on every set, and its
tables (Seen-Avg / Unseen-Avg per method, seed and step; per-dataset results)."""

from __future__ import annotations

import argparse
from pathlib import Path

from reid.commands.base import add_runtime_args, command, json_arg, runtime_from
from reid.errors import ConfigError
from reid.io import write_csv, write_json


def _lreid_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["evaluate", "chain", "tables"])
    add_runtime_args(parser)
    parser.add_argument("--model", type=Path, help="evaluate: a run's model.pt")
    parser.add_argument(
        "--reference", type=json_arg, help="evaluate: a reference spec (the untrained model)"
    )
    parser.add_argument(
        "--specs", type=json_arg, help="chain: the run specs of one chain, in training order"
    )
    parser.add_argument("--sets", type=json_arg, help="evaluate: the benchmark sets (JSON)")
    parser.add_argument("--eval-json", type=json_arg, help="evaluate: the evaluation section")
    parser.add_argument("--manifest", type=json_arg, help="tables: evaluations with their file")
    parser.add_argument("--out", type=Path, required=True, help="evaluate: JSON; tables: CSV")
    parser.add_argument("--seeds", type=Path, help="tables: per-seed Seen-Avg / Unseen-Avg")
    parser.add_argument("--datasets", type=Path, help="tables: per-dataset results")
    parser.add_argument(
        "--checks", type=Path, help="tables: does the run separate the methods (CSV)"
    )
    parser.add_argument(
        "--report-tables", type=Path, help="tables: the benchmark's report tables (JSON)"
    )
    parser.add_argument(
        "--order",
        default="",
        help="tables: comma-separated set names in the config's order (the report's columns)",
    )


@command(
    "lifelong",
    "lifelong re-ID benchmark: evaluate a model on every set, train and evaluate a chain, or "
    "build tables",
    _lreid_args,
)
def lreid(args: argparse.Namespace) -> int:
    if args.action == "evaluate":
        if (
            args.sets is None
            or args.eval_json is None
            or (args.model is None) == (args.reference is None)
        ):
            raise ConfigError(
                "reid lifelong evaluate needs --sets, --eval-json and one of --model / --reference"
            )
        return _evaluate(args)
    if args.action == "chain":
        if args.specs is None or args.sets is None or args.eval_json is None:
            raise ConfigError("reid lifelong chain needs --specs, --sets and --eval-json")
        return _chain(args)
    if args.manifest is None:
        raise ConfigError("reid lifelong tables needs --manifest")
    return _tables(args)


def _evaluate(args: argparse.Namespace) -> int:
    import json

    from reid.lreid.evaluate import evaluate_model_file

    runtime = runtime_from(args, {"device": "auto"})
    result = evaluate_model_file(args.model, args.reference, args.sets, args.eval_json, runtime)
    for name, item in result["sets"].items():
        print(f"{name:>12} ({item['kind']}): mAP {item['mAP']:.3f}  rank1 {item['rank1']:.3f}")
    print(json.dumps({k: v for k, v in result.items() if k != "sets"}))
    write_json(args.out, result)
    return 0


def _chain(args: argparse.Namespace) -> int:
    from reid.lreid.chain import chain_evaluations

    runtime = runtime_from(args, {"device": "auto"})
    runs = chain_evaluations(args.specs, args.sets, args.eval_json, runtime)
    for run, result in runs.items():
        mean = sum(item["mAP"] for item in result["sets"].values()) / max(1, len(result["sets"]))
        print(f"{run}: mean mAP over {len(result['sets'])} sets {mean:.3f}")
    write_json(args.out, {"runs": runs})
    return 0


def _tables(args: argparse.Namespace) -> int:
    from reid.lreid.table import dataset_results, seed_results, summary

    data = dataset_results(args.manifest)
    seeds = seed_results(data)
    table = summary(seeds)
    write_csv(args.out, table)
    if args.seeds:
        write_csv(args.seeds, seeds)
    if args.datasets:
        write_csv(args.datasets, data)
    if args.checks:
        from reid.lreid.checks import checks_frame

        write_csv(args.checks, checks_frame(data))
    if args.report_tables:
        from reid.report_tables.lreid import section

        order = [name for name in args.order.split(",") if name]
        write_json(args.report_tables, {"producer": "lreid", **section(table, data, order)})
    last = table[(table["step"] == table["step"].max()) & table["statistic"].str.endswith("avg")]
    print(last.to_string(index=False))
    return 0
