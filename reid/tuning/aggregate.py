"""Study tables: one row per trial, and the best point of each study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from reid.io import write_csv, write_json
from reid.tuning.storage import open_storage, require_study, stale_numbers
from reid.tuning.studies import StudyPlan

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


def write_study_outputs(storage: str, plan: StudyPlan, table: Path, best: Path) -> pd.DataFrame:
    """Write `study_<ablation>.csv` and `best_<ablation>.json` from the study of this config."""
    store = open_storage(storage)
    require_study(store, storage, plan.study_name)
    study = optuna.load_study(study_name=plan.study_name, storage=store)
    frame = study_frame(study)
    write_csv(table, frame)
    write_json(best, best_point(study))
    return frame
