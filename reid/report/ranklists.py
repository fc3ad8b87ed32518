"""The rank lists the report shows: each record `reid ranklist` wrote, its PNG embedded."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from reid.report.inputs import ReportError, read_json

REPORT_FIELDS = ("png", "label", "phase", "task", "top", "queries")


def report_entries(paths: list[Path]) -> list[dict[str, Any]]:
    """The rank lists to show: each JSON record with its PNG as a data URI, by (phase, label).

    A listed JSON that is missing is skipped (that part was not run); one whose PNG is missing,
    or that lacks a field, is an error naming the file.
    """
    entries = []
    for path in paths:
        record = read_json(Path(path))
        if record is None:
            continue
        missing = [k for k in REPORT_FIELDS if k not in record]
        if missing:
            raise ReportError(f"{path}: lacks {', '.join(missing)}; re-run `reid ranklist`")
        png = Path(path).parent / str(record["png"])
        if not png.is_file():
            raise ReportError(f"{path}: its image {png} is missing; re-run `reid ranklist`")
        uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
        hits = [sum(q["matches"]) for q in record["queries"]]
        entries.append(
            {
                **{k: record[k] for k in ("label", "phase", "task", "top")},
                "uri": uri,
                "queries": len(hits),
                "rank1_hits": sum(1 for q in record["queries"] if q["matches"][:1] == [True]),
                "matches_in_top": sum(hits),
            }
        )
    return sorted(entries, key=lambda e: (e["phase"] or 0, str(e["label"])))
