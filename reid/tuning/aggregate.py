"""Study tables: one row per trial, and the best point of each study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from reid.io import write_csv, write_json
from reid.tuning.storage import open_storage, require_study, stale_numbers

BASE_COLUMNS = ["study", "number", "state", "value", "point", "source", "run", "error", "stale"]


def study_frame(study: optuna.Study) -> pd.DataFrame:
    """Trials of a study with their params (`param_*`) and every recorded metric."""
    rows = []
    trials = study.get_trials(deepcopy=False)
    stale = stale_numbers(trials)
    for trial in trials:
        attrs = trial.user_attrs
        row: dict[str, Any] = {
            "study": study.study_name,
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


def best_point(study: optuna.Study) -> dict[str, Any]:
    """Best complete trial of a study (None values when no trial completed)."""
    complete = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.value is not None and t.state == optuna.trial.TrialState.COMPLETE
    ]
    best = max(complete, key=lambda t: t.value) if complete else None
    return {
        "study": study.study_name,
        "objective": study.user_attrs.get("objective"),
        "direction": "maximize",
        "best_value": None if best is None else best.value,
        "best_params": None if best is None else best.params,
        "best_trial": None if best is None else best.number,
        "point": None if best is None else best.user_attrs.get("point"),
        "n_complete": len(complete),
        "n_trials": len(study.get_trials(deepcopy=False)),
    }


def write_study_outputs(storage: str, name: str, table: Path, best: Path) -> pd.DataFrame:
    """Write `study_<name>.csv` and `best_<name>.json`."""
    store = open_storage(storage)
    require_study(store, storage, name)
    study = optuna.load_study(study_name=name, storage=store)
    frame = study_frame(study)
    write_csv(table, frame)
    write_json(best, best_point(study))
    return frame
