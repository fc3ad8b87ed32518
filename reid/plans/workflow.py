"""The workflow's plan: every run, evaluation, study, benchmark set and rank list the DAG holds,
and what each rule is given. `workflow/rules/common.smk` builds one `WorkflowPlan` from the
config and the rules only look things up in it, so the whole plan is unit-tested here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from reid import paths
from reid.config import validate_config
from reid.errors import ConfigError
from reid.helpers import canonical_json
from reid.lreid.plan import benchmark_evaluation, benchmark_plan, benchmark_sets, unseen_tasks
from reid.plans.evaluations import comparison_evals, main_evals, run_eval_tasks
from reid.plans.ranklists import ranklist_plan, ranklist_settings
from reid.plans.report import report_producers, report_settings, table_needs
from reid.runs import comparison_plan, dataset_dir, main_chain, run_hash, task_entry
from reid.tuning.storage import is_url
from reid.tuning.studies import enabled_studies, study_config, study_plan

# The comparison table a report table's extra input is read from (`ReportTable.needs`).
TABLE_OF_NEED = {"summary": "continual_summary", "continual": "continual"}


@dataclass
class Benchmark:
    """The lifelong re-ID benchmark's part of the plan (`benchmark.enabled`)."""

    plan: dict[str, Any]
    sets: list[dict[str, Any]]
    evaluation: dict[str, Any]
    jobs: str = "run"  # `benchmark.jobs`: one job per run, or one per (method, seed) chain

    @property
    def chains(self) -> dict[str, list[dict[str, Any]]]:
        """The (method, seed) chains, by name: their specs in training order."""
        return self.plan["chains"]

    @property
    def evals(self) -> list[dict[str, Any]]:
        return self.plan["evals"]

    @property
    def ready(self) -> list[str]:
        return [paths.ready_file(item["task"]["root"]) for item in self.sets]

    def manifest(self) -> list[dict[str, Any]]:
        """`reid lifelong tables --manifest`: every evaluation with its file."""
        return [dict(e, file=self.eval_file(e)) for e in self.evals]

    def eval_file(self, entry: dict[str, Any]) -> str:
        """The file holding one evaluation: its model's, or its chain's under `jobs: chain`."""
        if self.jobs == "chain" and not entry["reference"]:
            return paths.lreid_chain_file(entry["chain"])
        return paths.lreid_eval_file(entry["run"], entry["reference"])

    def tables(self) -> list[str]:
        return [paths.table_file(name) for name in ("lreid", "lreid_seeds", "lreid_datasets")]

    def set_order(self) -> str:
        """The sets' names in the config's order (the report's columns)."""
        return ",".join(item["name"] for item in self.sets)


@dataclass
class WorkflowPlan:
    """Everything the DAG runs under one validated config."""

    config: dict[str, Any]
    main: list[dict[str, Any]]
    comparison: list[dict[str, Any]]
    studies: list[str]
    benchmark: Benchmark | None
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset_dirs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return self.config["tasks"]

    @property
    def task_names(self) -> list[str]:
        return [task["name"] for task in self.tasks]

    @cached_property
    def main_hashes(self) -> list[str]:
        return [run_hash(spec) for spec in self.main]

    @cached_property
    def main_evals(self) -> list[dict[str, Any]]:
        return main_evals(self.task_names, self.main_hashes)

    @cached_property
    def comparison_evals(self) -> list[dict[str, Any]]:
        return comparison_evals(self.comparison)

    @cached_property
    def run_eval_tasks(self) -> dict[str, list[int]]:
        return run_eval_tasks(self.task_names, self.main_evals + self.comparison_evals)

    @cached_property
    def ranklists(self) -> dict[str, dict[str, Any]]:
        return ranklist_plan(self.config, self.main_hashes, self.comparison)

    @property
    def storage(self) -> str:
        return self.config["optuna"]["storage"]

    @property
    def storage_file(self) -> str | None:
        """The Optuna journal file (None for a database URL)."""
        return None if is_url(self.storage) else self.storage

    # what rules are given

    def train_inputs(self, run: str) -> dict[str, Any]:
        spec = self.runs[run]
        tasks = spec["tasks"] if spec["kind"] == "joint" else [spec["task"]]
        inputs: dict[str, Any] = {"ready": [paths.ready_file(task["root"]) for task in tasks]}
        if spec["parent"]:
            inputs["parent"] = paths.run_file(spec["parent"], paths.MODEL)
        return inputs

    def eval_tasks(self, run: str) -> list[dict[str, Any]]:
        """[{"index": j, "task": entry}] of every task evaluated on `run`, in task order."""
        return [
            {"index": j, "task": task_entry(self.config, self.tasks[j])}
            for j in self.run_eval_tasks[run]
        ]

    def eval_ready(self, run: str) -> list[str]:
        return [paths.ready_file(item["task"]["root"]) for item in self.eval_tasks(run)]

    def main_manifest(self) -> list[dict[str, Any]]:
        """`reid tables main --manifest`: the main run's evaluations with their files."""
        return [dict(e, file=paths.eval_file(e["run"])) for e in self.main_evals]

    def comparison_manifest(self) -> list[dict[str, Any]]:
        """`reid tables comparison --manifest`: the comparison's evaluations with their files."""
        return [dict(e, file=paths.eval_file(e["run"])) for e in self.comparison_evals]

    def study_settings(self, study: str) -> str:
        """The settings a study's rules are given: only what the study reads, canonically
        serialised, so another key or key order re-runs none of its jobs."""
        return canonical_json(study_config(self.config, study))

    def study_names(self) -> dict[str, str]:
        """The Optuna study of each ablation under this config (`<ablation>-<fingerprint>`)."""
        return {
            study: study_plan(validate_config(study_config(self.config, study)), study).study_name
            for study in self.studies
        }

    def shared_runs(self, study: str) -> list[str]:
        """The runs a study's grid trials train that a `train` job of this DAG also makes (the
        main chain, a comparison seed's phase 1): the study's workers must wait for them.
        Snakemake deletes a job's outputs before it runs it, so a worker that trained such a
        run itself would have it removed and retrained under its feet (a trial of the α study
        once read a phase-1 `model.pt` in that window and failed)."""
        plan = study_plan(validate_config(study_config(self.config, study)), study)
        needed = {run_hash(spec) for params in plan.grid for spec in plan.plan(params).specs}
        return [run for run in self.runs if run in needed]

    def worker_inputs(self, study: str) -> dict[str, Any]:
        """Trials reuse the runs the DAG trains: waiting for them avoids training one twice."""
        return {
            "created": paths.study_created(study),
            "storage": self.storage_inputs(),
            "main": [paths.run_file(run, paths.MODEL) for run in self.shared_runs(study)],
            "ready": [paths.ready_file(spec["task"]["root"]) for spec in self.main],
        }

    def storage_inputs(self) -> list[str]:
        return [self.storage_file] if self.storage_file else []

    def ranklist_settings(self, key: str) -> str:
        return canonical_json(ranklist_settings(self.config, self.ranklists[key]))

    def speed_flags(self) -> str:
        """Switches that change speed, not results (not part of a run's hash)."""
        flags = [
            ("--channels-last", self.config["train"]["channels_last"]),
            ("--compile", self.config["train"]["compile"]),
            ("--no-cache-decoded", not self.config["data"]["cache_decoded"]),
        ]
        return " ".join(flag for flag, on in flags if on)

    # the files that come out

    def main_tables(self) -> list[str]:
        """The paper's per-task tables (left out by the benchmark, which has no task id)."""
        if self.benchmark is not None:
            return []
        return [paths.table_file("main_results"), paths.table_file("accuracy_matrix")]

    def study_outputs(self) -> list[str]:
        tables = [paths.study_table(study) for study in self.studies]
        return tables + [paths.study_best(study) for study in self.studies]

    def comparison_tables(self) -> list[str]:
        return [paths.table_file("continual")] if self.comparison else []

    def benchmark_tables(self) -> list[str]:
        return self.benchmark.tables() if self.benchmark else []

    def ranklist_files(self) -> list[str]:
        return [paths.ranklist_file(e["run"], e["task"]) for e in self.ranklists.values()]

    def main_results_inputs(self) -> dict[str, Any]:
        """The main run's evaluations, and what its report tables read: each task's prepared
        dataset (READY.json, summary.csv) and the history of each phase."""
        roots = [task_entry(self.config, task)["root"] for task in self.tasks]
        return {
            "evals": sorted({e["file"] for e in self.main_manifest()}),
            "ready": [paths.ready_file(root) for root in roots],
            "summaries": [paths.dataset_summary(root) for root in roots],
            "histories": [paths.run_file(run, paths.HISTORY) for run in self.main_hashes],
        }

    def aggregate_inputs(self, study: str) -> dict[str, Any]:
        """A study's aggregate job: its storage, its workers, and the comparison's tables that
        the report tables it feeds read (when the comparison runs)."""
        needs = table_needs(study) if self.comparison else set()
        return {
            "storage": self.storage_inputs(),
            "workers": [
                paths.study_worker_done(study, worker)
                for worker in range(self.config["optuna"]["workers"])
            ],
            **{
                need: paths.table_file(TABLE_OF_NEED[need])
                for need in sorted(needs)
                if need in TABLE_OF_NEED
            },
        }

    def aggregate_options(self, study: str) -> str:
        """`reid tune aggregate` options naming the comparison tables it reads."""
        inputs = self.aggregate_inputs(study)
        return " ".join(f"--{need} {inputs[need]}" for need in TABLE_OF_NEED if need in inputs)

    def report_settings(self) -> str:
        """`reid report --settings-json`: its blocks, study sections and sections."""
        return canonical_json(report_settings(self))

    def report_inputs(self) -> dict[str, Any]:
        """Every file the report opens (nothing else): the report tables of each producing job,
        the main run's histories and metrics, the rank lists with their pictures, provenance."""
        drawn = self.ranklists.values()
        return {
            "tables": [paths.report_tables(name) for name in report_producers(self)],
            "histories": [paths.run_file(run, paths.HISTORY) for run in self.main_hashes],
            "metrics": [paths.run_file(run, paths.METRICS) for run in self.main_hashes],
            "ranklists": self.ranklist_files(),
            "images": [paths.ranklist_file(e["run"], e["task"], "png") for e in drawn],
            "provenance": paths.provenance_file(),
        }

    def targets(self) -> list[str]:
        """What `snakemake` builds by default."""
        return (
            self.main_tables()
            + self.study_outputs()
            + self.comparison_tables()
            + self.benchmark_tables()
            + [paths.report_html()]
        )


def workflow_plan(config: dict[str, Any]) -> WorkflowPlan:
    """The plan of the workflow under `config` (validated here); a ConfigError names the key."""
    config = validate_config(config)
    if config["data"]["root"] != paths.DATASETS:
        raise ConfigError(
            f"config key 'data.root' is {config['data']['root']!r}; the workflow keeps datasets "
            f"under {paths.DATASETS} (link that folder elsewhere to move them)"
        )
    comparison = comparison_plan(config) if config["comparison"]["enabled"] else []
    benchmark = None
    if config["benchmark"]["enabled"]:
        benchmark = Benchmark(
            benchmark_plan(config),
            benchmark_sets(config),
            benchmark_evaluation(config),
            config["benchmark"]["jobs"],
        )
    plan = WorkflowPlan(config, main_chain(config), comparison, enabled_studies(config), benchmark)
    specs = plan.main + [spec for entry in comparison for spec in entry["specs"]]
    specs += benchmark.plan["specs"] if benchmark else []
    plan.runs = {run_hash(spec): spec for spec in specs}
    unseen = unseen_tasks(config) if benchmark else []
    plan.dataset_dirs = {dataset_dir(config, task): task for task in plan.tasks + unseen}
    return plan
