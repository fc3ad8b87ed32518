"""The lifelong re-ID benchmark through the Snakemake CLI: a tiny generated sequence (3 steps,
2 unseen sets, 2 methods), and dry runs of the real-data configs and the default config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import TINY, copy_repo_configs, job_counts, make_project, snakemake

from reid.config import load_config
from reid.lreid.plan import benchmark_plan
from reid.runs import run_hash

pytestmark = pytest.mark.slow

SIZES = {"num_train_ids": 6, "num_test_ids": 4, "images_per_id": 4, "height": 64, "width": 32}


def tiny_lreid() -> dict:
    config = yaml.safe_load(TINY.read_text())
    config["tasks"] = [
        {
            "name": "market",
            "dataset": "market1501",
            "select_ids": 4,
            "synthetic": dict(SIZES, style="market"),
        },
        {"name": "sysu", "dataset": "cuhksysu", "synthetic": dict(SIZES, style="cuhksysu")},
        {
            "name": "duke",
            "dataset": "dukemtmcreid",
            "select_ids": 5,
            "synthetic": dict(SIZES, style="duke"),
        },
    ]
    config["unseen"] = [
        {"name": "viper", "dataset": "viper", "synthetic": dict(SIZES, style="viper")},
        {
            "name": "sense",
            "dataset": "sensereid",
            "synthetic": dict(SIZES, style="sensereid", images_per_id=2),
        },
    ]
    config["ablations"] = {"enabled": False}
    config["comparison"] = {"enabled": False, "methods": ["finetune", "joint"], "seeds": [0]}
    config["benchmark"] = {"enabled": True, "features": "last"}
    return config


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    folder = make_project(tmp_path_factory.mktemp("lreid"), config=tiny_lreid())
    snakemake(folder, "--cores", "2")
    return folder


def test_lreid_tables_hold_seen_and_unseen_averages(finished: Path) -> None:
    tables = finished / "results" / "tables"
    summary = pd.read_csv(tables / "lreid.csv")
    last = summary[(summary["step"] == 3) & (summary["metric"] == "mAP")]
    for method in ("finetune", "joint"):
        stats = set(last.loc[last["method"] == method, "statistic"])
        assert {"seen_avg", "unseen_avg"} <= stats
    assert {"forgetting", "bwt", "fwt"} <= set(last.loc[last["method"] == "finetune", "statistic"])
    seeds = pd.read_csv(tables / "lreid_seeds.csv")
    finetune = seeds[(seeds["method"] == "finetune") & (seeds["metric"] == "rank1")]
    assert finetune["step"].tolist() == [1, 2, 3]
    assert finetune[["seen_avg", "unseen_avg"]].stack().between(0, 100).all()
    data = pd.read_csv(tables / "lreid_datasets.csv")
    at3 = data[(data["method"] == "finetune") & (data["step"] == 3)]
    assert sorted(at3["set"]) == ["duke", "market", "sense", "sysu", "viper"]
    # Seen-Avg after step 2 = mean over the two tasks trained so far, from the per-set table.
    at2 = data[(data["method"] == "finetune") & (data["step"] == 2) & (data["index"] < 2)]
    row = finetune[finetune["step"] == 2].iloc[0]
    assert row["seen_avg"] == pytest.approx(at2["rank1"].mean())
    # `last` resolved to the newest pipeline of each model, no task id used.
    assert set(at3["features"]) == {"pipeline:2"}
    # The untrained reference is phase 1's model before training: same kind of feature (FWT).
    assert set(data.loc[data["method"] == "reference", "features"]) == {"pipeline:0"}


def test_separation_checks_come_from_the_per_set_table(finished: Path) -> None:
    tables = finished / "results" / "tables"
    checks = pd.read_csv(tables / "lreid_checks.csv").set_index("check")
    assert {"random", "forgetting", "joint"} <= set(checks.index)
    data = pd.read_csv(tables / "lreid_datasets.csv")
    finetune = data[(data["method"] == "finetune") & (data["kind"] == "seen")]
    joint = data[(data["method"] == "joint") & (data["kind"] == "seen")]
    gain = joint["mAP"].mean() - finetune.loc[finetune["step"] == 3, "mAP"].mean()
    assert checks.loc["joint", "mean"] == pytest.approx(gain)
    assert checks.loc["joint", "n"] == 1 and checks.loc["joint", "verdict"] in ("holds", "fails")
    html = (finished / "results" / "report" / "index.html").read_text(encoding="utf-8")
    assert 'id="table-lreid-checks"' in html and 'data-check="forgetting"' in html


def test_chain_jobs_give_the_same_tables(finished: Path) -> None:
    """`benchmark.jobs: chain` (one job per method and seed) in the same results folder: the
    finished runs are reused, a deleted one is trained again inside its chain's job, and the
    tables equal those of the per-run jobs."""
    tables = finished / "results" / "tables"
    before = {name: pd.read_csv(tables / f"{name}.csv") for name in ("lreid", "lreid_datasets")}
    last = before["lreid_datasets"]
    last = last[(last["method"] == "finetune") & (last["step"] == 3)]["run"].iloc[0]
    shutil.rmtree(finished / "results" / "runs" / last)
    override = finished / "config" / "chain.yaml"
    override.write_text(
        yaml.safe_dump({"benchmark": {"enabled": True, "features": "last", "jobs": "chain"}})
    )
    chain = ["--configfile", str(override)]
    plan = job_counts(snakemake(finished, "-n", "--cores", "2", *chain).stdout)
    assert plan["lreid_chain"] == 2 and "lreid_evaluate" not in plan
    snakemake(finished, "--cores", "2", *chain)
    assert (finished / "results" / "runs" / last / "model.pt").is_file()
    for name, frame in before.items():
        after = pd.read_csv(tables / f"{name}.csv")
        pd.testing.assert_frame_equal(after, frame)


def test_selection_reaches_training(finished: Path) -> None:
    runs = finished / "results" / "runs"
    classes = {}
    for spec_file in runs.glob("*/spec.json"):
        spec = json.loads(spec_file.read_text())
        if spec["kind"] == "phase":
            metrics = json.loads((spec_file.parent / "metrics.json").read_text())
            classes[spec["task"]["name"]] = metrics["num_classes"][-1]
    assert classes == {"market": 4, "sysu": 6, "duke": 5}


def test_report_has_the_lreid_section(finished: Path) -> None:
    html = (finished / "results" / "report" / "index.html").read_text(encoding="utf-8")
    assert "Lifelong re-ID benchmark" in html and 'id="lreid-banner"' in html
    assert 'id="table-lreid"' in html and 'id="table-lreid-published"' in html
    assert 'data-method="finetune"' in html and "DASK (AAAI&#39;25)" in html
    unseen = html[html.index('id="table-lreid-unseen"') :]
    assert unseen.index(">viper<") < unseen.index(">sense<")  # the config's order


def test_real_data_configs_plan_the_benchmark(tmp_path: Path) -> None:
    folder = copy_repo_configs(tmp_path)
    for name in ("lreid_order1", "lreid_order2"):
        proc = snakemake(folder, "-n", "--cores", "8", "--configfile", f"config/{name}.yaml")
        counts = job_counts(proc.stdout)
        assert counts["prepare_dataset"] == 12
        assert counts["lreid_reference"] == 3  # one untrained model per seed
        config = load_config(
            [folder / "config" / "config.yaml", folder / "config" / f"{name}.yaml"]
        )
        plan = benchmark_plan(config)
        # every distinct run once: phase 1 shared by the methods of one model piece (the
        # recipe's, the covariance variants' pipelines, a method's own), 4 more steps each
        assert counts["train_phase"] == len({run_hash(spec) for spec in plan["specs"]})
        methods = {e["method"] for e in plan["evals"]}
        assert {"finetune", "lwf", "lstkc", "dkp", "patchkd", "joint"} <= methods
        assert len(plan["chains"]) == 3 * len(config["comparison"]["methods"])
        assert counts["lreid_evaluate"] == counts["train_phase"]
        assert counts["lreid_tables"] == 1


def test_default_config_plans_no_benchmark(tmp_path: Path) -> None:
    folder = copy_repo_configs(tmp_path)
    proc = snakemake(folder, "-n", "--cores", "2")
    assert not any(rule.startswith("lreid") for rule in job_counts(proc.stdout))
