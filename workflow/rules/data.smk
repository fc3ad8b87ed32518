# Dataset acquisition: generate the embedded domains or download / extract the real datasets.


rule prepare_dataset:
    output:
        ready="resources/datasets/{dataset}/READY.json",
        summary="resources/datasets/{dataset}/summary.csv",
    log:
        "results/logs/prepare/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare/{dataset}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        task=lambda wildcards: canonical_json(
            DATASET_DIRS[f"resources/datasets/{wildcards.dataset}"]
        ),
        data=canonical_json({"verify_counts": CONFIG["data"]["verify_counts"]}),
    shell:
        "reid prepare --task-json {params.task:q} --data-json {params.data:q}"
        " --dest $(dirname {output.ready:q}) > {log} 2>&1"
