"""Figures drawn with seaborn on the Agg canvas, returned as base64 PNG data URIs."""

from __future__ import annotations

import base64
import contextlib
import io
import math
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reid.report import paper

# history.csv columns that are not loss terms: every other column is one (whatever a strategy
# returns, e.g. ce, cov, lwf, replay, ewc, mas, spd).
NOT_LOSS_COLUMNS = ("epoch", "lr", "total", "couples", "images", "seconds", "step", "phase")


@contextlib.contextmanager
def figure(width: float = 8.0, height: float = 3.5, ncols: int = 1) -> Iterator[tuple]:
    """A quiet Agg figure with `ncols` axes; the figure is cleared and released afterwards."""
    import seaborn as sns

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    with warnings.catch_warnings(), sns.axes_style("whitegrid"):
        warnings.simplefilter("ignore", (FutureWarning, DeprecationWarning, UserWarning))
        try:
            yield fig, list(axes)
        finally:
            fig.clear()


def to_data_uri(fig: Figure) -> str:
    """The figure as a `data:image/png;base64,...` URI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _phase_lines(ax, history: pd.DataFrame) -> None:
    for _, group in list(history.groupby("phase"))[1:]:
        ax.axvline(group["step"].min() - 0.5, color="grey", linestyle="--", linewidth=1)


def history_figure(history: pd.DataFrame | None) -> str | None:
    """Loss components and learning rate over training, phases concatenated."""
    if history is None or history.empty:
        return None
    import seaborn as sns

    columns = [c for c in history if c not in NOT_LOSS_COLUMNS and history[c].notna().any()]
    long = history.melt(id_vars=["step"], value_vars=columns, var_name="loss", value_name="value")
    with figure(11, 3.6, ncols=2) as (fig, (ax_loss, ax_lr)):
        sns.lineplot(data=long, x="step", y="value", hue="loss", marker="o", ax=ax_loss)
        ax_loss.set(xlabel="epoch (phases concatenated)", ylabel="loss", title="loss components")
        if "lr" in history:
            sns.lineplot(data=history, x="step", y="lr", marker="o", ax=ax_lr)
        ax_lr.set(
            xlabel="epoch (phases concatenated)", ylabel="learning rate", title="learning rate"
        )
        for ax in (ax_loss, ax_lr):
            _phase_lines(ax, history)
        return to_data_uri(fig)


def covariance_ratio(history: pd.DataFrame | None) -> float | None:
    """Median of cov / ce over the epochs where the covariance term is non-zero."""
    if history is None or "cov" not in history or "ce" not in history:
        return None
    cov = pd.to_numeric(history["cov"], errors="coerce").abs()
    ce = pd.to_numeric(history["ce"], errors="coerce")
    mask = (cov > 0) & (ce > 0)
    if not mask.any():
        return None
    return float((cov[mask] / ce[mask]).median())


def covariance_figure(history: pd.DataFrame | None) -> str | None:
    """|cov| beside the cross-entropy over training, log scale."""
    if history is None or "cov" not in history or "ce" not in history:
        return None
    import seaborn as sns

    frame = history[["step", "phase", "ce", "cov"]].copy()
    frame["cov"] = pd.to_numeric(frame["cov"], errors="coerce").abs()
    long = frame.melt(id_vars=["step"], value_vars=["ce", "cov"], var_name="term")
    long = long[long["value"] > 0]
    if long.empty:
        return None
    with figure(8, 3.5) as (fig, (ax,)):
        sns.lineplot(data=long, x="step", y="value", hue="term", marker="o", ax=ax)
        ax.set_yscale("log")
        ax.set(
            xlabel="epoch (phases concatenated)",
            ylabel="loss (log scale)",
            title="covariance term beside the cross-entropy",
        )
        _phase_lines(ax, frame)
        return to_data_uri(fig)


def cmc_figure(evaluations: list[dict], max_rank: int = 20) -> str | None:
    """CMC curves (first `max_rank` ranks) of every evaluation of the main run."""
    rows = []
    for result in evaluations:
        for rank, value in enumerate(list(result.get("cmc") or [])[:max_rank], start=1):
            label = f"phase {result['phase']}, {result['task']}"
            rows.append({"rank": rank, "accuracy": 100.0 * float(value), "evaluation": label})
    if not rows:
        return None
    import seaborn as sns

    with figure(8, 3.8) as (fig, (ax,)):
        sns.lineplot(
            data=pd.DataFrame(rows), x="rank", y="accuracy", hue="evaluation", marker="o", ax=ax
        )
        ax.set(xlabel="rank", ylabel="matching rate (%)", title="CMC curves of the main run")
        return to_data_uri(fig)


def lambda_figure(sweep: pd.DataFrame | None) -> str | None:
    """Objective and per-task Rank-1 against λ (columns lam, series, value), paper's points."""
    if sweep is None or sweep.empty:
        return None
    import seaborn as sns

    with figure(8, 3.8) as (fig, (ax,)):
        sns.lineplot(data=sweep, x="lam", y="value", hue="series", marker="o", ax=ax)
        ax.scatter(
            list(paper.LAMBDA),
            list(paper.LAMBDA.values()),
            marker="*",
            s=120,
            color="black",
            label="paper (Rank-1, 100 epochs)",
            zorder=5,
        )
        ax.legend(fontsize="small")
        ax.set(xlabel="λ", ylabel="Rank-1 (%)", title="λ sweep")
        return to_data_uri(fig)


def matrix_figure(matrix: pd.DataFrame | None) -> str | None:
    """Each task's Rank-1 and mAP after each training step, with the paper's task-1 points."""
    if matrix is None or matrix.empty:
        return None
    import seaborn as sns

    metrics = [m for m in ("rank1", "mAP") if (matrix["metric"] == m).any()]
    if not metrics:
        return None
    with figure(5 * len(metrics) + 1, 3.6, ncols=len(metrics)) as (fig, axes):
        for ax, metric in zip(axes, metrics, strict=True):
            frame = matrix[matrix["metric"] == metric]
            sns.lineplot(data=frame, x="step", y="value", hue="task", marker="o", ax=ax)
            ax.plot(
                [1, 2],
                [paper.RESULTS[(1, 1)][metric], paper.RESULTS[(2, 1)][metric]],
                "k*--",
                label="paper, task 1",
            )
            ax.legend(fontsize="small")
            ax.set_xticks(sorted(frame["step"].unique()))
            ax.set(
                xlabel="after training step",
                ylabel=f"{paper.METRIC_LABELS[metric]} (%)",
                title=f"{paper.METRIC_LABELS[metric]} of each task",
            )
        return to_data_uri(fig)


def optimisation_history_figure(trials: pd.DataFrame, name: str, maximize: bool) -> str | None:
    """Objective per trial (columns number, value) and the best value so far."""
    done = trials.dropna(subset=["value"]).sort_values("number")
    if done.empty:
        return None
    import seaborn as sns

    best = done["value"].cummax() if maximize else done["value"].cummin()
    with figure(6, 3.2) as (fig, (ax,)):
        sns.scatterplot(data=done, x="number", y="value", ax=ax, label="trial")
        ax.step(done["number"], best, where="post", color="tab:red", label="best so far")
        ax.legend(fontsize="small")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set(xlabel="trial", ylabel="objective", title=f"{name}: optimisation history")
        return to_data_uri(fig)


def importance_figure(importances: dict[str, float], name: str) -> str | None:
    """Horizontal bars of parameter importances."""
    if not importances:
        return None
    import seaborn as sns

    frame = pd.DataFrame({"parameter": list(importances), "importance": list(importances.values())})
    with figure(6, 0.5 + 0.5 * len(frame) + 1) as (fig, (ax,)):
        sns.barplot(data=frame, x="importance", y="parameter", ax=ax, color="tab:blue")
        ax.set(title=f"{name}: parameter importance", xlim=(0, 1))
        return to_data_uri(fig)


def finite(value: float | None) -> bool:
    """Whether a value is a real, finite number."""
    return (
        value is not None
        and isinstance(value, (int, float, np.floating))
        and math.isfinite(float(value))
    )
