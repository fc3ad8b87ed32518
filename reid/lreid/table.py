"""LReID tables: per-dataset results, Seen-Avg / Unseen-Avg after every step, forgetting, BWT
and FWT of the seen tasks' accuracy matrix, and their mean, std and 95% t interval over seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from reid.continual.metrics import backward_transfer, forgetting, forward_transfer
from reid.lreid.plan import REFERENCE
from reid.stats import interval
from reid.tables import read_eval

METRICS = ("mAP", "rank1")
STATISTICS = ("seen_avg", "unseen_avg", "forgetting", "bwt", "fwt")


def dataset_results(manifest: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (method, seed, step, set); metrics in percent."""
    rows = []
    for entry in manifest:
        result = read_eval(entry["file"])
        if "runs" in result:  # a chain's file (`benchmark.jobs: chain`): every step of it
            result = result["runs"][entry["run"]]
        for name, item in result["sets"].items():
            row = {key: entry[key] for key in ("method", "seed", "step", "run")}
            row.update(set=name, kind=item["kind"], index=item["index"])
            row["features"] = item["features"]
            row.update({metric: 100.0 * float(item[metric]) for metric in METRICS})
            rows.append(row)
    return pd.DataFrame(rows)


def _matrix(group: pd.DataFrame, metric: str, tasks: int) -> np.ndarray | None:
    """R[i, j] of the seen sets (steps 1..T); None unless every entry is there."""
    seen = group[group["kind"] == "seen"]
    r = np.full((tasks, tasks), np.nan)
    for row in seen.itertuples():
        r[int(row.step) - 1, int(row.index)] = float(getattr(row, metric))
    return None if np.isnan(r).any() else r


def _continual(group, reference, metric: str, tasks: int) -> dict[str, float]:
    r = _matrix(group, metric, tasks)
    if r is None:
        return {"forgetting": math.nan, "bwt": math.nan, "fwt": math.nan}
    fwt = math.nan
    if reference is not None:
        ref = reference[reference["kind"] == "seen"].sort_values("index")
        if len(ref) == tasks:
            fwt = forward_transfer(r, ref[metric].to_numpy(dtype=float))
    return {"forgetting": forgetting(r), "bwt": backward_transfer(r), "fwt": fwt}


def seed_results(data: pd.DataFrame) -> pd.DataFrame:
    """Per (method, seed, step, metric): Seen-Avg over the tasks trained so far, Unseen-Avg;
    on the last step also forgetting, BWT and FWT of the seen tasks' matrix."""
    tasks = int(data.loc[data["kind"] == "seen", "index"].max()) + 1
    last = int(data["step"].max())
    rows = []
    for (method, seed), group in data.groupby(["method", "seed"], sort=False):
        reference = data[(data["method"] == REFERENCE) & (data["seed"] == seed)]
        for step, at in group.groupby("step"):
            seen = at[(at["kind"] == "seen") & (at["index"] < step)]
            unseen = at[at["kind"] == "unseen"]
            for metric in METRICS:
                row = {"method": method, "seed": seed, "step": int(step), "metric": metric}
                row["seen_avg"] = float(seen[metric].mean()) if len(seen) else math.nan
                row["unseen_avg"] = float(unseen[metric].mean()) if len(unseen) else math.nan
                done = step == last and method != REFERENCE
                ref = reference if len(reference) else None
                row.update(
                    _continual(group, ref, metric, tasks)
                    if done
                    else dict.fromkeys(("forgetting", "bwt", "fwt"), math.nan)
                )
                rows.append(row)
    return pd.DataFrame(rows)


def summary(seeds: pd.DataFrame) -> pd.DataFrame:
    """Mean, std and 95% interval over seeds per (method, step, metric, statistic)."""
    rows = []
    for (method, step, metric), group in seeds.groupby(["method", "step", "metric"], sort=False):
        for statistic in STATISTICS:
            stats = interval(group[statistic].to_numpy(dtype=float))
            if stats["n"]:
                rows.append(
                    {"method": method, "step": step, "metric": metric, "statistic": statistic}
                    | stats
                )
    return pd.DataFrame(rows)


def final_datasets(data: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of each method's metrics per set after the last step (wide by set)."""
    last = data[(data["step"] == data["step"].max()) | (data["method"] == REFERENCE)]
    frame = last.groupby(["method", "kind", "set"], sort=False)[list(METRICS)].mean()
    return frame.reset_index()
