"""A study's section of the report, computed by its aggregate job: trial counts, the best point
in words (a tie or a flat study said as such), the optimisation history and the parameter
importances, each left out with one line saying why when it carries no information."""

from __future__ import annotations

import warnings
from typing import Any

import optuna
import pandas as pd

from reid import paths
from reid.helpers import finite_number

MIN_TRIALS = 3  # a history or an importance of fewer completed trials shows nothing new
TOLERANCE = 1e-9


def _complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state == optuna.trial.TrialState.COMPLETE and finite_number(t.value) is not None
    ]


def is_flat(values: list[float], tolerance: float = TOLERANCE) -> bool:
    """Whether every value is the same (within `tolerance`): two or more of them."""
    return len(values) > 1 and max(values) - min(values) <= tolerance


def best_text(best: dict[str, Any], values: list[float]) -> str:
    """The best point in words: 'best: sgd (58.00)', or why there is none."""
    objective = finite_number(best.get("best_value"))
    if objective is None:
        return "No completed trial, so no best point"
    if is_flat(values):
        return (
            f"Flat: every completed trial reaches {objective:.2f} ({len(values)} trials), so "
            "the study cannot pick a best point"
        )
    if best.get("tied"):
        tied = ", ".join(map(str, best["tied"]))
        return f"Tie: {tied} reach {objective:.2f}, so there is no best point"
    point = best.get("point") or best.get("best_params")
    return f"Best: {point} ({objective:.2f})"


def history_part(
    trials: list[optuna.trial.FrozenTrial], table: str
) -> tuple[list[dict], str | None]:
    """The objective of each completed trial, or a note on why the figure is left out
    (`table`: the study table that holds every trial)."""
    values = [float(t.value) for t in trials]
    if len(trials) < MIN_TRIALS:
        return [], (
            f"optimisation history left out: {len(trials)} completed trial(s) show no trend "
            f"(each is in {table})"
        )
    if is_flat(values):
        return [], (f"optimisation history left out: every completed trial reached {values[0]:.2f}")
    return [{"number": t.number, "value": float(t.value)} for t in trials], None


def varied_parameters(trials: list[optuna.trial.FrozenTrial]) -> list[str]:
    """Parameters that take two or more values among `trials`, in first-seen order."""
    seen: dict[str, set] = {}
    for trial in trials:
        for name, value in trial.params.items():
            seen.setdefault(name, set()).add(repr(value))
    return [name for name, values in seen.items() if len(values) > 1]


def importance_part(
    study: optuna.Study, trials: list[optuna.trial.FrozenTrial]
) -> tuple[dict[str, float], str | None]:
    """Parameter importances (Optuna's default evaluator), or why they carry no information."""
    values = [float(t.value) for t in trials]
    if len(trials) < MIN_TRIALS:
        return {}, (
            f"parameter importance left out: it needs at least {MIN_TRIALS} completed trials "
            f"({len(trials)})"
        )
    if is_flat(values):
        return {}, "parameter importance left out: every completed trial reached the same objective"
    varied = varied_parameters(trials)
    if len(varied) < 2:
        what = (
            f"only {varied[0]} varies, so it holds all of it" if varied else "no parameter varies"
        )
        return {}, f"parameter importance left out: {what}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(study)
    except Exception as exc:  # noqa: BLE001 - optuna raises several types for too little data
        return {}, f"parameter importance not available: {exc}"
    return {name: float(value) for name, value in found.items()}, None


def study_section(
    study: optuna.Study, best: dict[str, Any], heading: str, ablation: str
) -> dict[str, Any]:
    """What the report shows of one study (`best`: its `best_<ablation>.json`)."""
    trials = _complete(study)
    counts = pd.Series([t.state.name for t in study.get_trials(deepcopy=False)]).value_counts()
    history, history_note = history_part(trials, paths.study_table(ablation))
    importance, importance_note = importance_part(study, trials)
    return {
        "name": ablation,
        "study_name": study.study_name,
        "heading": heading,
        "counts": {str(state): int(n) for state, n in counts.items()},
        "best": best_text(best, [float(t.value) for t in trials]),
        "maximize": study.direction == optuna.study.StudyDirection.MAXIMIZE,
        "history": history,
        "importance": importance,
        "notes": [note for note in (history_note, importance_note) if note],
    }
