# Rank lists, the picture of forgetting: the top-10 gallery images of fixed task-1 queries per
# model chosen by reid/plans/ranklists.py, as a PNG grid and a JSON record the report embeds.


rule ranklist:
    input:
        model=paths.run_file("{run}", paths.MODEL),
        ready=paths.ready_file(PLAN.main[0]["task"]["root"]),
    output:
        png=paths.ranklist_file("{run}", "{task}", "png"),
        json=paths.ranklist_file("{run}", "{task}", "json"),
    log:
        paths.log_file("ranklists", "{run}_{task}"),
    benchmark:
        paths.benchmark_file("ranklists", "{run}_{task}")
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=CONFIG["resources"]["evaluate_mem_mb"],
        runtime=CONFIG["resources"]["evaluate_runtime"],
    params:
        settings=lambda wildcards: PLAN.ranklist_settings(
            f"{wildcards.run}_{wildcards.task}"
        ),
        device=CONFIG["device"],
    shell:
        "reid ranklist --model {input.model} --settings {params.settings:q}"
        " --device {params.device} --threads {threads} --out {output.png} > {log} 2>&1"
