"""The paper's tables beside ours (report tables computed by rules): rows, trend verdicts;
how the report reads and formats them."""

from __future__ import annotations

import pandas as pd
import pytest

from reid.report import inputs
from reid.report.format import paper_row
from reid.report_tables import TableInputs, base
from reid.report_tables import paper_tables as compare
from reid.report_tables.history import covariance_ratio


def _rows(table: dict) -> list[base.Row]:
    return [base.Row(**row) for row in table["rows"]]


def _study(points: dict[str, float], states: dict[str, str] | None = None) -> pd.DataFrame:
    states = states or {}
    return pd.DataFrame(
        [
            {
                "number": i,
                "state": states.get(p, "COMPLETE"),
                "value": v,
                "point": p,
                "source": "grid",
            }
            for i, (p, v) in enumerate(points.items())
        ]
    )


def test_row_difference_and_text():
    row = paper_row(base.Row("x", "Rank-1", 89.3, 85.0).to_dict())
    assert row["diff"] == pytest.approx(-4.3)
    assert row["diff_text"] == "-4.3"
    assert paper_row(base.Row("x", "m", 1.0, None).to_dict())["ours_text"] == "not run"
    assert paper_row(base.Row("x", "m", None, 2.0).to_dict())["diff_text"] == "—"
    tie = base.Row("λ", "value", 1.0, None, unit="", missing="no best (tie)")
    assert paper_row(tie.to_dict())["ours_text"] == "no best (tie)"


def test_versus_reports_direction():
    same = base.versus("A", "B", (2.0, 1.0), (5.0, 4.5))
    assert same == "paper: A beats B by 1.0 points; ours: A beats B by 0.5 points — same direction"
    assert base.versus("A", "B", (2.0, 1.0), (1.0, 3.0)).endswith("opposite direction")
    assert "ours: not run" in base.versus("A", "B", (2.0, 1.0), (None, 3.0))


def test_unfinished_trials_are_ignored():
    table = compare.optimizer_table(
        TableInputs(study=_study({"adam": 50.0, "sgd": 40.0}, {"sgd": "FAIL"}))
    )
    adam, sgd = _rows(table)
    assert adam.ours == 50.0 and sgd.ours is None


def test_ensembling_maps_two_epoch_counts_to_short_and_long():
    table = compare.ensembling_table(
        TableInputs(study=_study({"base_second@3": 10.0, "base_second@9": 12.0, "both@3": 11.0}))
    )
    values = {row.setting: (row.paper, row.ours) for row in _rows(table)}
    assert values["Base model + second pipeline, 100 epochs"] == (84.5, 10.0)
    assert values["Base model + second pipeline, 500 epochs"] == (87.7, 12.0)
    assert values["Both pipelines, 100 epochs"] == (84.1, 11.0)
    assert "ours: the long run beats the short run by 2.0 points" in table["trends"][0]
    assert "ours: both pipelines beats base + second by 1.0 points" in table["trends"][1]


def test_lambda_points_match_numerically():
    table = compare.lambda_table(TableInputs(study=_study({"1": 30.0, "0.70": 31.0})))
    values = {row.setting: row.ours for row in _rows(table)}
    assert values["λ = 1"] == 30.0 and values["λ = 0.7"] == 31.0
    assert values["λ = 1.3"] is None


def test_results_table_follows_task_order():
    main = pd.DataFrame(
        [
            {"phase": 2, "task": "b", "rank1": 50.0, "rank20": 80.0, "mAP": 30.0},
            {"phase": 1, "task": "a", "rank1": 70.0, "rank20": 90.0, "mAP": 50.0},
            {"phase": 2, "task": "a", "rank1": 60.0, "rank20": 85.0, "mAP": 40.0},
        ]
    )
    table = compare.result_table(TableInputs(main=main))
    assert [row.ours for row in _rows(table)] == [
        70.0,
        90.0,
        50.0,
        50.0,
        80.0,
        30.0,
        60.0,
        85.0,
        40.0,
    ]
    assert table["trends"][0] == (
        "task 1 Rank-1 drops by 10.0 points after phase 2 (paper: drops by 19.1)"
    )


def test_covariance_ratio_ignores_zero_epochs():
    history = pd.DataFrame({"ce": [2.0, 4.0, 1.0], "cov": [0.0, 4e-15, 1e-15]})
    assert covariance_ratio(history) == pytest.approx(1e-15)
    assert covariance_ratio(pd.DataFrame({"ce": [1.0], "cov": [0.0]})) is None


def test_malformed_csv_is_a_clear_error(tmp_path):
    (tmp_path / "history.csv").write_text("a,b\n1,2\n")
    with pytest.raises(inputs.ReportError, match="missing column"):
        inputs.run_histories([tmp_path / "history.csv"])


def test_a_tied_lambda_study_says_so_instead_of_not_run():
    """Issue 20: the λ row read "not run" where the λ study ran and tied."""
    best = {"best_value": 63.52, "best_params": None, "point": None, "tied": ["0.7", "1"]}
    table = compare.hyperparameter_table(TableInputs(best=best))
    lam = paper_row(table["rows"][0])
    assert lam["ours_text"] == "no best (tie)" and "λ = 0.7, 1 tie at 63.5" in lam["detail"]
    assert "no best λ — λ = 0.7, 1 reach the same objective (63.5)" in table["trends"][0]
    assert "not run" not in table["trends"][0]
