"""`reid report`: the HTML report (formats the report tables rules computed; never trains)."""

from __future__ import annotations

import argparse
from pathlib import Path

from reid import paths
from reid.commands.base import command, json_arg
from reid.io import write_json
from reid.report.inputs import ReportError, ReportInputs, read_json


def _report_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results",
        type=Path,
        default=Path(paths.RESULTS),
        help="results folder whose files are found when --tables etc. are not given "
        "(default: results)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="HTML file (default: <results>/report/index.html)"
    )
    parser.add_argument(
        "--config-json",
        type=json_arg,
        default=None,
        help="the validated config as JSON, inline or @file (default: the provenance file's)",
    )
    parser.add_argument(
        "--settings-json",
        type=json_arg,
        default=None,
        help="what the report holds (the workflow's plan passes it; default: from the config)",
    )
    _input_args(parser)


def _input_args(parser: argparse.ArgumentParser) -> None:
    """The files the report opens (the `report` rule's declared inputs)."""
    parser.add_argument(
        "--tables", type=Path, nargs="*", default=None, help="report tables files rules wrote"
    )
    parser.add_argument(
        "--histories", type=Path, nargs="*", default=None, help="main run: history.csv per phase"
    )
    parser.add_argument(
        "--metrics", type=Path, nargs="*", default=None, help="main run: metrics.json per phase"
    )
    parser.add_argument(
        "--provenance", type=Path, default=None, help="provenance JSON written by the workflow"
    )
    parser.add_argument(
        "--main-runs",
        default="",
        help="comma-separated run hashes of the main run's phases, for --results "
        "(default: those the main report tables name)",
    )
    parser.add_argument(
        "--studies",
        type=json_arg,
        default=None,
        help="JSON object ablation -> Optuna study name of the config at hand; tables of other "
        "studies are left out (default: every study's tables found)",
    )
    parser.add_argument(
        "--ranklists",
        type=Path,
        nargs="*",
        default=None,
        help="JSON records written by `reid ranklist` (default: <results>/ranklists/*.json)",
    )
    parser.add_argument(
        "--datasets",
        type=Path,
        nargs="*",
        default=[],
        help="not read any more: the datasets table is computed by the main_results job",
    )
    parser.add_argument(
        "--storage",
        default=None,
        help="not read any more: study tables and importances are computed by study_aggregate",
    )


def _inputs(args: argparse.Namespace) -> ReportInputs:
    """The files given, else those found under --results (`ReportInputs.discover`)."""
    found = ReportInputs.discover(args.results, [])
    tables = args.tables if args.tables is not None else found.tables
    runs = [h.strip() for h in args.main_runs.split(",") if h.strip()]
    if not runs:
        main = read_json(next((t for t in tables if Path(t).stem == "main"), None)) or {}
        runs = list(main.get("runs") or [])
    found = ReportInputs.discover(args.results, runs)
    return ReportInputs(
        tables=list(tables),
        histories=args.histories if args.histories is not None else found.histories,
        metrics=args.metrics if args.metrics is not None else found.metrics,
        ranklists=args.ranklists if args.ranklists is not None else found.ranklists,
        provenance=args.provenance or found.provenance,
    )


@command("report", "build the self-contained HTML report of a results folder", _report_args)
def report(args: argparse.Namespace) -> int:
    from reid.plans.report import default_settings
    from reid.report.build import build_report

    explicit = args.tables is not None
    if not explicit and not args.results.is_dir():
        raise ReportError(f"--results {args.results}: no such folder (run the workflow first)")
    if args.config_json is not None and not isinstance(args.config_json, dict):
        raise ReportError("--config-json: expected a JSON object (the config)")
    files = _inputs(args)
    config = args.config_json or (read_json(files.provenance) or {}).get("config") or {}
    settings = args.settings_json or default_settings(config, args.studies)
    out = args.out or Path(paths.report_html(str(args.results)))
    print(build_report(files, out, settings=settings, config=args.config_json))
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
