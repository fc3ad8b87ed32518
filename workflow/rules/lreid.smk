# The lifelong re-ID benchmark (only when benchmark.enabled): every step of each comparison
# method, and an untrained reference model per seed, evaluated with one task-free feature source
# on every seen task and unseen set; then Seen-Avg / Unseen-Avg tables.


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
        "reid lifelong evaluate --model {input.model} --sets {params.sets:q}"
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
        "reid lifelong evaluate --reference {params.spec:q} --sets {params.sets:q}"
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
        "reid lifelong tables --manifest {params.manifest:q} --out {output.table}"
        " --seeds {output.seeds} --datasets {output.datasets} > {log} 2>&1"
