"""MAS: Ω is the mean absolute per-image gradient of the squared embedding norm (non-negative,
normalised), the penalty is zero at the anchor and grows quadratically away from it, a third
phase sums the tasks' Ω around the latest anchor, and a phase 2 trains with it, saves Ω and
anchor with the run and resumes from state/last.pt without estimating Ω again."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from engine_helpers import chdir
from strategy_helpers import RUNS, RUNTIME, fake_bank, phase_two, states_equal, tiny_model, trained

from reid.data.transforms import EvalTransform
from reid.engine import load_model, run_phase
from reid.engine.checkpoint import load_checkpoint, save_checkpoint
from reid.strategies import STRATEGY_STATE, PhaseContext, make_strategy
from reid.strategies import mas as mas_module
from reid.strategies.mas import importance, mas_penalty

SETTINGS = {"weight": 5.0, "omega_batches": 3, "normalize": True, "seed": 0}
METHOD = {"name": "mas", "trainable": "base_second", "mas": SETTINGS}


def _ctx(tmp_path: Path, model, new_index: int, parent_phase: int) -> PhaseContext:
    parent = tmp_path / f"parent{new_index}"
    parent.mkdir(exist_ok=True)
    task = {"name": f"task{new_index}", "dataset": "market1501", "root": "nowhere"}
    spec = {"phase": parent_phase, "method": METHOD if parent_phase > 1 else None, "task": task}
    (parent / "spec.json").write_text(json.dumps(spec))
    return PhaseContext(
        spec={"train": {"batch": {"p": 4, "k": 2}}},
        model=model,
        new_index=new_index,
        device=torch.device("cpu"),
        run_dir=tmp_path / "run",
        parent_dir=parent,
        load_bank=lambda task: fake_bank(seed=new_index),
    )


def _consolidated(tmp_path: Path):
    model = tiny_model(2)
    strategy = make_strategy(METHOD, 0.0)
    strategy.before_phase(_ctx(tmp_path, model, 1, 1))
    return model, strategy


def _shift(model, delta: dict[str, torch.Tensor], scale: float) -> None:
    with torch.no_grad():
        for name, param in model.base.named_parameters():
            param.add_(scale * delta[name])


def test_omega_is_the_mean_absolute_per_image_gradient() -> None:
    model, bank = tiny_model(2), fake_bank(ids=2, per_id=3)
    omega = importance(model, 0, bank, batches=2, batch_size=4, seed=0)
    params = dict(model.base.named_parameters())
    expected = {name: torch.zeros_like(p) for name, p in params.items()}
    model.eval()
    for image in EvalTransform()(bank.images):  # all 6 images: 2 batches of 4 cover them
        norm = model(image[None], pipelines=[0]).embeddings[-1].pow(2).sum()
        grads = torch.autograd.grad(norm, list(params.values()))
        for name, grad in zip(params, grads, strict=True):
            expected[name] += grad.abs() / len(bank.pids)
    assert all((o >= 0).all() for o in omega.values())
    for name in params:
        torch.testing.assert_close(omega[name], expected[name], rtol=1e-4, atol=1e-7)


def test_penalty_is_zero_at_the_anchor_and_grows_away_from_it(tmp_path: Path) -> None:
    model, strategy = _consolidated(tmp_path)
    (entry,) = strategy.per_task
    assert all((o >= 0).all() for o in entry["omega"].values())
    assert max(float(o.max()) for o in entry["omega"].values()) == pytest.approx(1.0)
    assert float(mas_penalty(model, strategy.omega, strategy.anchor).detach()) == 0.0
    g = torch.Generator().manual_seed(0)
    delta = {n: torch.randn(p.shape, generator=g) * 1e-2 for n, p in model.base.named_parameters()}
    _shift(model, delta, 1.0)
    one = float(mas_penalty(model, strategy.omega, strategy.anchor).detach())
    _shift(model, delta, 1.0)
    two = float(mas_penalty(model, strategy.omega, strategy.anchor).detach())
    assert 0 < one < two
    assert two == pytest.approx(4 * one, rel=1e-4)  # quadratic in the distance


def test_penalty_gradient_pulls_back_to_the_anchor(tmp_path: Path) -> None:
    model, strategy = _consolidated(tmp_path)
    name, param = max(
        model.base.named_parameters(), key=lambda item: float(strategy.omega[item[0]].sum())
    )
    with torch.no_grad():
        param.add_(0.1)
    mas_penalty(model, strategy.omega, strategy.anchor).backward()
    grad = param.grad[strategy.omega[name] > 0]
    assert (grad > 0).all()  # moving back (down) lowers the penalty


def test_third_phase_sums_omega_around_the_latest_anchor(tmp_path: Path) -> None:
    model, first = _consolidated(tmp_path)
    ctx = _ctx(tmp_path, tiny_model(3), 2, 2)
    save_checkpoint(ctx.parent_dir / STRATEGY_STATE, {"state": first.state_dict(), "run": "x"})
    with torch.no_grad():  # the parent of phase 3 ended elsewhere than phase 2's anchor
        for param in ctx.model.base.parameters():
            param.mul_(1.01)
    strategy = make_strategy(METHOD, 0.0)
    strategy.before_phase(ctx)
    old, new = strategy.per_task
    assert strategy.consolidated == ["task1", "task2"]
    assert states_equal(old["omega"], first.per_task[0]["omega"])
    assert not states_equal(old["anchor"], new["anchor"])
    assert states_equal(strategy.anchor, dict(ctx.model.base.named_parameters()))
    for name, total in strategy.omega.items():
        torch.testing.assert_close(total, old["omega"][name] + new["omega"][name])
    assert float(mas_penalty(ctx.model, strategy.omega, strategy.anchor).detach()) == 0.0


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    return trained(tmp_path_factory, "mas")


def _spec(config: dict, epochs: int) -> dict:
    spec = phase_two(config, "mas", weight=5.0, omega_batches=2)
    spec["train"]["epochs"] = epochs
    return spec


def test_phase2_trains_with_the_penalty_and_saves_omega_and_anchor(config: dict) -> None:
    workdir = config["workdir"]
    spec = _spec(config, 2)
    run_dir = RUNS / "mas"
    with chdir(workdir):
        run_phase(spec, run_dir, RUNTIME)
    history = pd.read_csv(workdir / run_dir / "history.csv")
    assert list(history.columns[:4]) == ["epoch", "lr", "ce", "mas"]
    assert (history["mas"] > 0).all()
    assert history["total"].iloc[-1] > history["ce"].iloc[-1]
    state = load_checkpoint(workdir / run_dir / STRATEGY_STATE, require="state")["state"]
    (entry,) = state["per_task"]
    assert state["tasks"] == [config["tasks"][0]["name"]]
    assert all((o >= 0).all() for o in entry["omega"].values())
    parent, _ = load_model(workdir / RUNS / spec["parent"] / "model.pt")
    for name, param in parent.base.named_parameters():
        assert torch.equal(entry["anchor"][name], param.detach())


class Interrupt(Exception):
    pass


def _stop_after_first(epoch: int, model, row) -> None:
    if epoch == 1:
        raise Interrupt


def test_state_survives_resume_without_estimating_omega_again(config, monkeypatch) -> None:
    workdir, spec = config["workdir"], _spec(config, 3)
    with chdir(workdir):
        run_phase(spec, RUNS / "mas_straight", RUNTIME)
        with pytest.raises(Interrupt):
            run_phase(spec, RUNS / "mas_resumed", RUNTIME, epoch_callback=_stop_after_first)
        saved = load_checkpoint(RUNS / "mas_resumed" / "state" / "last.pt")
        assert saved["epoch"] == 1 and len(saved["strategy"]["per_task"]) == 1

        def refuse(*args, **kwargs):
            raise AssertionError("Ω estimated again on resume")

        monkeypatch.setattr(mas_module, "importance", refuse)
        run_phase(spec, RUNS / "mas_resumed", RUNTIME)
    runs = workdir / RUNS
    a = load_checkpoint(runs / "mas_straight" / STRATEGY_STATE, require="state")["state"]
    b = load_checkpoint(runs / "mas_resumed" / STRATEGY_STATE, require="state")["state"]
    assert a["tasks"] == b["tasks"]
    for key in ("omega", "anchor"):
        assert states_equal(a["per_task"][0][key], b["per_task"][0][key])
    model_a = load_checkpoint(runs / "mas_straight" / "model.pt")["model"]
    model_b = load_checkpoint(runs / "mas_resumed" / "model.pt")["model"]
    assert states_equal(model_a, model_b)
