# Shared set-up: the plan of the whole DAG (computed and unit-tested in reid/plans/) and the
# input functions that look rules up in it. Output paths come from reid/paths.py.
from snakemake.exceptions import WorkflowError

from reid import paths
from reid.errors import ReidError
from reid.helpers import canonical_json
from reid.plans import workflow_plan
from reid.plans.report import is_synthetic

try:
    PLAN = workflow_plan(config)
except ReidError as exc:
    raise WorkflowError(str(exc)) from None
CONFIG = PLAN.config
STUDIES = PLAN.studies
SPEED_FLAGS = PLAN.speed_flags()


wildcard_constraints:
    run=r"[0-9a-f]{12}",
    study="|".join(STUDIES) or "none",
    worker=r"\d+",
    chain=r"[A-Za-z0-9_]+-seed-?\d+",


def get_storage(wildcards):
    # ancient(): workers append to the journal, which must not retrigger later rules.
    return [ancient(storage) for storage in PLAN.storage_inputs()]


def get_worker_inputs(wildcards):
    return dict(PLAN.worker_inputs(wildcards.study), storage=get_storage(wildcards))


def get_study_settings(wildcards):
    return PLAN.study_settings(wildcards.study)


def get_train_inputs(wildcards):
    return PLAN.train_inputs(wildcards.run)


def get_eval_ready(wildcards):
    return PLAN.eval_ready(wildcards.run)


def get_main_results_inputs(wildcards):
    return PLAN.main_results_inputs()


def get_aggregate_inputs(wildcards):
    inputs = PLAN.aggregate_inputs(wildcards.study)
    return dict(inputs, storage=get_storage(wildcards))


def get_report_inputs(wildcards):
    return PLAN.report_inputs()
