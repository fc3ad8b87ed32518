"""The files the report reads: exactly those it is given (the `report` rule's declared inputs);
a listed file that is missing reads as "not run", a malformed one is an error naming it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from reid import paths
from reid.errors import ReidError


class ReportError(ReidError):
    """A result file exists but cannot be read as the report expects."""


@dataclass
class ReportInputs:
    """Every file the report may open. `tables`: report tables files (`reid.report_tables`,
    one per producing job); `histories` / `metrics`: the main run's phases, in phase order;
    `ranklists`: records of `reid ranklist` (each names its PNG, beside it)."""

    tables: list[Path] = field(default_factory=list)
    histories: list[Path] = field(default_factory=list)
    metrics: list[Path] = field(default_factory=list)
    ranklists: list[Path] = field(default_factory=list)
    provenance: Path | None = None

    @classmethod
    def discover(cls, results: Path, main_runs: list[str]) -> ReportInputs:
        """What a results folder holds, for a report made by hand (`reid report --results`)."""
        root = str(results)
        return cls(
            tables=_glob(paths.report_tables("*", root)),
            histories=[Path(paths.run_file(r, paths.HISTORY, root)) for r in main_runs],
            metrics=[Path(paths.run_file(r, paths.METRICS, root)) for r in main_runs],
            ranklists=_glob(paths.ranklist_file("*", "*", "json", root)),
            provenance=Path(paths.provenance_file(root)),
        )

    def files(self) -> list[Path]:
        """Every file named here (a ranklist's PNG is named in its record, beside it)."""
        listed = [*self.tables, *self.histories, *self.metrics, *self.ranklists]
        listed += [self.provenance] if self.provenance else []
        return [Path(path) for path in listed]


def _glob(pattern: str) -> list[Path]:
    """The files matching a path helper's pattern (`*` in its last two parts)."""
    path = Path(pattern)
    return sorted(path.parent.parent.glob(f"{path.parent.name}/{path.name}"))


def read_csv(path: Path, required: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """A CSV file, or None when it does not exist; raise when a required column is missing."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a readable CSV file ({exc})") from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ReportError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def read_json(path: Path | None) -> Any | None:
    """A JSON file, or None when it does not exist."""
    if path is None or not Path(path).is_file():
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON ({exc})") from None


def report_tables(files: list[Path]) -> dict[str, dict[str, Any]]:
    """{producer: its report tables file}, each file named after its producer."""
    found = {}
    for path in files:
        data = read_json(Path(path))
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ReportError(f"{path}: expected a JSON object of report tables")
        found[str(data.get("producer") or Path(path).stem)] = data
    return found


def run_histories(files: list[Path]) -> pd.DataFrame | None:
    """The main run's training histories, phases concatenated (`step` counts epochs)."""
    frames = []
    offset = 0
    for phase, path in enumerate(files, start=1):
        history = read_csv(Path(path), ("epoch",))
        if history is None or history.empty:
            continue
        history = history.copy()
        history.insert(0, "phase", phase)
        history.insert(1, "step", offset + history["epoch"] - history["epoch"].min() + 1)
        offset = int(history["step"].max())
        frames.append(history)
    return pd.concat(frames, ignore_index=True) if frames else None


def run_metrics(files: list[Path]) -> list[dict[str, Any]]:
    """`metrics.json` of each main-run phase that has one, with its task and method."""
    rows = []
    for path in files:
        metrics = read_json(Path(path))
        if metrics is None:
            continue
        tasks = metrics.get("tasks") or [""]
        rows.append({**metrics, "task": tasks[-1], "method": metrics.get("method") or "—"})
    return rows
