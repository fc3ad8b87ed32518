"""Beyond the paper: the method comparison (baselines, continual metrics, seeds) of the report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from reid.continual.table import paired_differences, seed_summary, separated
from reid.report import figures, paper
from reid.strategies import method_labels

# Labels come from the strategies' registry (reid/strategies/): a new strategy appears here.
METHOD_LABELS: dict[str, str] = method_labels()
OURS = "covariance"
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


@dataclass
class Cell:
    """One formatted statistic: its mean (None for n/a) and the text shown."""

    key: str
    mean: float | None
    text: str


@dataclass
class Section:
    """What the template shows of the method comparison."""

    run: bool
    headers: list[tuple[str, list[str]]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    heatmaps: list[dict[str, str]] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    seeds: int = 0


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


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


def format_stat(row: dict[str, Any]) -> str:
    """'mean ± std [low, high]' with two or more seeds, the single value with one, else 'n/a'."""
    mean = _finite(row.get("mean"))
    if mean is None:
        return "n/a"
    n = int(row.get("n") or 0)
    std, low, high = (_finite(row.get(k)) for k in ("std", "ci95_low", "ci95_high"))
    if n < 2 or std is None or low is None or high is None:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {std:.1f} [{low:.1f}, {high:.1f}]"


def table_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per method: mAP and Rank-1 cells of every statistic."""
    rows = []
    for method in method_order(list(summary["method"].unique())):
        cells = []
        for metric in METRICS:
            for statistic in STATISTICS:
                row = stat(summary, method, metric, statistic)
                key = f"{metric}-{statistic}"
                cells.append(Cell(key, _finite(row.get("mean")), format_stat(row)))
        rows.append({"method": method, "label": METHOD_LABELS.get(method, method), "cells": cells})
    return rows


def mean_matrix(results: pd.DataFrame, method: str, metric: str) -> pd.DataFrame:
    """Mean over seeds of a method's metric: rows training steps, columns task names."""
    frame = results[results["method"] == method]
    tasks = frame.drop_duplicates("task_index").sort_values("task_index")["task"].astype(str)
    matrix = frame.pivot_table(index="step", columns="task_index", values=metric, aggfunc="mean")
    matrix.index = [int(s) for s in matrix.index]
    matrix.columns = list(tasks)
    return matrix


def heatmap(results: pd.DataFrame, method: str, limits: dict[str, tuple[float, float]]) -> str:
    """Annotated heatmaps (mAP beside Rank-1) of one method's mean accuracy matrix."""
    import seaborn as sns

    tasks = results.loc[results["method"] == method, "task_index"].nunique()
    width = 2 * (1.6 + 1.1 * tasks) + 1
    with figures.figure(width, 1.2 + 0.6 * tasks, ncols=len(METRICS)) as (fig, axes):
        for ax, metric in zip(axes, METRICS, strict=True):
            vmin, vmax = limits[metric]
            sns.heatmap(
                mean_matrix(results, method, metric),
                annot=True,
                fmt=".1f",
                cmap="viridis",
                vmin=vmin,
                vmax=vmax,
                cbar=False,
                ax=ax,
            )
            ax.tick_params(axis="y", rotation=0)
            ax.set(
                xlabel="task",
                ylabel="after training step",
                title=f"{paper.METRIC_LABELS[metric]} (%)",
            )
        fig.suptitle(METHOD_LABELS.get(method, method))
        return figures.to_data_uri(fig)


def heatmaps(results: pd.DataFrame | None) -> list[dict[str, str]]:
    """One embedded PNG per method, colour scales shared across methods."""
    if results is None or results.empty:
        return []
    limits = {m: (float(results[m].min()), float(results[m].max())) for m in METRICS}
    return [
        {
            "method": method,
            "label": METHOD_LABELS.get(method, method),
            "uri": heatmap(results, method, limits),
        }
        for method in method_order(list(results["method"].unique()))
    ]


def _mean(summary: pd.DataFrame, method: str, metric: str, statistic: str) -> float | None:
    return _finite(stat(summary, method, metric, statistic).get("mean"))


def _seeds(summary: pd.DataFrame, methods: list[str], metric: str) -> int:
    """The fewest seeds any of `methods` has for `metric` (0 when none was run)."""
    counts = [stat(summary, m, metric, "task1_final").get("n") for m in methods]
    counts = [int(c) for c in counts if _finite(c) is not None]
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


def section(
    results: pd.DataFrame | None,
    continual: pd.DataFrame | None,
    summary: pd.DataFrame | None,
    *,
    synthetic: bool,
) -> Section:
    """The method comparison; `run` is False when none of its tables exists."""
    if continual is None and results is not None and not results.empty:
        from reid.continual.table import continual_metrics

        continual = continual_metrics(results)
    if continual is None and summary is None:
        return Section(run=False)
    full = full_summary(continual, summary)
    if full.empty:
        return Section(run=False)
    return Section(
        run=True,
        headers=headers(),
        rows=table_rows(full),
        heatmaps=heatmaps(results),
        verdicts=verdicts(full, synthetic, _paired(continual)),
        seeds=_seeds(full, list(full["method"].unique()), "mAP"),
    )
