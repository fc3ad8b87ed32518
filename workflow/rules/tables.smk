# Tables: the paper's results table and the accuracy matrix of the main run.


rule main_results:
    input:
        sorted({e["file"] for e in PLAN.main_manifest()}),
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
        " --matrix {output.matrix} > {log} 2>&1"
