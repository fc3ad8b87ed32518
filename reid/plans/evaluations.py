"""Which evaluations the workflow makes: the main run's accuracy matrix, and one evaluation job
per run holding every task some table needs of it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def main_evals(task_names: list[str], main_hashes: list[str]) -> list[dict[str, Any]]:
    """The main run's accuracy matrix: after phase i, every task j <= i (task j is evaluated
    with pipeline j), as `{"phase", "task", "run"}` in phase then task order."""
    return [
        {"phase": i + 1, "task": task_names[j], "run": run}
        for i, run in enumerate(main_hashes)
        for j in range(i + 1)
    ]


def run_eval_tasks(task_names: list[str], evals: Iterable[dict[str, Any]]) -> dict[str, list[int]]:
    """{run: the sorted indices of every task some evaluation needs of it}: one job per run."""
    tasks: dict[str, set[int]] = {}
    for entry in evals:
        tasks.setdefault(entry["run"], set()).add(task_names.index(entry["task"]))
    return {run: sorted(indices) for run, indices in tasks.items()}


def comparison_evals(comparison: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every evaluation of the method comparison, each with its method and seed."""
    return [
        dict(e, method=entry["method"], seed=entry["seed"])
        for entry in comparison
        for e in entry["evals"]
    ]
