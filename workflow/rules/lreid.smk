# The lifelong re-ID benchmark (only when benchmark.enabled): every step of each comparison
# method, and an untrained reference model per seed, evaluated with one task-free feature source
# on every seen task and unseen set; then Seen-Avg / Unseen-Avg tables.
BENCH = PLAN.benchmark
BENCH_SETS = BENCH.sets if BENCH else []
BENCH_EVAL = BENCH.evaluation if BENCH else {}
BENCH_READY = BENCH.ready if BENCH else []
BENCH_MANIFEST = BENCH.manifest() if BENCH else []


rule lreid_evaluate:
    input:
        model=paths.run_file("{run}", paths.MODEL),
        ready=BENCH_READY,
    output:
        paths.lreid_eval_file("{run}"),
    log:
        paths.log_file("lreid", "{run}"),
    benchmark:
        paths.benchmark_file("lreid", "{run}")
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


rule lreid_chain:
    input:
        ready=BENCH_READY,
    output:
        paths.lreid_chain_file("{chain}"),
    log:
        paths.log_file("lreid", "chain_{chain}"),
    benchmark:
        paths.benchmark_file("lreid", "chain_{chain}")
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["train_mem_mb"],
        runtime=CONFIG["resources"]["train_runtime"] * len(CONFIG["tasks"]),
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        specs=lambda wildcards: canonical_json(BENCH.chains[wildcards.chain]),
        sets=canonical_json(BENCH_SETS),
        evaluation=canonical_json(BENCH_EVAL),
        device=CONFIG["device"],
        speed=SPEED_FLAGS,
    shell:
        "reid lifelong chain --specs {params.specs:q} --sets {params.sets:q}"
        " --eval-json {params.evaluation:q} --device {params.device} --threads {threads}"
        " {params.speed} --out {output} > {log} 2>&1"


rule lreid_reference:
    input:
        ready=BENCH_READY,
    output:
        paths.lreid_eval_file("{run}", reference=True),
    log:
        paths.log_file("lreid", "reference_{run}"),
    benchmark:
        paths.benchmark_file("lreid", "reference_{run}")
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate_mem_mb"],
        runtime=CONFIG["resources"]["evaluate_runtime"],
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        spec=lambda wildcards: canonical_json(BENCH.plan["references"][wildcards.run]),
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
        [e["file"] for e in BENCH_MANIFEST],
    output:
        table=report(
            paths.table_file("lreid"),
            caption="../report/lreid.rst",
            category="Lifelong re-ID benchmark",
        ),
        seeds=paths.table_file("lreid_seeds"),
        datasets=paths.table_file("lreid_datasets"),
        checks=paths.table_file("lreid_checks"),
        report_tables=paths.report_tables("lreid"),
    log:
        paths.log_file("tables", "lreid"),
    benchmark:
        paths.benchmark_file("tables", "lreid")
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        manifest=canonical_json(BENCH_MANIFEST),
        order=BENCH.set_order() if BENCH else "",
    shell:
        "reid lifelong tables --manifest {params.manifest:q} --out {output.table}"
        " --seeds {output.seeds} --datasets {output.datasets} --checks {output.checks}"
        " --report-tables {output.report_tables} --order {params.order:q} > {log} 2>&1"
