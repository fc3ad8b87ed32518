"""What each ablation study varies, which runs a trial needs, and what it maximises.

Grid points (the paper's settings) are enqueued first; `optuna.n_extra_trials` adds TPE trials
to the `lambda` study over λ, α (log scale), β and the learning rate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

from reid.helpers import stable_hash
from reid.models import neutral_model
from reid.registry import Registry
from reid.runs import RUNTIME_TRAIN_KEYS, main_chain, neutral_train, phase_spec, run_hash

OBJECTIVES = {
    "batch_size": "task-1 Rank-1 (%) after phase 1",
    "optimizer": "task-1 Rank-1 (%) after phase 1",
    "lambda": "mean of task-1 and task-2 Rank-1 (%) after phase 2",
    "ensembling": "task-2 Rank-1 (%) after phase 2, features of the ensemble",
    "alpha": "mean of task-1 and task-2 Rank-1 (%) after phase 2 (gradient variant, per seed)",
}
ENSEMBLE_FEATURES = {"base_second": "concat:base,1", "both": "mean:0,1"}


@dataclass
class Evaluation:
    """One evaluation a trial needs: a run, the task's index, the feature source."""

    spec: dict[str, Any]
    task_index: int
    features: str = "task"


@dataclass
class TrialPlan:
    """Runs to train (in order), evaluations to make, and how they give the objective."""

    point: str
    specs: list[dict[str, Any]]
    evaluations: dict[str, Evaluation]
    objective: Callable[[dict[str, dict[str, Any]]], float]

    @property
    def run(self) -> str:
        """Hash of the run the objective is measured on."""
        return run_hash(self.specs[-1])


@dataclass
class StudyPlan:
    """An ablation: its grid, its search space and how a parameter set becomes runs."""

    name: str
    objective_text: str
    grid: list[dict[str, Any]]
    suggest: Callable[[optuna.Trial], dict[str, Any]]
    plan: Callable[[dict[str, Any]], TrialPlan]
    n_extra_trials: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)

    @property
    def max_trials(self) -> int:
        """Grid points plus sampler trials."""
        return len(self.grid) + self.n_extra_trials

    @property
    def fingerprint(self) -> str:
        """Hash of every setting that changes this study's trials: the runs and evaluations of
        each grid point (run hashes hold data, model, training, method, seed and parents), the
        evaluation settings, the objective, the sampler's space and trial budget."""
        points = []
        for params in self.grid:
            trial = self.plan(params)
            evals = {
                name: [run_hash(ev.spec), ev.task_index, ev.features]
                for name, ev in trial.evaluations.items()
            }
            points.append([params, [run_hash(spec) for spec in trial.specs], evals])
        identity = {
            "ablation": self.name,
            "objective": self.objective_text,
            "points": points,
            "evaluation": self.evaluation,
            "space": self.space,
            "extra_trials": self.n_extra_trials,
        }
        return stable_hash(identity, 8)

    @property
    def study_name(self) -> str:
        """The Optuna study of this ablation under this config: `<ablation>-<fingerprint>`.

        A second config in the same storage gets its own study; earlier ones stay readable."""
        return f"{self.name}-{self.fingerprint}"


@dataclass(frozen=True)
class Study:
    """A registered ablation study: how to build its plan, and its report heading."""

    build: Callable[[dict[str, Any]], StudyPlan]
    title: str
    objective: str
    phases: int = 1  # tasks it needs (a phase-2 study needs two)
    ablation_keys: tuple[str, ...] = ()  # the `ablations` keys it reads
    optuna_keys: tuple[str, ...] = ()  # the `optuna` keys its plan reads (e.g. n_extra_trials)
    tables: tuple[str, ...] = ()  # the report tables it feeds (reid/report_tables/)
    method_sections: tuple[str, ...] = ()  # `method.<strategy>` sections it reads

    @property
    def heading(self) -> str:
        """The report's heading of this study."""
        return f"{self.title} (objective: {self.objective})"


STUDIES: Registry[Study] = Registry("study")


def register_study(
    name: str,
    title: str,
    phases: int = 1,
    reads: tuple[str, ...] = (),
    optuna_reads: tuple[str, ...] = (),
    tables: tuple[str, ...] = (),
    method_reads: tuple[str, ...] = (),
):
    """Decorator registering a study builder (its objective text is `OBJECTIVES[name]`);
    `reads`: the `ablations` keys it reads, `optuna_reads` the `optuna` keys its plan reads
    (its rules get only those, see `study_config`); `tables`: the report tables it feeds
    (registered in `reid.report_tables`; its aggregate job computes them); `method_reads`: the
    `method.<strategy>` sections a study of later phases reads besides the main method's own
    (the λ and α studies edit `method.covariance`)."""

    def add(build: Callable[[dict[str, Any]], StudyPlan]):
        study = Study(
            build,
            title,
            OBJECTIVES[name],
            phases,
            tuple(reads),
            tuple(optuna_reads),
            tuple(tables),
            tuple(method_reads),
        )
        STUDIES.add(name, study)
        return build

    return add


def _rank1(result: dict[str, Any]) -> float:
    return 100.0 * float(result["rank1"])


def _phase1_plan(config: dict[str, Any], point: str, train: dict[str, Any]) -> TrialPlan:
    spec = phase_spec(config, 1, None, train=train)
    name = config["tasks"][0]["name"]
    return TrialPlan(point, [spec], {name: Evaluation(spec, 0)}, lambda r: _rank1(r[name]))


def _phase2_plan(
    config: dict[str, Any], point: str, method: dict, train: dict, features: str, objective: str
) -> TrialPlan:
    first = main_chain(config)[0]
    spec = phase_spec(config, 2, run_hash(first), method=method, train=train)
    names = [task["name"] for task in config["tasks"][:2]]
    evaluations = {names[0]: Evaluation(spec, 0), names[1]: Evaluation(spec, 1, features)}
    if objective == "mean":
        score = lambda r: (_rank1(r[names[0]]) + _rank1(r[names[1]])) / 2  # noqa: E731
    else:
        score = lambda r: _rank1(r[names[1]])  # noqa: E731
    return TrialPlan(point, [first, spec], evaluations, score)


@register_study("batch_size", "Batch size", reads=("batch_size",), tables=("batch_size",))
def batch_size_study(config: dict[str, Any]) -> StudyPlan:
    """Batch size (paper: 32 beats 64); batches are P ids × K images with K from the config."""
    values = config["ablations"]["batch_size"]
    k = config["train"]["batch"]["k"]

    def plan(params: dict[str, Any]) -> TrialPlan:
        train = copy.deepcopy(config["train"])
        train["batch"]["p"] = max(1, params["batch_size"] // k)
        return _phase1_plan(config, str(params["batch_size"]), train)

    return StudyPlan(
        "batch_size",
        OBJECTIVES["batch_size"],
        [{"batch_size": v} for v in values],
        lambda t: {"batch_size": t.suggest_categorical("batch_size", values)},
        plan,
        space={"batch_size": values},
    )


@register_study("optimizer", "Optimiser", reads=("optimizer", "adam_lr"), tables=("optimizer",))
def optimizer_study(config: dict[str, Any]) -> StudyPlan:
    """Adam with weight decay (no schedule) against SGD + CLR (the config's main setting)."""
    values = config["ablations"]["optimizer"]

    def plan(params: dict[str, Any]) -> TrialPlan:
        train = copy.deepcopy(config["train"])
        if params["optimizer"] == "adam":
            train.update(optimizer="adam", lr=config["ablations"]["adam_lr"])
            train["scheduler"]["name"] = "none"
        return _phase1_plan(config, params["optimizer"], train)

    return StudyPlan(
        "optimizer",
        OBJECTIVES["optimizer"],
        [{"optimizer": v} for v in values],
        lambda t: {"optimizer": t.suggest_categorical("optimizer", values)},
        plan,
        space={"optimizer": values},
    )


@register_study(
    "lambda",
    "λ",
    phases=2,
    reads=("lambdas", "lambda_epochs"),
    optuna_reads=("n_extra_trials",),
    tables=("hyperparameters", "lambda"),
    method_reads=("covariance",),
)
def lambda_study(config: dict[str, Any]) -> StudyPlan:
    """λ of the covariance loss after `lambda_epochs` of phase 2 (paper: 100 epochs)."""
    ab = config["ablations"]
    cov = config["method"]["covariance"]
    lr = config["train"]["lr"]
    lams = ab["lambdas"]
    grid = [{"lam": v, "alpha": cov["alpha"], "beta": cov["beta"], "lr": lr} for v in lams]

    bounds = {
        "lam": (min(0.5, *lams), max(1.5, *lams)),
        "alpha": (min(1e-12, cov["alpha"]), 1e-3),
        "beta": (min(-1.0, cov["beta"]), max(1.0, cov["beta"])),
        "lr": (lr / 10, lr * 10),
    }

    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        return {
            "lam": trial.suggest_float("lam", *bounds["lam"]),
            "alpha": trial.suggest_float("alpha", *bounds["alpha"], log=True),
            "beta": trial.suggest_float("beta", *bounds["beta"]),
            "lr": trial.suggest_float("lr", *bounds["lr"], log=True),
        }

    def plan(params: dict[str, Any]) -> TrialPlan:
        method = copy.deepcopy(config["method"])
        method["covariance"].update(lam=params["lam"], alpha=params["alpha"], beta=params["beta"])
        train = copy.deepcopy(config["train"])
        train.update(epochs=ab["lambda_epochs"], lr=params["lr"])
        point = f"{params['lam']:g}"
        return _phase2_plan(config, point, method, train, "task", "mean")

    return StudyPlan(
        "lambda",
        OBJECTIVES["lambda"],
        grid,
        suggest,
        plan,
        n_extra_trials=config["optuna"]["n_extra_trials"],
        space=bounds,
    )


@register_study(
    "ensembling",
    "Ensembling",
    phases=2,
    reads=("ensembling", "ensembling_epochs"),
    tables=("ensembling",),
)
def ensembling_study(config: dict[str, Any]) -> StudyPlan:
    """Phase 2 trained as base + second pipeline or both pipelines, short and long schedules."""
    modes = config["ablations"]["ensembling"]
    epochs = config["ablations"]["ensembling_epochs"]
    grid = [{"trainable": m, "epochs": e} for e in epochs for m in modes]

    def plan(params: dict[str, Any]) -> TrialPlan:
        method = copy.deepcopy(config["method"])
        method["trainable"] = params["trainable"]
        train = copy.deepcopy(config["train"])
        train["epochs"] = params["epochs"]
        point = f"{params['trainable']}@{params['epochs']}"
        features = ENSEMBLE_FEATURES[params["trainable"]]
        return _phase2_plan(config, point, method, train, features, "task2")

    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        return {
            "trainable": trial.suggest_categorical("trainable", modes),
            "epochs": trial.suggest_categorical("epochs", epochs),
        }

    space = {"trainable": modes, "epochs": epochs}
    return StudyPlan("ensembling", OBJECTIVES["ensembling"], grid, suggest, plan, space=space)


@register_study(
    "alpha",
    "α of the covariance loss, gradient variant, over seeds",
    phases=2,
    reads=("alphas", "alpha_seeds"),
    tables=("answer",),
    method_reads=("covariance",),
)
def alpha_study(config: dict[str, Any]) -> StudyPlan:
    """Does the covariance term change training, and does it then reduce forgetting? The
    gradient variant (`paper`) at each α of `ablations.alphas` (from the paper's 1e-9 up to where
    the term dominates the cross-entropy), each for every seed of `ablations.alpha_seeds`; phase 2
    at the config's schedule, so α = 1e-9 is the comparison's `covariance_paper` run. Each trial
    also evaluates task 1 after its seed's phase 1, so forgetting is known per trial."""
    ab = config["ablations"]
    names = [task["name"] for task in config["tasks"][:2]]
    grid = [{"alpha": a, "seed": s} for a in ab["alphas"] for s in ab["alpha_seeds"]]

    def plan(params: dict[str, Any]) -> TrialPlan:
        seed = int(params["seed"])
        method = copy.deepcopy(config["method"])
        method["name"] = "covariance"
        method["covariance"].update(variant="paper", alpha=float(params["alpha"]))
        first = main_chain(config, seed=seed)[0]
        spec = phase_spec(config, 2, run_hash(first), seed=seed, method=method)
        evaluations = {
            names[0]: Evaluation(spec, 0),
            names[1]: Evaluation(spec, 1),
            f"{names[0]}_after_phase1": Evaluation(first, 0),
        }

        def score(r: dict[str, dict[str, Any]]) -> float:
            return (_rank1(r[names[0]]) + _rank1(r[names[1]])) / 2

        return TrialPlan(f"{params['alpha']:g}@{seed}", [first, spec], evaluations, score)

    def suggest(trial: optuna.Trial) -> dict[str, Any]:
        return {
            "alpha": trial.suggest_categorical("alpha", ab["alphas"]),
            "seed": trial.suggest_categorical("seed", ab["alpha_seeds"]),
        }

    space = {"alpha": ab["alphas"], "seed": ab["alpha_seeds"]}
    return StudyPlan("alpha", OBJECTIVES["alpha"], grid, suggest, plan, space=space)


def study_plan(config: dict[str, Any], name: str) -> StudyPlan:
    """The plan of one ablation study under `config` (an unknown name is refused listing the
    studies)."""
    plan = STUDIES.get(name).build(config)
    plan.evaluation = dict(config["evaluation"])
    return plan


def study_config(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The part of a validated config that study `name` reads (its rules get only this, so an
    unrelated key, such as `report.title` or another study's grid, never re-runs it)."""
    study = STUDIES.get(name)
    phase_one = study.phases == 1
    kept = {key: copy.deepcopy(config[key]) for key in ("seed", "data")}
    # Only the model and training keys that change a run (a new key at its no-op value does
    # not re-run a study).
    kept["model"] = neutral_model(config["model"])
    kept["train"] = neutral_train(config["train"])
    kept["train"].update({key: config["train"][key] for key in RUNTIME_TRAIN_KEYS})
    kept["evaluation"] = copy.deepcopy(config["evaluation"])
    kept["tasks"] = copy.deepcopy(config["tasks"][: study.phases])
    if not phase_one:
        kept["method"] = study_method(config["method"], study)
    kept["ablations"] = {key: config["ablations"][key] for key in study.ablation_keys}
    optuna_keys = ("storage", "pruner_warmup_epochs", *study.optuna_keys)
    kept["optuna"] = {key: config["optuna"][key] for key in optuna_keys}
    return kept


def study_method(method: dict[str, Any], study: Study) -> dict[str, Any]:
    """The part of the `method` section a study of later phases reads: the main method's name,
    `trainable` and own section, and the sections the study edits (a new strategy's defaults
    then never re-run a study)."""
    sections = {method["name"], *study.method_sections}
    kept = {key: copy.deepcopy(method[key]) for key in ("name", "trainable")}
    kept.update({key: copy.deepcopy(method[key]) for key in sorted(sections) if key in method})
    return kept


def enabled_studies(config: dict[str, Any]) -> list[str]:
    """Studies the workflow runs (a study needs as many tasks as its phases)."""
    if not config["ablations"]["enabled"]:
        return []
    return [
        name
        for name, study in STUDIES.items()
        if study.phases <= len(config["tasks"]) and study_plan(config, name).grid
    ]
