# Tables: the paper's results table and the accuracy matrix of the main run, and the report
# tables of the main run (reid/report_tables/main.py).


rule main_results:
    input:
        unpack(get_main_results_inputs),
    output:
        results=report(
            paths.table_file("main_results"),
            caption="../report/main_results.rst",
            category="Tables",
        ),
        matrix=report(
            paths.table_file("accuracy_matrix"),
            caption="../report/accuracy_matrix.rst",
            category="Tables",
        ),
        report_tables=paths.report_tables("main"),
    log:
        paths.log_file("tables", "main_results"),
    benchmark:
        paths.benchmark_file("tables", "main_results")
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        manifest=canonical_json(PLAN.main_manifest()),
    shell:
        "reid tables main --manifest {params.manifest:q} --out {output.results}"
        " --matrix {output.matrix} --report-tables {output.report_tables}"
        " --datasets {input.ready} --histories {input.histories} > {log} 2>&1"
