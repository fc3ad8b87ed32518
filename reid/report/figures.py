"""Figures drawn with seaborn on the Agg canvas, returned as base64 PNG data URIs: each draws
data a rule computed (a history, CMC curves, a report table's figure), nothing more."""

from __future__ import annotations

import base64
import contextlib
import io
import warnings
from collections.abc import Iterator

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

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


def cmc_figure(curves: list[dict]) -> str | None:
    """CMC curves ({"label", "values"}: matching rate in percent per rank) of the main run."""
    rows = [
        {"rank": rank, "accuracy": float(value), "evaluation": curve["label"]}
        for curve in curves
        for rank, value in enumerate(curve.get("values") or [], start=1)
    ]
    if not rows:
        return None
    import seaborn as sns

    with figure(8, 3.8) as (fig, (ax,)):
        sns.lineplot(
            data=pd.DataFrame(rows), x="rank", y="accuracy", hue="evaluation", marker="o", ax=ax
        )
        ax.set(xlabel="rank", ylabel="matching rate (%)", title="CMC curves of the main run")
        return to_data_uri(fig)


def line_figure(spec: dict | None) -> str | None:
    """A report table's figure: line panels ({"x", "series", "value"} points) with the paper's
    points as black stars (`reid.report_tables.line_figure` describes it)."""
    panels = [p for p in (spec or {}).get("panels") or [] if p.get("points")]
    if not panels:
        return None
    import seaborn as sns

    width = 5 * len(panels) + 1 if len(panels) > 1 else 8
    with figure(width, 3.8, ncols=len(panels)) as (fig, axes):
        for ax, panel in zip(axes, panels, strict=True):
            frame = pd.DataFrame(panel["points"])
            sns.lineplot(data=frame, x="x", y="value", hue="series", marker="o", ax=ax)
            reference = panel.get("reference") or []
            if reference:
                xs, ys = [r["x"] for r in reference], [r["value"] for r in reference]
                label = spec.get("reference_label") or "paper"
                if panel.get("reference_line"):
                    ax.plot(xs, ys, "k*--", label=label)
                else:
                    ax.scatter(xs, ys, marker="*", s=120, color="black", label=label, zorder=5)
            ax.legend(fontsize="small")
            if panel.get("integer_x"):
                ax.set_xticks(sorted(frame["x"].unique()))
            ax.set(
                xlabel=panel.get("x", ""), ylabel=panel.get("y", ""), title=panel.get("title", "")
            )
        return to_data_uri(fig)


def heatmap(matrix: dict, limits: dict, labels: dict[str, str]) -> str:
    """Annotated heatmaps (one per metric) of one method's mean accuracy matrix."""
    import seaborn as sns

    metrics = list(matrix["values"])
    tasks = len(matrix["tasks"])
    width = 2 * (1.6 + 1.1 * tasks) + 1
    with figure(width, 1.2 + 0.6 * tasks, ncols=len(metrics)) as (fig, axes):
        for ax, metric in zip(axes, metrics, strict=True):
            frame = pd.DataFrame(
                matrix["values"][metric],
                index=matrix["steps"],
                columns=matrix["tasks"],
                dtype=float,
            )
            vmin, vmax = limits[metric]
            sns.heatmap(
                frame,
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
                title=f"{labels.get(metric, metric)} (%)",
            )
        fig.suptitle(matrix["label"])
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
