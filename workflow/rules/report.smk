# The HTML report: every table of the paper beside ours, figures, provenance. Reads files only.


rule provenance:
    output:
        "results/provenance.json",
    log:
        "results/logs/report/provenance.log",
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        # What was run; the report's own settings (its title) are not part of it.
        config=canonical_json({k: v for k, v in CONFIG.items() if k != "report"}),
    shell:
        "reid provenance --config-json {params.config:q} --out {output} > {log} 2>&1"


rule report:
    input:
        unpack(get_report_inputs),
        ranklists=get_ranklists,
    output:
        report(
            "results/report/index.html",
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        "results/logs/report/report.log",
    benchmark:
        "results/benchmarks/report/report.tsv"
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=canonical_json(CONFIG),
        studies=canonical_json(STUDY_NAMES),
        main_runs=",".join(MAIN_HASHES),
        storage=OPTUNA_STORAGE,
    shell:
        "reid report --results results --out {output} --config-json {params.config:q}"
        " --datasets {input.ready} --provenance {input.provenance}"
        " --main-runs {params.main_runs} --storage {params.storage:q}"
        " --studies {params.studies:q} --ranklists {input.ranklists} > {log} 2>&1"
