"""Acceptance tests of the Optuna studies through the CLI: several worker processes on a real
PostgreSQL server, the grid enqueued once, a worker killed mid-trial, storage errors, tables.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
import pytest
import sqlalchemy as sa
from engine_helpers import prepare_all, tiny_config
from optuna.trial import TrialState
from postgres_fixture import postgres_server

from reid.tuning.storage import GRACE_ENV, HEARTBEAT_ENV, open_storage, stale_numbers
from reid.tuning.worker import FAIL_POINT_ENV

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
REID = str(BIN / "reid")


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_server() as url:
        yield url


def new_database(url: str, name: str) -> str:
    """An empty database beside the fixture's one (each test gets a fresh storage)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def base_config(tmp_path_factory):
    """The tiny config with its datasets generated once (absolute data root)."""
    config = tiny_config(tmp_path_factory.mktemp("tuning-data"))
    prepare_all(config)
    return config


def config_json(config: dict, workdir: Path, **sections) -> str:
    """`@file` argument of --config-json with some sections updated."""
    config = copy.deepcopy(config)
    for section, values in sections.items():
        config[section].update(values)
    path = workdir / "config.json"
    path.write_text(json.dumps(config))
    return f"@{path}"


def reid(action: str, study: str, cfg: str, *extra: str) -> list[str]:
    return [REID, "tune", action, "--study", study, "--config-json", cfg, *extra]


def start(argv: list[str], cwd: Path, name: str, env: dict | None = None) -> subprocess.Popen:
    log = open(cwd / f"{name}.log", "w")  # noqa: SIM115 - closed by finish()
    proc = subprocess.Popen(
        argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    proc.log_path = cwd / f"{name}.log"
    proc.log_file = log
    return proc


def finish(procs: list[subprocess.Popen], timeout: float = 240) -> None:
    """Wait for every process; all must succeed (their logs are shown otherwise)."""
    for proc in procs:
        proc.wait(timeout=timeout)
        proc.log_file.close()
    failed = [p for p in procs if p.returncode != 0]
    assert not failed, "\n\n".join(
        f"{p.args} -> {p.returncode}\n{p.log_path.read_text()[-3000:]}" for p in failed
    )


def run(argv: list[str], cwd: Path, env: dict | None = None) -> None:
    finish([start(argv, cwd, "run", env)])


def study_named(store, ablation: str) -> str:
    """The one study of `ablation` in a storage (studies are named `<ablation>-<fingerprint>`)."""
    names = [n for n in optuna.get_all_study_names(store) if n.rsplit("-", 1)[0] == ablation]
    assert len(names) == 1, names
    return names[0]


def trials_of(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    store = open_storage(storage)
    try:
        return optuna.load_study(study_name=study_named(store, name), storage=store).get_trials()
    finally:
        if isinstance(store, optuna.storages.RDBStorage):
            store.engine.dispose()


def grid_trials(trials):
    return [t for t in trials if t.user_attrs.get("source") == "grid"]


def assert_each_point_complete_once(trials, points):
    complete = Counter(t.user_attrs["point"] for t in trials if t.state == TrialState.COMPLETE)
    duplicated = [p for p, n in complete.items() if n > 1]
    assert not duplicated, f"points trained twice: {duplicated}"
    missing = set(points) - set(complete)
    assert not missing, f"grid points never completed: {missing}"


def test_enqueue_exactly_once_with_concurrent_creators(base_config, postgres_url, tmp_path):
    """Four `reid tune create` at once, on a fresh PostgreSQL database and on a journal file."""
    url = new_database(postgres_url, "create_race")
    journal = str(tmp_path / "results" / "optuna" / "journal.log")
    cfg = config_json(base_config, tmp_path)
    procs = [
        start(reid("create", "ensembling", cfg, "--storage", storage), tmp_path, f"c{i}{kind}")
        for i in range(4)
        for kind, storage in (("pg", url), ("journal", journal))
    ]
    finish(procs)
    grid_size = len(base_config["ablations"]["ensembling"]) * len(
        base_config["ablations"]["ensembling_epochs"]
    )
    for storage in (url, journal):
        trials = trials_of(storage, "ensembling")
        assert len(grid_trials(trials)) == len(trials) == grid_size, storage
        assert all(t.state == TrialState.WAITING for t in trials)
        params = [json.dumps(t.system_attrs["fixed_params"], sort_keys=True) for t in trials]
        assert len(set(params)) == grid_size


def test_four_workers_on_postgres(base_config, postgres_url, tmp_path):
    """Every grid point once, the cap within the workers, a failing trial recorded, tables."""
    url = new_database(postgres_url, "four_workers")
    lambdas = [0.7, 1.0, 1.3]
    extra, workers = 2, 4
    cfg = config_json(
        base_config, tmp_path, ablations={"lambdas": lambdas}, optuna={"n_extra_trials": extra}
    )
    run(reid("create", "lambda", cfg, "--storage", url), tmp_path)
    env = {FAIL_POINT_ENV: "lambda:1.3"}
    argv = reid("work", "lambda", cfg, "--storage", url, "--threads", "1")
    finish([start(argv, tmp_path, f"worker{i}", env) for i in range(workers)])

    trials = trials_of(url, "lambda")
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    stale = stale_numbers(trials)
    assert not stale
    cap = len(lambdas) + extra
    assert cap <= len(trials) <= cap + workers - 1
    grid = grid_trials(trials)
    assert sorted(t.params["lam"] for t in grid) == lambdas  # each point enqueued and run once
    assert_each_point_complete_once(trials, ["0.7", "1"])
    (failed,) = [t for t in trials if t.state == TrialState.FAIL]
    assert failed.user_attrs["point"] == "1.3"
    assert "deliberate failure" in failed.user_attrs["error"]
    later = [t for t in trials if t.number > failed.number and t.state == TrialState.COMPLETE]
    assert later or failed.number == max(t.number for t in trials), "study stopped at the failure"
    sampler = [t for t in trials if t.user_attrs.get("source") == "sampler"]
    assert len(sampler) >= extra
    # Sampler trials may be pruned (grid trials never are); none fails.
    assert {t.state for t in sampler} <= {TrialState.COMPLETE, TrialState.PRUNED}
    for trial in trials:
        if trial.state == TrialState.COMPLETE:
            assert (tmp_path / "results" / "runs" / trial.user_attrs["run"] / "model.pt").is_file()
            assert trial.user_attrs["market_rank1"] >= 0 and "duke_mAP" in trial.user_attrs

    listed = subprocess.run(
        [str(BIN / "optuna"), "studies", "--storage", url, "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert [row["name"].rsplit("-", 1)[0] for row in json.loads(listed.stdout)] == ["lambda"]

    # Aggregate: one row per trial, param_* and metric columns, the best point.
    run(reid("aggregate", "lambda", cfg, "--storage", url), tmp_path)
    frame = pd.read_csv(tmp_path / "results" / "tables" / "study_lambda.csv", dtype={"point": str})
    assert len(frame) == len(trials)
    assert sorted(frame["number"]) == sorted(t.number for t in trials)
    for column in ("study", "number", "state", "value", "point", "source", "run", "error"):
        assert column in frame.columns
    for column in ("param_lam", "param_alpha", "param_beta", "param_lr"):
        assert column in frame.columns
    for column in ("market_rank1", "market_mAP", "duke_rank1", "duke_mAP"):
        assert column in frame.columns
    assert set(frame["study"]) == {"lambda"}
    assert {"COMPLETE", "FAIL"} <= set(frame["state"]) <= {"COMPLETE", "FAIL", "PRUNED"}
    assert frame.loc[frame["state"] == "FAIL", "point"].tolist() == ["1.3"]
    assert frame.loc[frame["state"] == "FAIL", "value"].isna().all()
    best = json.loads((tmp_path / "results" / "optuna" / "best_lambda.json").read_text())
    values = [t.value for t in trials if t.state == TrialState.COMPLETE]
    assert best["best_value"] == pytest.approx(max(values))
    top = {
        t.user_attrs["point"]
        for t in trials
        if t.state == TrialState.COMPLETE and abs(t.value - max(values)) <= 1e-9
    }
    if len(top) > 1:  # equal points (the detached term cannot change training): no best
        assert best["best_params"] is None and set(best["tied"]) == top
    else:
        assert set(best["best_params"]) == {"lam", "alpha", "beta", "lr"}
    assert best["n_complete"] == len(values) and best["n_trials"] == len(trials)


def _kill_mid_trial(argv, cwd: Path, storage: str, env: dict) -> optuna.trial.FrozenTrial:
    """Start a worker, SIGKILL it once a trial runs and its training has begun."""
    proc = start(argv, cwd, "killed", env)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.log_path.read_text()[-3000:]
            running = _running_trials(storage)
            if running and "run_dir" in running[0].user_attrs:
                run_dir = cwd / running[0].user_attrs["run_dir"]
                if (run_dir / "spec.json").is_file():
                    proc.send_signal(signal.SIGKILL)
                    proc.wait(timeout=60)
                    return running[0]
            time.sleep(0.2)
        pytest.fail("no trial started training in time:\n" + proc.log_path.read_text()[-3000:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.log_file.close()


def _running_trials(storage: str) -> list[optuna.trial.FrozenTrial]:
    try:
        trials = trials_of(storage, "lambda")
    except KeyError:  # not created yet
        return []
    return [t for t in trials if t.state == TrialState.RUNNING]


def _assert_recovered(storage: str, killed: optuna.trial.FrozenTrial, points: list[str]):
    trials = trials_of(storage, "lambda")
    by_number = {t.number: t for t in trials}
    assert by_number[killed.number].state == TrialState.FAIL
    assert killed.number in stale_numbers(trials)
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert_each_point_complete_once(trials, points)
    point = killed.user_attrs["point"]
    (redo,) = [
        t for t in trials if t.state == TrialState.COMPLETE and t.user_attrs["point"] == point
    ]
    assert redo.number > killed.number and redo.user_attrs["source"] == "grid"
    assert redo.params == killed.params
    return trials


# Long enough phase-2 training that the kill lands while it trains.
KILL_SECTIONS = {"ablations": {"lambdas": [1.0], "lambda_epochs": 12}}


def test_worker_killed_mid_trial_journal(base_config, tmp_path):
    """The default journal storage: the dead worker's trial is failed, marked stale and its
    grid point re-enqueued and completed by the next `reid tune work`."""
    cfg = config_json(base_config, tmp_path, **KILL_SECTIONS)
    journal = str(tmp_path / "results" / "optuna" / "journal.log")
    run(reid("create", "lambda", cfg), tmp_path)
    argv = reid("work", "lambda", cfg, "--threads", "1")
    killed = _kill_mid_trial(argv, tmp_path, journal, {})
    assert killed.user_attrs["source"] == "grid"
    run(argv, tmp_path)
    trials = _assert_recovered(journal, killed, ["1"])
    assert trials[killed.number].user_attrs["stale"] is True
    assert len(trials) == 2


def test_worker_killed_mid_trial_postgres(base_config, postgres_url, tmp_path):
    """RDB storage: heartbeats (shortened here) make the trial stale; the retry callback
    re-enqueues it and the next worker completes it."""
    url = new_database(postgres_url, "killed_worker")
    cfg = config_json(base_config, tmp_path, **KILL_SECTIONS)
    env = {HEARTBEAT_ENV: "1", GRACE_ENV: "8"}  # longer than a worker start-up
    run(reid("create", "lambda", cfg, "--storage", url), tmp_path, env)
    argv = reid("work", "lambda", cfg, "--storage", url, "--threads", "1")
    killed = _kill_mid_trial(argv, tmp_path, url, env)
    # Re-run at once: the worker waits for the trial to go stale, then completes its point.
    run(argv, tmp_path, env)
    trials = _assert_recovered(url, killed, ["1"])
    assert len(trials) == 2


def test_unreachable_storage_is_one_clear_line(base_config, tmp_path):
    cfg = config_json(base_config, tmp_path)
    url = "postgresql://u:secret@127.0.0.1:1/none"
    proc = subprocess.run(
        reid("create", "lambda", cfg, "--storage", url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, proc.stderr
    (line,) = errors
    assert line.startswith("reid tune: error:")
    assert "optuna.storage" in line and "u:***@127.0.0.1:1/none" in line
    assert "secret" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
