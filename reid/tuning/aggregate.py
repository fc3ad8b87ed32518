"""Study tables: one row per trial, and the best point of each study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from reid import paths
from reid.io import write_csv, write_json
from reid.report_tables import TableInputs, compute_tables
from reid.report_tables.studies import study_section
from reid.tuning.storage import open_storage, require_study, stale_numbers
from reid.tuning.studies import STUDIES, StudyPlan

BASE_COLUMNS = [
    "study",
    "study_name",
    "number",
    "state",
    "value",
    "point",
    "source",
    "run",
    "error",
    "stale",
]


def study_frame(study: optuna.Study) -> pd.DataFrame:
    """Trials of a study with their params (`param_*`) and every recorded metric."""
    rows = []
    trials = study.get_trials(deepcopy=False)
    stale = stale_numbers(trials)
    for trial in trials:
        attrs = trial.user_attrs
        row: dict[str, Any] = {
            "study": study.user_attrs.get("ablation", study.study_name),
            "study_name": study.study_name,
            "number": trial.number,
            "state": trial.state.name,
            "value": trial.value if trial.state == optuna.trial.TrialState.COMPLETE else None,
            "point": attrs.get("point"),
            "source": attrs.get("source", "sampler"),
            "run": attrs.get("run"),
            "error": attrs.get("error"),
            "stale": trial.number in stale,
        }
        row.update({f"param_{k}": v for k, v in trial.params.items()})
        skip = {"point", "source", "run", "error", "stale", "host", "pid", "run_dir"}
        row.update({k: v for k, v in attrs.items() if k not in skip})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    return frame


def best_point(study: optuna.Study, tolerance: float = 1e-9) -> dict[str, Any]:
    """Best complete trial of a study. When several grid points reach the best value within
    `tolerance`, there is no best: `best_params` is None and `tied` lists those points."""
    complete = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.value is not None and t.state == optuna.trial.TrialState.COMPLETE
    ]
    best = max(complete, key=lambda t: t.value) if complete else None
    tied = [] if best is None else _tied_points(complete, best.value, tolerance)
    if len(tied) > 1:
        best = None
    return {
        "study": study.user_attrs.get("ablation", study.study_name),
        "study_name": study.study_name,
        "objective": study.user_attrs.get("objective"),
        "direction": "maximize",
        "best_value": max(t.value for t in complete) if complete else None,
        "best_params": None if best is None else best.params,
        "best_trial": None if best is None else best.number,
        "point": None if best is None else best.user_attrs.get("point"),
        "tied": tied if len(tied) > 1 else [],
        "n_complete": len(complete),
        "n_trials": len(study.get_trials(deepcopy=False)),
    }


def _tied_points(complete: list, top: float, tolerance: float) -> list[str]:
    """Distinct points (in trial order) whose value is within `tolerance` of `top`."""
    points: list[str] = []
    for trial in complete:
        point = str(trial.user_attrs.get("point", trial.number))
        if abs(trial.value - top) <= tolerance and point not in points:
            points.append(point)
    return points


def read_history(run: str) -> pd.DataFrame | None:
    """A trial run's history.csv (written by the study's own workers), or None."""
    path = Path(paths.run_file(run, paths.HISTORY))
    return pd.read_csv(path) if path.is_file() else None


def study_report_tables(
    study: optuna.Study, frame: pd.DataFrame, best: dict[str, Any], inputs: TableInputs
) -> dict[str, Any]:
    """The study's report tables file: its section and the tables it feeds."""
    ablation = study.user_attrs.get("ablation", study.study_name)
    registered = STUDIES.get(ablation)
    inputs.study, inputs.best = frame, best
    return {
        "producer": f"study_{ablation}",
        "study": study_section(study, best, registered.heading, ablation),
        "tables": compute_tables(list(registered.tables), inputs),
    }


def write_study_outputs(
    storage: str,
    plan: StudyPlan,
    table: Path,
    best: Path,
    report: Path | None = None,
    inputs: TableInputs | None = None,
) -> pd.DataFrame:
    """Write `study_<ablation>.csv` and `best_<ablation>.json` from the study of this config,
    and with `report` its report tables (`inputs`: what its tables read besides the study)."""
    store = open_storage(storage)
    require_study(store, storage, plan.study_name)
    study = optuna.load_study(study_name=plan.study_name, storage=store)
    frame = study_frame(study)
    point = best_point(study)
    write_csv(table, frame)
    write_json(best, point)
    if report is not None:
        inputs = inputs or TableInputs()
        write_json(report, study_report_tables(study, frame, point, inputs))
    return frame
