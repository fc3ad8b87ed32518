"""Beyond the paper: the method comparison of the report (baselines, continual metrics, seeds),
computed by the `comparison` job: seed statistics of every method, mean accuracy matrices, and
the verdicts in words (how much fine-tuning forgets, joint vs sequential, what exceeds the
seed noise)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from reid import paper
from reid.continual.table import PAPER_METHOD, paired_differences, seed_summary, separated
from reid.helpers import finite_number
from reid.strategies import method_labels

# Labels come from the strategies' registry (reid/strategies/): a new strategy appears here.
METHOD_LABELS: dict[str, str] = method_labels()
OURS = PAPER_METHOD
JOINT = "joint"
FINETUNE = "finetune"
METRICS = ("mAP", "rank1")
STATISTICS: dict[str, str] = {
    "average": "average after the last step",
    "forgetting": "forgetting",
    "bwt": "BWT",
    "task1_first": "task 1 after step 1",
    "task1_final": "task 1 after the last step",
}
CLEAR_DROP = 5.0
VALUE_COLUMNS = ("average", "forgetting", "bwt", "task1_first", "task1_final")
STAT_KEYS = ("n", "mean", "std", "ci95_low", "ci95_high")


def method_order(methods: list[str]) -> list[str]:
    """Known methods in their canonical order, then any others alphabetically."""
    known = [m for m in METHOD_LABELS if m in methods]
    return known + sorted(set(methods) - set(known))


def complete_continual(continual: pd.DataFrame) -> pd.DataFrame:
    """continual.csv with every value column present (missing ones read as NaN)."""
    frame = continual.copy()
    for column in ("seed", *VALUE_COLUMNS):
        if column not in frame:
            frame[column] = 0 if column == "seed" else math.nan
    return frame


def full_summary(continual: pd.DataFrame | None, summary: pd.DataFrame | None) -> pd.DataFrame:
    """Seed statistics of every column of continual.csv (task 1 after step 1 included)."""
    if continual is None or continual.empty:
        return summary if summary is not None else pd.DataFrame()
    continual = complete_continual(continual)
    base = summary if summary is not None and not summary.empty else seed_summary(continual)
    first = seed_summary(continual.assign(task1_final=continual["task1_first"]))
    first = first[first["statistic"] == "task1_final"].assign(statistic="task1_first")
    return pd.concat([base, first], ignore_index=True)


def stat(summary: pd.DataFrame, method: str, metric: str, statistic: str) -> dict[str, Any]:
    """{n, mean, std, ci95_low, ci95_high} of one method's statistic ({} when absent)."""
    pick = summary[
        (summary["method"] == method)
        & (summary["metric"] == metric)
        & (summary["statistic"] == statistic)
    ]
    return pick.iloc[0].to_dict() if not pick.empty else {}


def mean_matrix(results: pd.DataFrame, method: str, metric: str) -> pd.DataFrame:
    """Mean over seeds of a method's metric: rows training steps, columns task names."""
    frame = results[results["method"] == method]
    tasks = frame.drop_duplicates("task_index").sort_values("task_index")["task"].astype(str)
    matrix = frame.pivot_table(index="step", columns="task_index", values=metric, aggfunc="mean")
    matrix.index = [int(s) for s in matrix.index]
    matrix.columns = list(tasks)
    return matrix


def _mean(summary: pd.DataFrame, method: str, metric: str, statistic: str) -> float | None:
    return finite_number(stat(summary, method, metric, statistic).get("mean"))


def _seeds(summary: pd.DataFrame, methods: list[str], metric: str) -> int:
    """The fewest seeds any of `methods` has for `metric` (0 when none was run)."""
    counts = [stat(summary, m, metric, "task1_final").get("n") for m in methods]
    counts = [int(c) for c in counts if finite_number(c) is not None]
    return min(counts) if counts else 0


def _label(method: str) -> str:
    return method if method in METHOD_LABELS else f"'{method}'"


def forgetting_verdict(summary: pd.DataFrame, metric: str) -> str:
    """How much fine-tuning forgets task 1 (the numbers always stated)."""
    label = paper.METRIC_LABELS[metric]
    first = _mean(summary, FINETUNE, metric, "task1_first")
    final = _mean(summary, FINETUNE, metric, "task1_final")
    if first is None or final is None:
        return f"finetune: not run, so its forgetting of task 1 ({label}) is unknown."
    drop = first - final
    forget = _mean(summary, FINETUNE, metric, "forgetting")
    numbers = f"forgetting {forget:.1f}" if forget is not None else "forgetting n/a"
    if drop < 0:
        return (
            f"finetune does not forget task 1 on this data: {label} rises from {first:.1f} "
            f"to {final:.1f} (+{-drop:.1f} points, {numbers})."
        )
    change = f"{label} drops from {first:.1f} to {final:.1f} (−{drop:.1f} points, {numbers})"
    if drop >= CLEAR_DROP:
        return f"finetune clearly forgets task 1: {change}."
    return (
        f"finetune forgets task 1: {change}; the forgetting is small on this data "
        f"(under {CLEAR_DROP:.0f} points)."
    )


def _joint_reasons(
    summary: pd.DataFrame, metric: str, ahead: list[str], synthetic: bool
) -> list[str]:
    """Plausible reasons why a sequential method beats joint training on task 1."""
    shared = (
        "on the generated data the domains share identity attributes, so training on a later "
        "task also serves task 1 and there is little to forget"
        if synthetic
        else "the domains share appearance cues, so training on a later task can also serve task 1"
    )
    reasons = [
        shared,
        "the phases are short and joint training splits its epochs over all tasks, so it "
        "makes fewer updates on task 1 than a sequential method's first step",
    ]
    n = _seeds(summary, [JOINT, *ahead], metric)
    if n < 2:
        reasons.append("with one seed these differences may well be within seed noise")
        return reasons
    apart = [m for m in ahead if separated(summary, metric, "task1_final", m, JOINT)]
    if apart:
        within = [m for m in ahead if m not in apart]
        rest = f", those of {', '.join(within)} do (within seed noise)" if within else ""
        reasons.append(
            f"with {n} seeds the 95% intervals of {', '.join(apart)} and joint do not overlap{rest}"
        )
    else:
        reasons.append(f"with {n} seeds all these 95% intervals overlap joint's (seed noise)")
    return reasons


def joint_verdict(summary: pd.DataFrame, metric: str, synthetic: bool) -> str:
    """Whether joint training is at least as good on task 1 as every sequential method."""
    label = paper.METRIC_LABELS[metric]
    joint = _mean(summary, JOINT, metric, "task1_final")
    methods = method_order(list(summary["method"].unique())) if not summary.empty else []
    finals = {m: _mean(summary, m, metric, "task1_final") for m in methods if m != JOINT}
    sequential = {m: v for m, v in finals.items() if v is not None}
    if joint is None or not sequential:
        return f"joint vs sequential ({label}): not run (needs joint and a sequential method)."
    ahead = {m: v - joint for m, v in sequential.items() if round(v - joint, 1) > 0}
    if not ahead:
        best = max(sequential, key=sequential.__getitem__)
        return (
            f"joint is at least as good on task 1 as every sequential method: {label} of task 1 "
            f"after the last step {joint:.1f} (best sequential method: {_label(best)}, "
            f"{sequential[best]:.1f})."
        )
    beats = ", ".join(f"{_label(m)} by {d:.1f} points" for m, d in ahead.items())
    reasons = "; ".join(_joint_reasons(summary, metric, list(ahead), synthetic))
    return (
        f"joint is not the best on task 1: {beats} ({label} of task 1 after the last step; "
        f"joint {joint:.1f}). Plausible reasons: {reasons}."
    )


def _seed_text(summary: pd.DataFrame, methods: list[str], metric: str) -> str:
    """'3 seeds' when every method has as many, else 'at least 2 seeds'."""
    counts = {int(stat(summary, m, metric, "task1_final").get("n") or 0) for m in methods}
    fewest = min(counts)
    return f"{fewest} seeds" if len(counts) == 1 else f"at least {fewest} seeds"


def _grouped(summary: pd.DataFrame, metric: str, checks: list[tuple[str, str]]) -> str:
    """'task 1 after the last step: finetune (+6.0), lwf (-1.0); average ...' (ours − theirs)."""
    groups = []
    for statistic in ("task1_final", "average"):
        ours = _mean(summary, OURS, metric, statistic)
        items = []
        for baseline in (b for b, s in checks if s == statistic):
            theirs = _mean(summary, baseline, metric, statistic)
            diff = f" ({ours - theirs:+.1f})" if ours is not None and theirs is not None else ""
            items.append(f"{_label(baseline)}{diff}")
        if items:
            groups.append(f"{STATISTICS[statistic]}: {', '.join(items)}")
    return "; ".join(groups)


PAIRED_STATISTICS = ("task1_final", "forgetting", "average")


def _paired_items(paired: pd.DataFrame, apart: bool) -> str:
    """'finetune: task 1 after the last step +6.0 [2.1, 9.9]; ...' for one verdict group."""
    groups = []
    for baseline in method_order(list(paired["baseline"].unique())):
        rows = paired[(paired["baseline"] == baseline) & (paired["exceeds_noise"] == apart)]
        items = [
            f"{STATISTICS[r.statistic]} {r.mean:+.1f} [{r.ci95_low:+.1f}, {r.ci95_high:+.1f}]"
            for r in rows.itertuples()
            if r.statistic in PAIRED_STATISTICS
        ]
        if items:
            groups.append(f"{_label(baseline)}: {', '.join(items)}")
    return "; ".join(groups)


def paired_verdict(paired: pd.DataFrame, metric: str) -> str | None:
    """Covariance minus each baseline, paired by seed; None with fewer than two paired seeds."""
    if paired is None or paired.empty:
        return None
    rows = paired[(paired["metric"] == metric) & paired["exceeds_noise"].notna()]
    if rows.empty:
        return None
    label = paper.METRIC_LABELS[metric]
    rows = rows.assign(exceeds_noise=rows["exceeds_noise"].astype(bool))
    n = int(rows["n"].min())
    larger, within = _paired_items(rows, True), _paired_items(rows, False)
    head = (
        f"Paired by seed ({n} seeds or more; {label}, covariance minus baseline, mean "
        "[95% t-interval] of the per-seed differences):"
    )
    parts = [head]
    parts.append(
        f"larger than the seed noise (interval excludes 0) — {larger}."
        if larger
        else "no difference between covariance and a baseline exceeds the seed noise."
    )
    if within:
        parts.append(f"Within the noise (interval includes 0) — {within}.")
    return " ".join(parts)


def noise_verdict(summary: pd.DataFrame, metric: str, paired: pd.DataFrame | None = None) -> str:
    """Which differences between covariance and each baseline are larger than the seed noise:
    paired by seed when two or more seeds ran, else from the overlap of the intervals."""
    verdict = paired_verdict(paired, metric)
    if verdict is not None:
        return verdict
    label = paper.METRIC_LABELS[metric]
    methods = method_order(list(summary["method"].unique())) if not summary.empty else []
    baselines = [m for m in methods if m != OURS]
    if OURS not in methods or not baselines:
        return f"seed noise ({label}): not run (needs covariance and at least one baseline)."
    checks = {
        (baseline, statistic): separated(summary, metric, statistic, OURS, baseline)
        for baseline in baselines
        for statistic in ("task1_final", "average")
    }
    if all(result is None for result in checks.values()):
        n = _seeds(summary, [OURS, *baselines], metric)
        seeds = "one seed" if n <= 1 else f"{n} seeds"
        return (
            f"With {seeds} the seed noise cannot be estimated, so no difference in {label} "
            "between the methods can be called larger than the noise; add seeds to "
            "`comparison.seeds` in the config (for example [0, 1, 2]) to get 95% intervals."
        )
    larger = _grouped(summary, metric, [k for k, r in checks.items() if r])
    within = _grouped(summary, metric, [k for k, r in checks.items() if r is False])
    parts = [
        f"With {_seed_text(summary, [OURS, *baselines], metric)} ({label}, covariance minus "
        "baseline, 95% t-intervals over seeds):"
    ]
    parts.append(
        f"larger than the seed noise (intervals apart) — {larger}."
        if larger
        else "no difference between covariance and a baseline is larger than the seed noise."
    )
    if within:
        parts.append(f"Within the noise (intervals overlap) — {within}.")
    return " ".join(parts)


def verdicts(
    summary: pd.DataFrame, synthetic: bool, paired: pd.DataFrame | None = None
) -> list[str]:
    """The computed sentences of the section, mAP first."""
    sentences = []
    for metric in METRICS:
        sentences += [
            forgetting_verdict(summary, metric),
            joint_verdict(summary, metric, synthetic),
            noise_verdict(summary, metric, paired),
        ]
    return sentences


def _paired(continual: pd.DataFrame | None) -> pd.DataFrame | None:
    needed = {"method", "seed", "metric", *PAIRED_STATISTICS}
    if continual is None or not needed <= set(continual.columns):
        return None
    return paired_differences(continual, OURS)


def headers() -> list[tuple[str, list[str]]]:
    """Column groups of the comparison table: (metric label, statistic labels)."""
    return [(paper.METRIC_LABELS[m], list(STATISTICS.values())) for m in METRICS]


def table_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per method in table order: the statistics of every (metric, statistic) cell."""
    rows = []
    for method in method_order(list(summary["method"].unique())):
        cells = []
        for metric in METRICS:
            for statistic in STATISTICS:
                row = stat(summary, method, metric, statistic)
                numbers = {key: finite_number(row.get(key)) for key in STAT_KEYS}
                cells.append({"key": f"{metric}-{statistic}", **numbers})
        rows.append({"method": method, "label": METHOD_LABELS.get(method, method), "cells": cells})
    return rows


def matrices(results: pd.DataFrame | None) -> dict[str, Any]:
    """Each method's accuracy matrix, mean over seeds (rows: steps, columns: tasks), with the
    value range of each metric over all methods (one colour scale)."""
    if results is None or results.empty:
        return {"methods": [], "limits": {}}
    limits = {m: [float(results[m].min()), float(results[m].max())] for m in METRICS}
    out = []
    for method in method_order(list(results["method"].unique())):
        values = {}
        for metric in METRICS:
            frame = mean_matrix(results, method, metric)
            values[metric] = [[finite_number(v) for v in row] for row in frame.to_numpy()]
        out.append(
            {
                "method": method,
                "label": METHOD_LABELS.get(method, method),
                "steps": [int(step) for step in frame.index],
                "tasks": [str(task) for task in frame.columns],
                "values": values,
            }
        )
    return {"methods": out, "limits": limits}


def section(
    results: pd.DataFrame | None, continual: pd.DataFrame | None, *, synthetic: bool
) -> dict[str, Any]:
    """The method comparison as the report shows it (`results`: comparison.csv, `continual`:
    continual.csv); `run` is False without any method."""
    full = full_summary(continual, None)
    if full.empty:
        return {"run": False}
    return {
        "run": True,
        "headers": headers(),
        "metric_labels": {m: paper.METRIC_LABELS[m] for m in METRICS},
        "rows": table_rows(full),
        "matrices": matrices(results),
        "verdicts": verdicts(full, synthetic, _paired(continual)),
        "seeds": _seeds(full, list(full["method"].unique()), "mAP"),
    }
