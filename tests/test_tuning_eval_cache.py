"""A study's trial-evaluation cache belongs to the model it evaluated: after a forced retrain
(`model.pt` rewritten with other weights) the trial is evaluated again, not read back."""

from __future__ import annotations

from pathlib import Path

import torch
from engine_helpers import chdir, tiny_config
from strategy_helpers import RUNS, RUNTIME, phase_one

from reid.engine import load_model
from reid.engine.checkpoint import load_checkpoint, save_checkpoint
from reid.engine.evaluate import evaluate_run
from reid.io import file_digest
from reid.runs import main_chain, run_hash, task_entry
from reid.tuning.studies import Evaluation
from reid.tuning.worker import evaluate_cached


def _retrained(model_path: Path) -> None:
    """Rewrite `model_path` with other weights, as a forced retrain on a GPU would."""
    state = load_checkpoint(model_path)
    torch.manual_seed(5)
    state["model"] = {
        k: v + 0.5 * torch.randn_like(v) if v.is_floating_point() else v
        for k, v in state["model"].items()
    }
    save_checkpoint(model_path, state)


def test_cache_is_reused_for_the_same_model_and_not_for_a_retrained_one(tmp_path: Path) -> None:
    phase_one(tmp_path)
    config = tiny_config(tmp_path)
    spec = main_chain(config)[0]
    evaluation = Evaluation(spec, 0, "task")
    with chdir(tmp_path):
        model_path = tmp_path / RUNS / run_hash(spec) / "model.pt"
        first = evaluate_cached(evaluation, config, RUNTIME)
        assert evaluate_cached(evaluation, config, RUNTIME) == first
        assert first["model_sha256"] == file_digest(model_path)
        _retrained(model_path)
        load_model(model_path)  # still a valid model.pt
        second = evaluate_cached(evaluation, config, RUNTIME)
        task = task_entry(config, config["tasks"][0])
        settings = dict(config["evaluation"], features="task")
        direct = evaluate_run(model_path, task, 0, settings, RUNTIME)
    assert second["model_sha256"] == file_digest(model_path) != first["model_sha256"]
    assert second["mAP"] == direct["mAP"] and second["rank1"] == direct["rank1"]
    assert (second["mAP"], second["rank1"]) != (first["mAP"], first["rank1"])
