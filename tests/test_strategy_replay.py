"""Replay: seeded exemplar selection, the memory mixed into phase-2 batches and saved with the
run, surviving kill -9 and resume, and a clear error when a parent saved no memory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from engine_helpers import chdir
from strategy_helpers import (
    RUNS,
    RUNTIME,
    fake_bank,
    phase_two,
    states_equal,
    tiny_model,
    trained,
)

from reid.engine import load_model, run_phase
from reid.engine.checkpoint import load_checkpoint
from reid.runs import dataset_dir, run_hash
from reid.strategies import STRATEGY_STATE, PhaseContext, StrategyStateError, make_strategy
from reid.strategies.replay import select_exemplars

SETTINGS = {"size": 8, "per_batch": 4}


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> dict:
    return trained(tmp_path_factory, "replay")


def test_selection_is_seeded_sized_and_spreads_over_identities() -> None:
    pids = torch.arange(6).repeat_interleave(4)
    picked = select_exemplars(pids, 10, "per_identity", seed=1)
    assert len(picked) == len(set(picked.tolist())) == 10
    assert set(pids[picked].tolist()) == set(range(6))
    assert torch.equal(picked, select_exemplars(pids, 10, "per_identity", seed=1))
    assert not torch.equal(picked, select_exemplars(pids, 10, "per_identity", seed=2))
    assert len(select_exemplars(pids, 5, "random", seed=0)) == 5
    assert len(select_exemplars(pids, 100, "random", seed=0)) == len(pids)


def _train(config: dict, run_dir: Path, epochs: int | None = None) -> dict:
    spec = phase_two(config, "replay", **SETTINGS)
    spec["train"]["epochs"] = epochs or spec["train"]["epochs"]
    with chdir(config["workdir"]):
        run_phase(spec, run_dir, RUNTIME)
    return spec


def test_memory_is_mixed_into_batches_and_saved(config: dict) -> None:
    run_dir = config["workdir"] / RUNS / "replay_straight"
    spec = _train(config, run_dir)
    state = load_checkpoint(run_dir / STRATEGY_STATE, require="state")["state"]
    (memory,) = state["per_task"]
    assert state["tasks"] == [config["tasks"][0]["name"]]
    assert memory["images"].shape == (8, 3, 32, 16) and memory["images"].dtype == torch.uint8
    assert memory["task"].tolist() == [0] * 8
    history = pd.read_csv(run_dir / "history.csv")
    assert (history["replay"] > 0).all()
    batch = config["train"]["batch"]["p"] * config["train"]["batch"]["k"]
    steps = config["train"]["max_batches_per_epoch"]
    assert (history["images"] == steps * (batch + SETTINGS["per_batch"])).all()
    parent, _ = load_model(config["workdir"] / RUNS / spec["parent"] / "model.pt")
    after, _ = load_model(run_dir / "model.pt")
    assert states_equal(parent.pipelines[0].state_dict(), after.pipelines[0].state_dict())
    assert not states_equal(parent.base.state_dict(), after.base.state_dict())


def _kill_after_first_epoch(workdir: Path, spec: dict, run_dir: Path) -> None:
    (workdir / "spec.json").write_text(json.dumps(spec))
    argv = [sys.executable, "-m", "reid", "train", "--spec", "@spec.json"]
    argv += [
        "--run-dir",
        str(run_dir),
        "--runs-root",
        str(RUNS),
        "--device",
        "cpu",
        "--threads",
        "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stderr=subprocess.DEVNULL)
    last = workdir / run_dir / "state" / "last.pt"
    deadline = time.monotonic() + 120
    while not last.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_memory_survives_kill_9_and_resume(config: dict) -> None:
    workdir = config["workdir"]
    straight = RUNS / "replay_six"
    spec = _train(config, workdir / straight, epochs=6)
    killed = RUNS / "replay_killed"
    _kill_after_first_epoch(workdir, spec, killed)
    assert not (workdir / killed / "model.pt").exists(), "the kill landed after the run ended"
    saved = load_checkpoint(workdir / killed / "state" / "last.pt")
    assert saved["epoch"] < 6 and len(saved["strategy"]["per_task"]) == 1
    # The first task's images are gone: only the saved memory can give the exemplars back.
    first = workdir / dataset_dir(config, config["tasks"][0])
    moved = first.with_name(first.name + ".away")
    first.rename(moved)
    try:
        with chdir(workdir):
            run_phase(spec, killed, RUNTIME)
    finally:
        moved.rename(first)
    a = load_checkpoint(workdir / straight / "model.pt")["model"]
    b = load_checkpoint(workdir / killed / "model.pt")["model"]
    assert states_equal(a, b)
    mem_a = load_checkpoint(workdir / straight / STRATEGY_STATE, require="state")["state"]
    mem_b = load_checkpoint(workdir / killed / STRATEGY_STATE, require="state")["state"]
    assert states_equal(mem_a["per_task"][0], mem_b["per_task"][0])
    assert run_hash(spec) == saved["identity"]["run"]
    shutil.rmtree(workdir / killed)


def test_parent_without_memory_fails_in_one_line(tmp_path: Path) -> None:
    parent = tmp_path / "runs" / "abc"
    parent.mkdir(parents=True)
    task = {"name": "duke", "dataset": "dukemtmcreid", "root": "nowhere"}
    (parent / "spec.json").write_text(
        json.dumps({"phase": 2, "method": {"name": "finetune"}, "task": task})
    )
    strategy = make_strategy(
        {
            "name": "replay",
            "trainable": "base_second",
            "replay": {"size": 4, "per_batch": 2, "selection": "random", "seed": 0},
        },
        0.0,
    )
    ctx = PhaseContext(
        spec={},
        model=tiny_model(3),
        new_index=2,
        device=torch.device("cpu"),
        run_dir=tmp_path / "runs" / "new",
        parent_dir=parent,
        load_bank=lambda t: fake_bank(),
    )
    with pytest.raises(StrategyStateError) as info:
        strategy.before_phase(ctx)
    message = str(info.value)
    assert "\n" not in message
    assert str(parent) in message and "method.name=replay" in message and "'finetune'" in message
