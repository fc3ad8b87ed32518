# Rank lists, the picture of forgetting: the top-10 gallery images of fixed task-1 queries per
# model chosen in ranklists_plan.smk, as a PNG grid and a JSON record that the report embeds.


rule ranklist:
    input:
        model="results/runs/{run}/model.pt",
        ready=ready_file(task_entry(CONFIG, TASKS[0])["root"]),
    output:
        png="results/ranklists/{run}_{task}.png",
        json="results/ranklists/{run}_{task}.json",
    log:
        "results/logs/ranklists/{run}_{task}.log",
    benchmark:
        "results/benchmarks/ranklists/{run}_{task}.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=CONFIG["resources"]["evaluate_mem_mb"],
        runtime=CONFIG["resources"]["evaluate_runtime"],
    params:
        settings=_ranklist_params,
        device=CONFIG["device"],
    shell:
        "reid ranklist --model {input.model} --settings {params.settings:q}"
        " --device {params.device} --threads {threads} --out {output.png} > {log} 2>&1"
