"""What names a run, a dataset and a study: normalised numbers, the generator version, the
precision, and a study bound to the config that defines it (no training)."""

from __future__ import annotations

import copy
import json

import optuna
import pytest
import torch
from engine_helpers import tiny_config

from reid.config import canonical_json, stable_hash
from reid.losses.covariance import CovarianceTerm, covariance_loss
from reid.runs import dataset_dir, main_chain, run_hash
from reid.tuning.studies import STUDIES, study_config, study_plan


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return tiny_config(tmp_path_factory.mktemp("identity"))


def _with(config: dict, path: str, value) -> dict:
    changed = copy.deepcopy(config)
    node = changed
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return changed


def test_integral_floats_and_ints_name_the_same_run(config):
    one_int = _with(config, "method.covariance.lam", 1)
    one_float = _with(config, "method.covariance.lam", 1.0)
    assert run_hash(main_chain(one_int)[1]) == run_hash(main_chain(one_float)[1])
    assert stable_hash({"a": 1, "b": [2.0, -0.0]}) == stable_hash({"b": [2, 0], "a": 1.0})
    assert canonical_json({"b": 1.0, "a": True}) == '{"a":true,"b":1}'
    assert run_hash(main_chain(_with(config, "method.covariance.lam", 1.3))[1]) != run_hash(
        main_chain(one_int)[1]
    )


def test_generator_version_is_part_of_a_generated_datasets_identity(config, monkeypatch):
    import reid.data.synthetic as synthetic

    task = config["tasks"][0]
    before = dataset_dir(config, task)
    phase1 = run_hash(main_chain(config)[0])
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    assert dataset_dir(config, task) != before
    assert run_hash(main_chain(config)[0]) != phase1


def test_precision_is_part_of_the_run_hash(config):
    hashes = {
        amp: run_hash(main_chain(_with(config, "train.amp", amp))[0])
        for amp in ("off", "bf16", "fp16")
    }
    assert len(set(hashes.values())) == 3
    # Speed-only switches stay out of it.
    assert run_hash(main_chain(_with(config, "train.channels_last", True))[0]) == hashes["off"]


def test_a_different_precision_on_the_command_line_is_refused(config):
    from reid.engine.runtime import Runtime
    from reid.errors import ConfigError

    spec = main_chain(_with(config, "train.amp", "bf16"))[0]
    assert Runtime().for_spec(spec).amp == "bf16"
    assert Runtime(amp="bf16").for_spec(spec).amp == "bf16"
    with pytest.raises(ConfigError, match="train.amp"):
        Runtime(amp="fp16").for_spec(spec)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_covariance_term_survives_half_precision(dtype):
    gen = torch.Generator().manual_seed(0)
    maps = [torch.randn(8, 16, 4, 2, generator=gen) for _ in range(4)]
    exact = covariance_loss(*maps, alpha=1e-9)
    half = covariance_loss(*[m.to(dtype) for m in maps], alpha=1e-9)
    assert half.dtype == torch.float32
    assert exact > 0
    assert half.item() == pytest.approx(exact.item(), rel=0.05)
    pids = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    camids = torch.tensor([1, 2, 1, 2, 1, 2, 1, 2])
    with torch.autocast("cpu", dtype=dtype):
        value, couples = CovarianceTerm("paper", alpha=1e-9)([maps[0].to(dtype)], pids, camids)
    assert couples == 4 and value.item() > 0


def test_study_name_binds_the_config(config):
    names = {
        name: study_plan(config, name).study_name
        for name in ("batch_size", "optimizer", "lambda", "ensembling")
    }
    assert all(value.startswith(f"{key}-") for key, value in names.items())
    reseeded = _with(config, "seed", 1)
    for name, value in names.items():
        assert study_plan(reseeded, name).study_name != value
    # Equal configs, in any key order and with 1 for 1.0, name the same studies.
    reordered = json.loads(json.dumps({k: config[k] for k in reversed(list(config))}))
    reordered["method"]["covariance"]["lam"] = 1
    for name, value in names.items():
        assert study_plan(reordered, name).study_name == value


def test_a_study_reads_only_its_own_settings(config):
    from reid.config import validate_config

    def name(cfg, study):
        return study_plan(validate_config(study_config(cfg, study)), study).study_name

    other = _with(config, "ablations.lambdas", [0.5, 2.0])
    other = _with(other, "report", {"title": "another title"})
    other = _with(other, "comparison", {"seeds": [3, 4]})
    assert name(other, "batch_size") == name(config, "batch_size")
    assert study_config(other, "batch_size") == study_config(config, "batch_size")
    assert name(other, "lambda") != name(config, "lambda")
    # The reduced settings give the same study as the whole config (every registered study).
    for study in STUDIES.names():
        assert name(config, study) == study_plan(config, study).study_name
    # n_extra_trials reaches only the study that declares it (optuna_reads).
    extra = _with(config, "optuna.n_extra_trials", 3)
    assert name(extra, "lambda") != name(config, "lambda")
    assert name(extra, "batch_size") == name(config, "batch_size")
    assert "n_extra_trials" not in study_config(extra, "batch_size")["optuna"]


def _study_with(values: dict[str, float]) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", study_name="lambda-x")
    dist = optuna.distributions.FloatDistribution(0.1, 2.0)
    for point, value in values.items():
        trial = optuna.trial.create_trial(
            params={"lam": float(point)},
            distributions={"lam": dist},
            value=value,
            user_attrs={"point": point},
        )
        study.add_trial(trial)
    return study


def test_equal_points_have_no_best():
    from reid.tuning.aggregate import best_point

    tie = best_point(_study_with({"0.7": 69.2, "1": 69.2, "1.3": 69.2}))
    assert tie["best_params"] is None and tie["point"] is None
    assert tie["tied"] == ["0.7", "1", "1.3"]
    assert tie["best_value"] == pytest.approx(69.2)
    clear = best_point(_study_with({"0.7": 60.0, "1": 69.2}))
    assert clear["point"] == "1" and clear["tied"] == []


def test_lambda_verdict_names_no_best_within_noise():
    from reid.report_tables.base import Row
    from reid.report_tables.paper_tables import lambda_trend as _lambda_trend

    rows = [
        Row("λ = 0.7", "Rank-1", 83.3, 50.0),
        Row("λ = 1", "Rank-1", 84.6, 50.5),
        Row("λ = 1.3", "Rank-1", 82.9, 45.0),
    ]
    clear = _lambda_trend(rows)
    assert "ours: best λ = 1 (50.5)" in clear and "no best" not in clear
    noisy = _lambda_trend(rows, noise=2.0)
    assert "no best: λ = 0.7, λ = 1 are within the seed noise (2.0 points)" in noisy
    assert "same best" not in noisy and "different best" not in noisy


def test_pruning_reports_the_studys_own_objective(config, monkeypatch):
    import reid.engine.evaluate as evaluate
    from reid.tuning.worker import _pruning_callback

    plan = study_plan(config, "lambda")
    trial_plan = plan.plan(plan.grid[0])
    seen = []

    def fake_rank1(model, task, index, settings, runtime):
        seen.append((index, settings["features"]))
        return {0: 0.2, 1: 0.6}[index]

    monkeypatch.setattr(evaluate, "quick_rank1", fake_rank1)
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    _pruning_callback(trial, trial_plan, config, runtime=None)(1, None, {})
    # The objective is the mean of tasks 1 and 2 (40.0), not task 2's Rank-1 alone (60.0).
    assert study._storage.get_trial(trial._trial_id).intermediate_values == {1: 40.0}
    assert sorted(seen) == [(0, "task"), (1, "task")]
