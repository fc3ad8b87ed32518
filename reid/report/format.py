"""How numbers read in the report: table cells, seed statistics, rows beside the paper's."""

from __future__ import annotations

from typing import Any

from reid.helpers import finite_number as number

MISSING = "—"


def format_stat(stats: dict[str, Any] | None) -> str:
    """'mean ± std [low, high]' with two or more seeds, the single value with one, else 'n/a'."""
    stats = stats or {}
    mean = number(stats.get("mean"))
    if mean is None:
        return "n/a"
    n = int(number(stats.get("n")) or 0)
    std, low, high = (number(stats.get(k)) for k in ("std", "ci95_low", "ci95_high"))
    if n < 2 or std is None or low is None or high is None:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {std:.1f} [{low:.1f}, {high:.1f}]"


def value_text(value: float | None, unit: str, *, signed: bool = False, missing: str = MISSING):
    """A value as the paper tables show it: percent to one decimal, other units to 3 digits."""
    if value is None:
        return missing
    if unit == "%":
        return f"{value:+.1f}" if signed else f"{value:.1f}"
    return f"{value:+.3g}" if signed else f"{value:.3g}"


def paper_row(row: dict[str, Any]) -> dict[str, Any]:
    """A paper-table row with its texts: paper, ours (or why there is none), ours − paper."""
    paper, ours, unit = number(row.get("paper")), number(row.get("ours")), row.get("unit", "%")
    diff = None if paper is None or ours is None else ours - paper
    return {
        "setting": row.get("setting", ""),
        "metric": row.get("metric", ""),
        "detail": row.get("detail", ""),
        "paper": paper,
        "ours": ours,
        "diff": diff,
        "paper_text": value_text(paper, unit),
        "ours_text": value_text(ours, unit, missing=row.get("missing") or "not run"),
        "diff_text": value_text(diff, unit, signed=True),
    }


def pair(cell: list[float | None] | None) -> str:
    """'mAP / R1' of a per-set cell, or a dash."""
    if not cell or any(number(v) is None for v in cell):
        return MISSING
    return " / ".join(f"{float(v):.1f}" for v in cell)


def mean_text(value: Any) -> str:
    """A mean to one decimal, or a dash."""
    value = number(value)
    return MISSING if value is None else f"{value:.1f}"
