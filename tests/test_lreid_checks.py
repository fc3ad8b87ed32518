"""The separation checks of a benchmark run, against a direct computation on a small table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reid.lreid.checks import checks_frame, diagonal, positions, separation
from reid.lreid.plan import REFERENCE

TASKS, UNSEEN, SEEDS = 3, 2, (0, 1, 2)


def _frame(values) -> pd.DataFrame:
    """values(method, seed, step, kind, index) -> mAP; joint and the reference have one step."""
    rows = []
    for method, steps in (
        (REFERENCE, [0]),
        ("finetune", [1, 2, 3]),
        ("joint", [3]),
        ("lwf", [1, 2, 3]),
    ):
        for seed in SEEDS:
            for step in steps:
                for kind, count in (("seen", TASKS), ("unseen", UNSEEN)):
                    for index in range(count):
                        rows.append(
                            {
                                "method": method,
                                "seed": seed,
                                "step": step,
                                "set": f"{kind}{index}",
                                "kind": kind,
                                "index": index,
                                "mAP": values(method, seed, step, kind, index),
                                "rank1": 0.0,
                            }
                        )
    return pd.DataFrame(rows)


def _values(method, seed, step, kind, index):
    rng = np.random.default_rng(hash((method, seed, step, kind, index)) % 2**32)
    return float(rng.uniform(5, 80))


def test_each_check_equals_its_definition_per_seed():
    data = _frame(_values)
    rows = {row["check"]: row for row in separation(data)}
    for seed in SEEDS:
        ft_last = [_values("finetune", seed, 3, "seen", i) for i in range(TASKS)]
        right_after = [_values("finetune", seed, i + 1, "seen", i) for i in range(TASKS)]
        ft_unseen = [_values("finetune", seed, 3, "unseen", i) for i in range(UNSEEN)]
        ref_unseen = [_values(REFERENCE, seed, 0, "unseen", i) for i in range(UNSEEN)]
        joint = [_values("joint", seed, 3, "seen", i) for i in range(TASKS)]
        mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
        assert rows["random"]["seeds"][seed] == pytest.approx(
            mean(ft_unseen) / 2 - mean(ref_unseen)
        )
        assert rows["forgetting"]["seeds"][seed] == pytest.approx(mean(right_after) - mean(ft_last))
        assert rows["joint"]["seeds"][seed] == pytest.approx(mean(joint) - mean(ft_last))
    gains = list(rows["joint"]["seeds"].values())
    assert rows["joint"]["mean"] == pytest.approx(np.mean(gains))
    assert rows["joint"]["n"] == 3


def test_verdicts_follow_the_intervals():
    def clear(method, seed, step, kind, index):
        if method == REFERENCE:
            return 5.0 + seed
        if method == "joint":
            return 60.0 + seed
        if method == "finetune":  # 50 right after, 30 on old tasks after the last step
            return 50.0 + seed if step == index + 1 or kind == "unseen" else 30.0 + seed
        return 40.0 + seed

    rows = {row["check"]: row for row in separation(_frame(clear))}
    assert {name: row["verdict"] for name, row in rows.items()} == dict.fromkeys(
        ("random", "forgetting", "joint"), "holds"
    )
    # two of three tasks dropped 20 points: 13.3 >= 10
    assert rows["forgetting"]["mean"] == pytest.approx(40 / 3)

    def none(method, seed, step, kind, index):
        return 30.0 + (seed if method == "joint" else -seed)  # joint - finetune = 0, 2, 4

    rows = {row["check"]: row for row in separation(_frame(none))}
    assert rows["forgetting"]["verdict"] == "fails"  # no drop at all
    assert rows["random"]["verdict"] == "fails"  # half of 30 < 30
    assert rows["joint"]["verdict"] == "fails"  # the interval of 0, 2, 4 reaches below 0


def test_positions_pair_by_seed_and_say_where_the_interval_lies():
    def values(method, seed, step, kind, index):
        base = {"finetune": 30.0, "joint": 50.0, "lwf": 40.0, REFERENCE: 5.0}[method]
        return base + 3 * seed + (0.5 * seed if method == "lwf" else 0.0)

    (row,) = positions(_frame(values))
    assert row["method"] == "lwf"
    vs_ft = row["seen_vs_finetune"]
    assert vs_ft["mean"] == pytest.approx(10.5) and vs_ft["side"] == "above"
    assert row["seen_vs_joint"]["side"] == "below"
    assert math.isfinite(row["unseen_vs_joint"]["std"])


def test_a_missing_method_is_not_run_and_a_partial_diagonal_is_left_out():
    data = _frame(_values)
    no_joint = data[data["method"] != "joint"]
    rows = {row["check"]: row for row in separation(no_joint)}
    assert rows["joint"]["verdict"] == "not run"
    partial = data[~((data["method"] == "finetune") & (data["seed"] == 1) & (data["step"] == 2))]
    assert set(diagonal(partial, "finetune")) == {0, 2}
    frame = checks_frame(data)
    assert {"random", "forgetting", "joint", "lwf:seen_vs_finetune"} <= set(frame["check"])
