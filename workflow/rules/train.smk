# Training: one job per phase; a run folder is named by the hash of its effective config.


rule train_phase:
    input:
        unpack(get_train_inputs),
    output:
        model="results/runs/{run}/model.pt",
        history="results/runs/{run}/history.csv",
        metrics="results/runs/{run}/metrics.json",
    log:
        "results/logs/train/{run}.log",
    benchmark:
        "results/benchmarks/train/{run}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["train_mem_mb"],
        runtime=CONFIG["resources"]["train_runtime"],
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        spec=lambda wildcards: canonical_json(RUNS[wildcards.run]),
        device=CONFIG["device"],
        amp=CONFIG["train"]["amp"],
        speed=SPEED_FLAGS,
    shell:
        "reid train --spec {params.spec:q} --run-dir results/runs/{wildcards.run}"
        " --device {params.device} --threads {threads} --amp {params.amp} {params.speed}"
        " > {log} 2>&1"
