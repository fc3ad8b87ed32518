"""`reid tune`: create a study (grid enqueued once), run a worker, aggregate a study."""

from __future__ import annotations

import argparse
from pathlib import Path

from reid import paths
from reid.commands.base import (
    add_config_args,
    add_runtime_args,
    command,
    load_cli_config,
    runtime_from,
)
from reid.errors import ConfigError
from reid.io import write_json


def _tune_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["create", "work", "aggregate"])
    parser.add_argument(
        "--study",
        required=True,
        help="a registered study (reid/tuning/studies.py); an unknown name lists them",
    )
    add_config_args(parser)
    add_runtime_args(parser)
    parser.add_argument("--storage", help="override optuna.storage (journal path or RDB URL)")
    parser.add_argument("--done", type=Path, help="marker file written when the action ends")
    parser.add_argument("--table", type=Path, help="aggregate: study CSV")
    parser.add_argument("--best", type=Path, help="aggregate: best-point JSON")
    parser.add_argument(
        "--report-tables", type=Path, help="aggregate: the report tables the study feeds (JSON)"
    )
    parser.add_argument(
        "--summary", type=Path, help="aggregate: continual_summary.csv, for tables that read it"
    )
    parser.add_argument(
        "--continual", type=Path, help="aggregate: continual.csv, for tables that read it"
    )


@command("tune", "run the paper's ablations as Optuna studies", _tune_args)
def tune(args: argparse.Namespace) -> int:
    from reid.tuning.aggregate import write_study_outputs
    from reid.tuning.studies import STUDIES, study_plan
    from reid.tuning.worker import create_study, work

    if args.study not in STUDIES:
        raise ConfigError(f"--study {args.study!r}: expected one of {', '.join(STUDIES.names())}")
    config = load_cli_config(args)
    storage = args.storage or config["optuna"]["storage"]
    plan = study_plan(config, args.study)
    summary: dict[str, object] = {
        "study": args.study,
        "study_name": plan.study_name,
        "action": args.action,
    }
    if args.action == "create":
        study = create_study(storage, plan)
        summary["grid"] = len(plan.grid)
        summary["trials"] = len(study.trials)
    elif args.action == "work":
        summary["trials_run"] = work(storage, plan, config, runtime_from(args, config))
    else:
        table = args.table or Path(paths.study_table(args.study))
        best = args.best or Path(paths.study_best(args.study))
        frame = write_study_outputs(
            storage, plan, table, best, args.report_tables, _inputs(args, config)
        )
        summary["rows"] = len(frame)
        print(frame.to_string(index=False))
    if args.done:
        write_json(args.done, summary)
    return 0


def _inputs(args: argparse.Namespace, config: dict) -> object:
    """What the study's report tables read besides the study (files that exist)."""
    import pandas as pd

    from reid.report_tables import TableInputs
    from reid.tuning.aggregate import read_history

    def read(path: Path | None):
        return pd.read_csv(path) if path is not None and path.is_file() else None

    return TableInputs(
        config=config,
        summary=read(args.summary),
        continual=read(args.continual),
        history=read_history,
    )
