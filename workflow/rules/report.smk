# The HTML report: every table of the paper beside ours, figures, provenance. It formats the
# report tables rules computed and opens no file but its declared inputs.


rule provenance:
    output:
        paths.provenance_file(),
    log:
        paths.log_file("report", "provenance"),
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
    output:
        report(
            paths.report_html(),
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        paths.log_file("report", "report"),
    benchmark:
        paths.benchmark_file("report", "report")
    conda:
        "../envs/reid.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        config=canonical_json(CONFIG),
        settings=PLAN.report_settings(),
    shell:
        "reid report --out {output} --config-json {params.config:q}"
        " --settings-json {params.settings:q} --tables {input.tables}"
        " --histories {input.histories} --metrics {input.metrics}"
        " --ranklists {input.ranklists} --provenance {input.provenance} > {log} 2>&1"
