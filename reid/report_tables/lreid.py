"""The lifelong re-ID benchmark's section of the report, computed by the `lreid_tables` job: per
method after its last step Seen-Avg / Unseen-Avg, forgetting, BWT and FWT (seed statistics);
Seen-/Unseen-Avg after every step; every set's mAP / R1 after the last step."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reid.helpers import finite_number
from reid.lreid.checks import FORGETTING_POINTS, positions, separation
from reid.lreid.plan import REFERENCE
from reid.report_tables.comparison import METHOD_LABELS, STAT_KEYS, method_order

METRICS = ("mAP", "rank1")
METRIC_LABELS = {"mAP": "mAP", "rank1": "R1"}
AVERAGES = {"seen_avg": "Seen-Avg", "unseen_avg": "Unseen-Avg"}
CONTINUAL = {"forgetting": "forgetting", "bwt": "BWT", "fwt": "FWT"}


def _pick(summary: pd.DataFrame, method: str, step: int, metric: str, statistic: str):
    return summary[
        (summary["method"] == method)
        & (summary["step"] == step)
        & (summary["metric"] == metric)
        & (summary["statistic"] == statistic)
    ]


def _numbers(row: dict[str, Any]) -> dict[str, float | None]:
    """The seed statistics of a row (n, mean, std, interval), non-finite ones as None."""
    return {key: finite_number(row.get(key)) for key in STAT_KEYS}


def _stats(summary: pd.DataFrame, method: str, step: int, metric: str, statistic: str) -> dict:
    pick = _pick(summary, method, step, metric, statistic)
    return _numbers(pick.iloc[0].to_dict() if not pick.empty else {})


def _mean(summary: pd.DataFrame, method: str, step: int, metric: str, statistic: str):
    pick = _pick(summary, method, step, metric, statistic)
    return finite_number(pick["mean"].iloc[0]) if not pick.empty else None


def _methods(frame: pd.DataFrame) -> list[str]:
    return [m for m in method_order(list(frame["method"].unique())) if m != REFERENCE]


def ours_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Per method after its last step: Seen-Avg, Unseen-Avg (mAP, R1), forgetting, BWT, FWT."""
    last = int(summary["step"].max())
    rows = []
    for method in _methods(summary):
        cells = [
            _stats(summary, method, last, metric, statistic)
            for statistic in (*AVERAGES, *CONTINUAL)
            for metric in METRICS
        ]
        rows.append({"method": method, "label": METHOD_LABELS.get(method, method), "cells": cells})
    return rows


def counterparts(summary: pd.DataFrame) -> dict[str, list[float | None]]:
    """Per method, its Seen-Avg mAP, Seen-Avg R1, Unseen-Avg mAP, Unseen-Avg R1 after the last
    step (mean over seeds): the cells set beside a published row of the same method."""
    last = int(summary["step"].max())
    return {
        method: [
            _mean(summary, method, last, metric, statistic)
            for statistic in AVERAGES
            for metric in METRICS
        ]
        for method in _methods(summary)
    }


def step_table(summary: pd.DataFrame, metric: str) -> dict[str, Any]:
    """Seen-Avg / Unseen-Avg (mean over seeds) after every step, one row per method; the
    untrained model's Unseen-Avg (step 0) in `reference`."""
    steps = sorted(int(s) for s in summary["step"].unique() if s > 0)
    rows = [
        {
            "method": method,
            "cells": [
                _mean(summary, method, step, metric, statistic)
                for statistic in AVERAGES
                for step in steps
            ],
        }
        for method in _methods(summary)
    ]
    reference = _mean(summary, REFERENCE, 0, metric, "unseen_avg")
    return {"metric": METRIC_LABELS[metric], "steps": steps, "rows": rows, "reference": reference}


def dataset_table(data: pd.DataFrame, kind: str, order: list[str]) -> dict[str, Any]:
    """mAP / R1 of every set of one kind after the last step (mean over seeds); sets in the
    config's `order`, any other after them; a cell is [mAP, R1] or None."""
    last = int(data["step"].max())
    pick = data[(data["kind"] == kind) & ((data["step"] == last) | (data["method"] == REFERENCE))]
    present = set(pick["set"])
    sets = [name for name in order if name in present]
    sets += sorted(present - set(sets))
    means = pick.groupby(["method", "set"])[list(METRICS)].mean()
    rows = []
    for method in method_order(list(pick["method"].unique())):
        cells = []
        for name in sets:
            if (method, name) in means.index:
                row = means.loc[(method, name)]
                cells.append([finite_number(row["mAP"]), finite_number(row["rank1"])])
            else:
                cells.append(None)
        rows.append({"method": method, "cells": cells})
    return {"kind": kind, "sets": sets, "rows": rows}


def checks_part(data: pd.DataFrame) -> dict[str, Any]:
    """The three separation checks and every other method's position (`reid.lreid.checks`),
    as numbers for the report (per-seed values by seed)."""
    checks = [
        {
            "check": row["check"],
            "claim": row["claim"],
            "verdict": row["verdict"],
            "stats": _numbers(row),
            "seeds": {str(k): finite_number(v) for k, v in row["seeds"].items()},
        }
        for row in separation(data)
    ]
    places = [
        {
            "method": row["method"],
            "cells": [
                {"stats": _numbers(row[key]), "side": row[key]["side"]}
                for key in ("seen_vs_finetune", "seen_vs_joint", "unseen_vs_finetune")
            ],
        }
        for row in positions(data)
    ]
    order = method_order([p["method"] for p in places])
    places.sort(key=lambda p: order.index(p["method"]))
    return {"rows": checks, "positions": places, "forgetting_points": FORGETTING_POINTS}


def section(summary: pd.DataFrame, data: pd.DataFrame, order: list[str]) -> dict[str, Any]:
    """What the report shows of the benchmark (`summary`: lreid.csv, `data`: every set's
    result per method, seed and step; `order`: the config's set names in order)."""
    if summary.empty or data.empty:
        return {"run": False}
    used = data.loc[data["method"] != REFERENCE, "features"].dropna().unique().tolist()
    return {
        "run": True,
        "resolved": ", ".join(sorted(used)),
        "seeds": int(summary["n"].max()) if "n" in summary else 0,
        "headers": [
            f"{label} {METRIC_LABELS[m]}"
            for label in (*AVERAGES.values(), *CONTINUAL.values())
            for m in METRICS
        ],
        "ours": ours_rows(summary),
        "counterparts": counterparts(summary),
        "steps": [step_table(summary, metric) for metric in METRICS],
        "datasets": [dataset_table(data, kind, order) for kind in ("seen", "unseen")],
        "checks": checks_part(data),
    }
