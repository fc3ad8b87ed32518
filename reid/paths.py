"""Where each kind of output lives: one helper per kind, used by the rules and the package alike.

Every helper returns a path string relative to the working directory (the workflow's `-d`), and
accepts Snakemake wildcards as arguments: `run_file("{run}", MODEL)` is the rule's pattern
`results/runs/{run}/model.pt`. `results` changes the results folder (the CLI's `--results`).
A leaf: it imports nothing of the project.
"""

from __future__ import annotations

RESULTS = "results"
DATASETS = "resources/datasets"  # the workflow's `data.root`
MODEL, HISTORY, METRICS, SPEC = "model.pt", "history.csv", "metrics.json", "spec.json"
RUN_OUTPUTS = (MODEL, HISTORY, METRICS)  # what the train rule declares (spec.json comes too)


def runs_root(results: str = RESULTS) -> str:
    """The folder of every run: `results/runs`."""
    return f"{results}/runs"


def run_dir(run: str, results: str = RESULTS) -> str:
    """A run's folder, named by the hash of its spec."""
    return f"{runs_root(results)}/{run}"


def run_file(run: str, name: str, results: str = RESULTS) -> str:
    """One file of a run's folder (`MODEL`, `HISTORY`, `METRICS`, `SPEC`)."""
    return f"{run_dir(run, results)}/{name}"


def eval_file(run: str, results: str = RESULTS) -> str:
    """Every task's evaluation of a run (one job per run writes them all)."""
    return f"{run_dir(run, results)}/eval/tasks.json"


def ready_file(dataset_dir: str) -> str:
    """The marker `reid prepare` writes last in a prepared dataset's folder."""
    return f"{dataset_dir}/READY.json"


def dataset_summary(dataset_dir: str) -> str:
    """Ids and images per split of a prepared dataset."""
    return f"{dataset_dir}/summary.csv"


def dataset_dir(name: str, root: str = DATASETS) -> str:
    """A prepared dataset's folder under the datasets root (`name` = `<task>-<identity hash>`)."""
    return f"{root}/{name}"


def table_file(name: str, results: str = RESULTS) -> str:
    """A result table, `results/tables/<name>.csv` (main_results, continual, lreid, ...)."""
    return f"{results}/tables/{name}.csv"


def study_table(study: str, results: str = RESULTS) -> str:
    """One row per trial of an ablation's study (the config at hand's)."""
    return table_file(f"study_{study}", results)


def study_best(study: str, results: str = RESULTS) -> str:
    """The best point of an ablation's study (or the tie that leaves none)."""
    return f"{results}/optuna/best_{study}.json"


def study_created(study: str, results: str = RESULTS) -> str:
    """Marker of a created study (its grid enqueued)."""
    return f"{results}/optuna/{study}/created.json"


def study_worker_done(study: str, worker: str | int, results: str = RESULTS) -> str:
    """Marker of a finished worker job of a study."""
    return f"{results}/optuna/{study}/worker_{worker}.json"


def ranklist_file(run: str, task: str, ext: str = "json", results: str = RESULTS) -> str:
    """A rank-list record (`json`) or its picture (`png`) of a run on a task."""
    return f"{results}/ranklists/{run}_{task}.{ext}"


def lreid_eval_file(run: str, reference: bool = False, results: str = RESULTS) -> str:
    """A model's evaluation on every benchmark set (`reference`: an untrained model)."""
    return f"{results}/lreid/{'reference' if reference else 'evals'}/{run}.json"


def lreid_chain_file(chain: str, results: str = RESULTS) -> str:
    """Every step of one (method, seed) chain evaluated on every benchmark set (`benchmark.jobs:
    chain`): `{"runs": {run hash: evaluation}}`."""
    return f"{results}/lreid/chains/{chain}.json"


def report_tables(producer: str, results: str = RESULTS) -> str:
    """The report tables one rule computed (`reid.report_tables`: rows, sentences, figure
    data), `results/report/tables/<producer>.json`; the report formats these files."""
    return f"{results}/report/tables/{producer}.json"


def report_html(results: str = RESULTS) -> str:
    """The HTML report."""
    return f"{results}/report/index.html"


def provenance_file(results: str = RESULTS) -> str:
    """Config, commit, package versions and device of the workflow run."""
    return f"{results}/provenance.json"


def log_file(group: str, name: str, results: str = RESULTS) -> str:
    """A job's log, `results/logs/<group>/<name>.log`."""
    return f"{results}/logs/{group}/{name}.log"


def benchmark_file(group: str, name: str, results: str = RESULTS) -> str:
    """A job's wall time and memory (Snakemake's `benchmark:`), `results/benchmarks/...tsv`."""
    return f"{results}/benchmarks/{group}/{name}.tsv"
