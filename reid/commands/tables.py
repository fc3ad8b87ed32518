"""`reid tables`: aggregate evaluation JSON files into CSV tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from reid.commands.base import command, json_arg
from reid.io import write_csv


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


@command("tables", "build result tables (CSV) from evaluation files", _tables_args)
def tables(args: argparse.Namespace) -> int:
    if args.table == "main":
        from reid.tables import accuracy_matrix, main_results

        results = main_results(args.manifest)
        write_csv(args.out, results)
        print(results.to_string(index=False))
        if args.matrix:
            matrix = pd.concat([accuracy_matrix(results, m) for m in ("rank1", "mAP")])
            write_csv(args.matrix, matrix)
        return 0
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
    return 0
