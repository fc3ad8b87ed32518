"""The report's opening answer: does the covariance loss change training, and does it then reduce
forgetting against fine-tuning and LwF? Read from the `alpha` study (gradient variant, α over
orders of magnitude, several seeds) and the method comparison, with paired-by-seed intervals.
Fed by the study that names the `answer` table (the `alpha` study), computed by its aggregate
job from its trial table, its trial runs' histories and the comparison's `continual.csv`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reid.helpers import finite_number
from reid.report_tables.base import TableInputs, register_report_table
from reid.report_tables.history import covariance_ratio
from reid.stats import interval

ONSET_RATIO = 1e-3  # the term "changes training" once it is at least 0.1 % of the loss
BASELINES = ("finetune", "lwf")


@dataclass
class Answer:
    """What the template shows at the top of the report."""

    run: bool
    sentences: list[str] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    seeds: int = 0


def per_seed(study: pd.DataFrame, history, task1: str, task2: str) -> pd.DataFrame:
    """One row per completed α trial: α, seed, cov/ce ratio, task-1 mAP after phases 1 and 2,
    forgetting (mAP points), task-2 Rank-1."""
    done = study[(study["state"].astype(str) == "COMPLETE")]
    rows = []
    for values in done.to_dict("records"):
        first = finite_number(values.get(f"{task1}_after_phase1_mAP"))
        final = finite_number(values.get(f"{task1}_mAP"))
        rows.append(
            {
                "alpha": float(values["param_alpha"]),
                "seed": int(values["param_seed"]),
                "ratio": covariance_ratio(history(str(values.get("run")))),
                "task1_final": final,
                "forgetting": None if first is None or final is None else first - final,
                "task2_rank1": finite_number(values.get(f"{task2}_rank1")),
            }
        )
    return pd.DataFrame(rows)


def _fmt(stats: dict[str, float], signed: bool = False) -> str:
    if not stats["n"]:
        return "n/a"
    mean = f"{stats['mean']:+.1f}" if signed else f"{stats['mean']:.1f}"
    if stats["n"] < 2:
        return f"{mean} (1 seed)"
    bound = "{:+.1f}" if signed else "{:.1f}"
    low, high = bound.format(stats["ci95_low"]), bound.format(stats["ci95_high"])
    return f"{mean} [{low}, {high}]"


def paired_vs(trials: pd.DataFrame, continual: pd.DataFrame | None, method: str) -> dict:
    """α forgetting minus `method`'s (mAP), paired by seed: negative = forgets less."""
    empty = interval(np.array([], dtype=float))
    if continual is None or trials.empty:
        return empty
    theirs = continual[(continual["method"] == method) & (continual["metric"] == "mAP")]
    by_seed = dict(zip(theirs["seed"].astype(int), theirs["forgetting"], strict=True))
    diffs = [
        row.forgetting - by_seed[row.seed]
        for row in trials.itertuples()
        if row.seed in by_seed and row.forgetting is not None
    ]
    return interval(np.array(diffs, dtype=float))


def _excludes_zero(stats: dict[str, float]) -> bool:
    return stats["n"] > 1 and (stats["ci95_high"] < 0 or stats["ci95_low"] > 0)


def table_rows(trials: pd.DataFrame, continual: pd.DataFrame | None) -> list[dict[str, str]]:
    """One row per α: ratio, task-1 mAP, forgetting, task-2 Rank-1, Δ forgetting vs baselines."""
    rows = []
    for alpha, group in trials.groupby("alpha"):
        ratios = [r for r in group["ratio"] if r is not None and not pd.isna(r)]
        row = {
            "alpha": f"{alpha:g}",
            "seeds": str(len(group)),
            "ratio": f"{float(np.median(ratios)):.0e}" if ratios else "0",
            "task1_final": _fmt(_stats(group["task1_final"])),
            "forgetting": _fmt(_stats(group["forgetting"])),
            "task2_rank1": _fmt(_stats(group["task2_rank1"])),
        }
        for method in BASELINES:
            row[f"vs_{method}"] = _fmt(paired_vs(group, continual, method), signed=True)
        rows.append(row)
    return rows


def _stats(column: pd.Series) -> dict[str, float]:
    return interval(pd.to_numeric(column, errors="coerce").to_numpy(dtype=float))


def onset(trials: pd.DataFrame) -> float | None:
    """The smallest α whose median cov/ce ratio reaches ONSET_RATIO (None: no such α)."""
    for alpha, group in trials.groupby("alpha"):
        ratios = [r for r in group["ratio"] if r is not None and not pd.isna(r)]
        if ratios and float(np.median(ratios)) >= ONSET_RATIO:
            return float(alpha)
    return None


def sentences(trials: pd.DataFrame, continual: pd.DataFrame | None) -> list[str]:
    """The answer in words, every number with its interval."""
    start = onset(trials)
    below = trials[trials["alpha"] < start] if start is not None else trials
    tried = ", ".join(f"{a:g}" for a in sorted(trials["alpha"].unique()))
    if start is None:
        first = (
            f"At no α tried ({tried}) does the covariance term reach {ONSET_RATIO:g} of the "
            "cross-entropy: it does not change training at these settings."
        )
    else:
        ratio = np.median([r for r in trials[trials["alpha"] == start]["ratio"] if r is not None])
        first = (
            f"The covariance term starts to change training at α = {start:g}, where it is "
            f"{ratio:.0e} of the cross-entropy (median over epochs); below that (α < {start:g}, "
            f"the paper's 1e-9 included) it is under {ONSET_RATIO:g} of the loss."
        )
    out = [first] + _larger_alphas(trials, continual, start)
    active = trials if start is None else trials[trials["alpha"] >= start]
    if start is None or active.empty:
        active = below
    means = active.groupby("alpha")["forgetting"].mean()
    if means.dropna().empty:
        return out
    best = float(means.idxmin())
    group = active[active["alpha"] == best]
    for method in BASELINES:
        stats = paired_vs(group, continual, method)
        if not stats["n"]:
            out.append(f"{method}: not run, so α = {best:g} cannot be compared with it.")
            continue
        verdict = (
            ("reduces forgetting" if stats["mean"] < 0 else "increases forgetting")
            if _excludes_zero(stats)
            else "does not change forgetting beyond the seed noise"
        )
        out.append(
            f"Against {method}, the covariance loss at α = {best:g} (the α with the least "
            f"forgetting{'' if start is None else ' once the term acts'}) {verdict}: "
            f"forgetting of task 1 (mAP) differs by {_fmt(stats, signed=True)} points "
            f"(ours minus {method}, paired by seed, 95% t-interval, {stats['n']} seeds)."
        )
    return out


def _larger_alphas(trials: pd.DataFrame, continual: pd.DataFrame | None, start) -> list[str]:
    """One sentence on the α above the onset whose forgetting differs from fine-tuning's."""
    if start is None:
        return []
    items = []
    for alpha, group in trials[trials["alpha"] > start].groupby("alpha"):
        stats = paired_vs(group, continual, "finetune")
        if _excludes_zero(stats):
            items.append(f"α = {alpha:g}: {_fmt(stats, signed=True)}")
    if not items:
        return []
    return [
        "Where the term dominates, forgetting of task 1 (mAP) changes against fine-tuning by "
        + "; ".join(items)
        + " points (positive = forgets more; paired by seed, 95% t-interval)."
    ]


def _failed(study: pd.DataFrame) -> list[str]:
    """A sentence naming the α whose trials failed (a term so large that training diverged)."""
    failed = study[study["state"].astype(str) == "FAIL"]
    if failed.empty or "param_alpha" not in failed:
        return []
    alphas = sorted(set(pd.to_numeric(failed["param_alpha"], errors="coerce").dropna()))
    if not alphas:
        return []
    named = ", ".join(f"{a:g}" for a in alphas)
    return [
        f"Trials failed at α = {named} ({len(failed)} of {len(study)}; the study table holds "
        "each error, e.g. a loss that became infinite): the term swamps training there."
    ]


def answer(
    study: pd.DataFrame | None,
    continual: pd.DataFrame | None,
    history,
    task_names: list[str],
) -> Answer:
    """The opening section; `run` is False without a completed α study. `history(run)` reads a
    trial run's history.csv (None when absent)."""
    if study is None or len(task_names) < 2 or "param_alpha" not in study.columns:
        return Answer(run=False)
    trials = per_seed(study, history, task_names[0], task_names[1])
    if trials.empty:
        return Answer(run=False)
    return Answer(
        run=True,
        sentences=sentences(trials, continual) + _failed(study),
        rows=table_rows(trials, continual),
        seeds=int(trials["seed"].nunique()),
    )


@register_report_table(
    "answer",
    "The answer: does the covariance loss reduce forgetting?",
    "The study feeding it: the gradient variant of the covariance loss at each α, each seed, "
    "phase 2 at the main schedule. Forgetting = task-1 mAP after phase 1 minus after phase 2 "
    "(points). Δ columns: our forgetting minus the baseline's, paired by seed (negative = "
    "forgets less); mean [95% t-interval].",
    order=0,
    kind="answer",
    needs=("continual", "histories"),
)
def answer_table(inputs: TableInputs) -> dict[str, Any]:
    names = [task["name"] for task in inputs.config.get("tasks") or []]
    return asdict(answer(inputs.study, inputs.continual, inputs.history, names))
