# Dataset acquisition: generate the embedded domains or download / extract the real datasets.


rule prepare_dataset:
    output:
        ready=f"{DATA_ROOT}/{{dataset}}/READY.json",
        summary=f"{DATA_ROOT}/{{dataset}}/summary.csv",
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
        task=lambda wildcards: json.dumps(
            DATASET_DIRS[f"{DATA_ROOT}/{wildcards.dataset}"]
        ),
        data=json.dumps(CONFIG["data"]),
        dest=lambda wildcards: f"{DATA_ROOT}/{wildcards.dataset}",
    shell:
        "reid prepare --task-json {params.task:q} --data-json {params.data:q}"
        " --dest {params.dest:q} > {log} 2>&1"
