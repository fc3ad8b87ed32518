# Tables: the paper's results table and the accuracy matrix of the main run.


rule main_results:
    input:
        sorted({eval_path(e["run"], e["task"]) for e in MAIN_EVALS}),
    output:
        results=report(
            "results/tables/main_results.csv",
            caption="../report/main_results.rst",
            category="Tables",
        ),
        matrix=report(
            "results/tables/accuracy_matrix.csv",
            caption="../report/accuracy_matrix.rst",
            category="Tables",
        ),
    log:
        "results/logs/tables/main_results.log",
    benchmark:
        "results/benchmarks/tables/main_results.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        manifest=canonical_json(
            [dict(e, file=eval_path(e["run"], e["task"])) for e in MAIN_EVALS]
        ),
    shell:
        "reid tables main --manifest {params.manifest:q} --out {output.results}"
        " --matrix {output.matrix} > {log} 2>&1"
