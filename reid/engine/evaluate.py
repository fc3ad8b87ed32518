"""Evaluate a trained run on one task's query/gallery split."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from reid.data.transforms import EvalTransform
from reid.engine.models import load_model
from reid.engine.runtime import Runtime
from reid.engine.sources import load_bank
from reid.evaluation import evaluate_features, extract_features, parse_feature_source
from reid.evaluation.features import resolve_source
from reid.io import file_digest, write_json

RANKS = (1, 5, 10, 20)


def resolve_features(features: str, task_index: int | None, num_pipelines: int) -> str:
    """`task` means the task's own pipeline, `last` / `concat:all` / `mean:all` need no task id;
    anything else is a feature source string."""
    return resolve_source(features, task_index, num_pipelines)


def evaluation_features(model, images, source, evaluation: dict[str, Any], device) -> Any:
    """Features of uint8 `images` from `source` with the evaluation section's flip,
    normalisation and batch size (the one place evaluation settings reach extraction)."""
    return extract_features(
        model,
        images,
        source,
        transform=EvalTransform(),
        flip=evaluation["flip"],
        normalize=evaluation["normalize"],
        batch_size=evaluation["batch_size"],
        device=device,
    )


def evaluate_run(
    model_path: Path,
    task: dict[str, Any],
    task_index: int | None,
    evaluation: dict[str, Any],
    runtime: Runtime | None = None,
    model=None,
) -> dict[str, Any]:
    """Rank-k and mAP of a trained model on a task, with the configured feature source
    (`task_index` None: a set without a task id, which needs a task-free source)."""
    runtime = runtime or Runtime()
    device = runtime.device()
    if model is None:
        model, state = load_model(Path(model_path))
        data = state["spec"]["data"]
    else:
        data = {"height": model.cfg.input_size[0], "width": model.cfg.input_size[1]}
    model.to(device).eval()
    source_name = resolve_features(evaluation["features"], task_index, len(model.pipelines))
    source = parse_feature_source(source_name)
    started = time.perf_counter()
    feats = {}
    banks = {}
    for split in ("query", "gallery"):
        banks[split] = load_bank(task, split, data, runtime.cache_images)
        feats[split] = evaluation_features(model, banks[split].images, source, evaluation, device)
    result = evaluate_features(
        feats["query"].float().cpu(),
        feats["gallery"].float().cpu(),
        banks["query"].pids.numpy(),
        banks["gallery"].pids.numpy(),
        banks["query"].camids.numpy(),
        banks["gallery"].camids.numpy(),
        metric=evaluation["metric"],
        max_rank=evaluation["max_rank"],
    )
    cmc = [float(v) for v in result["cmc"]]
    out: dict[str, Any] = {f"rank{r}": cmc[r - 1] for r in RANKS}
    out.update(
        {
            "mAP": float(result["mAP"]),
            "cmc": cmc,
            "num_valid_queries": int(result["num_valid_queries"]),
            "num_query": len(banks["query"].pids),
            "num_gallery": len(banks["gallery"].pids),
            "features": source_name,
            "task": task["name"],
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    return out


@torch.no_grad()
def quick_rank1(
    model, task: dict[str, Any], task_index: int, evaluation: dict[str, Any], runtime: Runtime
) -> float:
    """Rank-1 of a model being trained (for Optuna's per-epoch intermediate values)."""
    was_training = model.training
    result = evaluate_run(Path("-"), task, task_index, evaluation, runtime, model=model)
    model.train(was_training)
    return result["rank1"]


def for_model(path: Path, model_path: Path, compute: Callable[[], dict[str, Any]]) -> dict:
    """The evaluation cached at `path` when it was made of this very `model_path` (its sha256
    is recorded in the file as `model_sha256`), else `compute()`, recorded there."""
    digest = file_digest(model_path)
    if Path(path).is_file():
        cached = json.loads(Path(path).read_text(encoding="utf-8"))
        if cached.get("model_sha256") == digest:
            return cached
    result = dict(compute(), model_sha256=digest)
    write_json(path, result)
    return result
