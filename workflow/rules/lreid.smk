# The lifelong re-ID benchmark (only when benchmark.enabled): every step of each comparison
# method, and an untrained reference model per seed, evaluated with one task-free feature source
# on every seen task and unseen set; then Seen-Avg / Unseen-Avg tables.
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


rule lreid_evaluate:
    input:
        model="results/runs/{run}/model.pt",
        ready=BENCH_READY,
    output:
        "results/lreid/evals/{run}.json",
    log:
        "results/logs/lreid/{run}.log",
    benchmark:
        "results/benchmarks/lreid/{run}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate_mem_mb"],
        runtime=CONFIG["resources"]["evaluate_runtime"],
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        sets=canonical_json(BENCH_SETS),
        evaluation=canonical_json(BENCH_EVAL),
        device=CONFIG["device"],
        speed=SPEED_FLAGS,
    shell:
        "reid lreid evaluate --model {input.model} --sets {params.sets:q}"
        " --eval-json {params.evaluation:q} --device {params.device} --threads {threads}"
        " {params.speed} --out {output} > {log} 2>&1"


rule lreid_reference:
    input:
        ready=BENCH_READY,
    output:
        "results/lreid/reference/{run}.json",
    log:
        "results/logs/lreid/reference_{run}.log",
    benchmark:
        "results/benchmarks/lreid/reference_{run}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate_mem_mb"],
        runtime=CONFIG["resources"]["evaluate_runtime"],
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        spec=lambda wildcards: canonical_json(BENCH["references"][wildcards.run]),
        sets=canonical_json(BENCH_SETS),
        evaluation=canonical_json(BENCH_EVAL),
        device=CONFIG["device"],
        speed=SPEED_FLAGS,
    shell:
        "reid lreid evaluate --reference {params.spec:q} --sets {params.sets:q}"
        " --eval-json {params.evaluation:q} --device {params.device} --threads {threads}"
        " {params.speed} --out {output} > {log} 2>&1"


rule lreid_tables:
    input:
        [lreid_eval_file(e) for e in BENCH_EVALS],
    output:
        table=report(
            "results/tables/lreid.csv",
            caption="../report/lreid.rst",
            category="Lifelong re-ID benchmark",
        ),
        seeds="results/tables/lreid_seeds.csv",
        datasets="results/tables/lreid_datasets.csv",
    log:
        "results/logs/tables/lreid.log",
    benchmark:
        "results/benchmarks/tables/lreid.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        manifest=canonical_json([dict(e, file=lreid_eval_file(e)) for e in BENCH_EVALS]),
    shell:
        "reid lreid tables --manifest {params.manifest:q} --out {output.table}"
        " --seeds {output.seeds} --datasets {output.datasets} > {log} 2>&1"
