# Incremental person re-identification: data -> phase 1 -> phase 2 ... -> retro-evaluation
# -> ablation studies -> report. Thin entry point: rules live in workflow/rules/*.smk.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/tuning.smk"
include: "workflow/rules/comparison.smk"
include: "workflow/rules/ranklists.smk"
include: "workflow/rules/lreid.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        PLAN.targets(),
