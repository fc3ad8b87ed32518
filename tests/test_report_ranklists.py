"""Rank lists: ranking order against an argsort reference, the PNG grid, the CLI and the report."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import chdir, prepare_all, tiny_config
from PIL import Image

from reid.cli import main
from reid.data.transforms import EvalTransform
from reid.engine import Runtime, load_model, run_phase
from reid.engine.ranklists import ranklist_for_run
from reid.engine.trainer import load_bank
from reid.evaluation import extract_features, pairwise_distance, ranklists
from reid.plans.report import default_settings
from reid.report.build import build_report
from reid.report.inputs import ReportInputs
from reid.runs import main_chain, run_hash, task_entry

RUNTIME = Runtime(device_name="cpu", threads=1)


def reference(dist: np.ndarray, q: int, q_pids, q_cams, g_pids, g_cams, top: int) -> list[int]:
    """The textbook way: full argsort of the row, then drop the query's own pid+camera."""
    order = np.argsort(dist, kind="stable")
    keep = ~((g_pids[order] == q_pids[q]) & (g_cams[order] == q_cams[q]))
    return [int(g) for g in order[keep][:top]]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_equals_argsort_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    q_pids, q_cams = rng.integers(0, 8, 30), rng.integers(0, 3, 30)
    g_pids, g_cams = rng.integers(0, 8, 90), rng.integers(0, 3, 90)
    queries = [int(i) for i in rng.choice(30, size=7, replace=False)]
    dist = torch.from_numpy(rng.permutation(90 * 7).reshape(7, 90).astype(np.float32))  # no ties
    lists = ranklists.rank_lists(dist, queries, q_pids, q_cams, g_pids, g_cams, top=10)
    for row, (q, item) in enumerate(zip(queries, lists, strict=True)):
        expected = reference(dist[row].numpy(), q, q_pids, q_cams, g_pids, g_cams, 10)
        assert item.gallery == expected
        assert item.matches == [bool(g_pids[g] == q_pids[q]) for g in expected]
        assert item.distances == sorted(item.distances)
        assert (item.query, item.pid, item.camid) == (q, q_pids[q], q_cams[q])


def test_a_non_match_tied_with_a_match_comes_first() -> None:
    g_pids, g_cams = np.array([5, 7, 5, 9]), np.array([2, 1, 1, 1])
    dist = torch.tensor([[0.0, 1.0, 1.0, 3.0]])  # gallery 0: same pid and camera, left out
    (item,) = ranklists.rank_lists(dist, [0], np.array([5]), np.array([2]), g_pids, g_cams, 10)
    assert item.gallery == [1, 2, 3]
    assert item.matches == [False, True, False]


def test_queries_are_a_seeded_choice_of_queries_with_a_match() -> None:
    q_pids, q_cams = np.arange(20), np.zeros(20, dtype=int)
    g_pids = np.concatenate([np.arange(20), np.arange(10)])
    g_cams = np.concatenate([np.zeros(20, dtype=int), np.ones(10, dtype=int)])
    chosen = ranklists.choose_queries(q_pids, q_cams, g_pids, g_cams, 4, seed=3)
    assert chosen == ranklists.choose_queries(q_pids, q_cams, g_pids, g_cams, 4, seed=3)
    assert len(chosen) == 4 and chosen == sorted(chosen) and max(chosen) < 10
    assert ranklists.choose_queries(q_pids, q_cams, g_pids, g_cams, 50) == list(range(10))


def test_grid_png_has_the_layout_size_and_frame_colours() -> None:
    g = torch.zeros(12, 3, 16, 8, dtype=torch.uint8)
    lists = [
        ranklists.RankList(0, 1, 1, list(range(10)), [True] + [False] * 9, [0.0] * 10),
        ranklists.RankList(1, 2, 1, list(range(10)), [False] * 10, [0.0] * 10),
    ]
    image = Image.open(io.BytesIO(ranklists.render_grid(lists, g, g, top=10))).convert("RGB")
    # per row: query + 10 cells of (8 + 2·2) px with 2 px padding, an 8 px gap after the query
    assert image.size == (2 + 11 * (12 + 2) + 8, 2 + 2 * (20 + 2)) == (164, 46)
    first_hit_x = 2 + (12 + 2) + 8
    assert image.getpixel((2, 2)) == ranklists.COLOURS["query"]
    assert image.getpixel((first_hit_x, 2)) == ranklists.COLOURS["match"]
    assert image.getpixel((first_hit_x, 2 + 22)) == ranklists.COLOURS["miss"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("ranklists")
    with chdir(path):
        config = tiny_config(path)
        prepare_all(config)
        spec = main_chain(config)[0]
        run_dir = path / "results" / "runs" / run_hash(spec)
        run_phase(spec, run_dir, RUNTIME)
    return run_dir / "model.pt", config


def test_rank_list_of_a_trained_model_follows_its_features(trained) -> None:
    model_path, config = trained
    task = task_entry(config, config["tasks"][0])
    evaluation = config["evaluation"]
    png, record = ranklist_for_run(
        model_path, task, 0, evaluation, count=3, seed=0, top=10, runtime=RUNTIME
    )
    model, state = load_model(model_path)
    banks = {s: load_bank(task, s, state["spec"]["data"], False) for s in ("query", "gallery")}
    feats = {
        s: extract_features(model, b.images, "pipeline:0", EvalTransform(), normalize=True)
        for s, b in banks.items()
    }
    dist = pairwise_distance(feats["query"], feats["gallery"], evaluation["metric"]).numpy()
    pids = {s: (b.pids.numpy(), b.camids.numpy()) for s, b in banks.items()}
    assert len(record["queries"]) == 3
    for item in record["queries"]:
        q = item["query"]
        assert item["gallery"] == reference(dist[q], q, *pids["query"], *pids["gallery"], 10)
    height, width = state["spec"]["data"]["height"], state["spec"]["data"]["width"]
    size = Image.open(io.BytesIO(png)).size
    assert size == ranklists.grid_size(3, 10, height, width) == (2 + 11 * 22 + 8, 2 + 3 * 38)


def test_cli_writes_png_and_json_and_the_report_embeds_them(trained, tmp_path) -> None:
    model_path, config = trained
    settings = {
        "task": task_entry(config, config["tasks"][0]),
        "evaluation": config["evaluation"],
        "label": "finetune <main>",
        "phase": 1,
        "seed": 0,
    }
    out = tmp_path / "results" / "ranklists" / "run_market.png"
    with chdir(model_path.parents[3]):
        code = main(
            ["ranklist", "--model", str(model_path), "--settings", json.dumps(settings)]
            + ["--device", "cpu", "--threads", "1", "--out", str(out)]
        )
    assert code == 0
    record = json.loads(out.with_suffix(".json").read_text())
    assert (record["label"], record["phase"], record["png"]) == ("finetune <main>", 1, out.name)
    files = ReportInputs(ranklists=[out.with_suffix(".json")])
    html_path = build_report(
        files, tmp_path / "report.html", settings=default_settings({}), config={}
    )
    html = html_path.read_text(encoding="utf-8")
    assert 'id="ranklists"' in html
    assert "data:image/png;base64," + base64.b64encode(out.read_bytes()).decode() in html
    assert "finetune &lt;main&gt;, after phase 1" in html


def test_report_without_rank_lists_says_not_run(tmp_path) -> None:
    html = build_report(
        ReportInputs(), tmp_path / "r.html", settings=default_settings({}), config={}
    ).read_text(encoding="utf-8")
    assert "rank lists: not run" in html
