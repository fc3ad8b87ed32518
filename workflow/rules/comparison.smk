# Beyond the paper: the continual-learning baselines over seeds, their accuracy matrices and
# continual metrics (average, forgetting, backward transfer).


rule comparison:
    input:
        sorted({eval_path(e["run"], e["task"]) for e in COMPARISON_EVALS}),
    output:
        results=report(
            "results/tables/comparison.csv",
            caption="../report/continual.rst",
            category="Method comparison",
        ),
        continual=report(
            "results/tables/continual.csv",
            caption="../report/continual.rst",
            category="Method comparison",
        ),
        summary="results/tables/continual_summary.csv",
        paired="results/tables/continual_paired.csv",
    log:
        "results/logs/tables/comparison.log",
    benchmark:
        "results/benchmarks/comparison/comparison.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        manifest=canonical_json(
            [dict(e, file=eval_path(e["run"], e["task"])) for e in COMPARISON_EVALS]
        ),
    shell:
        "reid tables comparison --manifest {params.manifest:q} --out {output.results}"
        " --continual {output.continual} --summary {output.summary}"
        " --paired {output.paired} > {log} 2>&1"
