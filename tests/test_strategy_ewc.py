"""EWC: the penalty is zero at the anchor weights and grows quadratically away from them; a
phase 2 trains with it and saves Fisher and anchor with the run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from engine_helpers import chdir
from strategy_helpers import RUNS, RUNTIME, fake_bank, phase_two, tiny_model, trained

from reid.data.transforms import EvalTransform
from reid.engine import load_model, run_phase
from reid.engine.checkpoint import load_checkpoint
from reid.strategies import STRATEGY_STATE, PhaseContext, make_strategy
from reid.strategies.ewc import batch_squared_gradients, diagonal_fisher, ewc_penalty

METHOD = {
    "name": "ewc",
    "trainable": "base_second",
    "ewc": {"weight": 10.0, "fisher_batches": 3, "normalize": True},
}


def _consolidated(tmp_path: Path):
    parent = tmp_path / "parent"
    parent.mkdir()
    task = {"name": "market", "dataset": "market1501", "root": "nowhere"}
    (parent / "spec.json").write_text(json.dumps({"phase": 1, "method": None, "task": task}))
    model = tiny_model(2)
    strategy = make_strategy({**METHOD, "ewc": {**METHOD["ewc"], "seed": 0}}, 0.0)
    spec = {"train": {"batch": {"p": 4, "k": 2}}}
    ctx = PhaseContext(
        spec=spec,
        model=model,
        new_index=1,
        device=torch.device("cpu"),
        run_dir=tmp_path / "run",
        parent_dir=parent,
        load_bank=lambda task: fake_bank(),
    )
    strategy.before_phase(ctx)
    return model, strategy


def _shift(model, delta: dict[str, torch.Tensor], scale: float) -> None:
    with torch.no_grad():
        for name, param in model.base.named_parameters():
            param.add_(scale * delta[name])


def test_penalty_is_zero_at_the_anchor_and_grows_away_from_it(tmp_path: Path) -> None:
    model, strategy = _consolidated(tmp_path)
    (entry,) = strategy.per_task
    assert all((f >= 0).all() for f in entry["fisher"].values())
    assert max(float(f.max()) for f in entry["fisher"].values()) == pytest.approx(1.0)
    at_anchor = ewc_penalty(model, strategy.per_task)
    assert float(at_anchor.detach()) == 0.0
    g = torch.Generator().manual_seed(0)
    delta = {n: torch.randn(p.shape, generator=g) * 1e-2 for n, p in model.base.named_parameters()}
    _shift(model, delta, 1.0)
    one = float(ewc_penalty(model, strategy.per_task).detach())
    _shift(model, delta, 1.0)
    two = float(ewc_penalty(model, strategy.per_task).detach())
    assert 0 < one < two
    assert two == pytest.approx(4 * one, rel=1e-4)  # quadratic in the distance


def test_penalty_gradient_pulls_back_to_the_anchor(tmp_path: Path) -> None:
    model, strategy = _consolidated(tmp_path)
    name, param = max(
        model.base.named_parameters(),
        key=lambda item: float(strategy.per_task[0]["fisher"][item[0]].sum()),
    )
    with torch.no_grad():
        param.add_(0.1)
    ewc_penalty(model, strategy.per_task).backward()
    fisher = strategy.per_task[0]["fisher"][name]
    grad = param.grad[fisher > 0]
    assert (grad > 0).all()  # moving back (down) lowers the penalty


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    return trained(tmp_path_factory, "ewc")


def test_phase2_trains_with_the_penalty_and_saves_fisher_and_anchor(config: dict) -> None:
    workdir = config["workdir"]
    spec = phase_two(config, "ewc", weight=10.0, fisher_batches=2)
    run_dir = RUNS / "ewc"
    with chdir(workdir):
        run_phase(spec, run_dir, RUNTIME)
    history = pd.read_csv(workdir / run_dir / "history.csv")
    assert (history["ewc"] > 0).all()
    assert (history["total"] < 10 * history["ce"]).all()  # normalised: the penalty stays tame
    assert history["total"].iloc[-1] > history["ce"].iloc[-1]
    state = load_checkpoint(workdir / run_dir / STRATEGY_STATE, require="state")["state"]
    (entry,) = state["per_task"]
    parent, _ = load_model(workdir / RUNS / spec["parent"] / "model.pt")
    for name, param in parent.base.named_parameters():
        assert torch.equal(entry["anchor"][name], param.detach())


def _per_image_loop(model, bank, pipeline: int = 0) -> dict[str, torch.Tensor]:
    """Kirkpatrick et al.'s empirical diagonal Fisher, one image at a time: the mean over images
    of (∂ log p(y|x) / ∂θ)² with y the true label."""
    params = dict(model.base.named_parameters())
    fisher = {name: torch.zeros_like(p) for name, p in params.items()}
    model.eval()
    for image, label in zip(EvalTransform()(bank.images), bank.pids, strict=True):
        logits = model(image[None], pipelines=[pipeline]).logits[-1]
        log_p = torch.log_softmax(logits, dim=1)[0, label]
        for name, g in zip(params, torch.autograd.grad(log_p, list(params.values())), strict=True):
            fisher[name] += g.pow(2) / len(bank.pids)
    return fisher


def test_fisher_is_the_mean_squared_per_image_log_likelihood_gradient() -> None:
    model, bank = tiny_model(2), fake_bank(ids=2, per_id=3)
    fisher = diagonal_fisher(model, 0, bank, batches=2, batch_size=4, seed=0)  # covers all 6
    expected = _per_image_loop(model, bank)
    for name in expected:
        torch.testing.assert_close(fisher[name], expected[name], rtol=1e-4, atol=1e-9)


def test_batch_option_squares_the_batch_mean_gradient_instead() -> None:
    """`fisher: batch` keeps the old estimate, (E g)² + Var(g)/B: not the per-image Fisher."""
    model, bank = tiny_model(2), fake_bank(ids=2, per_id=3)
    batch = batch_squared_gradients(model, 0, bank, batches=1, batch_size=6, seed=0)
    params = dict(model.base.named_parameters())
    model.eval()
    logits = model(EvalTransform()(bank.images), pipelines=[0]).logits[-1]
    loss = torch.nn.functional.cross_entropy(logits, bank.pids)
    grads = torch.autograd.grad(loss, list(params.values()))
    per_image = _per_image_loop(model, bank)
    for name, g in zip(params, grads, strict=True):
        torch.testing.assert_close(batch[name], g.pow(2), rtol=1e-4, atol=1e-12)
    conv = "0.weight"
    assert not torch.allclose(batch[conv], per_image[conv], rtol=0.1)


def test_estimates_carry_no_graph_to_a_trainable_head() -> None:
    """A shared, trainable head (BNNeck, growing classifier): the Fisher and MAS's Ω must be
    plain numbers, or the penalty backpropagates into the head and a second step fails."""
    from reid.strategies.mas import importance

    model, bank = tiny_model(2), fake_bank(ids=2, per_id=3)
    assert all(p.requires_grad for p in model.task_head(0).parameters())
    fisher = diagonal_fisher(model, 0, bank, batches=2, batch_size=4, seed=0)
    omega = importance(model, 0, bank, batches=2, batch_size=4, seed=0)
    for estimate in (fisher, omega):
        assert not any(value.requires_grad for value in estimate.values())
