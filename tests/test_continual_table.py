"""Method comparison tables from evaluation files: matrices, continual metrics, seed statistics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from reid.continual.table import (
    continual_metrics,
    long_results,
    seed_summary,
    separated,
    t_quantile,
)


def _manifest(tmp_path: Path, method: str, seed: int, matrix: dict[tuple[int, int], float]):
    entries = []
    for (step, task), value in matrix.items():
        path = tmp_path / f"{method}-{seed}-{step}-{task}.json"
        path.write_text(json.dumps({"rank1": value, "mAP": value / 2}))
        entries.append(
            {
                "method": method,
                "seed": seed,
                "step": step,
                "task": f"t{task}",
                "task_index": task,
                "run": "r",
                "file": str(path),
            }
        )
    return entries


def test_hand_worked_matrix(tmp_path: Path) -> None:
    # R (rank1, %): after step 1: t0 = 80; after step 2: t0 = 50, t1 = 70.
    manifest = _manifest(tmp_path, "finetune", 0, {(1, 0): 0.8, (2, 0): 0.5, (2, 1): 0.7})
    metrics = continual_metrics(long_results(manifest))
    rank1 = metrics[metrics["metric"] == "rank1"].iloc[0]
    assert rank1["average"] == pytest.approx(60.0)
    assert rank1["forgetting"] == pytest.approx(30.0)
    assert rank1["bwt"] == pytest.approx(-30.0)
    assert rank1["task1_first"] == pytest.approx(80.0)
    assert rank1["task1_final"] == pytest.approx(50.0)
    mAP = metrics[metrics["metric"] == "mAP"].iloc[0]
    assert mAP["forgetting"] == pytest.approx(15.0)


def test_joint_has_only_a_last_row(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "joint", 0, {(2, 0): 0.9, (2, 1): 0.8})
    row = continual_metrics(long_results(manifest)).iloc[0]
    assert row["average"] == pytest.approx(85.0)
    assert math.isnan(row["forgetting"])


def test_seed_summary_and_separation(tmp_path: Path) -> None:
    manifest = []
    for seed, (a, b) in enumerate([(0.50, 0.90), (0.52, 0.92), (0.48, 0.88)]):
        manifest += _manifest(tmp_path, "finetune", seed, {(1, 0): 0.8, (2, 0): a, (2, 1): 0.7})
        manifest += _manifest(tmp_path, "lwf", seed, {(1, 0): 0.8, (2, 0): b, (2, 1): 0.7})
    summary = seed_summary(continual_metrics(long_results(manifest)))
    row = summary[
        (summary.method == "finetune")
        & (summary.metric == "rank1")
        & (summary.statistic == "task1_final")
    ].iloc[0]
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(50.0)
    assert row["std"] == pytest.approx(2.0)
    half = 4.302653 * 2.0 / math.sqrt(3)
    assert row["ci95_low"] == pytest.approx(50.0 - half, abs=1e-5)
    assert separated(summary, "rank1", "task1_final", "finetune", "lwf") is True
    assert separated(summary, "rank1", "average", "finetune", "finetune") is False
    assert t_quantile(1) == pytest.approx(12.706, abs=1e-3)
    # Exact for every dof: no nearest-table value below, no normal 1.96 beyond 30.
    assert t_quantile(12) == pytest.approx(2.1788, abs=1e-4)
    assert t_quantile(40) == pytest.approx(2.0211, abs=1e-4)
    assert t_quantile(100) == pytest.approx(1.9840, abs=1e-4)


def _metrics(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for method, per_seed in values.items():
        for seed, value in enumerate(per_seed):
            rows.append(
                {
                    "method": method,
                    "seed": seed,
                    "metric": "mAP",
                    "average": value,
                    "forgetting": 50.0 - value,
                    "bwt": value - 50.0,
                    "task1_first": 50.0,
                    "task1_final": value,
                }
            )
    return pd.DataFrame(rows)


def test_paired_differences_see_a_consistent_gap_that_overlapping_intervals_hide():
    from reid.continual.table import paired_differences

    # Seeds vary a lot (30, 40, 50) but covariance is always 2 points above finetune.
    metrics = _metrics({"covariance": [32.0, 42.5, 51.5], "finetune": [30.0, 40.0, 50.0]})
    summary = seed_summary(metrics)
    assert separated(summary, "mAP", "task1_final", "covariance", "finetune") is False
    paired = paired_differences(metrics, "covariance")
    row = paired[paired["statistic"] == "task1_final"].iloc[0]
    assert row["baseline"] == "finetune" and row["n"] == 3 and row["seeds"] == "0 1 2"
    assert row["mean"] == pytest.approx(2.0)
    half = 4.302653 * 0.5 / math.sqrt(3)
    assert row["ci95_low"] == pytest.approx(2.0 - half, abs=1e-5)
    assert bool(row["exceeds_noise"]) is True


def test_paired_differences_only_pair_common_seeds_and_need_two():
    from reid.continual.table import paired_differences

    metrics = _metrics({"covariance": [32.0, 42.0], "lwf": [30.0]})
    row = paired_differences(metrics, "covariance").iloc[0]
    assert row["n"] == 1 and row["seeds"] == "0"
    assert row["exceeds_noise"] is None
    noisy = _metrics({"covariance": [30.0, 45.0, 50.0], "lwf": [35.0, 40.0, 50.0]})
    row = paired_differences(noisy, "covariance").query("statistic == 'average'").iloc[0]
    assert bool(row["exceeds_noise"]) is False


def test_one_interval_for_every_table_that_leaves_out_infinite_values():
    import numpy as np

    import reid.continual.table as continual
    import reid.lreid.table as lreid
    from reid import stats

    assert continual.interval is lreid.interval is stats.interval
    # A diverged seed (an infinite difference) is left out, not averaged in: the old
    # `~np.isnan` copy gave n=3 and an infinite mean here.
    result = stats.interval(np.array([1.0, 3.0, math.inf, math.nan, -math.inf]))
    assert result["n"] == 2 and result["mean"] == pytest.approx(2.0)
    assert result["std"] == pytest.approx(math.sqrt(2.0))
    assert math.isnan(stats.interval([])["mean"]) and stats.interval([])["n"] == 0
    summary = seed_summary(
        pd.DataFrame(
            {
                "method": ["a", "a", "a"],
                "metric": ["mAP"] * 3,
                "average": [10.0, 12.0, math.inf],
                "forgetting": [1.0, 1.0, 1.0],
                "bwt": [0.0, 0.0, 0.0],
                "task1_final": [5.0, 5.0, 5.0],
            }
        )
    )
    row = summary[summary.statistic == "average"].iloc[0]
    assert row["n"] == 2 and row["mean"] == pytest.approx(11.0)


def test_finite_number_is_one_helper():
    from reid.helpers import finite_number

    assert finite_number("1.5") == 1.5 and finite_number(2) == 2.0
    assert finite_number(None) is None and finite_number("x") is None
    assert finite_number(math.nan) is None and finite_number(-math.inf) is None
