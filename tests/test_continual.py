"""Continual metrics on hand-worked accuracy matrices."""

from __future__ import annotations

import numpy as np
import pytest

from reid.continual import (
    accuracy_matrix,
    average_accuracy,
    backward_transfer,
    forgetting,
    forgetting_per_task,
)

NAN = np.nan


def test_plain_forgetting_matrix() -> None:
    r = np.array([[0.8, NAN, NAN], [0.6, 0.7, NAN], [0.5, 0.65, 0.9]])
    assert average_accuracy(r) == pytest.approx((0.5 + 0.65 + 0.9) / 3)
    np.testing.assert_allclose(forgetting_per_task(r), [0.3, 0.05])
    assert forgetting(r) == pytest.approx(0.175)
    assert backward_transfer(r) == pytest.approx((-0.3 - 0.05) / 2)


def test_max_over_earlier_steps_and_positive_transfer() -> None:
    # task 0 peaks after step 1 (0.7), not on the diagonal; task 1 improves later.
    # R[0, 1] was evaluated before task 1 was trained: it must not count (l ≥ j only).
    r = np.array([[0.5, 0.99, NAN], [0.7, 0.6, NAN], [0.3, 0.8, 0.9]])
    np.testing.assert_allclose(forgetting_per_task(r), [0.4, -0.2])
    assert forgetting(r) == pytest.approx(0.1)
    assert backward_transfer(r) == pytest.approx(((0.3 - 0.5) + (0.8 - 0.6)) / 2, abs=1e-12)
    assert average_accuracy(r) == pytest.approx(2.0 / 3)


def test_single_task() -> None:
    r = np.array([[0.42]])
    assert average_accuracy(r) == pytest.approx(0.42)
    assert np.isnan(forgetting(r)) and np.isnan(backward_transfer(r))
    assert forgetting_per_task(r).shape == (0,)


def test_accuracy_matrix_from_records() -> None:
    rows = [
        {"step": 0, "task": 0, "value": 0.8},
        {"step": 1, "task": 0, "value": 0.6},
        {"step": 1, "task": 1, "value": 0.7},
    ]
    r = accuracy_matrix(rows)
    np.testing.assert_allclose(r, [[0.8, NAN], [0.6, 0.7]])
    assert forgetting(r) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        accuracy_matrix([])
    with pytest.raises(ValueError):
        average_accuracy(np.zeros((2, 3)))
