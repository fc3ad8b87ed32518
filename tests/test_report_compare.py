"""Comparison rows, trend verdicts and input readers of the report."""

from __future__ import annotations

import pandas as pd
import pytest

from reid.report import compare, inputs
from reid.report.figures import covariance_ratio


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
    row = compare.Row("x", "Rank-1", 89.3, 85.0)
    assert row.diff == pytest.approx(-4.3)
    assert row.diff_text == "-4.3"
    assert compare.Row("x", "m", 1.0, None).ours_text == "not run"
    assert compare.Row("x", "m", None, 2.0).diff_text == "—"


def test_versus_reports_direction():
    same = compare.versus("A", "B", (2.0, 1.0), (5.0, 4.5))
    assert same == "paper: A beats B by 1.0 points; ours: A beats B by 0.5 points — same direction"
    assert compare.versus("A", "B", (2.0, 1.0), (1.0, 3.0)).endswith("opposite direction")
    assert "ours: not run" in compare.versus("A", "B", (2.0, 1.0), (None, 3.0))


def test_unfinished_trials_are_ignored():
    table = compare.optimizer_table(_study({"adam": 50.0, "sgd": 40.0}, {"sgd": "FAIL"}))
    adam, sgd = table.rows
    assert adam.ours == 50.0 and sgd.ours is None


def test_ensembling_maps_two_epoch_counts_to_short_and_long():
    table = compare.ensembling_table(
        _study({"base_second@3": 10.0, "base_second@9": 12.0, "both@3": 11.0})
    )
    values = {row.setting: (row.paper, row.ours) for row in table.rows}
    assert values["Base model + second pipeline, 100 epochs"] == (84.5, 10.0)
    assert values["Base model + second pipeline, 500 epochs"] == (87.7, 12.0)
    assert values["Both pipelines, 100 epochs"] == (84.1, 11.0)
    assert "ours: the long run beats the short run by 2.0 points" in table.trends[0]
    assert "ours: both pipelines beats base + second by 1.0 points" in table.trends[1]


def test_lambda_points_match_numerically():
    table = compare.lambda_table(_study({"1": 30.0, "0.70": 31.0}))
    values = {row.setting: row.ours for row in table.rows}
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
    table = compare.result_table(main)
    assert [row.ours for row in table.rows] == [
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
    assert table.trends[0] == (
        "task 1 Rank-1 drops by 10.0 points after phase 2 (paper: drops by 19.1)"
    )


def test_covariance_ratio_ignores_zero_epochs():
    history = pd.DataFrame({"ce": [2.0, 4.0, 1.0], "cov": [0.0, 4e-15, 1e-15]})
    assert covariance_ratio(history) == pytest.approx(1e-15)
    assert covariance_ratio(pd.DataFrame({"ce": [1.0], "cov": [0.0]})) is None


def test_malformed_csv_is_a_clear_error(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "main_results.csv").write_text("a,b\n1,2\n")
    with pytest.raises(inputs.ReportError, match="missing column"):
        inputs.main_results(tmp_path)


def test_benchmarks_sum_per_rule(tmp_path):
    for rule, name, seconds in (("train", "a", 3.0), ("train", "b", 4.0), ("tables", "c", 1.0)):
        folder = tmp_path / "benchmarks" / rule / "sub"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.tsv").write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:03\t100\n")
    table = inputs.benchmarks(tmp_path).set_index("rule")
    assert table.loc["train", "seconds"] == 7.0
    assert table.loc["train", "jobs"] == 2
