# Set-up of the lifelong re-ID benchmark (only when benchmark.enabled): its runs join the run
# registry, its unseen sets the prepared datasets; input functions of workflow/rules/lreid.smk.
from reid.lreid.plan import (
    benchmark_evaluation,
    benchmark_plan,
    benchmark_sets,
    unseen_tasks,
)

try:
    BENCH = benchmark_plan(CONFIG) if CONFIG["benchmark"]["enabled"] else None
    BENCH_SETS = benchmark_sets(CONFIG) if BENCH else []
    BENCH_EVAL = benchmark_evaluation(CONFIG) if BENCH else {}
except ReidError as exc:
    raise WorkflowError(str(exc)) from None
if BENCH:
    RUNS.update({run_hash(spec): spec for spec in BENCH["specs"]})
    DATASET_DIRS.update({dataset_dir(CONFIG, u): u for u in unseen_tasks(CONFIG)})
BENCH_EVALS = BENCH["evals"] if BENCH else []
BENCH_READY = [ready_file(item["task"]["root"]) for item in BENCH_SETS]


def lreid_eval_file(entry):
    kind = "reference" if entry["reference"] else "evals"
    return f"results/lreid/{kind}/{entry['run']}.json"


def lreid_tables():
    return (
        [
            "results/tables/lreid.csv",
            "results/tables/lreid_seeds.csv",
            "results/tables/lreid_datasets.csv",
        ]
        if BENCH
        else []
    )
