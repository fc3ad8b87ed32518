# Training: one job per phase; a run folder is named by the hash of its effective config.


rule train_phase:
    input:
        unpack(get_train_inputs),
    output:
        model=paths.run_file("{run}", paths.MODEL),
        history=paths.run_file("{run}", paths.HISTORY),
        metrics=paths.run_file("{run}", paths.METRICS),
    log:
        paths.log_file("train", "{run}"),
    benchmark:
        paths.benchmark_file("train", "{run}")
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["train_mem_mb"],
        runtime=CONFIG["resources"]["train_runtime"],
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        spec=lambda wildcards: canonical_json(PLAN.runs[wildcards.run]),
        device=CONFIG["device"],
        amp=CONFIG["train"]["amp"],
        speed=SPEED_FLAGS,
    shell:
        (
            "reid train --spec {params.spec:q} --run-dir "
            + paths.run_dir("{wildcards.run}")
            + " --device {params.device} --threads {threads} --amp {params.amp} {params.speed}"
            " > {log} 2>&1"
        )
