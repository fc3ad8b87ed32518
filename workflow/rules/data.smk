# Dataset acquisition: generate the embedded domains or download / extract the real datasets.


rule prepare_dataset:
    output:
        ready=paths.ready_file(paths.dataset_dir("{dataset}")),
        summary=paths.dataset_summary(paths.dataset_dir("{dataset}")),
    log:
        paths.log_file("prepare", "{dataset}"),
    benchmark:
        paths.benchmark_file("prepare", "{dataset}")
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        task=lambda wildcards: canonical_json(
            PLAN.dataset_dirs[paths.dataset_dir(wildcards.dataset)]
        ),
        data=canonical_json({"verify_counts": CONFIG["data"]["verify_counts"]}),
    shell:
        "reid prepare --task-json {params.task:q} --data-json {params.data:q}"
        " --dest $(dirname {output.ready:q}) > {log} 2>&1"
