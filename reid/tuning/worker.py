"""Study set-up (enqueue the grid once), workers (run trials), stale-trial recovery."""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from optuna.trial import TrialState

from reid.runs import RUNS_ROOT, run_hash
from reid.tuning.storage import (
    heartbeat_settings,
    is_url,
    open_storage,
    point_params,
    require_study,
    stale_numbers,
    study_lock,
)
from reid.tuning.studies import Evaluation, StudyPlan, TrialPlan

if TYPE_CHECKING:  # the engine (torch) is imported only by workers, not by create/aggregate
    from reid.engine import Runtime

log = logging.getLogger(__name__)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
ARTIFACTS = Path("results/optuna/artifacts")
FAIL_POINT_ENV = "REID_FAIL_POINT"  # tests: a grid point whose trial must fail


def create_study(storage: str, plan: StudyPlan) -> optuna.Study:
    """Create (or load) a study and enqueue each grid point exactly once."""
    store = open_storage(storage)
    with study_lock(storage, plan.study_name):
        study = optuna.create_study(
            study_name=plan.study_name,
            storage=store,
            direction="maximize",
            load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=0),
            pruner=optuna.pruners.MedianPruner(n_warmup_steps=1),
        )
        for key, value in study_attrs(plan).items():
            if study.user_attrs.get(key) != value:
                study.set_user_attr(key, value)
        if not study.user_attrs.get("grid_enqueued"):
            # Idempotent: a creator killed half-way leaves some points; add only the others.
            present = [
                point_params(t)
                for t in study.get_trials(deepcopy=False)
                if t.user_attrs.get("source") == "grid"
            ]
            for params in plan.grid:
                if params not in present:
                    study.enqueue_trial(params, user_attrs={"source": "grid"})
            study.set_user_attr("grid_enqueued", len(plan.grid))
    return study


def study_attrs(plan: StudyPlan) -> dict[str, Any]:
    """What optuna-dashboard shows of a study: the ablation, objective and config binding."""
    return {
        "ablation": plan.name,
        "objective": plan.objective_text,
        "fingerprint": plan.fingerprint,
        "grid": [str(params) for params in plan.grid],
    }


def load_study(storage: str, name: str, warmup_epochs: int = 1) -> optuna.Study:
    """Load an existing study with the workflow's sampler and pruner."""
    store = open_storage(storage)
    require_study(store, storage, name)
    return optuna.load_study(
        study_name=name,
        storage=store,
        sampler=optuna.samplers.TPESampler(seed=os.getpid()),
        pruner=optuna.pruners.MedianPruner(n_warmup_steps=warmup_epochs),
    )


def recover_stale_trials(storage: str, study: optuna.Study) -> int:
    """Fail RUNNING trials of dead local processes and re-enqueue their grid points."""
    if is_url(storage):
        with warnings.catch_warnings():  # "experimental" since Optuna 2.9
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)  # RDB: heartbeats + retry callback
        return 0
    recovered = 0
    with study_lock(storage, study.study_name):
        trials = study.get_trials(deepcopy=False)
        for trial in trials:
            if trial.state != TrialState.RUNNING or _owner_alive(trial):
                continue
            store = study._storage
            store.set_trial_user_attr(trial._trial_id, "stale", True)
            store.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            recovered += 1
            params = point_params(trial)
            if trial.user_attrs.get("source") == "grid" and not _point_pending(trials, trial):
                study.enqueue_trial(params, user_attrs={"source": "grid", "retry_of": trial.number})
            log.warning(
                "trial %d of %s was left by a dead worker: failed and re-enqueued",
                trial.number,
                study.study_name,
            )
    return recovered


def _owner_alive(trial: optuna.trial.FrozenTrial) -> bool:
    host, pid = trial.user_attrs.get("host"), trial.user_attrs.get("pid")
    if host is None or pid is None:
        return True  # not started by our objective yet: leave it alone
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _point_pending(trials: list[optuna.trial.FrozenTrial], stale: optuna.trial.FrozenTrial) -> bool:
    for trial in trials:
        if trial.number == stale.number or point_params(trial) != point_params(stale):
            continue
        if trial.state in (TrialState.WAITING, TrialState.COMPLETE):
            return True
        if trial.state == TrialState.RUNNING and _owner_alive(trial):
            return True
    return False


def counted_trials(study: optuna.Study) -> tuple[int, bool]:
    """(finished + running trials that count toward the cap, whether any trial waits)."""
    trials = study.get_trials(deepcopy=False)
    waiting = any(t.state == TrialState.WAITING for t in trials)
    stale = stale_numbers(trials)
    counted = sum(
        1
        for t in trials
        if (t.state in FINISHED or t.state == TrialState.RUNNING) and t.number not in stale
    )
    return counted, waiting


def evaluate_cached(evaluation: Evaluation, config: dict[str, Any], runtime: Runtime) -> dict:
    """Evaluate a run on a task, reusing a trial evaluation with the same settings of the very
    same `model.pt` (its sha256 is recorded: a retrained model is evaluated again)."""
    from reid.config import stable_hash
    from reid.engine.evaluate import evaluate_run, for_model
    from reid.runs import task_entry

    directory = RUNS_ROOT / run_hash(evaluation.spec)
    settings = dict(config["evaluation"], features=evaluation.features)
    task = task_entry(config, config["tasks"][evaluation.task_index])
    path = directory / "eval" / "trials" / f"{task['name']}-{stable_hash(settings, 8)}.json"
    model = directory / "model.pt"
    return for_model(
        path, model, lambda: evaluate_run(model, task, evaluation.task_index, settings, runtime)
    )


def make_objective(plan: StudyPlan, config: dict[str, Any], runtime: Runtime):
    """The Optuna objective of a study: train (or reuse) the runs, evaluate, score."""

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("pid", os.getpid())
        source = trial.user_attrs.get("source", "sampler")
        if source != "grid":
            trial.set_user_attr("source", "sampler")
        params = plan.suggest(trial)
        trial_plan = plan.plan(params)
        trial.set_user_attr("point", trial_plan.point)
        trial.set_user_attr("run", trial_plan.run)
        trial.set_user_attr("run_dir", str(RUNS_ROOT / trial_plan.run))
        if os.environ.get(FAIL_POINT_ENV) == f"{plan.name}:{trial_plan.point}":
            message = f"deliberate failure of point {trial_plan.point} ({FAIL_POINT_ENV})"
            trial.set_user_attr("error", message)
            raise RuntimeError(message)
        try:
            _train(trial, trial_plan, config, runtime, prune=source != "grid")
            results = {
                name: evaluate_cached(ev, config, runtime)
                for name, ev in trial_plan.evaluations.items()
            }
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            raise
        for name, result in results.items():
            for metric in ("rank1", "rank5", "rank10", "rank20", "mAP"):
                trial.set_user_attr(f"{name}_{metric}", round(100.0 * float(result[metric]), 3))
        _upload_history(trial, trial_plan)
        return trial_plan.objective(results)

    return objective


def _train(trial, trial_plan: TrialPlan, config, runtime: Runtime, prune: bool) -> None:
    from reid.engine.trainer import ensure_run

    for spec in trial_plan.specs[:-1]:
        ensure_run(spec, runtime)
    callback = _pruning_callback(trial, trial_plan, config, runtime) if prune else None
    ensure_run(trial_plan.specs[-1], runtime, callback)


def _pruning_callback(trial, trial_plan: TrialPlan, config, runtime: Runtime):
    """Report, after each epoch, the study's own objective on the model being trained (the
    same evaluations and formula as the final value), so the pruner compares like with like."""
    from reid.engine.evaluate import quick_rank1
    from reid.runs import task_entry

    def callback(epoch: int, model, row: dict[str, Any]) -> None:
        results = {}
        for name, ev in trial_plan.evaluations.items():
            task = task_entry(config, config["tasks"][ev.task_index])
            settings = dict(config["evaluation"], features=ev.features)
            rank1 = quick_rank1(model, task, ev.task_index, settings, runtime)
            results[name] = {"rank1": rank1}
        value = trial_plan.objective(results)
        trial.report(value, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch} (objective {value:.1f})")

    return callback


def _upload_history(trial: optuna.Trial, trial_plan: TrialPlan) -> None:
    history = RUNS_ROOT / trial_plan.run / "history.csv"
    if not history.is_file():
        return
    try:
        from optuna.artifacts import FileSystemArtifactStore, upload_artifact

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        upload_artifact(
            artifact_store=FileSystemArtifactStore(str(ARTIFACTS)),
            file_path=str(history),
            study_or_trial=trial,
            mimetype="text/csv",
        )
    except Exception:  # noqa: BLE001 - an artifact is a convenience, never a trial failure
        log.warning("could not upload %s as an artifact:\n%s", history, traceback.format_exc())


def work(storage: str, plan: StudyPlan, config: dict[str, Any], runtime: Runtime) -> int:
    """Run trials until the grid is done and the trial cap is reached; returns trials run.

    With an RDB, a worker that finds nothing left to do while trials still run waits up to one
    grace period for them: a trial of a dead worker (e.g. a killed job re-run at once) only goes
    stale after the grace period, and its grid point must not be left undone.
    """
    study = load_study(storage, plan.study_name, config["optuna"]["pruner_warmup_epochs"])
    recover_stale_trials(storage, study)
    objective = make_objective(plan, config, runtime)
    interval, grace = heartbeat_settings()
    idle_since = None
    ran = 0
    while True:
        counted, waiting = counted_trials(study)
        if waiting or counted < plan.max_trials:
            idle_since = None
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
            ran += 1
            continue
        running = any(t.state == TrialState.RUNNING for t in study.get_trials(deepcopy=False))
        if not (is_url(storage) and running):
            break
        if idle_since is None:
            idle_since = time.monotonic()
            log.info(
                "waiting up to %ds for running trials of %s (stale ones are retried)",
                grace + max(5, 2 * interval),
                plan.name,
            )
        if time.monotonic() - idle_since > grace + max(5, 2 * interval):
            break
        time.sleep(min(interval, 2))
        recover_stale_trials(storage, study)
    return ran
