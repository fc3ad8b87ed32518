"""The Snakemake DAG end to end, through the Snakemake CLI, on the tiny config."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_report_fixtures import parse_tables
from workflow_helpers import (
    BIN,
    TINY,
    copy_repo_configs,
    env,
    job_counts,
    make_project,
    planned_job,
    snakemake,
)

from reid.config import load_config
from reid.runs import main_chain, method_model, run_hash
from reid.strategies import comparison_methods, comparison_strategy
from reid.tuning.studies import enabled_studies, study_plan

pytestmark = pytest.mark.slow

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


def _config(folder: Path) -> dict:
    """The validated config the project in `folder` ran with (the tiny one)."""
    return load_config([folder / "config" / "config.yaml"])


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
        evaluated = finished / "results" / "runs" / entry.run / "eval" / "tasks.json"
        result = json.loads(evaluated.read_text())["tasks"][entry.task]
        assert set(result) >= EVAL_KEYS
        assert len(result["cmc"]) == 50
    for study in enabled_studies(_config(finished)):
        frame = pd.read_csv(tables / f"study_{study}.csv")
        assert (frame["state"] == "COMPLETE").all()
        best = json.loads((finished / "results" / "optuna" / f"best_{study}.json").read_text())
        assert best["best_value"] is not None
    continual = pd.read_csv(tables / "continual.csv")
    # Every registered method and variant by default, the literature baselines included.
    assert set(continual["method"]) == set(comparison_methods())
    assert {"replay", "ewc", "spd"} <= set(continual["method"])
    html = (finished / "results" / "report" / "index.html").read_text(encoding="utf-8")
    assert len(html) > 10_000
    # rank lists: main run after phases 1 and 2, lwf after phase 2, embedded in the report
    assert len(list((finished / "results" / "ranklists").glob("*.png"))) == 3
    assert html.count('<figure class="ranklist">') == 3
    assert list((finished / "results" / "benchmarks" / "train").glob("*.tsv"))


def test_the_report_reads_only_its_declared_inputs(finished: Path, tmp_path: Path) -> None:
    """Copy the report rule's declared inputs, and nothing else, to a fresh folder and run its
    command there: the same page (the time stamp aside)."""
    proc = snakemake(finished, "-n", "-p", "--cores", "1", "--forcerun", "report")
    inputs, command = planned_job(proc.stdout, "report")
    assert any(path.endswith("report/tables/main.json") for path in inputs)
    fresh = tmp_path / "fresh"
    for path in inputs:
        (fresh / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(finished / path, fresh / path)
    (fresh / "results" / "logs" / "report").mkdir(parents=True, exist_ok=True)
    subprocess.run(command, shell=True, cwd=fresh, env=env(), check=True)
    files = {p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()}
    assert files - set(inputs) == {"results/report/index.html", "results/logs/report/report.log"}

    def page(folder: Path) -> str:
        html = (folder / "results" / "report" / "index.html").read_text(encoding="utf-8")
        return re.sub(r"Generated [^.]*UTC", "Generated", html)

    assert page(fresh) == page(finished)
    assert 'id="table-lambda"' in page(fresh) and 'class="ranklist"' in page(fresh)


def test_optuna_cli_lists_every_study(finished: Path) -> None:
    proc = subprocess.run(
        [str(BIN / "optuna"), "studies", "--storage", "results/optuna/journal.log", "-f", "json"],
        capture_output=True,
        text=True,
        cwd=finished,
        env=env(),
        check=True,
    )
    # Studies are named `<ablation>-<fingerprint of the config>`.
    studies = {row["name"].rsplit("-", 1)[0]: row["n_trials"] for row in json.loads(proc.stdout)}
    config = _config(finished)
    assert studies == {
        name: study_plan(config, name).max_trials for name in enabled_studies(config)
    }
    assert {"batch_size", "optimizer", "lambda", "ensembling", "alpha"} <= set(studies)


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
    # `methods: all`: every registered method and variant, so a new strategy is planned too.
    paper = yaml.safe_load((folder / "config" / "paper.yaml").read_text())
    assert paper["comparison"]["methods"] == "all"
    others = len(comparison_methods()) - 2  # covariance and joint
    # A method that brings its own model piece (DKP's head) trains its own phase 1 too.
    config = load_config([folder / "config" / "paper.yaml"])
    shared = run_hash(main_chain(config)[0])
    own = sum(
        run_hash(main_chain(config, model=method_model(config, name))[0]) != shared
        for name in comparison_methods()
        if comparison_strategy(name).sequential
    )
    assert counts["train_phase"] == 2 + others + 1 + own
    # One evaluation job per run (all the run's tasks): the main phases, each baseline's
    # phase 2 (phase 1 is shared unless the method brings its own model) and joint.
    assert counts["evaluate_run"] == 2 + others + 1 + own
    assert counts["main_results"] == 1
    assert counts["comparison"] == 1
    for rule in ("study_create", "study_worker", "study_aggregate"):
        assert counts[rule] == 5
    assert counts["report"] == 1
    assert counts["ranklist"] == 3  # main run after phases 1 and 2, lwf after phase 2
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
    # main 3 phases; comparison (covariance, finetune, lwf, joint over seeds 0, 1, 2): seed 0
    # shares the main chain, so 2 chains of 2 phases after the shared phase 1 and joint; seeds 1
    # and 2 add their own 3-phase chain, the 2 baselines' 2 phases each, and joint.
    assert counts["train_phase"] == 3 + (2 * 2 + 1) + 2 * (3 + 2 * 2 + 1)


def test_other_data_root_is_refused_by_the_workflow(tmp_path: Path) -> None:
    folder = make_project(tmp_path, extra={"data": {"root": "elsewhere"}})
    proc = snakemake(folder, "-n", "--cores", "1", check=False)
    assert proc.returncode != 0
    assert "config key 'data.root'" in proc.stdout + proc.stderr
    assert not (folder / "results").exists()


def test_unrelated_key_reruns_only_the_report(finished: Path) -> None:
    proc = snakemake(finished, "-n", "--cores", "2", "--config", "report={'title': 'x'}")
    assert job_counts(proc.stdout) == {"report": 1, "all": 1, "total": 2}


def test_equal_config_in_another_key_order_reruns_nothing(finished: Path) -> None:
    config = yaml.safe_load((finished / "config" / "config.yaml").read_text())
    reordered = {key: config[key] for key in reversed(list(config))}
    reordered["method"] = {"covariance": {"lam": 1}}  # the default 1.0 written as an int
    path = finished / "config" / "reordered.yaml"
    path.write_text(yaml.safe_dump(reordered, sort_keys=False))
    proc = snakemake(finished, "-n", "--cores", "2", "--configfile", str(path))
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def second_seed(finished: Path, tmp_path_factory) -> Path:
    """The finished project, then the same workflow with `seed=1` in the same results folder."""
    folder = tmp_path_factory.mktemp("second") / "project"
    shutil.copytree(finished, folder, symlinks=True)
    snakemake(folder, "--cores", "2", "--config", "seed=1")
    return folder


def _main(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "results" / "tables" / "main_results.csv")


def test_second_config_gets_its_own_studies(finished: Path, second_seed: Path) -> None:
    main, first = _main(second_seed), _main(finished)
    phase1 = main[main["phase"] == 1].iloc[0]
    phase2 = main[main["phase"] == 2]
    assert phase1["run"] != first[first["phase"] == 1].iloc[0]["run"]
    tables = second_seed / "results" / "tables"
    # Grid points equal to a main run hold exactly that (seed-1) run's numbers.
    expected = {
        "batch_size": ("8", phase1["run"], phase1["rank1"]),
        "optimizer": ("sgd", phase1["run"], phase1["rank1"]),
        "lambda": ("1", phase2["run"].iloc[0], phase2["rank1"].mean()),
        "ensembling": ("base_second@2", phase2["run"].iloc[0], None),
    }
    for study, (point, run, value) in expected.items():
        frame = pd.read_csv(tables / f"study_{study}.csv", dtype={"point": str})
        best = json.loads((second_seed / "results" / "optuna" / f"best_{study}.json").read_text())
        assert set(frame["study_name"]) == {best["study_name"]}
        old = pd.read_csv(finished / "results" / "tables" / f"study_{study}.csv")
        assert best["study_name"] != old["study_name"].iloc[0]
        row = frame[frame["point"].astype(str) == point].iloc[0]
        assert row["run"] == run
        if value is not None:
            assert row["value"] == pytest.approx(value, abs=0.006)


def test_report_shows_only_the_second_config(second_seed: Path) -> None:
    main = _main(second_seed)
    html = (second_seed / "results" / "report" / "index.html").read_text(encoding="utf-8")
    tables = parse_tables(html)
    optimizer = {r["setting"]["text"]: r for r in tables["table-optimizer"]}
    phase1 = main[main["phase"] == 1].iloc[0]
    assert float(optimizer["SGD+CLR"]["ours"]["value"]) == pytest.approx(phase1["rank1"], abs=0.006)
    lam = {r["setting"]["text"]: r for r in tables["table-lambda"]}
    mean2 = main[main["phase"] == 2]["rank1"].mean()
    assert float(lam["λ = 1"]["ours"]["value"]) == pytest.approx(mean2, abs=0.006)
