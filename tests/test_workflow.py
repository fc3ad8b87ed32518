"""The Snakemake DAG end to end, through the Snakemake CLI, on the tiny config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import (
    BIN,
    TINY,
    copy_repo_configs,
    env,
    job_counts,
    make_project,
    snakemake,
)

from reid.strategies import comparison_methods

EVAL_KEYS = {
    "rank1",
    "rank5",
    "rank10",
    "rank20",
    "mAP",
    "cmc",
    "num_valid_queries",
    "num_query",
    "num_gallery",
    "features",
    "task",
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    folder = make_project(tmp_path_factory.mktemp("workflow"))
    snakemake(folder, "--cores", "2")
    return folder


def test_whole_dag_writes_every_output(finished: Path) -> None:
    tables = finished / "results" / "tables"
    results = pd.read_csv(tables / "main_results.csv")
    assert list(zip(results["phase"], results["task"], strict=True)) == [
        (1, "market"),
        (2, "market"),
        (2, "duke"),
    ]
    for column in ("rank1", "rank5", "rank10", "rank20", "mAP"):
        assert results[column].between(0, 100).all()
    assert (results["rank1"] <= results["rank20"]).all()
    matrix = pd.read_csv(tables / "accuracy_matrix.csv")
    assert set(matrix["metric"]) == {"rank1", "mAP"}
    for run in results["run"]:
        run_dir = finished / "results" / "runs" / run
        for name in ("model.pt", "history.csv", "metrics.json", "spec.json"):
            assert (run_dir / name).is_file()
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert {"run", "phase", "epochs", "train_seconds", "num_classes"} <= set(metrics)
    for entry in results.itertuples():
        result = json.loads(
            (finished / "results" / "runs" / entry.run / "eval" / f"{entry.task}.json").read_text()
        )
        assert set(result) >= EVAL_KEYS
        assert len(result["cmc"]) == 50
    for study in ("batch_size", "optimizer", "lambda", "ensembling"):
        frame = pd.read_csv(tables / f"study_{study}.csv")
        assert (frame["state"] == "COMPLETE").all()
        best = json.loads((finished / "results" / "optuna" / f"best_{study}.json").read_text())
        assert best["best_value"] is not None
    continual = pd.read_csv(tables / "continual.csv")
    # Every registered method and variant by default, the three literature baselines included.
    assert set(continual["method"]) == set(comparison_methods())
    assert {"replay", "ewc", "spd"} <= set(continual["method"])
    assert (finished / "results" / "report" / "index.html").stat().st_size > 10_000
    assert list((finished / "results" / "benchmarks" / "train").glob("*.tsv"))


def test_optuna_cli_lists_the_four_studies(finished: Path) -> None:
    proc = subprocess.run(
        [str(BIN / "optuna"), "studies", "--storage", "results/optuna/journal.log", "-f", "json"],
        capture_output=True,
        text=True,
        cwd=finished,
        env=env(),
        check=True,
    )
    studies = {row["name"]: row["n_trials"] for row in json.loads(proc.stdout)}
    assert studies == {"batch_size": 2, "optimizer": 2, "lambda": 2, "ensembling": 4}


def test_second_run_does_nothing(finished: Path) -> None:
    proc = snakemake(finished, "--cores", "2", "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_study_points_reuse_the_main_runs(finished: Path) -> None:
    results = pd.read_csv(finished / "results" / "tables" / "main_results.csv")
    phase1 = results.loc[results["phase"] == 1, "run"].iloc[0]
    batch = pd.read_csv(finished / "results" / "tables" / "study_batch_size.csv")
    optimizer = pd.read_csv(finished / "results" / "tables" / "study_optimizer.csv")
    assert batch.loc[batch["point"].astype(str) == "8", "run"].tolist() == [phase1]
    assert optimizer.loc[optimizer["point"] == "sgd", "run"].tolist() == [phase1]


def test_paper_config_dry_run_plans_expected_jobs(tmp_path: Path) -> None:
    folder = copy_repo_configs(tmp_path)
    proc = snakemake(folder, "-n", "-p", "--cores", "8", "--configfile", "config/paper.yaml")
    counts = job_counts(proc.stdout)
    assert counts["prepare_dataset"] == 2
    # Main chain (2 phases) + comparison: a phase-2 run per other sequential method or variant
    # (covariance is the main run) + joint.
    others = len(comparison_methods()) - 2  # covariance and joint
    assert counts["train_phase"] == 2 + others + 1
    # Main 3 + 2 new evaluations per sequential baseline (phase 1 is shared) + 2 for joint.
    assert counts["evaluate_task"] == 3 + 2 * others + 2
    assert counts["main_results"] == 1
    assert counts["comparison"] == 1
    for rule in ("study_create", "study_worker", "study_aggregate"):
        assert counts[rule] == 4
    assert counts["report"] == 1
    assert "resnet50" in proc.stdout


def test_bad_config_key_is_refused_with_its_name(tmp_path: Path) -> None:
    folder = make_project(tmp_path, extra={"trian": {"epochs": 3}})
    proc = snakemake(folder, "-n", "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "unknown config key 'trian'" in proc.stdout + proc.stderr


def test_three_task_sequence_fills_the_accuracy_matrix(tmp_path: Path) -> None:
    config = yaml.safe_load(TINY.read_text())
    third = {
        "name": "msmt",
        "dataset": "msmt17",
        "source": "synthetic",
        "synthetic": dict(config["tasks"][1]["synthetic"], style="msmt"),
    }
    config["tasks"].append(third)
    folder = make_project(tmp_path, config=config)
    snakemake(folder, "--cores", "2", "results/tables/main_results.csv")
    results = pd.read_csv(folder / "results" / "tables" / "main_results.csv")
    assert list(zip(results["phase"], results["task"], strict=True)) == [
        (1, "market"),
        (2, "market"),
        (2, "duke"),
        (3, "market"),
        (3, "duke"),
        (3, "msmt"),
    ]
    last = results.loc[results["phase"] == 3, "run"].iloc[0]
    spec = json.loads((folder / "results" / "runs" / last / "spec.json").read_text())
    assert spec["phase"] == 3 and spec["task"]["dataset"] == "msmt17"


def test_three_task_config_plans_three_phases(tmp_path: Path) -> None:
    folder = copy_repo_configs(tmp_path)
    proc = snakemake(folder, "-n", "--cores", "2", "--configfile", "config/three_tasks.yaml")
    counts = job_counts(proc.stdout)
    assert counts["prepare_dataset"] == 3
    # main 3 phases; comparison: 4 more chains of 2 phases after the shared phase 1; joint.
    assert counts["train_phase"] == 3 + 4 * 2 + 1


def test_other_data_root_is_refused_by_the_workflow(tmp_path: Path) -> None:
    folder = make_project(tmp_path, extra={"data": {"root": "elsewhere"}})
    proc = snakemake(folder, "-n", "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "config key 'data.root'" in proc.stdout + proc.stderr
    assert not (folder / "results").exists()
