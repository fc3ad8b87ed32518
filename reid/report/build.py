"""Assemble the report: read the results, draw the figures, render one self-contained HTML file."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from reid.io import write_text
from reid.report import answer, compare, figures, inputs, lreid, methods, ranklists
from reid.tuning.studies import STUDIES

PACKAGES = ("torch", "torchvision", "optuna", "snakemake", "pandas", "seaborn")
# Headings come from the studies' registry (reid/tuning/studies.py): a new study appears here.
STUDY_TITLES = {name: study.heading for name, study in STUDIES.items()}


def build_report(
    results: Path,
    out_html: Path,
    *,
    config: dict | None,
    datasets: list[Path],
    provenance: Path | None,
    main_run_hashes: list[str],
    storage: str | None = None,
    studies: dict[str, str] | None = None,
    ranklist_files: list[Path] | None = None,
) -> Path:
    """Write the HTML report of `results` to `out_html` (atomically) and return its path.

    `studies` maps each ablation to the Optuna study of the config at hand; tables and best
    points of any other study (an earlier config in the same results folder) are left out.
    `ranklist_files`: JSON records of `reid ranklist` (default: `<results>/ranklists/*.json`).
    """
    results = Path(results)
    prov = inputs.read_json(provenance) or {}
    config = config or prov.get("config") or {}
    context = report_context(results, config, datasets, prov, main_run_hashes, storage, studies)
    if ranklist_files is None:
        ranklist_files = sorted((results / "ranklists").glob("*.json"))
    context["ranklists"] = ranklists.report_entries(list(ranklist_files))
    return write_text(out_html, render(context))


def render(context: dict[str, Any]) -> str:
    """The HTML page of a report context (every string escaped)."""
    from jinja2 import Environment, FileSystemLoader

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("index.html.j2").render(**context)


def is_synthetic(config: dict) -> bool:
    """Whether any task's data were generated rather than downloaded."""
    return any((task or {}).get("source") == "synthetic" for task in config.get("tasks") or [])


def report_context(
    results, config, dataset_paths, prov, hashes, storage, expected=None
) -> dict[str, Any]:
    """Everything the template shows."""
    main = inputs.main_results(results)
    hashes = list(hashes) or inputs.run_hashes_from(main)
    studies, best = inputs.study_results(results, expected)
    history = inputs.run_histories(results, hashes)
    ratio = figures.covariance_ratio(history[history["phase"] > 1] if history is not None else None)
    summary = inputs.continual_summary(results)
    tables = compare.paper_tables(
        main=main,
        studies=studies,
        best=best,
        config=config,
        datasets=inputs.datasets([Path(p) for p in dataset_paths]),
        noise=seed_noise(summary),
    )
    task_names = [task.get("name") for task in config.get("tasks") or []]
    return {
        "answer": answer.answer(
            studies.get("alpha"), inputs.continual(results), results, task_names
        ),
        "title": "Incremental person re-identification: report",
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "synthetic": is_synthetic(config),
        "tables": tables,
        "figures": {
            "history": figures.history_figure(history),
            "covariance": figures.covariance_figure(history),
            "cmc": figures.cmc_figure(inputs.evaluations(results, hashes)),
            "lambda": figures.lambda_figure(lambda_sweep(studies.get("lambda"))),
            "matrix": figures.matrix_figure(inputs.accuracy_matrix(results)),
        },
        "ratio_text": ratio_text(ratio),
        "runs": inputs.run_metrics(results, hashes),
        "studies": study_sections(results, config, studies, best, storage, expected),
        "comparison": methods.section(
            inputs.comparison(results),
            inputs.continual(results),
            summary,
            synthetic=is_synthetic(config),
        ),
        "lreid": lreid.section(results, config, synthetic=is_synthetic(config)),
        "provenance": provenance_context(results, config, prov),
    }


def seed_noise(summary: pd.DataFrame | None, method: str = "covariance") -> float | None:
    """Std over seeds of `method`'s mean Rank-1 over tasks after the last phase (the λ study's
    objective), when at least two seeds ran."""
    if summary is None:
        return None
    pick = summary[
        (summary["method"] == method)
        & (summary["metric"] == "rank1")
        & (summary["statistic"] == "average")
        & (summary["n"] >= 2)
    ]
    if pick.empty or pd.isna(pick["std"].iloc[0]):
        return None
    return float(pick["std"].iloc[0])


def ratio_text(ratio: float | None) -> str:
    """'the covariance term is 1e-15 of the cross-entropy' (median over the epochs of phase ≥ 2)."""
    if ratio is None:
        return "the covariance term was not recorded (or was zero) in the main run"
    return (
        f"the covariance term is {ratio:.0e} of the cross-entropy "
        "(median of cov / ce over the epochs after phase 1)"
    )


def lambda_sweep(study: pd.DataFrame | None) -> pd.DataFrame | None:
    """Long table (lam, series, value) of the λ study's completed trials."""
    if study is None:
        return None
    done = study[(study["state"].astype(str) == "COMPLETE") & study["value"].notna()].copy()
    if "param_lam" in done:
        done["lam"] = pd.to_numeric(done["param_lam"], errors="coerce")
    else:
        done["lam"] = pd.to_numeric(done["point"], errors="coerce")
    done = done.dropna(subset=["lam"]).rename(columns={"value": "objective (mean Rank-1)"})
    series = ["objective (mean Rank-1)"] + [c for c in done.columns if c.endswith("_rank1")]
    if done.empty:
        return None
    long = done.melt(id_vars=["lam"], value_vars=series, var_name="series", value_name="value")
    return long.dropna(subset=["value"])


def _storage(results: Path, config: dict, storage: str | None) -> str | Path:
    configured = storage or (config.get("optuna") or {}).get("storage")
    if configured and ("://" in configured or Path(configured).is_file()):
        return configured
    return results / "optuna" / "journal.log"


def study_sections(results, config, tables, best, storage, expected=None) -> list[dict]:
    """Optimisation history and parameter importances of each study."""
    loaded = inputs.optuna_studies(_storage(results, config, storage), expected)
    sections = []
    for name in inputs.STUDIES:
        study = loaded.get(name)
        notes = []
        if study is not None:
            trials = pd.DataFrame(
                [
                    {"number": t.number, "value": t.value, "state": t.state.name}
                    for t in study.get_trials(deepcopy=False)
                ],
                columns=["number", "value", "state"],
            )
            maximize = study.direction.name == "MAXIMIZE"
        else:
            trials = tables.get(name)
            maximize = (best.get(name) or {}).get("direction", "maximize") == "maximize"
            if trials is not None:
                notes.append("history read from the study table (no Optuna storage found)")
        if trials is None:
            sections.append({"name": name, "title": STUDY_TITLES[name], "run": False})
            continue
        done = trials[trials["state"].astype(str) == "COMPLETE"]
        importance, note = importances(study)
        if note:
            notes.append(note)
        sections.append(
            {
                "name": name,
                "title": STUDY_TITLES[name],
                "run": True,
                "counts": trials["state"].astype(str).value_counts().to_dict(),
                "best": best.get(name),
                "history": figures.optimisation_history_figure(done, name, maximize),
                "importance": figures.importance_figure(importance, name),
                "notes": notes,
            }
        )
    return sections


def importances(study) -> tuple[dict[str, float], str | None]:
    """Parameter importances, or a note saying why there are none."""
    if study is None:
        return {}, "parameter importance needs the Optuna storage"
    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}, f"parameter importance needs at least 2 completed trials ({len(complete)})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(study)
    except Exception as exc:  # noqa: BLE001 - optuna raises several types for too little data
        return {}, f"parameter importance not available: {exc}"
    if not found:
        return {}, "parameter importance not available: no parameters varied"
    return dict(found), None


def frame_table(frame: pd.DataFrame | None) -> dict[str, Any] | None:
    """Headers and formatted cells of a small table, or None."""
    if frame is None:
        return None

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "—" if pd.isna(value) else f"{value:.2f}"
        return str(value)

    return {
        "headers": [str(c) for c in frame.columns],
        "rows": [[cell(v) for v in row] for row in frame.itertuples(index=False)],
    }


def _first(mapping: dict, *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) not in (None, ""):
            return mapping[key]
    return None


def provenance_context(results: Path, config: dict, prov: dict) -> dict[str, Any]:
    """Config as YAML, commit, package versions, device and wall time per rule."""
    recorded = _first(prov, "packages", "versions", "package_versions") or {}
    versions = []
    for name in PACKAGES:
        if name in recorded:
            versions.append((name, str(recorded[name]), "workflow"))
            continue
        try:
            versions.append((name, importlib.metadata.version(name), "report environment"))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed", "report environment"))
    commit = _first(prov, "git_commit", "commit", "git")
    if isinstance(commit, dict):
        commit = _first(commit, "commit", "sha", "hash")
    device = _first(prov, "device")
    return {
        "config_yaml": yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        if config
        else "no config given",
        "commit": str(commit) if commit else "unknown",
        "device": device
        if isinstance(device, str)
        else (yaml.safe_dump(device).strip() if device else "unknown"),
        "versions": versions,
        "benchmarks": frame_table(inputs.benchmarks(results)),
    }
