"""The LReID recipe through the trainer: every strategy takes a training step with each head
(on the `meta` device), a growing classifier starts a step from the parent's rows and the
new task's class means, and a recipe phase trains, logs its triplet term and evaluates."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml
from engine_helpers import TINY, chdir
from strategy_helpers import RUNS, RUNTIME, phase_one, phase_two

from reid.config import deep_merge, validate_config
from reid.engine import run_phase
from reid.engine.evaluate import evaluate_run
from reid.engine.growing import class_means
from reid.engine.models import load_model
from reid.engine.sources import epoch_batches, load_bank
from reid.engine.trainer import _batch, open_phase
from reid.errors import ConfigError
from reid.runs import joint_spec, main_chain, run_hash
from reid.strategies import STRATEGIES, sequential_methods

# The recipe at tiny scale: BNNeck heads with one growing classifier, CE + soft-margin triplet
# on normalised features, the camera-preferring sampler, epochs of images / batch, warm-up
# and step decay.
RECIPE = {
    "model": {"head": "bnneck", "classifier": "growing"},
    "method": {"name": "finetune"},
    # The paper's method keeps its own model inside the comparison.
    "comparison": {
        "model_overrides": {
            name: {"head": "pipeline", "classifier": "per_task"}
            for name in ("covariance", "covariance_paper")
        }
    },
    "train": {
        "batch": {"p": 3, "k": 2, "sampler": "cross_camera"},
        "epoch_length": "images",
        "first_epochs": 2,
        "epochs": 1,
        "scheduler": {
            "name": "step",
            "milestones": [1],
            "gamma": 0.1,
            "warmup": {"epochs": 1, "start_factor": 0.1},
        },
        "loss": {"triplet": 1.0, "triplet_margin": None, "triplet_normalize": True},
    },
}
HEAD_CONFIGS = {"pipeline": {}, "bnneck": RECIPE}
VALUE_DEPENDENT = {"covariance"}


def _overrides(head: str) -> dict:
    raw = yaml.safe_load(TINY.read_text())
    merged = deep_merge(raw, HEAD_CONFIGS[head])
    return {key: merged[key] for key in HEAD_CONFIGS[head]}


@pytest.fixture(scope="module", params=list(HEAD_CONFIGS))
def trained(request, tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp(f"recipe-{request.param}")
    return {**phase_one(path, **_overrides(request.param)), "workdir": path}


def _spec(config: dict, name: str) -> dict:
    if not STRATEGIES.get(name).sequential:
        return joint_spec(config)
    return phase_two(config, name)


def _usable(config: dict, name: str) -> bool:
    """Whether `name` trains here: with the config's head, or with the model piece it brings
    (`phase_two` then trains that model's phase 1)."""
    cls = STRATEGIES.get(name)
    heads = {config["model"]["head"], cls.model.get("head")}
    return cls.heads is None or bool(heads & set(cls.heads))


@pytest.mark.parametrize("name", [*sequential_methods(), "joint"])
def test_one_training_step_of_every_strategy_on_the_meta_device(trained: dict, name: str) -> None:
    config = copy.deepcopy(trained)
    if not _usable(config, name):
        # A strategy that cannot use this head is refused at validation, naming both keys (a
        # comparison trains it with its own model piece or a model override): no step here.
        head = config["model"]["head"]
        with pytest.raises(ConfigError, match=r"'method.name' .* 'model.head'"):
            validate_config({"model": {"head": head}, "method": {"name": name}})
        return
    # The covariance loss picks its couples from the batch's labels (values a meta tensor does
    # not have): its step runs on the CPU.
    device = torch.device("cpu" if name in VALUE_DEPENDENT else "meta")
    runtime = type(RUNTIME)(device_name=device.type, threads=1)
    with chdir(config["workdir"]):
        phase = open_phase(_spec(config, name), Path("results/meta") / name, runtime, RUNS)
    source, indices = epoch_batches(phase.sources, 0, None)[0]
    batch = phase.strategy.before_step(_batch(source, indices, device, 0, 0))
    batch.images = phase.transform(batch.images, torch.Generator().manual_seed(0))
    phase.model.train()
    parts = phase.stepper.step(batch)
    assert parts.total.device == device and parts.total.dim() == 0
    assert "ce" in parts.parts
    # The triplet term is logged where the recipe weights it, on a head without a loss of its
    # own (DKP's head brings its set triplet instead).
    weighted = bool((phase.spec["train"].get("loss") or {}).get("triplet", 0))
    assert ("triplet" in parts.parts) == (weighted and phase.spec["model"].get("head") == "bnneck")
    assert all(p.device == device for p in phase.model.parameters())
    learnt = [*phase.model.base.parameters(), *phase.model.task_head(batch.pipeline).parameters()]
    assert all(p.grad is not None for p in learnt if p.requires_grad), name


def test_covariance_with_bnneck_is_refused_naming_both_keys() -> None:
    with pytest.raises(ConfigError) as info:
        validate_config({"model": {"head": "bnneck"}, "method": {"name": "covariance"}})
    message = str(info.value)
    assert "method.name" in message and "model.head" in message and "\n" not in message
    with pytest.raises(ConfigError, match="comparison.model_overrides.covariance_paper"):
        validate_config(
            {
                "model": {"head": "bnneck"},
                "method": {"name": "finetune"},
                "comparison": {"methods": ["finetune", "covariance_paper"]},
            }
        )
    config = validate_config(
        {
            "model": {"head": "bnneck"},
            "method": {"name": "finetune"},
            "comparison": {
                "methods": ["finetune", "covariance"],
                "model_overrides": {"covariance": {"head": "pipeline"}},
            },
        }
    )
    from reid.runs import comparison_plan

    heads = {e["method"]: e["specs"][-1]["model"].get("head") for e in comparison_plan(config)}
    assert heads == {"finetune": "bnneck", "covariance": None}  # None: the paper's pipeline


@pytest.fixture(scope="module")
def recipe(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("recipe-growing")
    return {**phase_one(path, **_overrides("bnneck")), "workdir": path}


def test_a_step_starts_from_the_parent_rows_and_the_new_class_means(recipe: dict) -> None:
    with chdir(recipe["workdir"]):
        first, second = main_chain(recipe)
        parent, _ = load_model(RUNS / run_hash(first) / "model.pt")
        phase = open_phase(second, Path("results/growing-open"), RUNTIME, RUNS)
        bank = load_bank(second["task"], "train", second["data"])
    old = parent.pipelines[0].classifier.weight
    weight = phase.model.pipelines[0].classifier.weight
    assert weight.shape[0] == old.shape[0] + int(bank.pids.max()) + 1
    assert torch.equal(weight[: old.shape[0]], old)
    means = class_means(parent, bank.images, bank.pids, 0, torch.device("cpu"))
    assert torch.allclose(weight[old.shape[0] :], means, atol=1e-6)
    assert torch.allclose(weight[old.shape[0] :].norm(dim=1), torch.ones(len(means)))
    assert phase.sources[0].label_offset == old.shape[0]


def test_a_recipe_phase_trains_logs_its_terms_and_evaluates_task_free(recipe: dict) -> None:
    with chdir(recipe["workdir"]):
        first, second = main_chain(recipe, method={**recipe["method"], "name": "lwf"})
        metrics = run_phase(second, Path("results/growing-run"), RUNTIME, run_root=RUNS)
        history = (Path("results/growing-run") / "history.csv").read_text().splitlines()
        evaluation = dict(recipe["evaluation"], features="mean:all")
        result = evaluate_run(
            Path("results/growing-run/model.pt"), second["task"], None, evaluation, RUNTIME
        )
    assert metrics["num_classes"] == [6, 6]
    header = history[0].split(",")
    assert header[header.index("lr") + 1 :][:3] == ["ce", "triplet", "lwf"]
    # first_epochs: 2 for phase 1, epochs: 1 later; an epoch is images / (p * k) batches.
    assert first["train"]["epochs"] == 2 and second["train"]["epochs"] == 1
    assert len(history) == 2
    assert result["features"] == "mean:0" and 0 <= result["mAP"] <= 1
