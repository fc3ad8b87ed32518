"""One model on every benchmark set in one process (the model is loaded once)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reid.engine.evaluate import evaluate_run
from reid.engine.runtime import Runtime
from reid.engine.trainer import load_model, phase_model
from reid.models.network import MultiPipelineNet
from reid.runs import RUNS_ROOT


def reference_model(spec: dict[str, Any]) -> MultiPipelineNet:
    """The untrained model of a seed: phase 1's model before its first step (backbone and the
    first task's new pipeline), built by the very function phase 1 uses, so its features come
    from the same source as the trained models' (`mean:all` is its one pipeline's embedding)."""
    model, _ = phase_model({**spec, "parent": None}, RUNS_ROOT)
    return model


def evaluate_sets(
    model: MultiPipelineNet,
    sets: list[dict[str, Any]],
    evaluation: dict[str, Any],
    runtime: Runtime,
) -> dict[str, Any]:
    """{"features", "num_pipelines", "seconds", "sets": {name: metrics + kind, index}}."""
    started = time.perf_counter()
    results: dict[str, Any] = {}
    features = None
    for item in sets:
        out = evaluate_run(Path("-"), item["task"], None, evaluation, runtime, model=model)
        features = out["features"]
        out.pop("cmc", None)
        results[item["name"]] = dict(out, kind=item["kind"], index=item["index"])
    return {
        "features": features,
        "requested_features": evaluation["features"],
        "num_pipelines": len(model.pipelines),
        "seconds": round(time.perf_counter() - started, 3),
        "sets": results,
    }


def evaluate_model_file(
    model_path: Path | None,
    reference: dict[str, Any] | None,
    sets: list[dict[str, Any]],
    evaluation: dict[str, Any],
    runtime: Runtime,
) -> dict[str, Any]:
    """Evaluate a trained `model.pt`, or the reference model of a spec when `reference`."""
    if reference is not None:
        model = reference_model(reference)
    else:
        model, _ = load_model(Path(model_path))
    return evaluate_sets(model, sets, evaluation, runtime)
