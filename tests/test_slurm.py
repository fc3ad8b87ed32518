"""The workflow on a SLURM cluster: `snakemake --profile workflow/profiles/slurm` with the real
snakemake-executor-plugin-slurm, on a one-node cluster started for this module (slurm_fixture).

The profile is used as a user would: its account set to the cluster's, nothing else changed.
One run of the tiny workflow (ablations and comparison off) goes through SLURM while its phase-1
training job is cancelled with `scancel` after its first checkpoint; the profile's retry
resubmits it and it resumes. A second invocation runs the lambda study with 4 workers as SLURM
jobs on a shared PostgreSQL study. Jobs and their requests are read back from `sacct`; the
results are compared with a local run of the same config.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from optuna.trial import TrialState
from postgres_fixture import postgres_server
from slurm_fixture import ACCOUNT, SlurmCluster, slurm_cluster
from test_tuning_workers import assert_each_point_complete_once, trials_of
from workflow_helpers import BIN, REPO, TINY, env, job_counts, make_project, snakemake

pytestmark = pytest.mark.slurm

PROFILE = REPO / "workflow" / "profiles" / "slurm"
RESOURCES = {
    "train_mem_mb": 700,
    "train_runtime": 7,
    "train_gpus": 1,
    "evaluate_mem_mb": 600,
    "evaluate_runtime": 6,
}
THREADS = 2
EPOCHS = 6  # phase 1 trains long enough to be cancelled between two checkpoints
GPU_RULES = {"train_phase", "evaluate_run", "study_worker"}
LAMBDAS = [0.7, 1.0, 1.3]
WORKERS = 4
# The plugin's first status query after 1 s rather than 40 s: tiny jobs.
POLL = ["--slurm-init-seconds-before-status-checks", "1"]
WORKFLOW_TIMEOUT = 900


def slurm_config() -> dict:
    """The tiny config with distinctive `resources`, two threads, no ablations / comparison."""
    config = yaml.safe_load(TINY.read_text())
    config["threads"] = THREADS
    config["resources"] = dict(RESOURCES)
    config["ablations"] = {"enabled": False}
    config["comparison"] = {"enabled": False}
    config["train"]["epochs"] = EPOCHS
    return config


def rule_of(job: dict[str, str]) -> tuple[str, str]:
    """(rule, wildcards) from the comment the executor plugin sets: rule_<name>[_wildcards_<w>]."""
    comment = job.get("Comment", "")
    assert comment.startswith("rule_"), f"job {job['JobIDRaw']} has no rule comment: {comment!r}"
    rule, _, wildcards = comment.removeprefix("rule_").partition("_wildcards_")
    return rule, wildcards


def slurm_command(folder: Path, profile: Path, *targets: str) -> list[str]:
    """`snakemake --profile <profile>` on a project folder."""
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(folder)]
    return cmd + ["--profile", str(profile), *POLL, *targets]


def start(cmd: list[str], folder: Path, environ: dict[str, str]) -> subprocess.Popen:
    log = open(folder / "snakemake.log", "a")  # noqa: SIM115 - closed by finish()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=environ)
    proc.log_file = log
    return proc


def finish(proc: subprocess.Popen, folder: Path) -> None:
    try:
        proc.wait(timeout=WORKFLOW_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    finally:
        proc.log_file.close()
    output = (folder / "snakemake.log").read_text()
    assert proc.returncode == 0, f"{' '.join(proc.args)} failed:\n{output[-6000:]}"


def epoch_lines(folder: Path, run: str) -> list[str]:
    """The `epoch k/EPOCHS` lines of a training job's log so far."""
    log = folder / "results" / "logs" / "train" / f"{run}.log"
    text = log.read_text() if log.is_file() else ""
    return [line for line in text.splitlines() if f"/{EPOCHS} epoch=" in line]


def gpus_of(job: dict[str, str]) -> int:
    """GPUs a job asked for (`gres/gpu=1` in sacct's ReqTRES)."""
    found = re.search(r"gres/gpu(?::[A-Za-z0-9_.]+)?=(\d+)", job["ReqTRES"])
    return int(found.group(1)) if found else 0


def edited_profile(folder: Path, account: str) -> Path:
    """The repository's profile with its account set, the one edit a user makes."""
    text = (PROFILE / "config.yaml").read_text()
    assert 'slurm_account: "your_account"' in text
    folder.mkdir()
    (folder / "config.yaml").write_text(text.replace('"your_account"', f'"{account}"'))
    return folder


def cancel_first_training(cluster: SlurmCluster, folder: Path, proc: subprocess.Popen) -> dict:
    """`scancel` the first train_phase job once it has written a checkpoint; that job."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the workflow ended before a training job was cancelled"
        for job in cluster.queue():
            rule, run = rule_of(job)
            if rule != "train_phase" or job["State"] != "RUNNING":
                continue
            checkpoint = folder / "results" / "runs" / run / "state" / "last.pt"
            # Between two checkpoints: at least one epoch done, at least two to go.
            if checkpoint.is_file() and 1 <= len(epoch_lines(folder, run)) <= EPOCHS - 2:
                cluster.command("scancel", job["JobIDRaw"])
                return job
        time.sleep(0.2)
    pytest.fail("no training job wrote a checkpoint in time")


@pytest.fixture(scope="module")
def cluster():
    with slurm_cluster() as running:
        yield running


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory) -> SimpleNamespace:
    """The workflow through the profile, its first training job cancelled mid-training; the
    same config run locally meanwhile (the SLURM run mostly waits for the plugin's polls)."""
    local = make_project(tmp_path_factory.mktemp("local"), config=slurm_config())
    local_cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(local)]
    local_proc = start(local_cmd + ["--cores", "2"], local, env())
    folder = make_project(tmp_path_factory.mktemp("slurm"), config=slurm_config())
    profile = edited_profile(folder / "profile", cluster.account)
    proc = start(slurm_command(folder, profile), folder, cluster.env(env()))
    try:
        cancelled = cancel_first_training(cluster, folder, proc)
    except BaseException:
        for running in (proc, local_proc):
            running.terminate()  # snakemake cancels its SLURM jobs on SIGTERM
            try:
                running.wait(timeout=60)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()
            running.log_file.close()
        raise
    finish(proc, folder)
    finish(local_proc, local)
    return SimpleNamespace(
        folder=folder, local=local, profile=profile, jobs=cluster.jobs(), cancelled=cancelled
    )


def test_every_rule_ran_as_a_slurm_job(slurm_run, tmp_path: Path) -> None:
    plan = snakemake(make_project(tmp_path, config=slurm_config()), "-n", "--cores", "2")
    counts = job_counts(plan.stdout)
    expected = {rule: n for rule, n in counts.items() if rule not in ("all", "total")}
    done = [job for job in slurm_run.jobs if job["State"] == "COMPLETED"]
    assert Counter(rule_of(job)[0] for job in done) == expected
    others = [job for job in slurm_run.jobs if job not in done]
    assert [job["JobIDRaw"] for job in others] == [slurm_run.cancelled["JobIDRaw"]]
    assert others[0]["State"] == "CANCELLED"
    # One workflow run: the plugin names every job after the run's UUID.
    assert len({job["JobName"] for job in slurm_run.jobs}) == 1
    assert {job["Account"] for job in slurm_run.jobs} == {ACCOUNT}


def test_requested_resources_equal_the_config(slurm_run) -> None:
    minutes = {"train_phase": "train_runtime", "evaluate_run": "evaluate_runtime"}
    memory = {"train_phase": "train_mem_mb", "evaluate_run": "evaluate_mem_mb"}
    for job in slurm_run.jobs:
        rule, _ = rule_of(job)
        if rule in GPU_RULES:
            assert job["Partition"] == "gpu", (rule, job["Partition"])
            assert gpus_of(job) == RESOURCES["train_gpus"], rule
            assert job["ReqCPUS"] == str(THREADS), rule
            assert job["ReqMem"] == f"{RESOURCES[memory[rule]]}M", rule
            assert job["Timelimit"] == f"00:{RESOURCES[minutes[rule]]:02d}:00", rule
        else:
            assert job["Partition"] == "cpu", (rule, job["Partition"])
            assert gpus_of(job) == 0, rule
            assert job["ReqCPUS"] == "1", rule


def test_results_equal_a_local_run(slurm_run) -> None:
    local_run = slurm_run.local
    for table in ("main_results.csv", "accuracy_matrix.csv"):
        on_slurm = pd.read_csv(slurm_run.folder / "results" / "tables" / table)
        local = pd.read_csv(local_run / "results" / "tables" / table)
        pd.testing.assert_frame_equal(on_slurm, local, check_exact=True)
    runs = sorted(p.name for p in (local_run / "results" / "runs").iterdir())
    assert runs == sorted(p.name for p in (slurm_run.folder / "results" / "runs").iterdir())
    for run in runs:
        frames = [
            pd.read_csv(root / "results" / "runs" / run / "history.csv").drop(columns="seconds")
            for root in (slurm_run.folder, local_run)
        ]
        pd.testing.assert_frame_equal(*frames, check_exact=True)


def test_cancelled_training_resumes_from_its_checkpoint(slurm_run) -> None:
    _, run = rule_of(slurm_run.cancelled)
    attempts = [job for job in slurm_run.jobs if rule_of(job) == ("train_phase", run)]
    assert [job["State"] for job in attempts] == ["CANCELLED", "COMPLETED"]
    log = (slurm_run.folder / "results" / "logs" / "train" / f"{run}.log").read_text()
    resumed = [line for line in log.splitlines() if "resuming" in line]
    assert len(resumed) == 1, log[-3000:]
    epoch = int(resumed[0].rsplit("at epoch", 1)[1])
    assert 1 < epoch <= EPOCHS
    # The resubmitted job trained only the epochs after the checkpoint.
    assert len(epoch_lines(slurm_run.folder, run)) == EPOCHS - epoch + 1
    history = pd.read_csv(slurm_run.folder / "results" / "runs" / run / "history.csv")
    assert history["epoch"].tolist() == list(range(1, EPOCHS + 1))


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


def test_study_workers_share_a_postgres_study(cluster, slurm_run, postgres_url) -> None:
    """The lambda study with 4 workers as SLURM jobs on one PostgreSQL storage."""
    folder = slurm_run.folder
    config = slurm_config()
    config["ablations"] = {"enabled": True, "lambdas": LAMBDAS, "lambda_epochs": 2}
    config["optuna"] = {"storage": postgres_url, "workers": WORKERS, "n_extra_trials": 1}
    make_project(folder, config=config)
    before = {job["JobIDRaw"] for job in cluster.jobs()}
    target = "results/tables/study_lambda.csv"
    command = slurm_command(folder, slurm_run.profile, target)
    finish(start(command, folder, cluster.env(env())), folder)
    jobs = [job for job in cluster.jobs() if job["JobIDRaw"] not in before]

    assert {job["State"] for job in jobs} == {"COMPLETED"}
    rules = Counter(rule_of(job)[0] for job in jobs)
    assert rules == {"study_create": 1, "study_worker": WORKERS, "study_aggregate": 1}
    workers = [job for job in jobs if rule_of(job)[0] == "study_worker"]
    assert sorted(rule_of(job)[1] for job in workers) == [f"lambda_{i}" for i in range(WORKERS)]
    for job in workers:
        assert job["Partition"] == "gpu" and gpus_of(job) == RESOURCES["train_gpus"]
        assert job["ReqMem"] == f"{RESOURCES['train_mem_mb']}M"
        assert job["Timelimit"] == f"00:{4 * RESOURCES['train_runtime']:02d}:00"

    trials = trials_of(postgres_url, "lambda")
    lost = [t.number for t in trials if t.state not in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert not lost, f"trials not finished: {lost}"
    assert_each_point_complete_once(trials, ["0.7", "1", "1.3"])
    grid = [t for t in trials if t.user_attrs.get("source") == "grid"]
    assert sorted(t.params["lam"] for t in grid) == LAMBDAS
    cap = len(LAMBDAS) + 1
    assert cap <= len(trials) <= cap + WORKERS - 1
    table = pd.read_csv(folder / "results" / "tables" / "study_lambda.csv")
    assert sorted(table["number"]) == sorted(t.number for t in trials)
