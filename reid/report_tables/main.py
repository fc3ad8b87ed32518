"""The main run's report tables, computed by the `main_results` job: the tables registered with
`source="main"` (the paper's datasets and results tables), the CMC curves of every evaluation
and how large the covariance term is beside the cross-entropy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from reid.errors import ReidError
from reid.report_tables.base import TableInputs, compute_tables, main_table_names
from reid.report_tables.history import main_ratio_text

CMC_RANKS = 20


def dataset_rows(ready_files: list[Path]) -> list[dict[str, Any]]:
    """One row per prepared dataset: its READY.json merged with its summary.csv beside it."""
    rows = []
    for path in map(Path, ready_files):
        if not path.is_file():
            raise ReidError(f"{path}: dataset READY.json not found (prepare the dataset first)")
        row = json.loads(path.read_text(encoding="utf-8"))
        summary_file = path.parent / "summary.csv"
        if summary_file.is_file():
            summary = pd.read_csv(summary_file)
            row["splits"] = summary.to_dict(orient="records")
            train = summary[summary["split"] == "train"]
            if not train.empty:
                row.setdefault("num_train_pids", int(train["ids"].iloc[0]))
        rows.append(row)
    return rows


def cmc_curves(manifest: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[dict]:
    """The first CMC_RANKS ranks of each evaluation (percent), labelled by phase and task."""
    return [
        {
            "label": f"phase {entry['phase']}, {entry['task']}",
            "values": [100.0 * float(v) for v in list(result.get("cmc") or [])[:CMC_RANKS]],
        }
        for entry, result in zip(manifest, results, strict=True)
        if result.get("cmc")
    ]


def main_tables(
    main: pd.DataFrame,
    datasets: list[dict[str, Any]],
    histories: list[pd.DataFrame | None],
    cmc: list[dict[str, Any]],
) -> dict[str, Any]:
    """The main producer's report tables file (`runs`: the main run's phases, in order)."""
    inputs = TableInputs(main=main, datasets=datasets)
    runs = main.sort_values("phase", kind="stable")["run"] if "run" in main else []
    return {
        "producer": "main",
        "runs": list(dict.fromkeys(str(run) for run in runs)),
        "tables": compute_tables(main_table_names(), inputs),
        "ratio_text": main_ratio_text(histories),
        "cmc": cmc,
    }
