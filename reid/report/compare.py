"""The paper's tables beside ours: rows of (paper, ours, ours − paper) and one-line trends."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reid.report import paper

NOT_RUN = "not run"


@dataclass
class Row:
    """One compared value; `ours` is None when that part of the workflow did not run."""

    setting: str
    metric: str
    paper: float | None
    ours: float | None
    detail: str = ""
    unit: str = "%"

    @property
    def diff(self) -> float | None:
        if self.paper is None or self.ours is None:
            return None
        return self.ours - self.paper

    def text(self, value: float | None, *, signed: bool = False, missing: str = "—") -> str:
        if value is None:
            return missing
        if self.unit == "%":
            return f"{value:+.1f}" if signed else f"{value:.1f}"
        return f"{value:+.3g}" if signed else f"{value:.3g}"

    @property
    def paper_text(self) -> str:
        return self.text(self.paper)

    @property
    def ours_text(self) -> str:
        return self.text(self.ours, missing=NOT_RUN)

    @property
    def diff_text(self) -> str:
        return self.text(self.diff, signed=True)


@dataclass
class Table:
    """One of the paper's tables with our values and the trend verdicts."""

    id: str
    title: str
    caption: str
    rows: list[Row]
    trends: list[str] = field(default_factory=list)


def _num(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def completed(study: pd.DataFrame | None) -> pd.DataFrame | None:
    """The completed trials of a study table (grid trials preferred when there are any)."""
    if study is None:
        return None
    done = study[(study["state"].astype(str) == "COMPLETE") & study["value"].notna()]
    if "source" in done and (done["source"] == "grid").any():
        done = done[done["source"] == "grid"]
    return done[done["point"].notna()]


def point_means(study: pd.DataFrame | None, parse) -> dict[Any, pd.Series]:
    """Mean of every numeric column per grid point (key = `parse(point)`, None keys dropped)."""
    done = completed(study)
    if done is None or done.empty:
        return {}
    keys = done["point"].astype(str).map(parse)
    numeric = done.select_dtypes("number").assign(_key=keys).dropna(subset=["_key"])
    return {key: group.drop(columns="_key").mean() for key, group in numeric.groupby("_key")}


def versus(name_a: str, name_b: str, paper_pair, ours_pair, prefix: str = "") -> str:
    """'paper: A beats B by x points; ours: ... — same direction'."""

    def phrase(a: float | None, b: float | None) -> str:
        if a is None or b is None:
            return NOT_RUN
        if a == b:
            return f"{name_a} and {name_b} tie"
        winner, loser = (name_a, name_b) if a > b else (name_b, name_a)
        return f"{winner} beats {loser} by {abs(a - b):.1f} points"

    text = f"{prefix}paper: {phrase(*paper_pair)}; ours: {phrase(*ours_pair)}"
    if None in ours_pair or None in paper_pair:
        return text
    same = (paper_pair[0] - paper_pair[1]) * (ours_pair[0] - ours_pair[1]) > 0
    return text + (" — same direction" if same else " — opposite direction")


def optimizer_table(study: pd.DataFrame | None) -> Table:
    ours = point_means(study, lambda p: p.strip().lower() or None)
    rows = [
        Row(
            paper.OPTIMIZER_LABELS[key],
            "Rank-1, task 1 after phase 1",
            value,
            _num(ours[key]["value"]) if key in ours else None,
        )
        for key, value in paper.OPTIMIZER.items()
    ]
    adam, sgd = rows
    trend = versus("SGD+CLR", "Adam", (sgd.paper, adam.paper), (sgd.ours, adam.ours))
    return Table(
        "table-optimizer", "Optimiser", "Section 3.3: Rank-1 on the first task.", rows, [trend]
    )


def batch_size_table(study: pd.DataFrame | None) -> Table:
    ours = point_means(study, lambda p: int(float(p)) if _num(p) is not None else None)
    rows = [
        Row(
            f"batch size {size}",
            "Rank-1, task 1 after phase 1",
            value,
            _num(ours[size]["value"]) if size in ours else None,
        )
        for size, value in paper.BATCH_SIZE.items()
    ]
    small, large = rows
    trend = versus(
        "batch size 32", "batch size 64", (small.paper, large.paper), (small.ours, large.ours)
    )
    return Table(
        "table-batch-size", "Batch size", "Section 3.3: Rank-1 on the first task.", rows, [trend]
    )


def hyperparameter_table(best: dict | None, config: dict) -> Table:
    covariance = ((config.get("method") or {}).get("covariance")) or {}
    found = dict((best or {}).get("best_params") or {})
    found = {key.removeprefix("param_"): value for key, value in found.items()}
    rows = []
    for key, value in paper.HYPERPARAMETERS.items():
        label = paper.HYPERPARAMETER_LABELS[key]
        if key in found:
            rows.append(Row(label, "value", value, _num(found[key]), "best of the λ study", ""))
        elif key != "lam" and _num(covariance.get(key)) is not None:
            rows.append(
                Row(
                    label,
                    "value",
                    value,
                    _num(covariance[key]),
                    "from the config (not searched)",
                    "",
                )
            )
        else:
            rows.append(Row(label, "value", value, None, "", ""))
    lam = rows[0]
    tied = (best or {}).get("tied") or []
    if tied:
        objective = _num((best or {}).get("best_value"))
        value = f" ({objective:.1f})" if objective is not None else ""
        trend = (
            f"paper: λ = {lam.paper:g}; ours: no best λ — λ = {', '.join(map(str, tied))} "
            f"reach the same objective{value}, so the study cannot pick one"
        )
    elif lam.ours is None:
        trend = f"paper: λ = {lam.paper:g}; ours: λ study {NOT_RUN}"
    else:
        verdict = "same λ" if math.isclose(lam.ours, lam.paper) else "different λ"
        objective = _num((best or {}).get("best_value"))
        extra = f" (objective {objective:.1f})" if objective is not None else ""
        trend = f"paper: λ = {lam.paper:g}; ours: best λ = {lam.ours:g}{extra} — {verdict}"
    return Table(
        "table-hyperparameters",
        "Covariance-loss hyperparameters",
        "Section 3.4: the values the paper settled on, beside the best of our λ study.",
        rows,
        [trend],
    )


def lambda_table(study: pd.DataFrame | None, noise: float | None = None) -> Table:
    ours = point_means(study, lambda p: round(float(p), 6) if _num(p) is not None else None)
    rows = []
    for lam, value in paper.LAMBDA.items():
        means = ours.get(round(lam, 6))
        detail = ""
        if means is not None:
            detail = ", ".join(
                f"{column.removesuffix('_rank1')} {means[column]:.1f}"
                for column in means.index
                if column.endswith("_rank1") and _num(means[column]) is not None
            )
        rows.append(
            Row(
                f"λ = {lam:g}",
                "Rank-1 (objective)",
                value,
                _num(means["value"]) if means is not None else None,
                detail,
            )
        )
    return Table(
        "table-lambda",
        "λ sweep",
        "Section 3.4: Rank-1 after phase 2 per λ (ours: mean Rank-1 of tasks 1 and 2; "
        f"the paper trained {paper.LAMBDA_EPOCHS} epochs).",
        rows,
        [_lambda_trend(rows, noise)],
    )


def top_points(values: dict[str, float], tolerance: float = 1e-9) -> list[str]:
    """Settings whose value is within `tolerance` of the best (one entry: a clear best)."""
    top = max(values.values())
    return [key for key, value in values.items() if top - value <= tolerance]


def _lambda_trend(rows: list[Row], noise: float | None = None) -> str:
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


def datasets_table(datasets: list[dict]) -> Table:
    rows = []
    seen = set()
    for entry in datasets:
        name = str(entry.get("dataset", ""))
        label, identities = paper.DATASETS.get(name, (name, None))
        seen.add(name)
        train = next((s for s in entry.get("splits", []) if s.get("split") == "train"), {})
        detail = ", ".join(f"{train[k]} {k}" for k in ("images", "cameras") if k in train)
        task = entry.get("task", "")
        rows.append(
            Row(
                f"{label} (task {task})" if task else label,
                "training identities",
                identities,
                _num(entry.get("num_train_pids")),
                detail,
                "",
            )
        )
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
    return Table(
        "table-datasets",
        "Datasets",
        "Section 4.1: identities of the training splits.",
        rows,
        [trend],
    )


def _ensemble_key(point: str) -> tuple[str, int] | None:
    name, _, epochs = point.partition("@")
    return (name.strip(), int(float(epochs))) if _num(epochs) is not None else None


def ensembling_table(study: pd.DataFrame | None) -> Table:
    ours = point_means(study, _ensemble_key)
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
                _num(means["value"]) if means is not None else None,
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
    return Table(
        "table-ensembling",
        "Ensembling",
        "Section 4.2: Rank-1 of the second task (ours: the two distinct epoch counts of "
        "the study stand for the paper's 100 and 500).",
        rows,
        trends,
    )


def result_table(main: pd.DataFrame | None) -> Table:
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
            ours = _num(found[metric]) if found is not None else None
            row = Row(f"{name}, after phase {phase}", paper.METRIC_LABELS[metric], value, ours)
            keyed[(phase, index, metric)] = row
            rows.append(row)
    if main is not None:
        for record in main.sort_values("phase", kind="stable").to_dict(orient="records"):
            if (int(record["phase"]), str(record["task"])) in covered:
                continue
            for metric in ("rank1", "rank20", "mAP"):
                rows.append(
                    Row(
                        f"{record['task']}, after phase {record['phase']}",
                        paper.METRIC_LABELS[metric],
                        None,
                        _num(record[metric]),
                        "not in the paper",
                    )
                )
    return Table(
        "table-results",
        "Results",
        "Section 4.3: each task after the phase that trained it, and task 1 again after "
        "phase 2 (no training, retro-evaluation).",
        rows,
        _result_trends(keyed),
    )


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


def paper_tables(
    *, main, studies: dict, best: dict, config: dict, datasets: list, noise: float | None = None
) -> list[Table]:
    """All seven of the paper's tables, in the paper's order. `noise`: std over seeds of the
    paper method's two-task mean Rank-1 (from the comparison), when known."""
    return [
        optimizer_table(studies.get("optimizer")),
        batch_size_table(studies.get("batch_size")),
        hyperparameter_table(best.get("lambda"), config),
        lambda_table(studies.get("lambda"), noise),
        datasets_table(datasets),
        ensembling_table(studies.get("ensembling")),
        result_table(main),
    ]
