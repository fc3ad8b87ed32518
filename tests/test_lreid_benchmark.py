"""The LReID benchmark's parts: task-free feature sources, forward transfer, the selection
applied the same way by training and evaluation, the plan, the tables and the report section."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from reid.config import validate_config
from reid.continual.metrics import forward_transfer
from reid.errors import ConfigError
from reid.evaluation import extract_features
from reid.evaluation.features import resolve_source
from reid.lreid.plan import REFERENCE, benchmark_evaluation, benchmark_plan, benchmark_sets
from reid.lreid.table import dataset_results, seed_results, summary
from reid.models import ModelConfig, MultiPipelineNet
from reid.runs import run_hash, task_entry


def test_task_free_sources_resolve_without_a_task_id() -> None:
    assert resolve_source("last", None, 3) == "pipeline:2"
    assert resolve_source("mean:all", None, 2) == "mean:0,1"
    assert resolve_source("concat:all", None, 3) == "concat:0,1,2"
    assert resolve_source("task", 1, 3) == "pipeline:1"
    for name in ("last", "mean:all", "concat:all"):
        assert resolve_source(name, None, 0) == "base"
    with pytest.raises(ConfigError, match="needs a task id"):
        resolve_source("task", None, 2)


def test_mean_all_equals_the_explicit_ensemble() -> None:
    torch.manual_seed(0)
    model = MultiPipelineNet(ModelConfig(backbone="resnet18", weights=None, input_size=(32, 16)))
    model.add_pipeline(4)
    model.add_pipeline(5)
    images = torch.randint(0, 255, (3, 3, 32, 16), dtype=torch.uint8)

    def feats(source: str) -> torch.Tensor:
        return extract_features(model, images, source, transform=lambda x: x.float() / 255)

    explicit = feats("mean:0,1")
    assert torch.allclose(feats(resolve_source("mean:all", None, 2)), explicit)
    assert not torch.allclose(feats(resolve_source("last", None, 2)), explicit)


def test_forward_transfer() -> None:
    r = np.array([[50.0, 20.0, 10.0], [40.0, 60.0, 30.0], [35.0, 55.0, 70.0]])
    b = np.array([5.0, 10.0, 12.0])
    # FWT = mean(R[0,1] - b1, R[1,2] - b2) = mean(10, 18)
    assert forward_transfer(r, b) == pytest.approx(14.0)
    assert math.isnan(forward_transfer(r[:1, :1], b[:1]))
    with pytest.raises(ValueError, match="one value per task"):
        forward_transfer(r, b[:2])


def tiny_config(**extra) -> dict:
    synth = {"num_train_ids": 6, "num_test_ids": 4, "images_per_id": 4}
    config = {
        "tasks": [
            {
                "name": "market",
                "dataset": "market1501",
                "select_ids": 4,
                "synthetic": dict(synth, style="market"),
            },
            {
                "name": "sysu",
                "dataset": "cuhksysu",
                "select_ids": 4,
                "synthetic": dict(synth, style="cuhksysu"),
            },
            {"name": "duke", "dataset": "dukemtmcreid", "synthetic": dict(synth, style="duke")},
        ],
        "unseen": [
            {
                "name": "viper",
                "dataset": "viper",
                "select_ids": 3,
                "synthetic": dict(synth, style="viper"),
            }
        ],
        "comparison": {"methods": ["finetune", "joint"], "seeds": [0, 1]},
        "benchmark": {"enabled": True},
    }
    config.update(extra)
    return validate_config(config)


def test_selection_is_part_of_the_run_spec_only_when_set() -> None:
    config = tiny_config()
    market = task_entry(config, config["tasks"][0])
    assert market["select_ids"] == 4 and "select_seed" not in market
    assert "select_ids" not in task_entry(config, config["tasks"][2])
    other = task_entry(config, dict(config["tasks"][0], select_ids=5))
    assert run_hash(other) != run_hash(market)
    assert other["root"] == market["root"]  # one prepared dataset, two selections


def test_plan_evaluates_every_step_reference_and_joint() -> None:
    config = tiny_config()
    plan = benchmark_plan(config)
    steps = {(e["method"], e["seed"]): [] for e in plan["evals"]}
    for e in plan["evals"]:
        steps[(e["method"], e["seed"])].append(e["step"])
    assert steps[("finetune", 1)] == [1, 2, 3]
    assert steps[("joint", 0)] == [3]
    assert steps[(REFERENCE, 0)] == [0]
    assert len(plan["references"]) == 2
    sets = benchmark_sets(config)
    assert [(s["name"], s["kind"], s["index"]) for s in sets] == [
        ("market", "seen", 0),
        ("sysu", "seen", 1),
        ("duke", "seen", 2),
        ("viper", "unseen", None),
    ]
    assert "select_ids" not in sets[-1]["task"]  # an unseen set keeps all its identities
    assert benchmark_evaluation(config)["features"] == "mean:all"


def test_plan_refuses_task_features_and_name_clashes() -> None:
    with pytest.raises(ConfigError, match="benchmark.features"):
        benchmark_evaluation(tiny_config(benchmark={"enabled": True, "features": "task"}))
    clash = tiny_config()
    clash["unseen"][0]["name"] = "duke"
    with pytest.raises(ConfigError, match="unseen"):
        benchmark_sets(clash)


def write_eval(folder: Path, name: str, values: dict[str, tuple[str, int | None, float]]) -> Path:
    sets = {
        s: {
            "kind": kind,
            "index": index,
            "mAP": v / 100,
            "rank1": min(1.0, v / 80),
            "features": "mean:0",
        }
        for s, (kind, index, v) in values.items()
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"sets": sets}))
    return path


def fake_manifest(tmp_path: Path, shift: float) -> list[dict]:
    """finetune over 2 steps (2 seen tasks, 1 unseen set) and the reference, seed `shift`."""
    r = {1: (60.0, 20.0, 30.0), 2: (40.0, 70.0, 36.0)}  # (task a, task b, unseen u)
    entries = []
    for step, (a, b, u) in r.items():
        values = {
            "a": ("seen", 0, a + shift),
            "b": ("seen", 1, b + shift),
            "u": ("unseen", None, u),
        }
        file = write_eval(tmp_path, f"ft{step}-{shift}", values)
        entries.append(
            {"method": "finetune", "seed": int(shift), "step": step, "run": "x", "file": str(file)}
        )
    ref = write_eval(
        tmp_path,
        f"ref-{shift}",
        {"a": ("seen", 0, 5.0), "b": ("seen", 1, 8.0), "u": ("unseen", None, 6.0)},
    )
    entries.append(
        {"method": REFERENCE, "seed": int(shift), "step": 0, "run": "r", "file": str(ref)}
    )
    return entries


def test_tables_seen_unseen_averages_and_transfer(tmp_path: Path) -> None:
    data = dataset_results(fake_manifest(tmp_path, 0.0) + fake_manifest(tmp_path, 2.0))
    seeds = seed_results(data)
    pick = seeds[
        (seeds["method"] == "finetune") & (seeds["seed"] == 0) & (seeds["metric"] == "mAP")
    ]
    step1, step2 = pick.iloc[0], pick.iloc[1]
    assert step1["seen_avg"] == pytest.approx(60.0)  # only task a was trained after step 1
    assert step2["seen_avg"] == pytest.approx(55.0)
    assert step2["unseen_avg"] == pytest.approx(36.0)
    assert step2["forgetting"] == pytest.approx(20.0)
    assert step2["bwt"] == pytest.approx(-20.0)
    assert step2["fwt"] == pytest.approx(20.0 - 8.0)
    assert math.isnan(step1["forgetting"])
    ref = seeds[(seeds["method"] == REFERENCE) & (seeds["metric"] == "mAP")]
    assert ref["unseen_avg"].tolist() == [6.0, 6.0] and ref["seen_avg"].isna().all()
    table = summary(seeds)
    row = table[
        (table["method"] == "finetune")
        & (table["step"] == 2)
        & (table["metric"] == "mAP")
        & (table["statistic"] == "seen_avg")
    ].iloc[0]
    assert row["n"] == 2 and row["mean"] == pytest.approx(56.0)
    assert row["ci95_low"] < 56.0 < row["ci95_high"]


def test_report_section_shows_ours_published_and_banner(tmp_path: Path) -> None:
    from reid.report.build import _lreid, render
    from reid.report_tables.lreid import section

    data = dataset_results(fake_manifest(tmp_path, 0.0))
    part = section(summary(seed_results(data)), data, order=[])
    assert part["run"] and part["ours"][0]["method"] == "finetune"
    assert part["ours"][0]["cells"][0]["mean"] == pytest.approx(55.0)  # Seen-Avg mAP, last step
    settings = {"synthetic": True, "lreid": {"enabled": True, "order": "order 1"}}
    context = _lreid(part | {"features": "mean:all"}, settings)
    assert context["ours"][0]["cells"][0] == "55.0"
    assert any(row["method"] == "DASK (AAAI'25)" for row in context["published"])
    finetune = next(row for row in context["published"] if row["ours"] == "finetune")
    assert finetune["ours_cells"][0] == "55.0"  # our Seen-Avg mAP beside the published row
    lstkc = next(row for row in context["published"] if row["ours"] == "lstkc")
    assert lstkc["ours_cells"] is None  # not in this comparison
    html = render(minimal_context(context))
    assert 'class="num ours">55.0<' in html and ">not run<" in html
    assert "Lifelong re-ID benchmark" in html and 'id="lreid-banner"' in html
    assert "mean:all" in html and "order 1" in html
    assert _lreid(None, settings)["run"] is False


def minimal_context(lreid: dict) -> dict:
    """The report template's other sections, empty."""
    return {
        "title": "t",
        "generated": "now",
        "synthetic": True,
        "answer": {"run": False},
        "tables": [],
        "figures": {},
        "ratio_text": "",
        "runs": [],
        "studies": [],
        "comparison": {"run": False},
        "lreid": lreid,
        "provenance": {"commit": "x", "device": "cpu", "versions": [], "config_yaml": ""},
    }


def test_selection_tag_names_only_the_splits_it_changes() -> None:
    from reid.data.select import selection_of, selection_tag

    task = {"dataset": "viper", "select_ids": 3, "select_seed": None}
    assert selection_of(task) == {"select_ids": 3}
    assert selection_tag(task, "train") and selection_tag(task, "query") == ""
    assert selection_tag({"select_seed": 4}, "train") == ""  # a seed alone selects nothing
    split = {"split_file": "my.json"}
    assert selection_tag(split, "gallery") == selection_tag(split, "query") != ""
    assert selection_tag(dict(split, select_ids=3), "train") != selection_tag(split, "train")
