"""Study plans share runs with the main chain; storage helpers (no training, no processes)."""

from __future__ import annotations

import optuna
import pytest
import yaml
from engine_helpers import TINY, tiny_config

from reid.config import validate_config
from reid.runs import main_chain, run_hash
from reid.strategies import STRATEGIES, register_strategy
from reid.tuning.storage import (
    GRACE_ENV,
    HEARTBEAT_ENV,
    StorageError,
    StudyMissingError,
    heartbeat_settings,
    open_storage,
    point_params,
    redact,
    stale_numbers,
)
from reid.tuning.studies import STUDIES, enabled_studies, study_plan


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return tiny_config(tmp_path_factory.mktemp("plans"))


def _hashes(config, name):
    plan = study_plan(config, name)
    return {plan.plan(params).point: plan.plan(params).run for params in plan.grid}


def test_batch_size_point_of_the_main_run_is_the_main_phase1_run(config):
    batch = config["train"]["batch"]
    main_size = batch["p"] * batch["k"]
    hashes = _hashes(config, "batch_size")
    assert str(main_size) in hashes, "tiny.yaml's batch sizes must include the main batch"
    assert hashes[str(main_size)] == run_hash(main_chain(config)[0])
    assert len(set(hashes.values())) == len(hashes)


def test_sgd_point_of_the_optimizer_study_is_the_main_phase1_run(config):
    hashes = _hashes(config, "optimizer")
    assert hashes["sgd"] == run_hash(main_chain(config)[0])
    assert hashes["adam"] != hashes["sgd"]


def test_lambda_point_of_the_config_is_the_main_phase2_run(config):
    assert config["ablations"]["lambda_epochs"] == config["train"]["epochs"]
    lam = config["method"]["covariance"]["lam"]
    plan = study_plan(config, "lambda")
    assert any(params["lam"] == lam for params in plan.grid)
    hashes = _hashes(config, "lambda")
    main = main_chain(config)
    assert hashes[f"{lam:g}"] == run_hash(main[1])
    assert len(set(hashes.values())) == len(hashes) == len(config["ablations"]["lambdas"])
    for params in plan.grid:  # every phase-2 trial starts from the main phase-1 run
        trial_plan = plan.plan(params)
        assert run_hash(trial_plan.specs[0]) == run_hash(main[0])
        assert trial_plan.specs[-1]["parent"] == run_hash(main[0])


def test_lambda_epochs_other_than_train_epochs_give_another_run(config):
    other = dict(config, ablations=dict(config["ablations"], lambda_epochs=3))
    lam = config["method"]["covariance"]["lam"]
    assert _hashes(other, "lambda")[f"{lam:g}"] != run_hash(main_chain(config)[1])


def test_ensembling_points_are_distinct_phase2_runs(config):
    hashes = _hashes(config, "ensembling")
    plan = study_plan(config, "ensembling")
    assert len(hashes) == len(plan.grid) == 4
    assert len(set(hashes.values())) == 4


def test_every_plan_has_a_grid_and_the_cap_counts_extra_trials(config):
    extra = dict(config, optuna=dict(config["optuna"], n_extra_trials=3))
    for name in STUDIES.names():
        plan = study_plan(config, name)
        assert plan.grid and plan.objective_text
        assert plan.max_trials == len(plan.grid)
    assert study_plan(extra, "lambda").max_trials == len(config["ablations"]["lambdas"]) + 3
    assert enabled_studies(config) == STUDIES.names()


def test_sampler_suggestions_build_plans(config):
    plan = study_plan(config, "lambda")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    trial = study.ask()
    params = plan.suggest(trial)
    assert set(params) == {"lam", "alpha", "beta", "lr"}
    assert plan.plan(params).run not in _hashes(config, "lambda").values()


def test_redact_hides_the_password_only():
    assert redact("postgresql://u:secret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact("postgresql://u:p@ss@db/x") == "postgresql://u:***@db/x"
    assert redact("postgresql://u@db/x") == "postgresql://u@db/x"
    assert redact("results/optuna/journal.log") == "results/optuna/journal.log"


def test_heartbeat_settings_from_environment(monkeypatch):
    monkeypatch.delenv(HEARTBEAT_ENV, raising=False)
    monkeypatch.delenv(GRACE_ENV, raising=False)
    assert heartbeat_settings() == (30, 120)
    monkeypatch.setenv(HEARTBEAT_ENV, "2")
    monkeypatch.setenv(GRACE_ENV, "1")
    assert heartbeat_settings() == (2, 3)  # the grace always exceeds the interval
    monkeypatch.setenv(GRACE_ENV, "soon")
    with pytest.raises(StorageError, match=GRACE_ENV):
        heartbeat_settings()


def test_waiting_trials_report_their_enqueued_params(tmp_path):
    storage = open_storage(str(tmp_path / "journal.log"))
    study = optuna.create_study(study_name="s", storage=storage)
    study.enqueue_trial({"x": 1.5}, user_attrs={"source": "grid"})
    (waiting,) = study.get_trials()
    assert waiting.params == {}
    assert point_params(waiting) == {"x": 1.5}
    assert stale_numbers(study.get_trials()) == set()


def test_work_on_a_study_never_created_is_a_clear_error(tmp_path):
    from reid.tuning.worker import load_study

    with pytest.raises(StudyMissingError, match="reid tune create --study lambda"):
        load_study(str(tmp_path / "journal.log"), "lambda")


def test_a_new_strategy_with_options_leaves_every_study_config_alone(monkeypatch) -> None:
    """A study's rules get only the `method` sections it reads (the main method's, and the
    covariance section the λ and α studies edit), so registering a strategy with options, whose
    defaults the schema fills into `method`, re-runs no study."""
    from reid.tuning.studies import STUDIES, study_config

    raw = yaml.safe_load(TINY.read_text())
    before = {name: study_config(validate_config(raw), name) for name in STUDIES.names()}
    monkeypatch.setattr(STRATEGIES, "_items", dict(STRATEGIES._items))

    @register_strategy("newcomer", "newcomer", options={"w": {"type": "number", "default": 1}})
    class Newcomer(STRATEGIES.get("finetune")):
        pass

    config = validate_config(raw)
    assert config["method"]["newcomer"] == {"w": 1}
    assert {name: study_config(config, name) for name in STUDIES.names()} == before
