# The paper's ablations as Optuna studies in one storage: set-up (grid enqueued once), `workers`
# worker jobs per study, then an aggregate table. The storage is an ancient() input so trials
# written by workers never retrigger the DAG.


if PLAN.storage_file:

    rule optuna_storage:
        output:
            PLAN.storage_file,
        log:
            paths.log_file("tuning", "storage"),
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
        paths.study_created("{study}"),
    log:
        paths.log_file("tuning", "{study}_create"),
    benchmark:
        paths.benchmark_file("study_create", "{study}")
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
        paths.study_worker_done("{study}", "{worker}"),
    log:
        paths.log_file("tuning", "{study}_worker_{worker}"),
    benchmark:
        paths.benchmark_file("study_worker", "{study}_{worker}")
    # A study's workers are the longest jobs (the α study: 18 trials): start them as soon as
    # the runs they wait for exist, not after every shorter job that is ready too.
    priority: 10
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
        unpack(get_aggregate_inputs),
    output:
        table=report(
            paths.study_table("{study}"),
            caption="../report/study.rst",
            category="Ablation studies",
        ),
        best=paths.study_best("{study}"),
        report_tables=paths.report_tables("study_{study}"),
    log:
        paths.log_file("tuning", "{study}_aggregate"),
    benchmark:
        paths.benchmark_file("study_aggregate", "{study}")
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        settings=get_study_settings,
        extra=lambda wildcards: PLAN.aggregate_options(wildcards.study),
    shell:
        "reid tune aggregate --study {wildcards.study} --config-json {params.settings:q}"
        " --table {output.table} --best {output.best}"
        " --report-tables {output.report_tables} {params.extra} > {log} 2>&1"
