"""Reading the result files the report shows; a missing optional file reads as None."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from reid.errors import ReidError
from reid.tuning.studies import STUDIES as STUDY_REGISTRY

STUDIES = STUDY_REGISTRY.names()  # registered in reid/tuning/studies.py
MAIN_COLUMNS = ("phase", "task", "rank1", "rank20", "mAP")
MATRIX_COLUMNS = ("step", "task", "metric", "value")
STUDY_COLUMNS = ("number", "state", "value", "point")
COMPARISON_COLUMNS = ("method", "seed", "step", "task", "task_index", "rank1", "mAP")
CONTINUAL_COLUMNS = ("method", "metric")
SUMMARY_COLUMNS = ("method", "metric", "statistic", "n", "mean", "std", "ci95_low", "ci95_high")


class ReportError(ReidError):
    """A result file exists but cannot be read as the report expects."""


def read_csv(path: Path, required: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """A CSV file, or None when it does not exist; raise when a required column is missing."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ReportError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def read_json(path: Path | None) -> Any | None:
    """A JSON file, or None when it does not exist."""
    if path is None or not Path(path).is_file():
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON ({exc})") from None


def main_results(results: Path) -> pd.DataFrame | None:
    """`tables/main_results.csv`: one row per (phase, task) evaluation, percent."""
    return read_csv(results / "tables" / "main_results.csv", MAIN_COLUMNS)


def accuracy_matrix(results: Path) -> pd.DataFrame | None:
    """`tables/accuracy_matrix.csv` in long form: step, task, metric, value."""
    return read_csv(results / "tables" / "accuracy_matrix.csv", MATRIX_COLUMNS)


def study_table(results: Path, name: str) -> pd.DataFrame | None:
    """`tables/study_<name>.csv`: one row per Optuna trial."""
    return read_csv(results / "tables" / f"study_{name}.csv", STUDY_COLUMNS)


def best_params(results: Path, name: str) -> dict[str, Any] | None:
    """`optuna/best_<name>.json`: the best trial of a study."""
    return read_json(results / "optuna" / f"best_{name}.json")


def study_results(
    results: Path, expected: dict[str, str] | None = None
) -> tuple[dict[str, pd.DataFrame | None], dict[str, dict[str, Any] | None]]:
    """Study tables and best points by ablation; with `expected` (ablation -> study name of the
    config at hand) a file written for another study, or an ablation not expected, reads as
    None, so the report never mixes two experiments."""
    tables, best = {}, {}
    for name in STUDIES:
        table, point = study_table(results, name), best_params(results, name)
        if expected is not None:
            wanted = expected.get(name)
            if table is not None and _study_names(table) != {wanted}:
                table = None
            if point is not None and point.get("study_name") != wanted:
                point = None
        tables[name], best[name] = table, point
    return tables, best


def _study_names(table: pd.DataFrame) -> set[str]:
    if "study_name" not in table.columns:
        return set()
    return set(table["study_name"].dropna().astype(str))


def continual(results: Path) -> pd.DataFrame | None:
    """`tables/continual.csv`: continual metrics per (method, seed, metric), when run."""
    return read_csv(results / "tables" / "continual.csv", CONTINUAL_COLUMNS)


def comparison(results: Path) -> pd.DataFrame | None:
    """`tables/comparison.csv`: one row per (method, seed, step, task) evaluation, percent."""
    return read_csv(results / "tables" / "comparison.csv", COMPARISON_COLUMNS)


def continual_summary(results: Path) -> pd.DataFrame | None:
    """`tables/continual_summary.csv`: mean, std and 95% interval over seeds."""
    return read_csv(results / "tables" / "continual_summary.csv", SUMMARY_COLUMNS)


def run_hashes_from(main: pd.DataFrame | None) -> list[str]:
    """The main run's phase hashes in phase order, read from the results table."""
    if main is None or "run" not in main.columns:
        return []
    ordered = main.sort_values("phase", kind="stable")
    return list(dict.fromkeys(str(run) for run in ordered["run"].dropna()))


def run_histories(results: Path, hashes: list[str]) -> pd.DataFrame | None:
    """The training histories of the main runs, phases concatenated (`step` counts epochs)."""
    frames = []
    offset = 0
    for index, run in enumerate(hashes, start=1):
        history = read_csv(results / "runs" / run / "history.csv", ("epoch",))
        if history is None or history.empty:
            continue
        spec = read_json(results / "runs" / run / "spec.json") or {}
        history = history.copy()
        history.insert(0, "phase", int(spec.get("phase", index)))
        history.insert(1, "step", offset + history["epoch"] - history["epoch"].min() + 1)
        offset = int(history["step"].max())
        frames.append(history)
    return pd.concat(frames, ignore_index=True) if frames else None


def run_metrics(results: Path, hashes: list[str]) -> list[dict[str, Any]]:
    """`metrics.json` of each main run that has one, with the run's hash and task."""
    rows = []
    for run in hashes:
        metrics = read_json(results / "runs" / run / "metrics.json")
        if metrics is None:
            continue
        spec = read_json(results / "runs" / run / "spec.json") or {}
        task = (spec.get("task") or {}).get("name", "")
        method = (spec.get("method") or {}).get("name", "—")
        rows.append({**metrics, "run": run, "task": task, "method": method})
    return rows


def evaluations(results: Path, hashes: list[str]) -> list[dict[str, Any]]:
    """Every evaluation of the main runs (`eval/tasks.json`, or one `eval/<task>.json` per
    task), with `phase` and `run` added."""
    rows = []
    for index, run in enumerate(hashes, start=1):
        spec = read_json(results / "runs" / run / "spec.json") or {}
        phase = int(spec.get("phase", index))
        for task, result in _run_evaluations(results / "runs" / run / "eval").items():
            if isinstance(result, dict):
                rows.append(
                    {**result, "task": result.get("task", task), "phase": phase, "run": run}
                )
    return rows


def _run_evaluations(folder: Path) -> dict[str, Any]:
    combined = read_json(folder / "tasks.json")
    if isinstance(combined, dict) and isinstance(combined.get("tasks"), dict):
        return combined["tasks"]
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return {path.stem: read_json(path) for path in files}


def datasets(paths: list[Path]) -> list[dict[str, Any]]:
    """One row per prepared dataset: its READY.json merged with the train split of summary.csv."""
    rows = []
    for path in paths:
        ready = read_json(Path(path))
        if ready is None:
            raise ReportError(f"{path}: dataset READY.json not found (prepare the dataset first)")
        row = dict(ready)
        summary = read_csv(Path(path).parent / "summary.csv", ("split", "ids"))
        if summary is not None:
            row["splits"] = summary.to_dict(orient="records")
            train = summary[summary["split"] == "train"]
            if not train.empty:
                row.setdefault("num_train_pids", int(train["ids"].iloc[0]))
        rows.append(row)
    return rows


def benchmarks(results: Path) -> pd.DataFrame | None:
    """Wall time and peak memory per Snakemake rule, from `benchmarks/<rule>/**/*.tsv`."""
    folder = results / "benchmarks"
    rows = []
    for path in sorted(folder.rglob("*.tsv")) if folder.is_dir() else []:
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        if "s" not in frame.columns or frame.empty:
            continue
        rss = pd.to_numeric(frame.get("max_rss"), errors="coerce") if "max_rss" in frame else None
        rows.append(
            {
                "rule": path.relative_to(folder).parts[0]
                if len(path.relative_to(folder).parts) > 1
                else path.stem,
                "seconds": float(pd.to_numeric(frame["s"], errors="coerce").mean()),
                "max_rss": float(rss.max())
                if rss is not None and rss.notna().any()
                else float("nan"),
            }
        )
    if not rows:
        return None
    table = (
        pd.DataFrame(rows)
        .groupby("rule", sort=True)
        .agg(jobs=("seconds", "size"), seconds=("seconds", "sum"), max_rss=("max_rss", "max"))
    )
    return table.reset_index()


def optuna_studies(
    storage: str | Path | None, expected: dict[str, str] | None = None
) -> dict[str, Any]:
    """The Optuna studies (by ablation) of a journal file or an RDB URL; {} when there are none.

    With `expected` (ablation -> study name) only those studies are read; without it, a study
    named like an ablation."""
    if storage is None:
        return {}
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    text = str(storage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "://" not in text:
            if not Path(text).is_file():
                return {}
            from optuna.storages.journal import JournalFileBackend

            backend = optuna.storages.JournalStorage(JournalFileBackend(text))
        else:
            backend = text
        try:
            names = set(optuna.get_all_study_names(storage=backend))
            wanted = expected if expected is not None else {name: name for name in STUDIES}
            return {
                ablation: optuna.load_study(study_name=study_name, storage=backend)
                for ablation, study_name in wanted.items()
                if study_name in names
            }
        except Exception as exc:  # noqa: BLE001 - any storage failure is a user-facing error
            raise ReportError(f"Optuna storage {text}: cannot be read ({exc})") from None
