"""Every registered strategy's loss gives its fp32 value under bf16 autocast (CPU).

Autocast casts matrix products down to bf16 whatever their input dtype, so a loss that is a small
difference of large products (SPD's similarity matrices) is swamped by rounding unless it
computes them in float32 itself. The guard: one batch, the step's forward and loss once in fp32
and once under `torch.autocast("cpu", dtype=torch.bfloat16)`, with every network forward (any
module that holds parameters or buffers: the model, a teacher) kept in fp32 in both, so the two
differ only by the strategy's own loss arithmetic. Each logged term must agree within RTOL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory) -> Callable[[str], tuple[Path, dict]]:
    """The tiny config's phase 1 trained with the model a strategy trains with: the config's, or
    the model piece the strategy brings (`register_strategy(model=...)`, as in a comparison);
    one folder per distinct model."""
    folders: dict[str, tuple[Path, dict]] = {}

    def get(name: str) -> tuple[Path, dict]:
        piece = STRATEGIES.get(name).model
        overrides = {}
        if piece:  # the config names only the method, so no other method clashes with its model
            model = deep_merge(yaml.safe_load(TINY.read_text())["model"], piece)
            overrides = {
                "model": model,
                "method": {"name": name},
                "comparison": {"methods": [name]},
            }
        key = json.dumps(overrides, sort_keys=True)
        if key not in folders:
            path = tmp_path_factory.mktemp("precision")
            phase_one(path, **overrides)
            folders[key] = (path, overrides)
        return folders[key]

    return get


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


def _phase(workdirs, name: str):
    workdir, overrides = workdirs(name)
    config = tiny_config(workdir, **overrides)
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


def _terms(phase, batch, autocast: bool) -> dict[str, float]:
    model, strategy = phase.model, phase.strategy
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
    phase = _phase(workdirs, name)
    source, indices = epoch_batches(phase.sources, 0, None)[0]
    batch = phase.strategy.before_step(_batch(source, indices, torch.device("cpu"), 0, 0))
    batch.images = phase.transform(batch.images, torch.Generator().manual_seed(0))
    fp32 = _terms(phase, batch, autocast=False)
    bf16 = _terms(phase, batch, autocast=True)
    assert fp32.keys() == bf16.keys()
    for key, value in fp32.items():
        assert value != 0.0 or key == "total", (name, key)  # every term is exercised
        assert bf16[key] == pytest.approx(value, rel=RTOL), (name, key, value, bf16[key])
