"""Kill -9 during training, through the Snakemake CLI: the re-run resumes and ends where an
uninterrupted run of the same config ends; a killed job leaves none of its declared outputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from workflow_helpers import BIN, REPO, TINY, env, make_project, snakemake

from reid.config import validate_config
from reid.runs import RUN_OUTPUTS, main_chain, run_hash

pytestmark = pytest.mark.slow

EPOCHS = 6  # ~0.5 s each: the kill lands after epoch 1 with epochs to spare
TIMING = ("seconds",)
METRIC_TIMING = ("train_seconds", "images_per_second")


def _config() -> dict:
    raw = yaml.safe_load(TINY.read_text())
    raw["train"]["epochs"] = EPOCHS
    raw["train"]["max_batches_per_epoch"] = 2
    raw["threads"] = 1
    return raw


HASHES = [run_hash(spec) for spec in main_chain(validate_config(_config()))]


def _target(phase: int) -> str:
    return f"results/runs/{HASHES[phase - 1]}/model.pt"


def _cmdline(pid: str) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _trainers(run: str) -> list[int]:
    """Pids of `reid train ... --run-dir results/runs/<run>` processes (not their shells)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = _cmdline(entry)
        if (
            any(Path(a).name == "reid" for a in argv[:2])
            and "train" in argv
            and f"results/runs/{run}" in argv
        ):
            found.append(int(entry))
    return found


def _history_rows(path: Path) -> int:
    try:
        return len(pd.read_csv(path))
    except (OSError, pd.errors.EmptyDataError):
        return 0


def _start(folder: Path, target: str) -> subprocess.Popen:
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(folder)]
    return subprocess.Popen(
        [*cmd, "--cores", "1", target],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
        start_new_session=True,
    )


def _run_until_first_epoch(folder: Path, phase: int) -> tuple[subprocess.Popen, int]:
    """Start snakemake on the phase's model.pt; return once an epoch checkpoint exists."""
    run = HASHES[phase - 1]
    state = folder / "results" / "runs" / run / "state"
    proc = _start(folder, _target(phase))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (state / "last.pt").is_file() and _history_rows(state / "history.csv") >= 1:
            pids = _trainers(run)
            if pids:
                return proc, pids[0]
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    out = proc.communicate()[0]
    raise AssertionError(f"training of phase {phase} never reached a checkpoint:\n{out[-4000:]}")


def _gone(pid: int) -> bool:
    return not _cmdline(str(pid))


def _kill(folder: Path, phase: int, variant: str) -> None:
    proc, trainer = _run_until_first_epoch(folder, phase)
    if variant == "job":
        os.kill(trainer, signal.SIGKILL)  # a crashed job; snakemake notices and stops
        out = proc.communicate(timeout=120)[0]
        assert proc.returncode != 0, out
        assert "Error in rule train_phase" in out, out[-3000:]
    else:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole workflow dies, job included
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while not _gone(trainer) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(trainer), "the training job outlived its snakemake process group"
    run_dir = folder / "results" / "runs" / HASHES[phase - 1]
    history = _history_rows(run_dir / "state" / "history.csv")
    assert 1 <= history < EPOCHS, "the kill came too late to interrupt training"
    # The declared outputs appear only at the end of a run: none after a kill.
    for name in RUN_OUTPUTS:
        assert not (run_dir / name).exists(), name


def _rerun(folder: Path, phase: int, variant: str) -> None:
    if variant == "group":
        # Snakemake's lock outlives a kill -9 of snakemake itself: `--unlock` first.
        locked = snakemake(folder, "--cores", "1", _target(phase), check=False)
        assert locked.returncode != 0
        assert "--unlock" in locked.stdout + locked.stderr
        snakemake(folder, "--cores", "1", "--unlock", _target(phase))
    snakemake(folder, "--cores", "1", _target(phase))
    log = (folder / "results" / "logs" / "train" / f"{HASHES[phase - 1]}.log").read_text()
    assert "resuming" in log, log[-3000:]


def _assert_same_run(folder: Path, reference: Path, phase: int) -> None:
    run = HASHES[phase - 1]
    mine, theirs = folder / "results" / "runs" / run, reference / "results" / "runs" / run
    a = torch.load(mine / "model.pt", weights_only=True)["model"]
    b = torch.load(theirs / "model.pt", weights_only=True)["model"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    ha = pd.read_csv(mine / "history.csv").drop(columns=list(TIMING))
    hb = pd.read_csv(theirs / "history.csv").drop(columns=list(TIMING))
    assert len(ha) == EPOCHS
    pd.testing.assert_frame_equal(ha, hb)
    ma = json.loads((mine / "metrics.json").read_text())
    mb = json.loads((theirs / "metrics.json").read_text())
    for key in METRIC_TIMING:
        ma.pop(key), mb.pop(key)
    assert ma == mb


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """Both phases trained without interruption."""
    folder = make_project(tmp_path_factory.mktemp("uninterrupted"), _config())
    snakemake(folder, "--cores", "1", _target(2))
    return folder


@pytest.mark.parametrize(
    "kills", [("job", "group"), ("group", "job")], ids=["job-group", "group-job"]
)
def test_killed_training_resumes_and_equals_uninterrupted(
    tmp_path: Path, reference: Path, kills: tuple[str, str]
) -> None:
    """Phase 1 then phase 2 (started from the resumed phase 1), each killed in the middle:
    "job" kills the training job (a crash; snakemake stops), "group" kills the whole snakemake
    process group (its lock stays, so the re-run needs `--unlock` first)."""
    folder = make_project(tmp_path, _config())
    # The generated datasets are deterministic; reuse them to save the preparation jobs.
    shutil.copytree(reference / "resources", folder / "resources")
    for phase, variant in zip((1, 2), kills, strict=True):
        _kill(folder, phase, variant)
        _rerun(folder, phase, variant)
        _assert_same_run(folder, reference, phase)
    proc = snakemake(folder, "--cores", "1", "-n", _target(2))
    assert "Nothing to be done" in proc.stdout + proc.stderr
