"""Preparing a task's dataset: generate it or acquire it, check it, write `READY.json`.

Library code (the `reid prepare` command and the Snakemake rule `prepare_dataset` call it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def prepare_task(task: dict[str, Any], dest: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Generate or acquire one task's dataset into `dest`, then write `dest/READY.json`."""
    import pandas as pd

    from reid.data import format_summary, load_dataset
    from reid.data.acquire import prepare_dataset
    from reid.data.select import load_task_splits, selection_of
    from reid.data.synthetic import generate_domain
    from reid.io import write_csv, write_json

    dest = Path(dest)
    if task["source"] == "synthetic":
        params = dict(task["synthetic"])
        style = params.pop("style")
        root = generate_domain(dest / "data", style, **params)
    else:
        root = prepare_dataset(
            task["dataset"],
            dest / "data",
            url=task.get("url"),
            md5=task.get("md5"),
            archive=Path(task["archive"]) if task.get("archive") else None,
            folder=Path(task["folder"]) if task.get("folder") else None,
        )
    splits = load_dataset(
        task["dataset"],
        root,
        verify_counts=data.get("verify_counts", False) and task["source"] != "synthetic",
    )
    chosen = selection_of(task)
    if chosen:
        # Refuse here, not at training, a split file or select_ids the dataset cannot take.
        load_task_splits(task, root)
    print(format_summary(splits))
    rows = splits.summary_rows()
    write_csv(dest / "summary.csv", pd.DataFrame(rows))
    ready = {
        "task": task["name"],
        "dataset": task["dataset"],
        "root": str(Path(root)),
        "num_train_pids": splits.num_train_pids,
        "summary": rows,
        "notes": splits.notes,
        "selection": chosen,
    }
    write_json(dest / "READY.json", ready)
    return ready
