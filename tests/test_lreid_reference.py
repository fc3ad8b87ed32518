"""Forward transfer's reference b_j is phase 1's model before its first step, and both sides
of FWT (the reference and the trained models) take their feature from the same source."""

from __future__ import annotations

from pathlib import Path

from engine_helpers import chdir, tiny_config
from strategy_helpers import RUNS, RUNTIME, phase_one, states_equal

from reid.engine.trainer import open_phase
from reid.lreid.evaluate import evaluate_model_file, reference_model
from reid.lreid.plan import benchmark_sets, reference_spec
from reid.runs import main_chain, run_hash

EVALUATION = {
    "features": "mean:all",
    "flip": False,
    "normalize": True,
    "metric": "euclidean",
    "batch_size": 64,
    "max_rank": 50,
}


def test_reference_is_phase_one_before_training_and_shares_its_feature_source(
    tmp_path: Path,
) -> None:
    phase_one(tmp_path)
    config = {**tiny_config(tmp_path), "unseen": []}
    first = main_chain(config)[0]
    with chdir(tmp_path):
        start = open_phase(first, Path("results/fresh"), RUNTIME, RUNS).model
        sets = benchmark_sets(config)[:1]
        reference = evaluate_model_file(
            None, reference_spec(config, config["seed"]), sets, EVALUATION, RUNTIME
        )
        trained = evaluate_model_file(
            RUNS / run_hash(first) / "model.pt", None, sets, EVALUATION, RUNTIME
        )
        rebuilt = reference_model(reference_spec(config, config["seed"]))
    assert states_equal(rebuilt.state_dict(), start.state_dict())
    assert reference["features"] == trained["features"] == "mean:0"
