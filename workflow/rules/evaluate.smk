# Evaluation of a run: every task a table needs of it, in one job (one model load, one import),
# e.g. the main run's full accuracy matrix (retro-evaluation included).


rule evaluate_run:
    input:
        model=paths.run_file("{run}", paths.MODEL),
        ready=get_eval_ready,
    output:
        paths.eval_file("{run}"),
    log:
        paths.log_file("evaluate", "{run}"),
    benchmark:
        paths.benchmark_file("evaluate", "{run}")
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate_mem_mb"],
        runtime=CONFIG["resources"]["evaluate_runtime"],
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        tasks=lambda wildcards: canonical_json(PLAN.eval_tasks(wildcards.run)),
        evaluation=canonical_json(CONFIG["evaluation"]),
        device=CONFIG["device"],
        speed=SPEED_FLAGS,
    shell:
        "reid evaluate --model {input.model} --tasks-json {params.tasks:q}"
        " --eval-json {params.evaluation:q} --device {params.device} --threads {threads}"
        " {params.speed} --out {output} > {log} 2>&1"
