"""The report-table registry and what a table is made of.

A report table is computed by the workflow rule that has its inputs and written as JSON
(`reid.paths.report_tables`); the report only formats it. A table fed by an ablation study is
named in that study's registration (`@register_study(..., tables=(...))`) and computed by the
study's `study_aggregate` job; a table of the main run (`source="main"`) by `main_results`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from reid.helpers import finite_number
from reid.registry import Registry

NOT_RUN = "not run"
SOURCES = ("study", "main")
# Inputs a table may read beyond its producer's own (the rule then waits for those files).
EXTRA_INPUTS = ("summary", "continual", "histories")


@dataclass
class Row:
    """One compared value; `ours` is None when that part of the workflow gave no value, and
    `missing` then says why in the cell ("not run", "tie", ...)."""

    setting: str
    metric: str
    paper: float | None
    ours: float | None
    detail: str = ""
    unit: str = "%"
    missing: str = NOT_RUN

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TableInputs:
    """What a table's builder reads; the producing rule fills what it has (None otherwise).

    `config`: the settings the producing rule was given (a study's `study_config`, or the
    main tables' config); `study` / `best`: the feeding study's trial table and best point;
    `main`: `main_results.csv`; `datasets`: one row per prepared task (READY.json + the train
    row of summary.csv); `summary` / `continual`: the comparison's `continual_summary.csv` /
    `continual.csv`; `history(run)`: a run's `history.csv`."""

    config: dict[str, Any] = field(default_factory=dict)
    study: pd.DataFrame | None = None
    best: dict[str, Any] | None = None
    main: pd.DataFrame | None = None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    summary: pd.DataFrame | None = None
    continual: pd.DataFrame | None = None
    history: Callable[[str], pd.DataFrame | None] = lambda run: None


@dataclass(frozen=True)
class ReportTable:
    """A registered report table: its heading, who computes it and how."""

    name: str
    title: str
    caption: str
    build: Callable[[TableInputs], dict[str, Any]]
    order: float = 100.0  # position on the page (answer 0, the paper's tables 10 ... 70)
    kind: str = "paper"  # "paper": the paper's table beside ours; "answer": the opening answer
    source: str = "study"  # "study": fed by the studies naming it; "main": the main run's tables
    needs: tuple[str, ...] = ()  # of EXTRA_INPUTS

    def compute(self, inputs: TableInputs) -> dict[str, Any]:
        """The table as the report reads it: heading, kind, and what `build` returned."""
        return {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "caption": self.caption,
            **self.build(inputs),
        }


REPORT_TABLES: Registry[ReportTable] = Registry("report table")


def register_report_table(
    name: str,
    title: str,
    caption: str = "",
    *,
    order: float = 100.0,
    kind: str = "paper",
    source: str = "study",
    needs: tuple[str, ...] = (),
):
    """Decorator registering a table builder `build(inputs: TableInputs) -> dict`; for a paper
    table the dict holds `rows` (a list of `Row.to_dict()`), `trends` (sentences) and,
    optionally, `figure` (see `line_figure`). `order` places it on the page."""
    if source not in SOURCES or not set(needs) <= set(EXTRA_INPUTS):
        raise ValueError(f"report table {name!r}: source in {SOURCES}, needs in {EXTRA_INPUTS}")

    def add(build: Callable[[TableInputs], dict[str, Any]]):
        table = ReportTable(name, title, caption, build, order, kind, source, tuple(needs))
        REPORT_TABLES.add(name, table)
        return build

    return add


def paper_table(rows: list[Row], trends: list[str], figure: dict | None = None) -> dict:
    """The body of a paper table (what a builder returns)."""
    return {"rows": [row.to_dict() for row in rows], "trends": trends, "figure": figure}


def line_figure(
    title: str, panels: list[dict[str, Any]], reference_label: str = ""
) -> dict[str, Any]:
    """A figure of line panels, drawn by the report: each panel {"title", "x", "y", "points":
    [{"x", "series", "value"}], "reference": [{"x", "value"}]} (the paper's points)."""
    return {"title": title, "panels": panels, "reference_label": reference_label}


def page_order() -> list[ReportTable]:
    """Every registered table in page order."""
    return sorted((table for _, table in REPORT_TABLES.items()), key=lambda t: (t.order, t.name))


def compute_tables(names: list[str], inputs: TableInputs) -> list[dict[str, Any]]:
    """The named tables computed from `inputs`, in page order."""
    for name in names:
        REPORT_TABLES.get(name)  # an unknown name is refused, listing the registered ones
    return [table.compute(inputs) for table in page_order() if table.name in names]


def main_table_names() -> list[str]:
    """Tables of the main run (computed by the `main_results` job)."""
    return [table.name for table in page_order() if table.source == "main"]


# helpers the paper tables share


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


def top_points(values: dict[str, float], tolerance: float = 1e-9) -> list[str]:
    """Settings whose value is within `tolerance` of the best (one entry: a clear best)."""
    top = max(values.values())
    return [key for key, value in values.items() if top - value <= tolerance]


def mean_value(means: pd.Series | None, column: str = "value") -> float | None:
    """A point's mean of `column`, or None."""
    return None if means is None else finite_number(means.get(column))
