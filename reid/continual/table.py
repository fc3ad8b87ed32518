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
from reid.stats import interval, t_quantile
from reid.tables import read_eval

METRICS = ("rank1", "mAP")
PAPER_METHOD = "covariance"  # the method every baseline is compared with, paired by seed
__all__ = ["interval", "t_quantile"]  # re-exported: one definition, in reid/stats.py


def long_results(manifest: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (method, seed, step, task) evaluation; metrics in percent; steps 1-based."""
    rows = []
    for entry in manifest:
        result = read_eval(entry["file"], entry.get("task"))
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


PAIRED_STATISTICS = ("average", "forgetting", "bwt", "task1_final")


def paired_differences(metrics: pd.DataFrame, reference: str) -> pd.DataFrame:
    """`reference` minus each other method, paired by seed (only seeds both ran), per metric and
    statistic: mean, std and 95% t interval of the per-seed differences; `exceeds_noise` when the
    interval excludes 0 (None with fewer than two paired seeds)."""
    rows = []
    if metrics.empty or reference not in set(metrics["method"]):
        return pd.DataFrame(rows)
    for metric in metrics["metric"].unique():
        of_metric = metrics[metrics["metric"] == metric]
        ours = of_metric[of_metric["method"] == reference].set_index("seed")
        for method in of_metric["method"].unique():
            if method == reference:
                continue
            theirs = of_metric[of_metric["method"] == method].set_index("seed")
            seeds = sorted(set(ours.index) & set(theirs.index))
            for statistic in PAIRED_STATISTICS:
                diffs = np.array(
                    [ours.at[s, statistic] - theirs.at[s, statistic] for s in seeds], dtype=float
                )
                stats = interval(diffs)
                apart = None
                if stats["n"] > 1 and math.isfinite(stats["ci95_low"]):
                    apart = bool(stats["ci95_low"] > 0 or stats["ci95_high"] < 0)
                rows.append(
                    {
                        "method": reference,
                        "baseline": method,
                        "metric": metric,
                        "statistic": statistic,
                        "seeds": " ".join(str(s) for s in seeds),
                        **stats,
                        "exceeds_noise": apart,
                    }
                )
    return pd.DataFrame(rows)


def seed_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and 95% interval over seeds of each method's continual metrics."""
    rows = []
    value_columns = ["average", "forgetting", "bwt", "task1_final"]
    for (method, metric), group in metrics.groupby(["method", "metric"], sort=False):
        for column in value_columns:
            stats = interval(group[column].to_numpy(dtype=float))
            rows.append({"method": method, "metric": metric, "statistic": column, **stats})
    return pd.DataFrame(rows)


def separated(summary: pd.DataFrame, metric: str, statistic: str, a: str, b: str) -> bool | None:
    """Whether two methods' 95% intervals do not overlap (None with fewer than two seeds)."""
    pick = summary[(summary["metric"] == metric) & (summary["statistic"] == statistic)]
    rows = {row.method: row for row in pick.itertuples()}
    if a not in rows or b not in rows or rows[a].n < 2 or rows[b].n < 2:
        return None
    return rows[a].ci95_high < rows[b].ci95_low or rows[b].ci95_high < rows[a].ci95_low
