"""Helpers for strategy tests: a trained phase 1 on the tiny config, small fake banks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from engine_helpers import chdir, prepare_all, tiny_config

from reid.engine import Runtime, run_phase
from reid.engine.trainer import ensure_run
from reid.models import ModelConfig, MultiPipelineNet
from reid.runs import main_chain, method_model, run_hash
from reid.strategies import STRATEGIES

RUNTIME = Runtime(device_name="cpu", threads=1)
RUNS = Path("results/runs")


def phase_one(path: Path, **overrides) -> dict:
    """The tiny config in `path`, its data prepared and its phase 1 trained (inside `path`)."""
    with chdir(path):
        config = tiny_config(path, **overrides)
        prepare_all(config)
        first = main_chain(config)[0]
        run_phase(first, RUNS / run_hash(first), RUNTIME)
    return config


def trained(tmp_path_factory, name: str) -> dict:
    """`phase_one` in a fresh folder; the folder is the config's `workdir` entry."""
    path = tmp_path_factory.mktemp(name)
    return {**phase_one(path), "workdir": path}


def phase_two(config: dict, name: str, **settings) -> dict:
    """The phase-2 spec of strategy `name` (its `method.<name>` settings updated). A strategy
    that cannot train with the config's head trains with the model piece it brings
    (`register_strategy(model=...)`, as in a comparison); the phase 1 of that model is trained
    here, under the working directory's results/runs, unless it already is."""
    method = {**config["method"], "name": name}
    if settings:
        method[name] = {**method.get(name, {}), **settings}
    heads = STRATEGIES.get(name).heads
    if heads is None or config["model"]["head"] in heads:
        return main_chain(config, method=method)[1]
    first, second = main_chain(config, method=method, model=method_model(config, name))[:2]
    ensure_run(first, RUNTIME, run_root=RUNS)
    return second


@dataclass
class FakeBank:
    """What strategies read of an ImageBank."""

    images: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor


def fake_bank(ids: int = 6, per_id: int = 4, height: int = 32, width: int = 16, seed: int = 0):
    """Random uint8 images of `ids` identities, `per_id` each, cameras alternating."""
    g = torch.Generator().manual_seed(seed)
    n = ids * per_id
    images = torch.randint(0, 256, (n, 3, height, width), generator=g, dtype=torch.uint8)
    pids = torch.arange(ids).repeat_interleave(per_id)
    return FakeBank(images, pids, torch.arange(n) % 2)


def tiny_model(pipelines: int = 2, classes: int = 6) -> MultiPipelineNet:
    """A resnet18 net for 32×16 inputs with `pipelines` pipelines."""
    torch.manual_seed(0)
    model = MultiPipelineNet(ModelConfig(backbone="resnet18", weights=None, input_size=(32, 16)))
    for _ in range(pipelines):
        model.add_pipeline(classes)
    return model


def states_equal(a: dict, b: dict) -> bool:
    """Two state dicts hold the same tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
