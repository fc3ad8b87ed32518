"""Plans computed in the package (unit-tested), looked up by the workflow's rules: which runs,
evaluations, studies, rank lists and report inputs the DAG holds."""

from reid.plans.workflow import Benchmark, WorkflowPlan, workflow_plan

__all__ = ["Benchmark", "WorkflowPlan", "workflow_plan"]
