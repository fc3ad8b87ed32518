"""SPD: zero loss when the learner equals the teacher, positive otherwise, gradient to the
learner only; a phase 2 trains with it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from engine_helpers import chdir
from strategy_helpers import RUNS, RUNTIME, fake_bank, phase_two, tiny_model, trained

from reid.data.transforms import EvalTransform
from reid.engine import run_phase
from reid.strategies import Batch, PhaseContext, make_strategy
from reid.strategies.spd import similarity, spd_loss


def test_spd_loss_is_zero_for_equal_features_and_positive_otherwise() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(8, 4, 3, 2, generator=g)
    assert float(spd_loss(a, a.clone())) == 0.0
    assert float(spd_loss(a, torch.randn(8, 4, 3, 2, generator=g))) > 0
    # Invariant to a scale of the features (the rows are normalised), as in the paper.
    assert float(spd_loss(3.0 * a, a)) == pytest.approx(0.0, abs=1e-6)
    rows = similarity(a).norm(dim=1)
    assert torch.allclose(rows, torch.ones(8))


def _phase_two_strategy(tmp_path: Path):
    model = tiny_model(2)
    strategy = make_strategy({"name": "spd", "trainable": "base_second", "spd": {"weight": 1.0}}, 0)
    ctx = PhaseContext(
        spec={},
        model=model,
        new_index=1,
        device=torch.device("cpu"),
        run_dir=tmp_path,
        parent_dir=None,
        load_bank=lambda task: fake_bank(),
    )
    strategy.before_phase(ctx)
    bank = fake_bank()
    batch = Batch(
        EvalTransform()(bank.images[:8]), bank.pids[:8], bank.camids[:8], bank.pids[:8] * 0 + 1, 1
    )
    return model, strategy, batch


def test_strategy_loss_is_zero_while_learner_equals_teacher(tmp_path: Path) -> None:
    model, strategy, batch = _phase_two_strategy(tmp_path)
    model.eval()  # the teacher runs in eval mode: same weights, same statistics
    out = model(batch.images, pipelines=strategy.forward_pipelines(batch))
    parts = strategy.loss(model, out, batch)
    assert float(parts.parts["spd"]) == 0.0
    with torch.no_grad():
        for param in model.base.parameters():
            param.add_(0.05 * torch.randn_like(param))
    out = model(batch.images, pipelines=strategy.forward_pipelines(batch))
    parts = strategy.loss(model, out, batch)
    assert float(parts.parts["spd"]) > 0
    parts.total.backward()
    assert all(p.grad is None for p in strategy.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.base.parameters())


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    return trained(tmp_path_factory, "spd")


def test_phase2_trains_with_spd(config: dict) -> None:
    workdir = config["workdir"]
    spec = phase_two(config, "spd", weight=100.0)
    assert spec["method"] == {
        "name": "spd",
        "trainable": "base_second",
        "spd": {"weight": 100.0},
        "revision": 2,  # the float32 similarity fix: runs of the old code are not reused
    }
    with chdir(workdir):
        run_phase(spec, RUNS / "spd", RUNTIME)
    history = pd.read_csv(workdir / RUNS / "spd" / "history.csv")
    assert (history["spd"] > 0).all()
    metrics = json.loads((workdir / RUNS / "spd" / "metrics.json").read_text())
    assert metrics["method"] == "spd" and metrics["final_spd"] == history["spd"].iloc[-1]


def test_spd_loss_under_bf16_autocast_equals_fp32() -> None:
    """Post-ReLU maps, learner = teacher + 1 % noise: the loss is ~1e-9, and bf16 products
    (autocast casts `@` down even for float32 inputs) made it ~6e-8 before the fix."""
    g = torch.Generator().manual_seed(0)
    teacher = torch.rand(32, 512, 4, 2, generator=g)
    learner = teacher * (1 + 0.01 * torch.randn(32, 512, 4, 2, generator=g))
    fp32 = float(spd_loss(learner, teacher))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = float(spd_loss(learner, teacher))
    assert 1e-10 < fp32 < 1e-8
    assert bf16 == pytest.approx(fp32, rel=1e-4)
