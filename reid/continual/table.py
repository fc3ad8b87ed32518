"""Method comparison tables: accuracy matrices per (method, seed), continual metrics, seed stats."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from reid.continual.metrics import (
    accuracy_matrix,
    average_accuracy,
    backward_transfer,
    forgetting,
)
from reid.tables import read_eval

METRICS = ("rank1", "mAP")


def long_results(manifest: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (method, seed, step, task) evaluation; metrics in percent; steps 1-based."""
    rows = []
    for entry in manifest:
        result = read_eval(entry["file"])
        row = {key: entry[key] for key in ("method", "seed", "step", "task", "task_index", "run")}
        row.update({metric: 100.0 * float(result[metric]) for metric in METRICS})
        rows.append(row)
    return pd.DataFrame(rows)


def continual_metrics(results: pd.DataFrame) -> pd.DataFrame:
    """Average, forgetting and backward transfer of each (method, seed) and metric."""
    rows = []
    for (method, seed), group in results.groupby(["method", "seed"], sort=False):
        for metric in METRICS:
            records = [
                {
                    "step": int(r.step) - 1,
                    "task": int(r.task_index),
                    "value": float(getattr(r, metric)),
                }
                for r in group.itertuples()
            ]
            matrix = accuracy_matrix(records)
            task1 = matrix[:, 0]
            rows.append(
                {
                    "method": method,
                    "seed": seed,
                    "metric": metric,
                    "average": average_accuracy(matrix),
                    "forgetting": forgetting(matrix),
                    "bwt": backward_transfer(matrix),
                    "task1_first": float(task1[0]),
                    "task1_final": float(task1[-1]),
                }
            )
    return pd.DataFrame(rows)


def t_quantile(dof: int) -> float:
    """Two-sided 95% Student t quantile for `dof` degrees of freedom (scipy, every dof)."""
    if dof <= 0:
        return math.nan
    from scipy.stats import t

    return float(t.ppf(0.975, dof))


def seed_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and 95% interval over seeds of each method's continual metrics."""
    rows = []
    value_columns = ["average", "forgetting", "bwt", "task1_final"]
    for (method, metric), group in metrics.groupby(["method", "metric"], sort=False):
        for column in value_columns:
            values = group[column].to_numpy(dtype=float)
            values = values[~np.isnan(values)]
            n = len(values)
            mean = float(values.mean()) if n else math.nan
            std = float(values.std(ddof=1)) if n > 1 else math.nan
            half = t_quantile(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
            rows.append(
                {
                    "method": method,
                    "metric": metric,
                    "statistic": column,
                    "n": n,
                    "mean": mean,
                    "std": std,
                    "ci95_low": mean - half,
                    "ci95_high": mean + half,
                }
            )
    return pd.DataFrame(rows)


def separated(summary: pd.DataFrame, metric: str, statistic: str, a: str, b: str) -> bool | None:
    """Whether two methods' 95% intervals do not overlap (None with fewer than two seeds)."""
    pick = summary[(summary["metric"] == metric) & (summary["statistic"] == statistic)]
    rows = {row.method: row for row in pick.itertuples()}
    if a not in rows or b not in rows or rows[a].n < 2 or rows[b].n < 2:
        return None
    return rows[a].ci95_high < rows[b].ci95_low or rows[b].ci95_high < rows[a].ci95_low
