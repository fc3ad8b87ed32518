"""What the benchmark evaluates: every step of each comparison method (and a step-0 reference
per seed) on every seen task and every unseen set, with one task-free feature source."""

from __future__ import annotations

from typing import Any

from reid.errors import ConfigError
from reid.evaluation.features import TASK_FREE
from reid.runs import comparison_plan, phase_spec, run_hash, task_entry

REFERENCE = "reference"


def benchmark_sets(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Seen tasks (with their index in the sequence) then unseen sets (index None)."""
    names = [task["name"] for task in config["tasks"]]
    unseen = config.get("unseen") or []
    clash = sorted({u["name"] for u in unseen if u["name"] in names})
    repeated = sorted(
        {u["name"] for u in unseen if [v["name"] for v in unseen].count(u["name"]) > 1}
    )
    if clash or repeated:
        raise ConfigError(
            f"config key 'unseen': names {clash + repeated} are used twice (by a task or another "
            "unseen set); give every set its own name"
        )
    seen = [
        {"name": task["name"], "kind": "seen", "index": j, "task": task_entry(config, task)}
        for j, task in enumerate(config["tasks"])
    ]
    # select_ids cuts training identities: an evaluation-only set keeps all of its images.
    others = [
        {
            "name": u["name"],
            "kind": "unseen",
            "index": None,
            "task": task_entry(config, {k: v for k, v in u.items() if not k.startswith("select")}),
        }
        for u in unseen
    ]
    return seen + others


def unseen_tasks(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The unseen config entries, for the prepare rule (selection keys dropped)."""
    return [{k: v for k, v in u.items() if not k.startswith("select")} for u in config["unseen"]]


def benchmark_evaluation(config: dict[str, Any]) -> dict[str, Any]:
    """The evaluation section with the benchmark's task-free feature source."""
    features = config["benchmark"]["features"]
    if features == "task":
        raise ConfigError(
            "config key 'benchmark.features' is 'task', which needs a task id at test time; the "
            f"benchmark uses one model without it: choose one of {', '.join(TASK_FREE)}"
        )
    return dict(config["evaluation"], features=features)


def reference_spec(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """The untrained model of a seed (step 0: random or ImageNet initialisation), the
    reference b_j of forward transfer."""
    spec = phase_spec(config, 1, None, seed=seed)
    spec["kind"] = "reference"
    return spec


def benchmark_plan(config: dict[str, Any]) -> dict[str, Any]:
    """{"specs": runs to train, "references": {hash: spec}, "evals": one per model, "chains":
    {chain name: its specs in training order}}.

    Each eval is {method, seed, step, run, reference[, chain]}: steps 1..T of a sequential
    method, step T of `joint`, and step 0 (`method` = "reference") per seed."""
    steps = len(config["tasks"])
    specs: list[dict[str, Any]] = []
    evals: list[dict[str, Any]] = []
    references: dict[str, dict[str, Any]] = {}
    for seed in config["comparison"]["seeds"]:
        ref = reference_spec(config, seed)
        references[run_hash(ref)] = ref
        evals.append(
            {"method": REFERENCE, "seed": seed, "step": 0, "run": run_hash(ref), "reference": True}
        )
    chains: dict[str, list[dict[str, Any]]] = {}
    for entry in comparison_plan(config):
        specs += entry["specs"]
        chain = chain_name(entry["method"], entry["seed"])
        chains[chain] = entry["specs"]
        hashes = [run_hash(spec) for spec in entry["specs"]]
        first = steps - len(hashes) + 1  # joint: one run, step T
        evals += [
            {
                "method": entry["method"],
                "seed": entry["seed"],
                "step": first + i,
                "run": run,
                "reference": False,
                "chain": chain,
            }
            for i, run in enumerate(hashes)
        ]
    return {"specs": specs, "references": references, "evals": evals, "chains": chains}


def chain_name(method: str, seed: int) -> str:
    """The name of one (method, seed) chain: its job and file under `benchmark.jobs: chain`."""
    return f"{method}-seed{seed}"
