# Evaluation of a run on a task: the main run's full accuracy matrix (retro-evaluation included).


rule evaluate_task:
    input:
        model="results/runs/{run}/model.pt",
        ready=lambda wildcards: ready_file(get_eval_task(wildcards)[1]["root"]),
    output:
        "results/runs/{run}/eval/{task}.json",
    log:
        "results/logs/evaluate/{run}_{task}.log",
    benchmark:
        "results/benchmarks/evaluate/{run}_{task}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: CONFIG["threads"]
    resources:
        mem_mb=CONFIG["resources"]["evaluate_mem_mb"],
        runtime=CONFIG["resources"]["evaluate_runtime"],
        gpu=CONFIG["resources"]["train_gpus"],
    params:
        task=lambda wildcards: canonical_json(get_eval_task(wildcards)[1]),
        index=lambda wildcards: get_eval_task(wildcards)[0],
        evaluation=canonical_json(CONFIG["evaluation"]),
        device=CONFIG["device"],
        speed=SPEED_FLAGS,
    shell:
        "reid evaluate --model {input.model} --task-json {params.task:q}"
        " --task-index {params.index} --eval-json {params.evaluation:q}"
        " --device {params.device} --threads {threads} {params.speed} --out {output}"
        " > {log} 2>&1"
