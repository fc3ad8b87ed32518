"""The report's "Lifelong re-ID benchmark" section: our Seen-Avg / Unseen-Avg per method beside
the published rows, continual metrics, Seen-/Unseen-Avg after every step, per-dataset tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from reid.lreid.plan import REFERENCE
from reid.report.lreid_published import ORDER1, SOURCE_NOTE
from reid.report.methods import METHOD_LABELS, format_stat, method_order

METRICS = ("mAP", "rank1")
METRIC_LABELS = {"mAP": "mAP", "rank1": "R1"}
AVERAGES = {"seen_avg": "Seen-Avg", "unseen_avg": "Unseen-Avg"}
CONTINUAL = {"forgetting": "forgetting", "bwt": "BWT", "fwt": "FWT"}


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() and path.stat().st_size else None


def order_name(config: dict) -> str:
    """'order 1', 'order 2' or 'a custom order' from the tasks' datasets."""
    from reid.data.adapters import ORDERS

    datasets = tuple(task.get("dataset") for task in config.get("tasks") or [])
    for number, order in ORDERS.items():
        if datasets == order:
            return f"order {number}"
    return "a custom order"


def _cell(summary: pd.DataFrame, method: str, step: int, metric: str, statistic: str) -> str:
    pick = summary[
        (summary["method"] == method)
        & (summary["step"] == step)
        & (summary["metric"] == metric)
        & (summary["statistic"] == statistic)
    ]
    return format_stat(pick.iloc[0].to_dict()) if not pick.empty else "n/a"


def _methods(frame: pd.DataFrame) -> list[str]:
    return [m for m in method_order(list(frame["method"].unique())) if m != REFERENCE]


def ours_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Per method after its last step: Seen-Avg, Unseen-Avg (mAP, R1), forgetting, BWT, FWT."""
    last = int(summary["step"].max())
    rows = []
    for method in _methods(summary):
        cells = [
            _cell(summary, method, last, metric, statistic)
            for statistic in (*AVERAGES, *CONTINUAL)
            for metric in METRICS
        ]
        rows.append({"method": method, "label": METHOD_LABELS.get(method, method), "cells": cells})
    return rows


def _mean(summary: pd.DataFrame, method: str, step: int, metric: str, statistic: str) -> str:
    pick = summary[
        (summary["method"] == method)
        & (summary["step"] == step)
        & (summary["metric"] == metric)
        & (summary["statistic"] == statistic)
    ]
    return f"{pick['mean'].iloc[0]:.1f}" if not pick.empty else "—"


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
    config's `order`, any other after them."""
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
                cells.append(f"{row['mAP']:.1f} / {row['rank1']:.1f}")
            else:
                cells.append("—")
        rows.append({"method": method, "cells": cells})
    return {"kind": kind, "sets": sets, "rows": rows}


def section(results: Path, config: dict, *, synthetic: bool) -> dict[str, Any]:
    """Context of the section; `run` is False when the benchmark tables are absent."""
    tables = Path(results) / "tables"
    summary, data = _read(tables / "lreid.csv"), _read(tables / "lreid_datasets.csv")
    enabled = bool((config.get("benchmark") or {}).get("enabled"))
    if summary is None or data is None or summary.empty:
        return {"run": False, "enabled": enabled}
    used = data.loc[data["method"] != REFERENCE, "features"].dropna().unique().tolist()
    seeds = int(summary["n"].max()) if "n" in summary else 0
    order = [
        entry.get("name") for entry in (config.get("tasks") or []) + (config.get("unseen") or [])
    ]
    return {
        "run": True,
        "synthetic": synthetic,
        "order": order_name(config),
        "features": (config.get("benchmark") or {}).get("features", "?"),
        "resolved": ", ".join(sorted(used)),
        "seeds": seeds,
        "headers": [
            f"{label} {METRIC_LABELS[m]}"
            for label in (*AVERAGES.values(), *CONTINUAL.values())
            for m in METRICS
        ],
        "ours": ours_rows(summary),
        "published": [row._asdict() for row in ORDER1],
        "published_note": SOURCE_NOTE,
        "steps": [step_table(summary, metric) for metric in METRICS],
        "datasets": [dataset_table(data, kind, order) for kind in ("seen", "unseen")],
    }
