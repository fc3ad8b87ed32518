# Beyond the paper: the continual-learning baselines over seeds, their accuracy matrices and
# continual metrics (average, forgetting, backward transfer).


rule comparison:
    input:
        sorted({e["file"] for e in PLAN.comparison_manifest()}),
    output:
        results=report(
            paths.table_file("comparison"),
            caption="../report/continual.rst",
            category="Method comparison",
        ),
        continual=report(
            paths.table_file("continual"),
            caption="../report/continual.rst",
            category="Method comparison",
        ),
        summary=paths.table_file("continual_summary"),
        paired=paths.table_file("continual_paired"),
        report_tables=paths.report_tables("comparison"),
    log:
        paths.log_file("tables", "comparison"),
    benchmark:
        paths.benchmark_file("comparison", "comparison")
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        manifest=canonical_json(PLAN.comparison_manifest()),
        synthetic="--synthetic" if is_synthetic(CONFIG) else "",
    shell:
        "reid tables comparison --manifest {params.manifest:q} --out {output.results}"
        " --continual {output.continual} --summary {output.summary}"
        " --paired {output.paired} --report-tables {output.report_tables}"
        " {params.synthetic} > {log} 2>&1"
