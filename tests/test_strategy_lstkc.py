"""LSTKC through the trainer on the tiny recipe (BNNeck, growing classifier, CE + triplet): the
short-term term is logged and positive; a phase interrupted after an epoch and resumed writes
the same model.pt and strategy state as an uninterrupted one; the weights model.pt gets are
θ = α θ_new + (1 − α) θ_parent with α over the new domain's training images, the new classifier
rows untouched; the options reach the terms; a head it cannot use is refused naming the keys."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import yaml
from engine_helpers import TINY, chdir
from strategy_helpers import RUNS, RUNTIME, phase_one, phase_two, states_equal

from reid.config import deep_merge, validate_config
from reid.data.transforms import EvalTransform
from reid.engine import load_model, run_phase
from reid.engine.checkpoint import load_checkpoint
from reid.engine.sources import epoch_batches, load_bank
from reid.engine.trainer import _batch, open_phase
from reid.errors import ConfigError
from reid.losses.lstkc import rectified_affinity_kl
from reid.runs import comparison_plan
from reid.strategies import STRATEGY_STATE, PhaseContext, make_strategy

# The field's recipe at tiny scale (as tests/test_recipe_training.py): BNNeck, one growing
# classifier (new rows = class means), CE + soft-margin triplet on normalised features.
RECIPE = {
    "model": {"head": "bnneck", "classifier": "growing"},
    "method": {"name": "lstkc"},
    "comparison": {"methods": ["finetune", "lstkc"]},
    "train": {
        "batch": {"p": 3, "k": 2, "sampler": "cross_camera"},
        "scheduler": {"name": "step", "milestones": [1], "gamma": 0.1},
        "loss": {"triplet": 1.0, "triplet_margin": None, "triplet_normalize": True},
    },
}
CLASSIFIER = "pipelines.0.classifier.weight"


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("lstkc")
    merged = deep_merge(yaml.safe_load(TINY.read_text()), RECIPE)
    return {**phase_one(path, **{key: merged[key] for key in RECIPE}), "workdir": path}


@pytest.fixture(scope="module")
def straight(config: dict) -> dict:
    """An uninterrupted lstkc phase 2; the weights after its last epoch, before the fusion."""
    spec = phase_two(config, "lstkc")
    last: dict[str, torch.Tensor] = {}

    def keep(epoch, model, row):
        last.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    run_dir = config["workdir"] / RUNS / "lstkc-straight"
    with chdir(config["workdir"]):
        run_phase(spec, run_dir.relative_to(config["workdir"]), RUNTIME, epoch_callback=keep)
    return {"spec": spec, "dir": run_dir, "last": last}


def _state(run_dir: Path) -> dict:
    return load_checkpoint(run_dir / STRATEGY_STATE, require="state")["state"]


def test_the_short_term_term_is_logged_and_positive(straight: dict) -> None:
    history = pd.read_csv(straight["dir"] / "history.csv")
    assert list(history.columns[2:5]) == ["ce", "triplet", "affinity_kl"]
    assert len(history) == 2 and (history["affinity_kl"] > 0).all()
    metrics = json.loads((straight["dir"] / "metrics.json").read_text())
    assert metrics["method"] == "lstkc"
    assert metrics["final_affinity_kl"] == history["affinity_kl"].iloc[-1]


@pytest.mark.parametrize("stop_after", [1, 2])
def test_interrupted_and_resumed_phase_writes_the_same_model_and_state(
    config: dict, straight: dict, stop_after: int
) -> None:
    """Stopped after epoch 1, or after the last epoch (before the fusion: the resumed run
    trains nothing and fuses from the restored weights and the step-start teacher)."""

    def stop(epoch, model, row):
        if epoch == stop_after:
            raise Interrupt

    with chdir(config["workdir"]):
        stopped = RUNS / f"lstkc-resumed-{stop_after}"
        with pytest.raises(Interrupt):
            run_phase(straight["spec"], stopped, RUNTIME, epoch_callback=stop)
        assert (stopped / "state" / "last.pt").is_file() and not (stopped / "model.pt").exists()
        epochs: list[int] = []
        run_phase(
            straight["spec"], stopped, RUNTIME, epoch_callback=lambda e, m, r: epochs.append(e)
        )
        resumed = load_checkpoint(stopped / "model.pt")["model"]
        alphas = _state(stopped)["alphas"]
    assert epochs == list(range(stop_after + 1, 3))
    assert states_equal(resumed, load_checkpoint(straight["dir"] / "model.pt")["model"])
    assert alphas == _state(straight["dir"])["alphas"] and len(alphas) == 1


def _alpha_by_formula(model_new, model_old, images: torch.Tensor, scale: float) -> float:
    """α = 1 − mean_i Σ_j |A_new − A_old|, A = softmax(scale · cos) of the normalised retrieval
    embedding (pre-BN, `feature: pre_bn`), all N × N pairs at once, eval mode."""
    affinities = []
    for model in (model_new, model_old):
        model.eval()
        with torch.no_grad():
            f = model(EvalTransform()(images), pipelines=[0]).embeddings[0].double()
        f = F.normalize(f, dim=1)
        affinities.append(torch.softmax(scale * f @ f.t(), dim=1))
    return 1.0 - float((affinities[0] - affinities[1]).abs().sum(dim=1).mean())


def test_model_pt_is_the_fusion_of_the_trained_and_the_parent_weights(
    config: dict, straight: dict
) -> None:
    spec, last = straight["spec"], straight["last"]
    with chdir(config["workdir"]):
        parent_model, _ = load_model(RUNS / spec["parent"] / "model.pt")
        written = load_checkpoint(straight["dir"] / "model.pt")["model"]
        images = load_bank(spec["task"], "train", spec["data"]).images
    parent = parent_model.state_dict()
    (alpha,) = _state(straight["dir"])["alphas"]
    # α over the new domain's training images: the trained (pre-fusion) vs the parent model.
    trained_model = load_model(straight["dir"] / "model.pt")[0]
    trained_model.load_state_dict(last)
    # (float32 features: scale 100 turns their ~1e-7 cosine rounding into ~1e-5 in α)
    expected = _alpha_by_formula(trained_model, parent_model, images, 100.0)
    assert alpha == pytest.approx(expected, rel=1e-4)
    assert 0 < abs(alpha) < 1  # a fusion that moves the weights (neither side alone)
    old_rows = parent[CLASSIFIER].shape[0]
    assert written[CLASSIFIER].shape[0] > old_rows
    assert torch.equal(written[CLASSIFIER][old_rows:], last[CLASSIFIER][old_rows:])
    torch.testing.assert_close(
        written[CLASSIFIER][:old_rows],
        alpha * last[CLASSIFIER][:old_rows] + (1 - alpha) * parent[CLASSIFIER],
    )
    floats = [k for k in written if k != CLASSIFIER and written[k].is_floating_point()]
    assert {"base.0.weight", "pipelines.0.bn.running_mean", "pipelines.0.bn.weight"} <= set(floats)
    for key in floats:
        torch.testing.assert_close(written[key], alpha * last[key] + (1 - alpha) * parent[key])
    assert not torch.equal(written["base.0.weight"], last["base.0.weight"])
    counters = [k for k in written if k.endswith("num_batches_tracked")]
    for key in counters:  # the authors' fused counter, truncated toward zero on load
        expected = alpha * last[key].double() + (1 - alpha) * parent[key].double()
        assert int(written[key]) == int(expected)


@pytest.fixture
def opened(config: dict):
    """Open a fresh lstkc phase 2 (its model = the parent + this step's rows), with settings."""

    def open_with(**settings):
        spec = phase_two(config, "lstkc", **settings)
        with chdir(config["workdir"]):
            return open_phase(spec, RUNS / "lstkc-opened", RUNTIME, RUNS)

    return open_with


def _first_batch(phase):
    source, indices = epoch_batches(phase.sources, 0, None)[0]
    batch = _batch(source, indices, torch.device("cpu"), 0, 0)
    batch.images = phase.transform(batch.images, torch.Generator().manual_seed(0))
    return batch


def test_the_teacher_is_the_frozen_parent_and_the_term_is_the_pure_function(
    config: dict, opened
) -> None:
    phase = opened(weight=0.5)
    model, strategy = phase.model, phase.strategy
    with chdir(config["workdir"]):
        parent = load_checkpoint(phase.ctx.parent_dir / "model.pt")["model"]
    teacher = strategy.teacher.state_dict()
    assert all(torch.equal(teacher[k], v) for k, v in parent.items() if k != CLASSIFIER)
    assert not strategy.teacher.training
    assert not any(p.requires_grad for p in strategy.teacher.parameters())
    batch = _first_batch(phase)
    model.train()
    out = model(batch.images, pipelines=strategy.forward_pipelines(batch))
    parts = strategy.loss(model, out, batch)
    with torch.no_grad():
        old = strategy.teacher(batch.images, pipelines=[0]).features[0]
    expected = rectified_affinity_kl(out.features[-1], old, batch.pids, temperature=0.1)
    assert float(parts.parts["affinity_kl"]) == pytest.approx(float(expected.detach()), rel=1e-6)
    task = parts.parts["ce"] + parts.parts["triplet"]
    assert float(parts.total.detach()) == pytest.approx(
        float(task + 0.5 * expected.detach()), rel=1e-5
    )
    parts.total.backward()
    assert all(p.grad is None for p in strategy.teacher.parameters())


def test_detach_target_changes_the_gradient_not_the_value(opened) -> None:
    results = []
    for settings in ({}, {"detach_target": True}):
        phase = opened(**settings)
        batch = _first_batch(phase)
        phase.model.train()
        out = phase.model(batch.images, pipelines=[batch.pipeline])
        parts = phase.strategy.loss(phase.model, out, batch)
        (grad,) = torch.autograd.grad(parts.total, out.features[-1])
        results.append((float(parts.parts["affinity_kl"]), grad))
    (faithful, grad_faithful), (corrected, grad_corrected) = results
    assert faithful == pytest.approx(corrected, rel=1e-6)
    assert not torch.allclose(grad_faithful, grad_corrected)


def _blind_teacher(phase) -> None:
    """A step-start model that maps every image to one feature: its affinities are uniform,
    far from the learner's near-one-hot ones, so Σ_j |ΔA| > 1 and α < 0."""
    with torch.no_grad():
        for param in phase.strategy.teacher.base.parameters():
            param.zero_()


def test_clamp_alpha_and_integer_buffers_options(config: dict, opened) -> None:
    faithful, corrected = opened(), opened(clamp_alpha=True, integer_buffers="new")
    with chdir(config["workdir"]):
        parent = load_checkpoint(faithful.ctx.parent_dir / "model.pt")["model"]
        for phase in (faithful, corrected):
            _blind_teacher(phase)
            for module in phase.model.modules():
                if isinstance(module, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                    module.num_batches_tracked.fill_(7)
        alpha = faithful.strategy.fusion_alpha(faithful.ctx)
        assert corrected.strategy.fusion_alpha(corrected.ctx) == 0.0
        trained = {k: v.clone() for k, v in corrected.model.state_dict().items()}
        clamped = corrected.strategy.fuse_weights(corrected.ctx)
        unclamped = faithful.strategy.fuse_weights(faithful.ctx)
    assert alpha < 0  # the authors' α is not clamped
    assert corrected.strategy.alphas == [0.0] and faithful.strategy.alphas == [alpha]
    rows = parent[CLASSIFIER].shape[0]
    counters = [k for k in clamped if k.endswith("num_batches_tracked")]
    assert counters and all(int(clamped[k]) == 7 for k in counters)  # integer_buffers: new
    for key, value in parent.items():  # α = 0: the parent's weights (its rows of the classifier)
        if key not in counters:
            assert torch.equal(clamped[key][: value.shape[0]], value), key
    assert torch.equal(clamped[CLASSIFIER][rows:], trained[CLASSIFIER][rows:])
    for key in counters:  # integer_buffers: fuse (the authors' code), truncated toward zero
        assert int(unclamped[key]) == int(alpha * 7 + (1 - alpha) * int(parent[key]))
    # Entries the step left unchanged (here: all but the counters) keep their exact value,
    # where α x + (1 − α) x would round.
    unchanged = [k for k in parent if k not in counters and k != CLASSIFIER]
    assert all(torch.equal(unclamped[k], parent[k]) for k in unchanged)


def test_the_next_phase_inherits_the_chain_alphas(config: dict, straight: dict) -> None:
    strategy = make_strategy({"name": "lstkc", "trainable": "base_second", "lstkc": {}}, 0.0)
    with chdir(config["workdir"]):
        model, _ = load_model(straight["dir"] / "model.pt")
    model.add_pipeline(3)
    ctx = PhaseContext(
        spec={"seed": 0},
        model=model,
        new_index=2,
        device=torch.device("cpu"),
        run_dir=config["workdir"],
        parent_dir=straight["dir"],
        load_bank=lambda task: None,
    )
    strategy.setup(ctx)
    strategy.before_phase(ctx)
    assert strategy.alphas == _state(straight["dir"])["alphas"]


def test_a_head_it_cannot_use_is_refused_naming_the_keys() -> None:
    with pytest.raises(ConfigError) as info:
        validate_config({"model": {"head": "pipeline"}, "method": {"name": "lstkc"}})
    message = str(info.value)
    assert "method.name" in message and "model.head" in message and "'bnneck'" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="comparison.model_overrides.lstkc"):
        validate_config(
            {
                "method": {"name": "finetune"},
                "comparison": {
                    "methods": ["finetune", "lstkc"],
                    "model_overrides": {"lstkc": {"head": "pipeline"}},
                },
            }
        )
    # In a comparison on the paper's model, LSTKC brings its own model piece.
    config = validate_config(
        {"method": {"name": "finetune"}, "comparison": {"methods": ["finetune", "lstkc"]}}
    )
    models = {e["method"]: e["specs"][-1]["model"] for e in comparison_plan(config)}
    assert models["lstkc"]["head"] == "bnneck" and models["lstkc"]["classifier"] == "growing"
    assert models["finetune"].get("head") is None  # the paper's pipeline
