# The paper's ablations as Optuna studies in one storage: set-up (grid enqueued once), `workers`
# worker jobs per study, then an aggregate table. The storage is an ancient() input so trials
# written by workers never retrigger the DAG.


if OPTUNA_STORAGE_FILE:

    rule optuna_storage:
        output:
            OPTUNA_STORAGE_FILE,
        log:
            "results/logs/tuning/storage.log",
        conda:
            "../envs/reid.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        shell:
            "touch {output} 2> {log}"


rule study_create:
    input:
        storage=get_storage,
    output:
        "results/optuna/{study}/created.json",
    log:
        "results/logs/tuning/{study}_create.log",
    benchmark:
        "results/benchmarks/study_create/{study}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=get_study_settings,
    shell:
        "reid tune create --study {wildcards.study} --config-json {params.settings:q}"
        " --done {output} > {log} 2>&1"


rule study_worker:
    input:
        unpack(get_worker_inputs),
    output:
        "results/optuna/{study}/worker_{worker}.json",
    log:
        "results/logs/tuning/{study}_worker_{worker}.log",
    benchmark:
        "results/benchmarks/study_worker/{study}_{worker}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["train_mem_mb"],
        runtime=CONFIG["resources"]["train_runtime"] * 4,
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        settings=get_study_settings,
        device=CONFIG["device"],
        speed=SPEED_FLAGS,
    shell:
        "reid tune work --study {wildcards.study} --config-json {params.settings:q}"
        " --device {params.device} --threads {threads} {params.speed} --done {output}"
        " > {log} 2>&1"


rule study_aggregate:
    input:
        storage=get_storage,
        workers=lambda wildcards: expand(
            "results/optuna/{study}/worker_{worker}.json",
            study=wildcards.study,
            worker=range(CONFIG["optuna"]["workers"]),
        ),
    output:
        table=report(
            "results/tables/study_{study}.csv",
            caption="../report/study.rst",
            category="Ablation studies",
        ),
        best="results/optuna/best_{study}.json",
    log:
        "results/logs/tuning/{study}_aggregate.log",
    benchmark:
        "results/benchmarks/study_aggregate/{study}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=get_study_settings,
    shell:
        "reid tune aggregate --study {wildcards.study} --config-json {params.settings:q}"
        " --table {output.table} --best {output.best} > {log} 2>&1"
