"""A trained model's rank lists on a prepared task: the PNG grid and JSON record `reid ranklist`
writes (the rule of workflow/rules/ranklists.smk) and the report embeds."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from reid.engine.evaluate import evaluation_features, resolve_features
from reid.engine.runtime import Runtime
from reid.engine.trainer import load_bank, load_model
from reid.errors import DatasetError
from reid.evaluation import pairwise_distance
from reid.evaluation.ranklists import choose_queries, rank_lists, render_grid


def ranklist_for_run(
    model_path: Path,
    task: dict[str, Any],
    task_index: int,
    evaluation: dict[str, Any],
    *,
    count: int = 8,
    seed: int = 0,
    top: int = 10,
    runtime=None,
) -> tuple[bytes, dict[str, Any]]:
    """PNG grid and JSON record of the rank lists of `count` seeded task queries."""
    runtime = runtime or Runtime()
    device = runtime.device()
    model, state = load_model(Path(model_path))
    model.to(device).eval()
    data = state["spec"]["data"]
    query = load_bank(task, "query", data, runtime.cache_images)
    gallery = load_bank(task, "gallery", data, runtime.cache_images)
    q_pids, q_cams = query.pids.numpy(), query.camids.numpy()
    g_pids, g_cams = gallery.pids.numpy(), gallery.camids.numpy()
    chosen = choose_queries(q_pids, q_cams, g_pids, g_cams, count, seed)
    if not chosen:
        raise DatasetError(
            f"task {task['name']!r} ({task['root']}): no query has a match in another camera, "
            "so there is no rank list to draw; check the prepared dataset"
        )
    source = resolve_features(evaluation["features"], task_index, len(model.pipelines))

    def features(images: torch.Tensor) -> torch.Tensor:
        return evaluation_features(model, images, source, evaluation, device)

    dist = pairwise_distance(
        features(query.images[chosen]), features(gallery.images), evaluation["metric"]
    )
    lists = rank_lists(dist, chosen, q_pids, q_cams, g_pids, g_cams, top)
    png = render_grid(lists, query.images, gallery.images, top)
    record = {
        "task": task["name"],
        "features": source,
        "metric": evaluation["metric"],
        "seed": seed,
        "top": top,
        "rank1_hits": sum(1 for item in lists if item.matches[:1] == [True]),
        "queries": [asdict(item) for item in lists],
    }
    return png, record
