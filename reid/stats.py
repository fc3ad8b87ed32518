"""Seed statistics: mean, std and two-sided 95% Student t interval of the finite values.

One definition for every table (method comparison, lifelong benchmark, the α study's answer).
A library helper: it imports nothing of the project.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def t_quantile(dof: int) -> float:
    """Two-sided 95% Student t quantile for `dof` degrees of freedom (scipy, every dof)."""
    if dof <= 0:
        return math.nan
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def interval(values: Iterable[float] | np.ndarray) -> dict[str, float]:
    """n, mean, std and two-sided 95% t interval of the finite `values` (NaN and ±inf, e.g. a
    diverged run's loss, are left out and not counted; NaN where a statistic is undefined)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    std = float(values.std(ddof=1)) if n > 1 else math.nan
    half = t_quantile(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}
