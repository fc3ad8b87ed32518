"""`reid tables`: aggregate evaluation JSON files into CSV tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from reid.commands.base import command, json_arg
from reid.io import write_csv, write_json


def _tables_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", choices=["main", "comparison"], help="which table to build")
    parser.add_argument(
        "--manifest", type=json_arg, required=True, help="JSON list of evaluations with their file"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--matrix", type=Path, help="main: the accuracy matrix (long form)")
    parser.add_argument("--continual", type=Path, help="comparison: continual metrics per seed")
    parser.add_argument("--summary", type=Path, help="comparison: mean, std, 95%% CI over seeds")
    parser.add_argument(
        "--paired",
        type=Path,
        help="comparison: the paper's method minus each baseline, paired by seed, 95%% CI",
    )
    parser.add_argument(
        "--report-tables", type=Path, help="the report tables this job computes (JSON)"
    )
    parser.add_argument(
        "--datasets",
        type=Path,
        nargs="*",
        default=[],
        help="main: READY.json of each task's prepared dataset, in task order",
    )
    parser.add_argument(
        "--histories",
        type=Path,
        nargs="*",
        default=[],
        help="main: history.csv of each phase of the main run, in phase order",
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="comparison: the tasks' data were generated"
    )


@command("tables", "build result tables (CSV) from evaluation files", _tables_args)
def tables(args: argparse.Namespace) -> int:
    if args.table == "main":
        return _main_tables(args)
    return _comparison_tables(args)


def _main_tables(args: argparse.Namespace) -> int:
    from reid.tables import accuracy_matrix, main_results, read_eval

    results = main_results(args.manifest)
    write_csv(args.out, results)
    print(results.to_string(index=False))
    if args.matrix:
        matrix = pd.concat([accuracy_matrix(results, m) for m in ("rank1", "mAP")])
        write_csv(args.matrix, matrix)
    if args.report_tables:
        from reid.report_tables.main import cmc_curves, dataset_rows, main_tables

        evaluations = [read_eval(e["file"], e.get("task")) for e in args.manifest]
        histories = [pd.read_csv(path) if path.is_file() else None for path in args.histories]
        tables = main_tables(
            results,
            dataset_rows(args.datasets),
            histories,
            cmc_curves(args.manifest, evaluations),
        )
        write_json(args.report_tables, tables)
    return 0


def _comparison_tables(args: argparse.Namespace) -> int:
    from reid.continual.table import (
        PAPER_METHOD,
        continual_metrics,
        long_results,
        paired_differences,
        seed_summary,
    )

    results = long_results(args.manifest)
    write_csv(args.out, results)
    metrics = continual_metrics(results)
    print(metrics.to_string(index=False))
    if args.continual:
        write_csv(args.continual, metrics)
    if args.summary:
        write_csv(args.summary, seed_summary(metrics))
    if args.paired:
        write_csv(args.paired, paired_differences(metrics, PAPER_METHOD))
    if args.report_tables:
        from reid.report_tables.comparison import section

        part = section(results, metrics, synthetic=args.synthetic)
        write_json(args.report_tables, {"producer": "comparison", **part})
    return 0
