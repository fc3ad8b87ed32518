# Shared set-up: validated config, the runs the DAG trains, and input functions.
from snakemake.exceptions import WorkflowError

from reid.config import canonical_json, validate_config
from reid.errors import ReidError
from reid.runs import comparison_plan, dataset_dir, main_chain, run_hash, task_entry
from reid.tuning.storage import is_url
from reid.tuning.studies import enabled_studies, study_config, study_plan

try:
    CONFIG = validate_config(config)
except ReidError as exc:
    raise WorkflowError(str(exc)) from None

# Outputs are fixed paths under resources/ and results/; the CLI alone honours other roots.
if CONFIG["data"]["root"] != "resources/datasets":
    raise WorkflowError(
        f"config key 'data.root' is {CONFIG['data']['root']!r}; the workflow keeps datasets "
        "under resources/datasets (link that folder elsewhere to move them)"
    )
TASKS = CONFIG["tasks"]
TASK_NAMES = [task["name"] for task in TASKS]
DATASET_DIRS = {dataset_dir(CONFIG, task): task for task in TASKS}
MAIN = main_chain(CONFIG)
RUNS = {run_hash(spec): spec for spec in MAIN}
MAIN_HASHES = [run_hash(spec) for spec in MAIN]
COMPARISON = comparison_plan(CONFIG) if CONFIG["comparison"]["enabled"] else []
for _entry in COMPARISON:
    RUNS.update({run_hash(spec): spec for spec in _entry["specs"]})
COMPARISON_EVALS = [
    dict(e, method=entry["method"], seed=entry["seed"])
    for entry in COMPARISON
    for e in entry["evals"]
]
# Accuracy matrix of the main run: after phase i, every task j <= i (task j uses pipeline j).
MAIN_EVALS = [
    {"phase": i + 1, "task": TASK_NAMES[j], "run": MAIN_HASHES[i]}
    for i in range(len(MAIN))
    for j in range(i + 1)
]
# One evaluation job per run: the indices of every task some table needs of it.
RUN_EVAL_TASKS = {}
for _eval in MAIN_EVALS + COMPARISON_EVALS:
    RUN_EVAL_TASKS.setdefault(_eval["run"], set()).add(TASK_NAMES.index(_eval["task"]))


STUDIES = enabled_studies(CONFIG)
# Each study rule gets only the settings its study reads, serialised canonically (sorted keys,
# 1.0 == 1): another key, or an equal config in another key order, re-runs none of its jobs.
STUDY_SETTINGS = {
    study: canonical_json(study_config(CONFIG, study)) for study in STUDIES
}
# The Optuna study of each ablation under this config (`<ablation>-<fingerprint>`).
STUDY_NAMES = {
    study: study_plan(validate_config(study_config(CONFIG, study)), study).study_name
    for study in STUDIES
}
# Switches that change speed, not results (not part of a run's hash).
SPEED_FLAGS = " ".join(
    flag
    for flag, on in [
        ("--channels-last", CONFIG["train"]["channels_last"]),
        ("--compile", CONFIG["train"]["compile"]),
        ("--no-cache-decoded", not CONFIG["data"]["cache_decoded"]),
    ]
    if on
)
OPTUNA_STORAGE = CONFIG["optuna"]["storage"]
OPTUNA_STORAGE_FILE = None if is_url(OPTUNA_STORAGE) else OPTUNA_STORAGE


wildcard_constraints:
    run=r"[0-9a-f]{12}",
    study="|".join(STUDIES) or "none",
    worker=r"\d+",


def get_storage(wildcards):
    # ancient(): workers append to the journal, which must not retrigger later rules.
    return [ancient(OPTUNA_STORAGE_FILE)] if OPTUNA_STORAGE_FILE else []


def get_worker_inputs(wildcards):
    # Trials reuse the main runs; waiting for them avoids training the same run twice.
    return {
        "created": f"results/optuna/{wildcards.study}/created.json",
        "storage": get_storage(wildcards),
        "main": [f"results/runs/{run}/model.pt" for run in MAIN_HASHES[:2]],
        "ready": [ready_file(spec["task"]["root"]) for spec in MAIN],
    }


def get_study_settings(wildcards):
    return STUDY_SETTINGS[wildcards.study]


def eval_path(run, task):
    """The file holding `task`'s evaluation of `run` (every task of a run in one file)."""
    return f"results/runs/{run}/eval/tasks.json"


def ready_file(directory):
    return f"{directory}/READY.json"


def get_train_inputs(wildcards):
    spec = RUNS[wildcards.run]
    tasks = spec["tasks"] if spec["kind"] == "joint" else [spec["task"]]
    inputs = {"ready": [ready_file(task["root"]) for task in tasks]}
    if spec["parent"]:
        inputs["parent"] = f"results/runs/{spec['parent']}/model.pt"
    return inputs


def get_eval_tasks(wildcards):
    """[{"index": j, "task": entry}] of every task evaluated on this run, in task order."""
    return [
        {"index": j, "task": task_entry(CONFIG, TASKS[j])}
        for j in sorted(RUN_EVAL_TASKS[wildcards.run])
    ]


def get_eval_ready(wildcards):
    return [ready_file(item["task"]["root"]) for item in get_eval_tasks(wildcards)]


def get_study_outputs():
    tables = [f"results/tables/study_{study}.csv" for study in STUDIES]
    return tables + [f"results/optuna/best_{study}.json" for study in STUDIES]


def get_report_inputs(wildcards):
    return {
        "tables": main_tables(),
        "studies": get_study_outputs(),
        "ready": [ready_file(spec["task"]["root"]) for spec in MAIN],
        "provenance": "results/provenance.json",
        "runs": [f"results/runs/{run}/history.csv" for run in MAIN_HASHES],
        "comparison": ["results/tables/continual.csv"] if COMPARISON else [],
        "lreid": lreid_tables(),
    }


def main_tables():
    # The benchmark evaluates without a task id: the paper's per-task tables are left out there.
    if CONFIG["benchmark"]["enabled"]:
        return []
    return ["results/tables/main_results.csv", "results/tables/accuracy_matrix.csv"]


def get_all_targets():
    targets = main_tables()
    targets += get_study_outputs()
    if COMPARISON:
        targets.append("results/tables/continual.csv")
    targets += lreid_tables()
    targets.append("results/report/index.html")
    return targets
