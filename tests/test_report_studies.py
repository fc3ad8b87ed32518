"""A study's section (computed by its aggregate job): a tie or a flat study said in words, and
figures that carry no information left out with one line saying why (issue 20, item 8)."""

from __future__ import annotations

import optuna
import pytest

from reid.report.build import _study
from reid.report_tables.studies import study_section
from reid.tuning.aggregate import best_point

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study_of(points: dict[str, tuple[dict, float]]) -> optuna.Study:
    """An in-memory study with one grid trial per point: {point: (params, value)}."""
    study = optuna.create_study(direction="maximize")
    values: dict[str, set] = {}
    for params, _ in points.values():
        for key, value in params.items():
            values.setdefault(key, set()).add(value)
    for point, (params, value) in points.items():
        dists = {
            key: optuna.distributions.CategoricalDistribution(sorted(values[key], key=str))
            for key in params
        }
        trial = optuna.trial.create_trial(
            params=params, distributions=dists, value=value, user_attrs={"point": point}
        )
        study.add_trial(trial)
    return study


def _section(study: optuna.Study) -> dict:
    return study_section(study, best_point(study), "Heading (objective: x)", "demo")


def test_two_grid_points_leave_out_both_figures_with_a_reason():
    section = _section(_study_of({"adam": ({"o": "adam"}, 50.0), "sgd": ({"o": "sgd"}, 58.0)}))
    assert section["best"] == "Best: sgd (58.00)"
    assert section["history"] == [] and section["importance"] == {}
    assert section["notes"] == [
        "optimisation history left out: 2 completed trial(s) show no trend "
        "(each is in results/tables/study_demo.csv)",
        "parameter importance left out: it needs at least 3 completed trials (2)",
    ]


def test_a_tie_is_said_in_words_not_best_none():
    study = _study_of(
        {"0.7": ({"lam": 0.7}, 63.52), "1": ({"lam": 1.0}, 63.52), "1.3": ({"lam": 1.3}, 60.0)}
    )
    section = _section(study)
    assert section["best"] == "Tie: 0.7, 1 reach 63.52, so there is no best point"
    assert section["history"]  # three different values: the history shows something
    assert section["notes"] == [
        "parameter importance left out: only lam varies, so it holds all of it"
    ]
    shown = _study(
        {"name": "demo", "study_name": section["study_name"], "producer": "p"},
        {"p": {"study": section}},
    )
    assert shown["best"].startswith("Tie:") and "None" not in shown["best"]
    assert shown["history"].startswith("data:image/png") and shown["importance"] is None


def test_a_flat_study_has_no_best_and_no_figures():
    points = {f"{a}@{s}": ({"alpha": a, "seed": s}, 50.0) for a in (1e-9, 1e-3) for s in (0, 1)}
    section = _section(_study_of(points))
    assert section["best"].startswith("Flat: every completed trial reaches 50.00 (4 trials)")
    assert section["history"] == [] and section["importance"] == {}
    assert section["notes"] == [
        "optimisation history left out: every completed trial reached 50.00",
        "parameter importance left out: every completed trial reached the same objective",
    ]


def test_two_varied_parameters_with_different_values_keep_both_figures():
    points = {
        f"{a}@{s}": ({"alpha": a, "seed": s}, 50.0 + 10 * i + s)
        for i, a in enumerate((1e-9, 1e-3, 1e-1))
        for s in (0, 1)
    }
    section = _section(_study_of(points))
    assert section["notes"] == []
    assert len(section["history"]) == 6
    assert set(section["importance"]) == {"alpha", "seed"}
    assert sum(section["importance"].values()) == pytest.approx(1.0)
    assert section["importance"]["alpha"] > section["importance"]["seed"]
