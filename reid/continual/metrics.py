"""Continual-learning metrics from the accuracy matrix R[i, j] (task j after training step i)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def _check(r: np.ndarray) -> np.ndarray:
    r = np.asarray(r, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] != r.shape[1] or r.shape[0] == 0:
        raise ValueError(f"accuracy matrix must be square and non-empty, got shape {r.shape}")
    return r


def average_accuracy(r: np.ndarray) -> float:
    """Mean over tasks of the metric after the last step: mean_j R[T−1, j]."""
    r = _check(r)
    return float(np.mean(r[-1]))


def forgetting_per_task(r: np.ndarray) -> np.ndarray:
    """Per task j < T−1: max_{j ≤ l < T−1} R[l, j] − R[T−1, j] (Chaudhry et al., 2018)."""
    r = _check(r)
    t = r.shape[0]
    return np.array([np.max(r[j : t - 1, j]) - r[t - 1, j] for j in range(t - 1)])


def forgetting(r: np.ndarray) -> float:
    """Mean of `forgetting_per_task`; NaN for a single task."""
    per_task = forgetting_per_task(r)
    return float(np.mean(per_task)) if per_task.size else float("nan")


def backward_transfer(r: np.ndarray) -> float:
    """mean_{j<T−1} (R[T−1, j] − R[j, j]) (Lopez-Paz & Ranzato, 2017); NaN for a single task."""
    r = _check(r)
    t = r.shape[0]
    if t < 2:
        return float("nan")
    return float(np.mean([r[t - 1, j] - r[j, j] for j in range(t - 1)]))


def accuracy_matrix(rows: Iterable[Mapping[str, Any]]) -> np.ndarray:
    """Build R from records {step, task, value} (0-based); missing entries are NaN."""
    records = [(int(row["step"]), int(row["task"]), float(row["value"])) for row in rows]
    if not records:
        raise ValueError("no records to build the accuracy matrix from")
    size = max(max(s, k) for s, k, _ in records) + 1
    r = np.full((size, size), np.nan)
    for step, task, value in records:
        if step < 0 or task < 0:
            raise ValueError(f"negative step/task in record ({step}, {task})")
        r[step, task] = value
    return r


def forward_transfer(r: np.ndarray, reference: np.ndarray) -> float:
    """mean_{j≥1} (R[j−1, j] − b_j) (Lopez-Paz & Ranzato, 2017): how much the steps before
    task j helped it before it was trained on, against `reference` b_j (the accuracy of the
    initial, untrained model on task j). Needs the full matrix (every task after every step);
    NaN for a single task."""
    r = _check(r)
    b = np.asarray(reference, dtype=np.float64)
    t = r.shape[0]
    if b.shape != (t,):
        raise ValueError(f"reference must hold one value per task ({t}), got shape {b.shape}")
    if t < 2:
        return float("nan")
    return float(np.mean([r[j - 1, j] - b[j] for j in range(1, t)]))
