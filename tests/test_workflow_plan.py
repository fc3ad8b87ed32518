"""The workflow's plan (reid/plans/), which the rules only look up: evaluations, rank lists,
runs, rule inputs and output paths, on the tiny config without running anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reid import paths
from reid.errors import ConfigError
from reid.plans import workflow_plan
from reid.plans.evaluations import main_evals, run_eval_tasks
from reid.plans.ranklists import ranklist_baseline, ranklist_plan
from reid.runs import comparison_plan, main_chain, run_hash

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"


def _raw(**overrides) -> dict:
    raw = yaml.safe_load(TINY.read_text())
    raw.update(overrides)
    return raw


@pytest.fixture(scope="module")
def plan():
    return workflow_plan(
        _raw(comparison={"seeds": [0, 1], "methods": ["covariance", "finetune", "lwf", "joint"]})
    )


def test_main_evaluations_are_the_lower_triangle_of_the_accuracy_matrix():
    assert main_evals(["a", "b", "c"], ["r1", "r2", "r3"]) == [
        {"phase": 1, "task": "a", "run": "r1"},
        {"phase": 2, "task": "a", "run": "r2"},
        {"phase": 2, "task": "b", "run": "r2"},
        {"phase": 3, "task": "a", "run": "r3"},
        {"phase": 3, "task": "b", "run": "r3"},
        {"phase": 3, "task": "c", "run": "r3"},
    ]


def test_one_evaluation_job_per_run_holds_every_task_any_table_needs():
    evals = [
        {"run": "r2", "task": "b"},
        {"run": "r1", "task": "a"},
        {"run": "r2", "task": "a"},
        {"run": "r2", "task": "b"},  # asked twice (main run and comparison): once
    ]
    assert run_eval_tasks(["a", "b"], evals) == {"r2": [0, 1], "r1": [0]}


def test_plan_registers_main_and_comparison_runs_and_their_evaluations(plan):
    main = [run_hash(spec) for spec in main_chain(plan.config)]
    assert plan.main_hashes == main
    comparison = comparison_plan(plan.config)
    for entry in comparison:
        assert {run_hash(spec) for spec in entry["specs"]} <= set(plan.runs)
    # seed 0's covariance chain is the main chain: evaluated once, every task of each phase
    assert plan.run_eval_tasks[main[0]] == [0] and plan.run_eval_tasks[main[1]] == [0, 1]
    joint = next(e for e in comparison if e["method"] == "joint" and e["seed"] == 1)
    assert plan.run_eval_tasks[run_hash(joint["specs"][0])] == [0, 1]
    assert {e["file"] for e in plan.main_manifest()} == {paths.eval_file(run) for run in main}


def test_rule_inputs_come_from_the_plan(plan):
    first, second = plan.main_hashes
    inputs = plan.train_inputs(second)
    assert inputs["parent"] == f"results/runs/{first}/model.pt"
    assert inputs["ready"] == [paths.ready_file(plan.main[1]["task"]["root"])]
    assert "parent" not in plan.train_inputs(first)
    assert [item["index"] for item in plan.eval_tasks(second)] == [0, 1]
    workers = plan.worker_inputs("lambda")
    assert workers["created"] == "results/optuna/lambda/created.json"
    assert workers["storage"] == ["results/optuna/journal.log"]


def test_a_study_waits_for_every_run_of_the_dag_its_trials_train():
    """The α study over seeds 0-2 shares each seed's phase 1 with the comparison's `train`
    jobs: its workers wait for all three (Snakemake would delete and retrain a phase-1 model a
    worker trained first, under a running trial)."""
    raw = _raw(comparison={"seeds": [0, 1, 2], "methods": ["covariance", "finetune"]})
    raw["ablations"] = dict(raw["ablations"], alpha_seeds=[0, 1, 2])
    plan = workflow_plan(raw)
    phase1 = {
        run_hash(entry["specs"][0]) for entry in plan.comparison if entry["method"] == "finetune"
    }
    assert len(phase1) == 3
    waits = set(plan.worker_inputs("alpha")["main"])
    assert {paths.run_file(run, paths.MODEL) for run in phase1} <= waits
    assert set(plan.shared_runs("alpha")) <= set(plan.runs)
    # the batch-size study shares only the main phase 1 (its batch-32 point)
    assert plan.shared_runs("batch_size") == [plan.main_hashes[0]]


def test_rank_lists_main_run_after_phases_1_and_2_and_lwf_after_phase_2(plan):
    drawn = plan.ranklists
    runs = [(e["run"], e["phase"], e["label"]) for e in drawn.values()]
    lwf = next(e for e in plan.comparison if e["method"] == "lwf" and e["seed"] == 0)
    assert runs == [
        (plan.main_hashes[0], 1, "covariance (main run, seed 0)"),
        (plan.main_hashes[1], 2, "covariance (main run, seed 0)"),
        (run_hash(lwf["specs"][1]), 2, "lwf (baseline, seed 0)"),
    ]
    assert list(drawn) == [f"{e['run']}_market" for e in drawn.values()]
    assert plan.ranklist_files()[0] == f"results/ranklists/{plan.main_hashes[0]}_market.json"


def test_rank_list_baseline_without_lwf_is_the_next_sequential_method():
    config = workflow_plan(
        _raw(comparison={"seeds": [3], "methods": ["joint", "covariance", "ewc", "finetune"]})
    ).config
    comparison = comparison_plan(config)
    assert ranklist_baseline(config, comparison)["method"] == "ewc"  # joint is not sequential
    only_joint = [e for e in comparison if e["method"] in ("covariance", "joint")]
    assert ranklist_baseline(config, only_joint) is None
    hashes = [run_hash(spec) for spec in main_chain(config)]
    assert len(ranklist_plan(config, hashes, only_joint)) == 2
    assert len(ranklist_plan(config, hashes[:1], [])) == 1


def test_a_comparison_off_plans_no_comparison_and_fewer_rank_lists():
    plan = workflow_plan(_raw(comparison={"enabled": False}))
    assert plan.comparison == [] and plan.comparison_tables() == []
    assert len(plan.ranklists) == 2


def test_the_benchmark_plans_its_sets_and_leaves_out_the_main_tables():
    raw = yaml.safe_load((Path(__file__).parents[1] / "config" / "lreid.yaml").read_text())
    plan = workflow_plan(raw)
    assert plan.benchmark is not None and plan.main_tables() == []
    unseen = [item for item in plan.benchmark.sets if item["kind"] == "unseen"]
    assert {item["task"]["root"] for item in unseen} <= set(plan.dataset_dirs)
    manifest = plan.benchmark.manifest()
    assert manifest[0]["file"] == f"results/lreid/reference/{manifest[0]['run']}.json"
    assert paths.table_file("lreid") in plan.targets()


def test_the_workflow_refuses_another_data_root():
    with pytest.raises(ConfigError, match="data.root"):
        workflow_plan(_raw(data={"root": "elsewhere"}))


def test_speed_flags_leave_the_run_hash_alone():
    plan = workflow_plan(_raw(train={**_raw()["train"], "channels_last": True}))
    assert plan.speed_flags() == "--channels-last"
    assert plan.main_hashes == workflow_plan(_raw()).main_hashes


def test_path_helpers_accept_wildcards():
    assert paths.run_file("{run}", paths.MODEL) == "results/runs/{run}/model.pt"
    assert paths.eval_file("{run}") == "results/runs/{run}/eval/tasks.json"
    assert (
        paths.study_worker_done("{study}", "{worker}")
        == "results/optuna/{study}/worker_{worker}.json"
    )
    assert (
        paths.ready_file(paths.dataset_dir("{dataset}"))
        == "resources/datasets/{dataset}/READY.json"
    )
    assert paths.log_file("train", "{run}") == "results/logs/train/{run}.log"
    assert paths.table_file("continual", results="elsewhere") == "elsewhere/tables/continual.csv"


@pytest.mark.parametrize("jobs", ["run", "chain"])
def test_benchmark_jobs_per_run_or_per_chain(jobs: str) -> None:
    raw = _raw(
        unseen=[],
        ablations={"enabled": False},
        comparison={"enabled": False, "seeds": [0, 1], "methods": ["finetune", "joint"]},
        benchmark={"enabled": True, "jobs": jobs},
    )
    bench = workflow_plan(raw).benchmark
    assert sorted(bench.chains) == [
        "finetune-seed0",
        "finetune-seed1",
        "joint-seed0",
        "joint-seed1",
    ]
    assert [run_hash(s) for s in bench.chains["finetune-seed1"]] == [
        e["run"] for e in bench.evals if e.get("chain") == "finetune-seed1"
    ]
    files = {e["file"] for e in bench.manifest() if not e["reference"]}
    if jobs == "chain":
        assert files == {paths.lreid_chain_file(name) for name in bench.chains}
    else:
        assert files == {paths.lreid_eval_file(e["run"]) for e in bench.evals if not e["reference"]}
    references = {e["file"] for e in bench.manifest() if e["reference"]}
    assert references == {
        paths.lreid_eval_file(run, reference=True) for run in bench.plan["references"]
    }
