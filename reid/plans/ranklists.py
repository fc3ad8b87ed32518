"""Which rank lists the workflow draws: task 1 (pipeline 0) of the main run after phases 1 and
2, and of one baseline after phase 2, so the report shows what forgetting looks like."""

from __future__ import annotations

from typing import Any

from reid.runs import run_hash, task_entry
from reid.strategies import comparison_strategy

# The baseline drawn beside the main run when the comparison runs it: LwF, the classic
# distillation baseline; otherwise the first other sequential method of the comparison.
PREFERRED_BASELINES = ("lwf",)


def ranklist_baseline(
    config: dict[str, Any], comparison: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The comparison entry (first comparison seed) whose phase 2 is drawn beside the main run:
    a sequential method other than the main one, a preferred baseline first."""
    if not comparison:
        return None
    main = config["method"]["name"]
    seed = config["comparison"]["seeds"][0]
    entries = [
        e
        for e in comparison
        if e["seed"] == seed and e["method"] != main and comparison_strategy(e["method"]).sequential
    ]
    entries.sort(key=lambda e: e["method"] not in PREFERRED_BASELINES)
    return entries[0] if entries else None


def ranklist_plan(
    config: dict[str, Any], main_hashes: list[str], comparison: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """{"<run>_<task>": {"run", "task", "phase", "label"}} of every rank list to draw."""
    method, seed = config["method"]["name"], config["seed"]
    chosen = [
        (main_hashes[i], i + 1, f"{method} (main run, seed {seed})")
        for i in range(min(2, len(main_hashes)))
    ]
    baseline = ranklist_baseline(config, comparison)
    if baseline is not None and len(baseline["specs"]) > 1:
        label = f"{baseline['method']} (baseline, seed {baseline['seed']})"
        chosen.append((run_hash(baseline["specs"][1]), 2, label))
    task = config["tasks"][0]["name"]
    plan: dict[str, dict[str, Any]] = {}
    for run, phase, label in chosen:
        plan.setdefault(f"{run}_{task}", {"run": run, "task": task, "phase": phase, "label": label})
    return plan


def ranklist_settings(config: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """What `reid ranklist --settings` is given for one planned rank list."""
    return {
        "task": task_entry(config, config["tasks"][0]),
        "evaluation": config["evaluation"],
        "label": entry["label"],
        "phase": entry["phase"],
        "seed": config["seed"],
    }
