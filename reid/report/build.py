"""Assemble the report: format the tables rules computed, draw their figures, render one
self-contained HTML file. It opens only the files of its `ReportInputs`."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from reid.io import write_text
from reid.report import figures, inputs, ranklists
from reid.report.format import format_stat, mean_text, pair, paper_row
from reid.report.inputs import ReportInputs
from reid.report.lreid_published import ORDER1, SOURCE_NOTE

PACKAGES = ("torch", "torchvision", "optuna", "snakemake", "pandas", "seaborn")
TITLE = "Incremental person re-identification: report"


def build_report(
    files: ReportInputs, out_html: Path, *, settings: dict[str, Any], config: dict | None
) -> Path:
    """Write the HTML report to `out_html` (atomically) and return its path.

    `settings`: what the plan says the report holds (`reid.plans.report.report_settings`:
    its blocks and the producer of each, the studies, the sections); `config`: shown as YAML
    under provenance (default: the provenance file's)."""
    prov = inputs.read_json(files.provenance) or {}
    config = config or prov.get("config") or {}
    context = report_context(files, settings)
    context["provenance"] = provenance_context(files, config, prov)
    return write_text(out_html, render(context))


def render(context: dict[str, Any]) -> str:
    """The HTML page of a report context (every string escaped)."""
    from jinja2 import Environment, FileSystemLoader

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("index.html.j2").render(**context)


def report_context(files: ReportInputs, settings: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows."""
    produced = inputs.report_tables(files.tables)
    blocks = [_block(entry, produced) for entry in settings.get("blocks") or []]
    history = inputs.run_histories(files.histories)
    main = produced.get("main") or {}
    return {
        "title": TITLE,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "synthetic": bool(settings.get("synthetic")),
        "answer": next((b for b in blocks if b["kind"] == "answer"), {"run": False}),
        "tables": [b for b in blocks if b["kind"] == "paper"],
        "figures": {
            "history": figures.history_figure(history),
            "covariance": figures.covariance_figure(history),
            "cmc": figures.cmc_figure(main.get("cmc") or []),
        },
        "ratio_text": main.get("ratio_text"),
        "runs": inputs.run_metrics(files.metrics),
        "ranklists": ranklists.report_entries(files.ranklists),
        "studies": [_study(entry, produced) for entry in settings.get("studies") or []],
        "comparison": _comparison(produced.get("comparison")),
        "lreid": _lreid(produced.get("lreid"), settings),
    }


def _block(entry: dict[str, Any], produced: dict[str, dict]) -> dict[str, Any]:
    """A block of the settings with the table its producer computed; without one, the table
    as it reads with no result (the paper's values, ours "not run") and why."""
    part = produced.get(entry.get("producer") or "") or {}
    table = next((t for t in part.get("tables") or [] if t.get("name") == entry["name"]), None)
    expected = entry.get("study_name")
    if table is not None and expected and (part.get("study") or {}).get("study_name") != expected:
        table = None  # computed for another config's study in the same results folder
    missing = table is None
    block = {**entry, **(entry.get("empty") or {} if missing else table), "missing": missing}
    block["run"] = bool(block.get("run", True)) and not missing
    if entry["kind"] == "paper":
        block["rows"] = [paper_row(row) for row in block.get("rows") or []]
        block["figure_caption"] = (block.get("figure") or {}).get("title", "")
        block["figure"] = figures.line_figure(block.get("figure"))
    return block


def _study(entry: dict[str, Any], produced: dict[str, dict]) -> dict[str, Any]:
    """A study's section: trial counts, best point in words, figures or why they are left out."""
    section = (produced.get(entry.get("producer") or "") or {}).get("study")
    if section is None or section.get("study_name") != entry.get("study_name"):
        return {**entry, "run": False}
    name = section["name"]
    history = pd.DataFrame(section.get("history") or [], columns=["number", "value"])
    return {
        **entry,
        "run": True,
        "counts": section.get("counts") or {},
        "best": section.get("best", ""),
        "history": figures.optimisation_history_figure(history, name, section.get("maximize")),
        "importance": figures.importance_figure(section.get("importance") or {}, name),
        "notes": section.get("notes") or [],
    }


def _comparison(part: dict[str, Any] | None) -> dict[str, Any]:
    """The method comparison's table, heatmaps and verdicts, formatted."""
    if not part or not part.get("run"):
        return {"run": False}
    rows = [
        {
            "method": row["method"],
            "label": row["label"],
            "cells": [{**cell, "text": format_stat(cell)} for cell in row["cells"]],
        }
        for row in part["rows"]
    ]
    matrices = part.get("matrices") or {}
    heatmaps = [
        {
            "method": m["method"],
            "label": m["label"],
            "uri": figures.heatmap(m, matrices["limits"], part.get("metric_labels") or {}),
        }
        for m in matrices.get("methods") or []
    ]
    return {**part, "rows": rows, "heatmaps": heatmaps}


def _lreid(part: dict[str, Any] | None, settings: dict[str, Any]) -> dict[str, Any]:
    """The lifelong benchmark's section, formatted, beside the published rows."""
    shown = {"enabled": False, **(settings.get("lreid") or {})}
    if not part or not part.get("run"):
        return {**shown, "run": False}
    return {
        **shown,
        **part,
        "synthetic": bool(settings.get("synthetic")),
        "ours": [
            {**row, "cells": [format_stat(cell) for cell in row["cells"]]} for row in part["ours"]
        ],
        "steps": [
            {
                **table,
                "rows": [
                    {**row, "cells": [mean_text(v) for v in row["cells"]]} for row in table["rows"]
                ],
                "reference": mean_text(table.get("reference")),
            }
            for table in part["steps"]
        ],
        "datasets": [
            {
                **table,
                "rows": [{**r, "cells": [pair(c) for c in r["cells"]]} for r in table["rows"]],
            }
            for table in part["datasets"]
        ],
        "published": [
            {**row._asdict(), "ours_cells": _beside(part.get("counterparts"), row.ours)}
            for row in ORDER1
        ],
        "published_note": SOURCE_NOTE,
        "checks": _checks(part.get("checks")),
    }


def _checks(part: dict[str, Any] | None) -> dict[str, Any] | None:
    """The separation checks with their cells formatted."""
    if not part:
        return None
    rows = [
        {
            **row,
            "cell": format_stat(row["stats"]),
            "per_seed": ", ".join(f"{k}: {mean_text(v)}" for k, v in row["seeds"].items()),
        }
        for row in part["rows"]
    ]
    positions = [
        {**p, "cells": [f"{format_stat(c['stats'])} ({c['side']})" for c in p["cells"]]}
        for p in part["positions"]
    ]
    return {**part, "rows": rows, "positions": positions}


def _beside(counterparts: dict[str, list] | None, method: str | None) -> list[str] | None:
    """Our Seen-/Unseen-Avg (mAP, R1) of a published row's counterpart, or None (not run)."""
    cells = (counterparts or {}).get(method or "")
    return None if cells is None else [mean_text(value) for value in cells]


def _first(mapping: dict, *keys: str) -> Any:
    for key in keys:
        if mapping.get(key) not in (None, ""):
            return mapping[key]
    return None


def provenance_context(files: ReportInputs, config: dict, prov: dict) -> dict[str, Any]:
    """Config as YAML, commit, package versions, device and wall time per rule."""
    recorded = _first(prov, "packages", "versions", "package_versions") or {}
    versions = []
    for name in PACKAGES:
        if name in recorded:
            versions.append((name, str(recorded[name]), "workflow"))
            continue
        try:
            versions.append((name, importlib.metadata.version(name), "report environment"))
        except importlib.metadata.PackageNotFoundError:
            versions.append((name, "not installed", "report environment"))
    commit = _first(prov, "git_commit", "commit", "git")
    if isinstance(commit, dict):
        commit = _first(commit, "commit", "sha", "hash")
    device = _first(prov, "device")
    return {
        "config_yaml": yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        if config
        else "no config given",
        "commit": str(commit) if commit else "unknown",
        "device": device
        if isinstance(device, str)
        else (yaml.safe_dump(device).strip() if device else "unknown"),
        "versions": versions,
    }
