"""The paper's seven tables beside ours, with one-line trends (which setting wins, by how much,
in which direction). Each is fed by the study that names it (`reid/tuning/studies.py`) or, for
the datasets and results tables, computed from the main run by the `main_results` job."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from reid import paper
from reid.helpers import finite_number
from reid.report_tables.base import (
    NOT_RUN,
    Row,
    TableInputs,
    line_figure,
    mean_value,
    paper_table,
    point_means,
    register_report_table,
    top_points,
    versus,
)

RANK1_TASK1 = "Rank-1, task 1 after phase 1"


@register_report_table("optimizer", "Optimiser", "Section 3.3: Rank-1 on the first task.", order=10)
def optimizer_table(inputs: TableInputs) -> dict[str, Any]:
    ours = point_means(inputs.study, lambda p: p.strip().lower() or None)
    rows = [
        Row(paper.OPTIMIZER_LABELS[key], RANK1_TASK1, value, mean_value(ours.get(key)))
        for key, value in paper.OPTIMIZER.items()
    ]
    adam, sgd = rows
    return paper_table(
        rows, [versus("SGD+CLR", "Adam", (sgd.paper, adam.paper), (sgd.ours, adam.ours))]
    )


@register_report_table(
    "batch_size", "Batch size", "Section 3.3: Rank-1 on the first task.", order=20
)
def batch_size_table(inputs: TableInputs) -> dict[str, Any]:
    ours = point_means(
        inputs.study, lambda p: int(float(p)) if finite_number(p) is not None else None
    )
    rows = [
        Row(f"batch size {size}", RANK1_TASK1, value, mean_value(ours.get(size)))
        for size, value in paper.BATCH_SIZE.items()
    ]
    small, large = rows
    trend = versus(
        "batch size 32", "batch size 64", (small.paper, large.paper), (small.ours, large.ours)
    )
    return paper_table(rows, [trend])


@register_report_table(
    "hyperparameters",
    "Covariance-loss hyperparameters",
    "Section 3.4: the values the paper settled on, beside the best of our λ study.",
    order=30,
)
def hyperparameter_table(inputs: TableInputs) -> dict[str, Any]:
    best = inputs.best or {}
    covariance = (inputs.config.get("method") or {}).get("covariance") or {}
    found = {k.removeprefix("param_"): v for k, v in (best.get("best_params") or {}).items()}
    tied = [str(point) for point in best.get("tied") or []]
    objective = finite_number(best.get("best_value"))
    rows = []
    for key, value in paper.HYPERPARAMETERS.items():
        label = paper.HYPERPARAMETER_LABELS[key]
        if key in found:
            rows.append(
                Row(label, "value", value, finite_number(found[key]), "best of the λ study", "")
            )
        elif key != "lam" and finite_number(covariance.get(key)) is not None:
            config_value = finite_number(covariance[key])
            rows.append(
                Row(label, "value", value, config_value, "from the config (not searched)", "")
            )
        elif key == "lam" and tied:
            detail = f"λ = {', '.join(tied)} tie" + (f" at {objective:.1f}" if objective else "")
            rows.append(Row(label, "value", value, None, detail, "", missing="no best (tie)"))
        else:
            rows.append(Row(label, "value", value, None, "", ""))
    return paper_table(rows, [_hyperparameter_trend(rows[0], tied, objective)])


def _hyperparameter_trend(lam: Row, tied: list[str], objective: float | None) -> str:
    if tied:
        value = f" ({objective:.1f})" if objective is not None else ""
        return (
            f"paper: λ = {lam.paper:g}; ours: no best λ — λ = {', '.join(tied)} "
            f"reach the same objective{value}, so the study cannot pick one"
        )
    if lam.ours is None:
        return f"paper: λ = {lam.paper:g}; ours: λ study {NOT_RUN}"
    verdict = "same λ" if math.isclose(lam.ours, lam.paper) else "different λ"
    extra = f" (objective {objective:.1f})" if objective is not None else ""
    return f"paper: λ = {lam.paper:g}; ours: best λ = {lam.ours:g}{extra} — {verdict}"


@register_report_table(
    "lambda",
    "λ sweep",
    "Section 3.4: Rank-1 after phase 2 per λ (ours: mean Rank-1 of tasks 1 and 2; "
    f"the paper trained {paper.LAMBDA_EPOCHS} epochs).",
    order=40,
    needs=("summary",),
)
def lambda_table(inputs: TableInputs) -> dict[str, Any]:
    ours = point_means(
        inputs.study, lambda p: round(float(p), 6) if finite_number(p) is not None else None
    )
    rows = []
    for lam, value in paper.LAMBDA.items():
        means = ours.get(round(lam, 6))
        detail = ""
        if means is not None:
            detail = ", ".join(
                f"{column.removesuffix('_rank1')} {means[column]:.1f}"
                for column in means.index
                if column.endswith("_rank1") and finite_number(means[column]) is not None
            )
        rows.append(Row(f"λ = {lam:g}", "Rank-1 (objective)", value, mean_value(means), detail))
    trend = lambda_trend(rows, seed_noise(inputs.summary))
    return paper_table(rows, [trend], lambda_figure(inputs.study))


def seed_noise(summary: pd.DataFrame | None, method: str = "covariance") -> float | None:
    """Std over seeds of `method`'s mean Rank-1 over tasks after the last phase (the λ study's
    objective), when the comparison ran at least two seeds."""
    if summary is None or summary.empty:
        return None
    pick = summary[
        (summary["method"] == method)
        & (summary["metric"] == "rank1")
        & (summary["statistic"] == "average")
        & (summary["n"] >= 2)
    ]
    return None if pick.empty else finite_number(pick["std"].iloc[0])


def lambda_trend(rows: list[Row], noise: float | None = None) -> str:
    """Best λ of the paper and ours; no best of ours where the top points are equal, or
    closer than the seed noise (std over seeds of the same objective) when it is known."""
    tolerance = max(noise or 0.0, 1e-9)

    def summary(values: dict[str, float], tol: float) -> str:
        if not values:
            return NOT_RUN
        spread = max(values.values()) - min(values.values())
        top = top_points(values, tol)
        if len(top) > 1:
            within = f"within the seed noise ({noise:.1f} points)" if noise else "equal"
            return f"no best: {', '.join(top)} are {within}, range {spread:.1f} points"
        return f"best {top[0]} ({values[top[0]]:.1f}), range {spread:.1f} points"

    paper_values = {row.setting: row.paper for row in rows if row.paper is not None}
    ours_values = {row.setting: row.ours for row in rows if row.ours is not None}
    text = f"paper: {summary(paper_values, 1e-9)}; ours: {summary(ours_values, tolerance)}"
    if ours_values and len(top_points(ours_values, tolerance)) == 1:
        same = top_points(ours_values, tolerance)[0] == max(paper_values, key=paper_values.get)
        text += " — same best λ" if same else " — different best λ"
    return text


def lambda_figure(study: pd.DataFrame | None) -> dict[str, Any] | None:
    """Objective and per-task Rank-1 of the λ study's completed trials against λ."""
    if study is None:
        return None
    done = study[(study["state"].astype(str) == "COMPLETE") & study["value"].notna()].copy()
    source = done["param_lam"] if "param_lam" in done else done["point"]
    done["lam"] = pd.to_numeric(source, errors="coerce")
    done = done.dropna(subset=["lam"]).rename(columns={"value": "objective (mean Rank-1)"})
    series = ["objective (mean Rank-1)"] + [c for c in done.columns if c.endswith("_rank1")]
    if done.empty:
        return None
    long = done.melt(id_vars=["lam"], value_vars=series, var_name="series", value_name="value")
    long = long.dropna(subset=["value"])
    points = [
        {"x": float(r.lam), "series": str(r.series), "value": float(r.value)}
        for r in long.itertuples()
    ]
    reference = [{"x": lam, "value": value} for lam, value in paper.LAMBDA.items()]
    panel = {"title": "λ sweep", "x": "λ", "y": "Rank-1 (%)", "points": points}
    return line_figure(
        "Study objective and per-task Rank-1 against λ; stars: the paper's values after "
        f"{paper.LAMBDA_EPOCHS} epochs.",
        [panel | {"reference": reference}],
        f"paper (Rank-1, {paper.LAMBDA_EPOCHS} epochs)",
    )


@register_report_table(
    "datasets",
    "Datasets",
    "Section 4.1: identities of the training splits.",
    order=50,
    source="main",
)
def datasets_table(inputs: TableInputs) -> dict[str, Any]:
    rows = []
    seen = set()
    for entry in inputs.datasets:
        name = str(entry.get("dataset", ""))
        label, identities = paper.DATASETS.get(name, (name, None))
        seen.add(name)
        train = next((s for s in entry.get("splits", []) if s.get("split") == "train"), {})
        detail = ", ".join(f"{train[k]} {k}" for k in ("images", "cameras") if k in train)
        task = entry.get("task", "")
        setting = f"{label} (task {task})" if task else label
        ours = finite_number(entry.get("num_train_pids"))
        rows.append(Row(setting, "training identities", identities, ours, detail, ""))
    for name, (label, identities) in paper.DATASETS.items():
        if name not in seen:
            rows.append(Row(label, "training identities", identities, None, "", ""))
    paper_total = sum(row.paper for row in rows if row.paper is not None)
    ours = [row.ours for row in rows if row.ours is not None and row.paper is not None]
    if ours:
        share = 100.0 * sum(ours) / paper_total
        trend = (
            f"paper: {paper_total:g} training identities in all; ours: {sum(ours):g} "
            f"({share:.1f}% of the paper's)"
        )
    else:
        trend = f"paper: {paper_total:g} training identities in all; ours: {NOT_RUN}"
    return paper_table(rows, [trend])


def _ensemble_key(point: str) -> tuple[str, int] | None:
    name, _, epochs = point.partition("@")
    return (name.strip(), int(float(epochs))) if finite_number(epochs) is not None else None


@register_report_table(
    "ensembling",
    "Ensembling",
    "Section 4.2: Rank-1 of the second task (ours: the two distinct epoch counts of the study "
    "stand for the paper's 100 and 500).",
    order=60,
)
def ensembling_table(inputs: TableInputs) -> dict[str, Any]:
    ours = point_means(inputs.study, _ensemble_key)
    epochs = sorted({key[1] for key in ours})
    length = {
        "short": epochs[0] if epochs else None,
        "long": epochs[-1] if len(epochs) > 1 else None,
    }
    rows = []
    values: dict[tuple[str, str], Row] = {}
    for method in paper.ENSEMBLING_LABELS:
        for span in ("short", "long"):
            count = length[span]
            means = ours.get((method, count)) if count is not None else None
            row = Row(
                f"{paper.ENSEMBLING_LABELS[method]}, {paper.ENSEMBLING_EPOCHS[span]} epochs",
                "Rank-1, task 2",
                paper.ENSEMBLING.get((method, span)),
                mean_value(means),
                f"ours trained {count} epochs" if means is not None else "",
            )
            if row.paper is not None or row.ours is not None:
                rows.append(row)
            values[(method, span)] = row
    short, long_ = values[("base_second", "short")], values[("base_second", "long")]
    both = values[("both", "short")]
    trends = [
        versus(
            "the long run",
            "the short run",
            (long_.paper, short.paper),
            (long_.ours, short.ours),
            prefix="base + second pipeline, ",
        ),
        versus(
            "base + second",
            "both pipelines",
            (short.paper, both.paper),
            (short.ours, both.ours),
            prefix="short runs, ",
        ),
    ]
    return paper_table(rows, trends)


@register_report_table(
    "results",
    "Results",
    "Section 4.3: each task after the phase that trained it, and task 1 again after phase 2 "
    "(no training, retro-evaluation).",
    order=70,
    source="main",
)
def result_table(inputs: TableInputs) -> dict[str, Any]:
    main = inputs.main
    tasks = _task_order(main)
    rows = []
    keyed: dict[tuple[int, int, str], Row] = {}
    covered = set()
    for (phase, index), metrics in paper.RESULTS.items():
        task = tasks[index - 1] if index <= len(tasks) else None
        covered.add((phase, task))
        found = _result_row(main, phase, task)
        name = f"{paper.RESULT_TASK_LABELS[index]} (task {index}{': ' + task if task else ''})"
        for metric, value in metrics.items():
            ours = finite_number(found[metric]) if found is not None else None
            row = Row(f"{name}, after phase {phase}", paper.METRIC_LABELS[metric], value, ours)
            keyed[(phase, index, metric)] = row
            rows.append(row)
    rows += _rows_not_in_the_paper(main, covered)
    return paper_table(rows, _result_trends(keyed), matrix_figure(main))


def _rows_not_in_the_paper(main: pd.DataFrame | None, covered: set) -> list[Row]:
    rows = []
    if main is None:
        return rows
    for record in main.sort_values("phase", kind="stable").to_dict(orient="records"):
        if (int(record["phase"]), str(record["task"])) in covered:
            continue
        for metric in ("rank1", "rank20", "mAP"):
            rows.append(
                Row(
                    f"{record['task']}, after phase {record['phase']}",
                    paper.METRIC_LABELS[metric],
                    None,
                    finite_number(record[metric]),
                    "not in the paper",
                )
            )
    return rows


def _result_trends(keyed: dict[tuple[int, int, str], Row]) -> list[str]:
    trends = []
    for metric in ("rank1", "mAP"):
        label = paper.METRIC_LABELS[metric]
        before, after = keyed[(1, 1, metric)], keyed[(2, 1, metric)]
        paper_drop = before.paper - after.paper
        if before.ours is None or after.ours is None:
            trends.append(
                f"task 1 {label}: {NOT_RUN} (paper: drops by {paper_drop:.1f} points after phase 2)"
            )
            continue
        ours_drop = before.ours - after.ours
        verb = "drops" if ours_drop >= 0 else "rises"
        trends.append(
            f"task 1 {label} {verb} by {abs(ours_drop):.1f} points after phase 2 "
            f"(paper: drops by {paper_drop:.1f})"
        )
    return trends


def _task_order(main: pd.DataFrame | None) -> list[str]:
    if main is None or main.empty:
        return []
    ordered = main.sort_values("phase", kind="stable")
    first_phase = ordered.groupby("task", sort=False)["phase"].min().sort_values(kind="stable")
    return [str(task) for task in first_phase.index]


def _result_row(main: pd.DataFrame | None, phase: int, task: str | None):
    if main is None or task is None:
        return None
    match = main[(main["phase"] == phase) & (main["task"].astype(str) == task)]
    return None if match.empty else match.iloc[0]


def matrix_figure(main: pd.DataFrame | None) -> dict[str, Any] | None:
    """Each task's Rank-1 and mAP after each training step, with the paper's task-1 points."""
    if main is None or main.empty:
        return None
    panels = []
    for metric in ("rank1", "mAP"):
        if metric not in main:
            continue
        label = paper.METRIC_LABELS[metric]
        points = [
            {"x": int(r.phase), "series": str(r.task), "value": float(getattr(r, metric))}
            for r in main.itertuples()
        ]
        reference = [
            {"x": 1, "value": paper.RESULTS[(1, 1)][metric]},
            {"x": 2, "value": paper.RESULTS[(2, 1)][metric]},
        ]
        panels.append(
            {
                "title": f"{label} of each task",
                "x": "after training step",
                "y": f"{label} (%)",
                "points": points,
                "reference": reference,
                "reference_line": True,
                "integer_x": True,
            }
        )
    return line_figure(
        "Each task's accuracy after each training step (the accuracy matrix); stars: the "
        "paper's task 1 before and after phase 2.",
        panels,
        "paper, task 1",
    )
