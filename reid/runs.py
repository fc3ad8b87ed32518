"""Run folders keyed by the hash of their effective config.

A *spec* is the JSON-safe effective config of one training phase: everything that changes the
trained weights (data, model, training, method, seed, parent run) and nothing else (device,
threads and evaluation settings are not part of it). Its hash names the folder
`results/runs/<hash>/`, so the main run, the ablation studies and the method comparison share a
run whenever their configs agree, and a finished run is never trained twice.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reid import paths
from reid.data import synthetic
from reid.data.select import selection_of
from reid.helpers import deep_merge, stable_hash
from reid.io import file_lock
from reid.models import neutral_model
from reid.strategies import comparison_section, comparison_strategy, hashed_section

RUNS_ROOT = Path(paths.runs_root())
RUN_OUTPUTS = paths.RUN_OUTPUTS
DATA_KEYS = ("dataset", "source", "url", "md5", "archive", "folder", "synthetic")
# Training keys that change speed, not what is learnt: left out of a run's hash. The precision
# (`amp`) changes the numbers, so it stays in.
RUNTIME_TRAIN_KEYS = ("channels_last", "compile")


def neutral_train(train: dict[str, Any]) -> dict[str, Any]:
    """`train` as a spec records it: without the speed-only keys, and without each recipe key
    that is at its no-op value (an epoch = one sampler pass, the `pk` sampler, no warm-up, step
    settings under another schedule, cross-entropy alone, no `first_epochs`); a `step` schedule
    drops the cyclical rate's keys. A config that
    does not use those keys therefore records exactly what it recorded before they existed."""
    out = {
        key: copy.deepcopy(value) for key, value in train.items() if key not in RUNTIME_TRAIN_KEYS
    }
    if out.get("first_epochs") is None:
        out.pop("first_epochs", None)
    if out.get("epoch_length", "sampler") == "sampler":
        out.pop("epoch_length", None)
    if (out.get("batch") or {}).get("sampler", "pk") == "pk":
        (out.get("batch") or {}).pop("sampler", None)
    sched = out.get("scheduler") or {}
    if sched.get("name") != "step":
        sched.pop("milestones", None)
        sched.pop("gamma", None)
    else:  # the cyclical rate's keys do not shape a step schedule (new: no older hash)
        sched.pop("max_lr", None)
        sched.pop("half_cycle_epochs", None)
    if not (sched.get("warmup") or {}).get("epochs", 0):
        sched.pop("warmup", None)
    loss = out.get("loss")
    if loss is not None and loss.get("ce", 1) == 1 and not loss.get("triplet", 0):
        out.pop("loss")
    return out


def method_model(config: dict[str, Any], method: str | None) -> dict[str, Any]:
    """The `model` section a comparison method trains with: the config's `model`, then the
    model piece its strategy declares (`register_strategy(model=...)`, e.g. DKP's head), then
    `comparison.model_overrides.<method>`."""
    overrides = (config.get("comparison") or {}).get("model_overrides") or {}
    own = comparison_strategy(method).model if method else {}
    return deep_merge(deep_merge(config["model"], own), overrides.get(method) or {})


def task_data_identity(task: dict[str, Any]) -> dict[str, Any]:
    """The keys of a task that decide which images it holds (for generated data, the
    generator's version too: a generator that draws differently makes another dataset)."""
    identity = {key: task.get(key) for key in DATA_KEYS}
    if task.get("source") == "synthetic":
        identity["generator_version"] = synthetic.GENERATOR_VERSION
    else:
        identity.pop("synthetic")
    return identity


def dataset_dir(config: dict[str, Any], task: dict[str, Any]) -> str:
    """Folder (relative to the working directory) where a task's dataset is prepared."""
    name = f"{task['name']}-{stable_hash(task_data_identity(task), 8)}"
    return paths.dataset_dir(name, config["data"]["root"])


def task_by_name(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The task entry called `name`."""
    for task in config["tasks"]:
        if task["name"] == name:
            return task
    raise KeyError(name)


def task_entry(config: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """What a run spec records of a task: its prepared folder, data identity and selection
    (`select_ids`, `select_seed`, `split_file`; only those set, so other runs keep their hash)."""
    return {
        "name": task["name"],
        "dataset": task["dataset"],
        "root": dataset_dir(config, task),
        "data": task_data_identity(task),
        **selection_of(task),
    }


def phase_spec(
    config: dict[str, Any],
    phase: int,
    parent: str | None,
    *,
    seed: int | None = None,
    method: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    model: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Spec of training phase `phase` (1-based) on `config['tasks'][phase - 1]`.

    Phase 1 carries no method (it is the same for every continual strategy, so it is shared);
    later phases carry only the keys of `method` their strategy reads (`Strategy.reads`), so a
    setting of another strategy does not change their hash. `method`, `train` and `model`
    override the config's sections for this phase only. The model and training sections keep
    only the keys that change what is trained (`neutral_model`, `neutral_train`); phase 1
    trains `train.first_epochs` epochs when it is set.
    """
    if phase > 1 and parent is None:
        raise ValueError("a phase after the first needs a parent run")
    train_cfg = neutral_train(config["train"] if train is None else train)
    first_epochs = train_cfg.pop("first_epochs", None)
    if phase == 1 and first_epochs is not None:
        train_cfg["epochs"] = first_epochs
    spec: dict[str, Any] = {
        "kind": "phase",
        "phase": phase,
        "parent": parent,
        "task": task_entry(config, config["tasks"][phase - 1]),
        "data": {k: config["data"][k] for k in ("height", "width", "skip_corrupt")},
        "model": neutral_model(config["model"] if model is None else model),
        "train": train_cfg,
        "method": None if phase == 1 else hashed_section(method or config["method"]),
        "seed": config["seed"] if seed is None else seed,
    }
    return spec


def joint_spec(
    config: dict[str, Any],
    *,
    seed: int | None = None,
    method: str = "joint",
    model: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Spec of training on all tasks at once (`joint`: the upper bound of the comparison)."""
    spec = phase_spec(config, 1, None, seed=seed, model=model)
    spec["kind"] = "joint"
    spec["phase"] = len(config["tasks"])
    spec["task"] = None
    spec["tasks"] = [task_entry(config, task) for task in config["tasks"]]
    spec["method"] = {"name": method}
    return spec


def run_hash(spec: dict[str, Any]) -> str:
    """Name of the run folder of `spec`."""
    return stable_hash(spec)


def main_chain(
    config: dict[str, Any], *, seed: int | None = None, method=None, model=None
) -> list[dict]:
    """Specs of phases 1..T of the main run (or of one method and seed of the comparison)."""
    specs: list[dict[str, Any]] = []
    parent = None
    for phase in range(1, len(config["tasks"]) + 1):
        spec = phase_spec(config, phase, parent, seed=seed, method=method, model=model)
        specs.append(spec)
        parent = run_hash(spec)
    return specs


def run_dir(spec: dict[str, Any], root: Path = RUNS_ROOT) -> Path:
    """`results/runs/<hash>` of a spec."""
    return Path(root) / run_hash(spec)


def is_complete(directory: Path) -> bool:
    """Whether a run folder holds every output of a finished run."""
    return all((Path(directory) / name).is_file() for name in RUN_OUTPUTS)


def read_spec(directory: Path) -> dict[str, Any]:
    """The spec a run folder was trained from."""
    return json.loads((Path(directory) / paths.SPEC).read_text(encoding="utf-8"))


@contextmanager
def run_lock(directory: Path) -> Iterator[None]:
    """Exclusive lock on a run folder, so two processes never train the same run at once."""
    with file_lock(Path(directory) / ".lock"):
        yield


def method_section(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The `method` section of a comparison method (a strategy, or a variant such as
    `covariance_paper` = covariance with the gradient variant)."""
    return comparison_section(config["method"], name)


def comparison_plan(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs and evaluations of the method comparison: one entry per (method, seed).

    Each entry lists its specs (phases, or one joint run) and its evaluations
    (`step`, `task`, `task_index`, `run`): the whole accuracy matrix for sequential methods,
    the last row for a method trained on all tasks at once (`joint`).
    """
    names = [task["name"] for task in config["tasks"]]
    entries = []
    for seed in config["comparison"]["seeds"]:
        for method in config["comparison"]["methods"]:
            model = method_model(config, method)
            if not comparison_strategy(method).sequential:
                specs = [joint_spec(config, seed=seed, method=method, model=model)]
                last = run_hash(specs[0])
                evals = [
                    {"step": len(names), "task": name, "task_index": j, "run": last}
                    for j, name in enumerate(names)
                ]
            else:
                section = method_section(config, method)
                specs = main_chain(config, seed=seed, method=section, model=model)
                hashes = [run_hash(spec) for spec in specs]
                evals = [
                    {"step": i + 1, "task": names[j], "task_index": j, "run": hashes[i]}
                    for i in range(len(specs))
                    for j in range(i + 1)
                ]
            entries.append({"method": method, "seed": seed, "specs": specs, "evals": evals})
    return entries
