"""One (method, seed) chain of the benchmark in one process (`benchmark.jobs: chain`): every
step trained in order (a finished run with the same hash is reused, an interrupted one resumed)
and evaluated on every set. Each evaluation is cached in its run's folder for the very model it
was made of, so the first step, shared by every method of a seed, is evaluated once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reid.engine.evaluate import for_model
from reid.engine.runtime import Runtime
from reid.engine.trainer import ensure_run
from reid.helpers import stable_hash
from reid.lreid.evaluate import evaluate_model_file
from reid.runs import RUNS_ROOT, run_hash


def chain_evaluations(
    specs: list[dict[str, Any]],
    sets: list[dict[str, Any]],
    evaluation: dict[str, Any],
    runtime: Runtime,
    run_root: Path = RUNS_ROOT,
) -> dict[str, dict[str, Any]]:
    """{run hash: evaluation on every set} of each step of the chain, in training order."""
    key = stable_hash({"sets": sets, "evaluation": evaluation}, 8)
    results: dict[str, dict[str, Any]] = {}
    for spec in specs:
        model = ensure_run(spec, runtime, run_root=run_root) / "model.pt"

        def evaluate(model: Path = model) -> dict[str, Any]:
            return evaluate_model_file(model, None, sets, evaluation, runtime)

        results[run_hash(spec)] = for_model(
            model.parent / "eval" / f"lreid-{key}.json", model, evaluate
        )
    return results
