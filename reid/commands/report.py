"""`reid report`: the HTML report of a results folder (reads files only, never trains)."""

from __future__ import annotations

import argparse
from pathlib import Path

from reid.commands.base import command, json_arg
from reid.io import write_json


def _report_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results", type=Path, default=Path("results"), help="results folder (default: results)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="HTML file to write (default: <results>/report/index.html)",
    )
    parser.add_argument(
        "--config-json",
        type=json_arg,
        default=None,
        help="the validated config as JSON, inline or @file (default: the "
        "provenance file's config)",
    )
    parser.add_argument(
        "--datasets",
        type=Path,
        nargs="*",
        default=[],
        help="READY.json files of the prepared datasets, in task order",
    )
    parser.add_argument(
        "--provenance",
        type=Path,
        default=None,
        help="provenance JSON written by the workflow (optional)",
    )
    parser.add_argument(
        "--main-runs",
        default="",
        help="comma-separated run hashes of the main run's phases "
        "(default: read from tables/main_results.csv)",
    )
    parser.add_argument(
        "--storage",
        default=None,
        help="Optuna journal file or RDB URL (default: the config's, else "
        "<results>/optuna/journal.log)",
    )
    parser.add_argument(
        "--studies",
        type=json_arg,
        default=None,
        help="JSON object ablation -> Optuna study name of the config at hand; study tables "
        "of other studies are left out (default: every study table found)",
    )
    parser.add_argument(
        "--ranklists",
        type=Path,
        nargs="*",
        default=None,
        help="JSON records written by `reid ranklist` (default: <results>/ranklists/*.json)",
    )


@command("report", "build the self-contained HTML report of a results folder", _report_args)
def report(args: argparse.Namespace) -> int:
    from reid.report.build import build_report
    from reid.report.inputs import ReportError

    if not args.results.is_dir():
        raise ReportError(f"--results {args.results}: no such folder (run the workflow first)")
    if args.config_json is not None and not isinstance(args.config_json, dict):
        raise ReportError("--config-json: expected a JSON object (the config)")
    out = args.out or args.results / "report" / "index.html"
    hashes = [h.strip() for h in args.main_runs.split(",") if h.strip()]
    path = build_report(
        args.results,
        out,
        config=args.config_json,
        datasets=args.datasets,
        provenance=args.provenance,
        main_run_hashes=hashes,
        storage=args.storage,
        studies=args.studies,
        ranklist_files=args.ranklists,
    )
    print(path)
    return 0


def _provenance_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-json", type=json_arg, required=True, help="the config as JSON")
    parser.add_argument("--out", type=Path, required=True)


@command("provenance", "record config, git commit, package versions and device", _provenance_args)
def provenance(args: argparse.Namespace) -> int:
    from reid.config import REPO_ROOT
    from reid.provenance import collect

    write_json(args.out, collect(args.config_json, REPO_ROOT))
    print(args.out)
    return 0
