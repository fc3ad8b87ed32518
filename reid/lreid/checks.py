"""Does a benchmark run separate the methods? Three checks and every method's position, from the
per-set results of the benchmark (`reid.lreid.table.dataset_results`), per seed and with 95%
t intervals over seeds (differences paired by seed).

(i)   the untrained model's Unseen-Avg mAP is below half of fine-tuning's after the last step
      (statistic: half of fine-tuning's minus the untrained model's, per seed);
(ii)  fine-tuning forgets: the mean of each seen task's mAP right after it was learnt minus
      Seen-Avg after the last step is at least `FORGETTING_POINTS`, interval above 0;
(iii) joint training beats fine-tuning on Seen-Avg after the last step, interval above 0.
Then, for every other method, its Seen-Avg minus fine-tuning's and joint's minus its.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from reid.lreid.plan import REFERENCE
from reid.stats import interval

FORGETTING_POINTS = 10.0
BASELINE, UPPER = "finetune", "joint"


def _last(data: pd.DataFrame, method: str) -> pd.DataFrame:
    rows = data[data["method"] == method]
    return rows[rows["step"] == rows["step"].max()] if len(rows) else rows


def _average(rows: pd.DataFrame, kind: str) -> dict[int, float]:
    """Per seed, the mean mAP over the sets of one kind."""
    pick = rows[rows["kind"] == kind]
    return {int(seed): float(g["mAP"].mean()) for seed, g in pick.groupby("seed")}


def diagonal(data: pd.DataFrame, method: str) -> dict[int, float]:
    """Per seed, the mean over seen tasks of the task's mAP right after its own step."""
    seen = data[(data["method"] == method) & (data["kind"] == "seen")]
    right_after = seen[seen["step"] == seen["index"] + 1]
    tasks = int(data.loc[data["kind"] == "seen", "index"].max()) + 1
    return {
        int(seed): float(g["mAP"].mean())
        for seed, g in right_after.groupby("seed")
        if len(g) == tasks
    }


def _paired(left: dict[int, float], right: dict[int, float]) -> dict[int, float]:
    return {seed: left[seed] - right[seed] for seed in sorted(set(left) & set(right))}


def _row(check: str, claim: str, values: dict[int, float], passes) -> dict[str, Any]:
    stats = interval(list(values.values()))
    verdict = "not run" if not values else ("holds" if passes(stats) else "fails")
    return {"check": check, "claim": claim, "seeds": values, **stats, "verdict": verdict}


def _above_zero(stats: dict[str, float]) -> bool:
    low = stats["ci95_low"]
    return stats["mean"] > 0 and (stats["n"] < 2 or (math.isfinite(low) and low > 0))


def separation(data: pd.DataFrame) -> list[dict[str, Any]]:
    """The three checks (rows `random`, `forgetting`, `joint`), in mAP points."""
    finetune = _last(data, BASELINE)
    random_unseen = _average(data[data["method"] == REFERENCE], "unseen")
    half = {seed: value / 2 for seed, value in _average(finetune, "unseen").items()}
    drop = _paired(diagonal(data, BASELINE), _average(finetune, "seen"))
    gain = _paired(_average(_last(data, UPPER), "seen"), _average(finetune, "seen"))

    def forgets(stats):
        return stats["mean"] >= FORGETTING_POINTS and _above_zero(stats)

    return [
        _row(
            "random",
            "half of fine-tuning's Unseen-Avg minus the untrained model's",
            _paired(half, random_unseen),
            _above_zero,
        ),
        _row(
            "forgetting",
            f"fine-tuning's Seen-Avg drop from right after learning (>= {FORGETTING_POINTS:g})",
            drop,
            forgets,
        ),
        _row("joint", "joint's Seen-Avg minus fine-tuning's", gain, _above_zero),
    ]


def _side(stats: dict[str, float]) -> str:
    """above, below or within: where the interval lies relative to 0."""
    low, high = stats["ci95_low"], stats["ci95_high"]
    if not (math.isfinite(low) and math.isfinite(high)):
        return "one seed" if stats["n"] == 1 else "—"
    return "above" if low > 0 else "below" if high < 0 else "within"


def positions(data: pd.DataFrame) -> list[dict[str, Any]]:
    """Every method but the reference, fine-tuning and joint: its Seen-Avg and Unseen-Avg
    minus fine-tuning's and joint's (paired by seed), with where each interval lies."""
    finetune, joint = _last(data, BASELINE), _last(data, UPPER)
    rows = []
    for method in data["method"].unique():
        if method in (REFERENCE, BASELINE, UPPER):
            continue
        mine = _last(data, method)
        row: dict[str, Any] = {"method": method}
        for kind in ("seen", "unseen"):
            for name, other in ((BASELINE, finetune), (UPPER, joint)):
                stats = interval(
                    list(_paired(_average(mine, kind), _average(other, kind)).values())
                )
                row[f"{kind}_vs_{name}"] = {**stats, "side": _side(stats)}
        rows.append(row)
    return rows


def checks_frame(data: pd.DataFrame) -> pd.DataFrame:
    """The checks and the positions as one long table (one row per statistic)."""
    rows = []
    for row in separation(data):
        seeds = ";".join(f"{seed}:{value:.2f}" for seed, value in row["seeds"].items())
        rows.append({k: v for k, v in row.items() if k != "seeds"} | {"per_seed": seeds})
    for row in positions(data):
        for key, stats in row.items():
            if key != "method":
                rows.append({"check": f"{row['method']}:{key}", "claim": key, **stats})
    frame = pd.DataFrame(rows)
    return frame.replace({np.nan: None}) if len(frame) else frame
