"""`reid tables`: aggregate evaluation JSON files into CSV tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from reid.cli import command, json_arg


def _tables_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", choices=["main"], help="which table to build")
    parser.add_argument(
        "--manifest", type=json_arg, required=True, help="JSON list of {phase, task, run, file}"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--matrix", type=Path, help="also write the accuracy matrix (long form)")


@command("tables", "build result tables (CSV) from evaluation files", _tables_args)
def tables(args: argparse.Namespace) -> int:
    from reid.io import write_csv
    from reid.tables import accuracy_matrix, main_results

    results = main_results(args.manifest)
    write_csv(args.out, results)
    print(results.to_string(index=False))
    if args.matrix:
        matrix = pd.concat([accuracy_matrix(results, m) for m in ("rank1", "mAP")])
        write_csv(args.matrix, matrix)
    return 0
