"""Result tables built from evaluation JSON files (the paper's results table, accuracy matrices)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

RESULT_COLUMNS = ["phase", "task", "rank1", "rank5", "rank10", "rank20", "mAP", "run", "features"]


def read_eval(path: str | Path, task: str | None = None) -> dict[str, Any]:
    """One evaluation: a single-task JSON file, or task `task` of a run's `eval/tasks.json`
    (`{"tasks": {name: metrics}}`, written by one evaluation job per run)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "tasks" in data and task is not None:
        return data["tasks"][task]
    return data


def main_results(manifest: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (phase, task) evaluation, metrics in percent, phases in training order."""
    rows = []
    for entry in manifest:
        result = read_eval(entry["file"], entry.get("task"))
        row = {
            "phase": entry["phase"],
            "task": entry["task"],
            "run": entry["run"],
            "features": result.get("features"),
        }
        for key in ("rank1", "rank5", "rank10", "rank20", "mAP"):
            row[key] = round(100.0 * float(result[key]), 2)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return frame.sort_values(["phase", "task"], key=_task_order(manifest)).reset_index(drop=True)


def _task_order(manifest: list[dict[str, Any]]):
    order = {}
    for entry in manifest:
        order.setdefault(entry["task"], len(order))

    def key(column: pd.Series) -> pd.Series:
        return column.map(order) if column.name == "task" else column

    return key


def accuracy_matrix(results: pd.DataFrame, metric: str = "mAP") -> pd.DataFrame:
    """R[step, task] of one metric, long format: step, task, metric, value."""
    frame = results[["phase", "task", metric]].rename(columns={"phase": "step", metric: "value"})
    frame.insert(2, "metric", metric)
    return frame.reset_index(drop=True)
