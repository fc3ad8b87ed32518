"""Training engine: phases, freezing, resume equality, strategies, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from engine_helpers import chdir, prepare_all, tiny_config

from reid.engine import Runtime, load_model, run_phase
from reid.engine.checkpoint import load_checkpoint
from reid.errors import CheckpointError
from reid.runs import main_chain, run_hash
from reid.strategies import STRATEGIES, sequential_methods

RUNTIME = Runtime(device_name="cpu", threads=1)


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("engine")
    with chdir(path):
        config = tiny_config(path)
        prepare_all(config)
    return path


def _config(workdir: Path, **overrides) -> dict:
    return tiny_config(workdir, **overrides)


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_phase1_writes_outputs_and_history(workdir: Path) -> None:
    with chdir(workdir):
        config = _config(workdir)
        spec = main_chain(config)[0]
        run_dir = Path("results/runs") / run_hash(spec)
        metrics = run_phase(spec, run_dir, RUNTIME)
        history = pd.read_csv(run_dir / "history.csv")
        assert list(history["epoch"]) == [1, 2]
        assert metrics["num_classes"] == [6]
        assert json.loads((run_dir / "spec.json").read_text()) == spec
        model, state = load_model(run_dir / "model.pt")
        assert len(model.pipelines) == 1
        assert state["spec"] == spec


def test_killed_and_resumed_run_equals_uninterrupted(workdir: Path) -> None:
    with chdir(workdir):
        config = _config(workdir, seed=3)
        spec = main_chain(config)[0]
        spec["train"]["epochs"] = 3
        straight = Path("results/straight")
        run_phase(spec, straight, RUNTIME)

        def stop_after_two(epoch, model, row):
            if epoch == 2:
                raise Interrupt

        resumed = Path("results/resumed")
        with pytest.raises(Interrupt):
            run_phase(spec, resumed, RUNTIME, epoch_callback=stop_after_two)
        assert (resumed / "state" / "last.pt").is_file()
        assert not (resumed / "model.pt").exists()
        run_phase(spec, resumed, RUNTIME)
        a = load_checkpoint(straight / "model.pt")["model"]
        b = load_checkpoint(resumed / "model.pt")["model"]
        assert _states_equal(a, b)
        assert pd.read_csv(straight / "history.csv")["ce"].tolist() == pytest.approx(
            pd.read_csv(resumed / "history.csv")["ce"].tolist()
        )


# Strategies that train with the paper's pipelines (DKP brings its own head: test_strategy_dkp).
ON_PIPELINES = [
    name
    for name in sequential_methods()
    if STRATEGIES.get(name).heads is None or "pipeline" in STRATEGIES.get(name).heads
]


@pytest.mark.parametrize("method", ON_PIPELINES)
def test_phase2_keeps_pipeline1_frozen(workdir: Path, method: str) -> None:
    with chdir(workdir):
        config = _config(workdir)
        config["method"]["name"] = method
        config["method"]["covariance"]["variant"] = "paper"
        config["method"]["covariance"]["alpha"] = 1e-3
        first, second = main_chain(config)
        runs = Path("results/runs")
        if not (runs / run_hash(first) / "model.pt").exists():
            run_phase(first, runs / run_hash(first), RUNTIME)
        run_phase(second, runs / run_hash(second), RUNTIME)
        before, _ = load_model(runs / run_hash(first) / "model.pt")
        after, _ = load_model(runs / run_hash(second) / "model.pt")
        assert len(after.pipelines) == 2
        assert _states_equal(before.pipelines[0].state_dict(), after.pipelines[0].state_dict())
        base_same = _states_equal(before.base.state_dict(), after.base.state_dict())
        assert base_same == (method == "frozen_base")
        history = pd.read_csv(runs / run_hash(second) / "history.csv")
        if method == "covariance":
            assert (history["couples"] > 0).all()
            assert (history["cov"] != 0).any()
        if method == "lwf":
            assert (history["lwf"] > 0).all()


def test_incompatible_parent_checkpoint_is_refused(workdir: Path) -> None:
    with chdir(workdir):
        config = _config(workdir)
        first, second = main_chain(config)
        runs = Path("results/runs")
        if not (runs / run_hash(first) / "model.pt").exists():
            run_phase(first, runs / run_hash(first), RUNTIME)
        second["model"]["backbone"] = "resnet34"
        with pytest.raises(CheckpointError, match="resnet34"):
            run_phase(second, Path("results/bad"), RUNTIME)
