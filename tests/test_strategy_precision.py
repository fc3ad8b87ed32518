"""Every registered strategy's loss gives its fp32 value under bf16 autocast (CPU).

Autocast casts matrix products down to bf16 whatever their input dtype, so a loss that is a small
difference of large products (SPD's similarity matrices) is swamped by rounding unless it
computes them in float32 itself. The guard: one batch, the step's forward and loss once in fp32
and once under `torch.autocast("cpu", dtype=torch.bfloat16)`, with every network forward (any
module that holds parameters or buffers: the model, a teacher) kept in fp32 in both, so the two
differ only by the strategy's own loss arithmetic (both start from the same weights, buffers and
global generator state, so random draws repeat). Each logged term must agree within RTOL.
Each strategy runs on the model it trains with (its own model piece when it brings one).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import yaml
from engine_helpers import TINY, chdir, tiny_config
from strategy_helpers import RUNS, RUNTIME, phase_one, phase_two
from torch import nn

from reid.config import deep_merge
from reid.engine.sources import epoch_batches
from reid.engine.trainer import _batch, open_phase
from reid.runs import joint_spec
from reid.strategies import STRATEGIES

# Relative tolerance of every loss term (fp32 arithmetic in both runs gives ~1e-7).
RTOL = 1e-4
# Settings that make each term large enough to compare (the paper's α = 1e-9 gives ~1e-14).
SETTINGS = {"covariance": {"variant": "paper", "alpha": 1e-3}}


def _overrides(name: str) -> dict:
    """Config sections of the tiny config for `name`: its own model piece when it brings one
    (`register_strategy(model=...)`, e.g. LSTKC's BNNeck with a growing classifier), trained
    as the main method so validation accepts the pairing."""
    piece = STRATEGIES.get(name).model
    if not piece:
        return {}
    raw = yaml.safe_load(TINY.read_text())
    return {
        "model": deep_merge(raw["model"], piece),
        "method": {"name": name},
        "comparison": {"methods": [name]},
    }


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory):
    """A phase 1 trained per model piece (the tiny config's, or one a strategy brings)."""
    made: dict[str, Path] = {}

    def workdir(name: str) -> Path:
        key = json.dumps(STRATEGIES.get(name).model, sort_keys=True)
        if key not in made:
            made[key] = tmp_path_factory.mktemp("precision")
            phase_one(made[key], **_overrides(name))
        return made[key]

    return workdir


@contextmanager
def networks_in_fp32() -> Iterator[None]:
    """Autocast off inside every forward of a module that holds parameters or buffers."""
    saved: list[bool] = []

    def enter(module: nn.Module, args) -> None:
        saved.append(torch.is_autocast_enabled("cpu"))
        holds = next(module.parameters(recurse=False), None) is not None or bool(module._buffers)
        if holds:
            torch.set_autocast_enabled("cpu", False)

    def leave(module: nn.Module, args, output) -> None:
        torch.set_autocast_enabled("cpu", saved.pop())

    handles = [
        nn.modules.module.register_module_forward_pre_hook(enter),
        nn.modules.module.register_module_forward_hook(leave),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _phase(workdir: Path, name: str):
    config = tiny_config(workdir, **_overrides(name))
    with chdir(workdir):
        if name == "joint":
            spec = joint_spec(config)
        else:
            spec = phase_two(config, name, **SETTINGS.get(name, {}))
        phase = open_phase(spec, Path("results/precision") / name, RUNTIME, RUNS)
    torch.manual_seed(1)
    with torch.no_grad():  # move the learner off its parent, so penalties and distillations act
        for param in phase.model.base.parameters():
            param.mul_(1 + 0.02 * torch.randn_like(param))
    return phase


@contextmanager
def buffers_kept(phase) -> Iterator[None]:
    """The model's and the strategy's modules as they were, after the block: a train-mode
    forward updates BatchNorm running statistics, which a later term may read (PatchKD's
    diversity runs its patch head's BN in eval), so both runs start from the same state."""
    modules = [phase.model, *(owned.module for owned in phase.strategy.owned_modules().values())]
    modules += [value for value in vars(phase.strategy).values() if isinstance(value, nn.Module)]
    saved = [copy.deepcopy(module.state_dict()) for module in modules]
    try:
        yield
    finally:
        for module, state in zip(modules, saved, strict=True):
            module.load_state_dict(state)


def _terms(phase, batch, autocast: bool, start: dict) -> dict[str, float]:
    """The step's logged terms, the model and the global generator first put back where the
    other run started (a random draw inside a forward, a head's samples or a strategy's noise,
    then repeats)."""
    model, strategy = phase.model, phase.strategy
    model.load_state_dict(start)
    torch.manual_seed(2)
    model.train()
    with (
        buffers_kept(phase),
        networks_in_fp32(),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast),
    ):
        out = model(batch.images, pipelines=strategy.forward_pipelines(batch))
        parts = strategy.loss(model, out, batch)
    terms = {"total": parts.total, **parts.parts}
    return {key: float(value.detach()) for key, value in terms.items()}


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_loss_terms_under_bf16_autocast_equal_fp32(workdirs, name: str) -> None:
    phase = _phase(workdirs(name), name)
    source, indices = epoch_batches(phase.sources, 0, None)[0]
    batch = phase.strategy.before_step(_batch(source, indices, torch.device("cpu"), 0, 0))
    batch.images = phase.transform(batch.images, torch.Generator().manual_seed(0))
    start = copy.deepcopy(phase.model.state_dict())
    fp32 = _terms(phase, batch, autocast=False, start=start)
    bf16 = _terms(phase, batch, autocast=True, start=start)
    assert fp32.keys() == bf16.keys()
    for key, value in fp32.items():
        assert value != 0.0 or key == "total", (name, key)  # every term is exercised
        assert bf16[key] == pytest.approx(value, rel=RTOL), (name, key, value, bf16[key])
