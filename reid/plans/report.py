"""What the report holds and reads: its blocks (each registered report table and the job that
computes it under this config), its study sections, and the files it is given."""

from __future__ import annotations

from typing import Any

from reid.data.adapters import ORDERS
from reid.report_tables import REPORT_TABLES, TableInputs, page_order
from reid.tuning.studies import STUDIES


def is_synthetic(config: dict[str, Any]) -> bool:
    """Whether any task's data were generated rather than downloaded."""
    return any((task or {}).get("source") == "synthetic" for task in config.get("tasks") or [])


def order_name(config: dict[str, Any]) -> str:
    """'order 1', 'order 2' or 'a custom order' of the benchmark's seen datasets."""
    datasets = tuple((task or {}).get("dataset") for task in config.get("tasks") or [])
    for number, order in ORDERS.items():
        if datasets == order:
            return f"order {number}"
    return "a custom order"


def feeding_study(table: str) -> str | None:
    """The registered study that names `table` among the tables it feeds."""
    return next((name for name, study in STUDIES.items() if table in study.tables), None)


def table_producer(table: str, studies: list[str], main_tables: bool) -> str | None:
    """The job computing `table` under this config (`study_<name>`, `main`), or None."""
    if REPORT_TABLES.get(table).source == "main":
        return "main" if main_tables else None
    study = feeding_study(table)
    return f"study_{study}" if study in studies else None


def not_run_text(table: str, benchmark: bool) -> str:
    """Why a table is absent, in one line naming what would produce it."""
    if REPORT_TABLES.get(table).source == "main":
        why = "the lifelong benchmark evaluates without a task id" if benchmark else "no main run"
        return f"not run: {why}"
    study = feeding_study(table)
    if study is None:
        return "not run: no registered study feeds this table"
    keys = ", ".join(f"ablations.{key}" for key in STUDIES.get(study).ablation_keys)
    return f"not run: the {study} study (config keys {keys}) has no completed trial"


def report_blocks(
    studies: list[str], study_names: dict[str, str], main_tables: bool, benchmark: bool
) -> list[dict[str, Any]]:
    """Every registered report table in page order, with its producer (None: not run here)
    and what it shows without one (the paper's values, ours "not run")."""
    blocks = []
    for table in page_order():
        name = table.name
        producer = table_producer(name, studies, main_tables)
        study = feeding_study(name)
        blocks.append(
            {
                "name": name,
                "id": f"table-{name.replace('_', '-')}",
                "kind": table.kind,
                "title": table.title,
                "producer": producer,
                "study_name": study_names.get(study) if producer else None,
                "not_run": not_run_text(name, benchmark),
                "empty": table.compute(TableInputs()),
            }
        )
    return blocks


def study_sections(studies: list[str], study_names: dict[str, str]) -> list[dict[str, Any]]:
    """Every registered study's section: its heading and, when it runs here, its producer."""
    return [
        {
            "name": name,
            "heading": study.heading,
            "producer": f"study_{name}" if name in studies else None,
            "study_name": study_names.get(name),
        }
        for name, study in STUDIES.items()
    ]


def report_settings(plan) -> dict[str, Any]:
    """The report's settings under a workflow plan (`reid report --settings-json`)."""
    config = plan.config
    names = plan.study_names()
    main_tables = bool(plan.main_tables())
    return {
        "synthetic": is_synthetic(config),
        "blocks": report_blocks(plan.studies, names, main_tables, plan.benchmark is not None),
        "studies": study_sections(plan.studies, names),
        "lreid": {
            "enabled": plan.benchmark is not None,
            "order": order_name(config),
            "features": config["benchmark"]["features"],
        },
    }


def default_settings(
    config: dict[str, Any], study_names: dict[str, str] | None = None
) -> dict[str, Any]:
    """Settings for a report made by hand (`reid report` without --settings-json): every
    registered table and study, shown when some job wrote it (with `study_names`, only when
    it was written for that study)."""
    study_names = dict(study_names or {})
    studies = STUDIES.names()
    benchmark = bool((config.get("benchmark") or {}).get("enabled"))
    return {
        "synthetic": is_synthetic(config),
        "blocks": report_blocks(studies, study_names, True, benchmark),
        "studies": study_sections(studies, study_names),
        "lreid": {
            "enabled": benchmark,
            "order": order_name(config),
            "features": (config.get("benchmark") or {}).get("features", "?"),
        },
    }


def table_needs(study: str) -> set[str]:
    """What the tables a study feeds read besides the study (of EXTRA_INPUTS)."""
    return {need for table in STUDIES.get(study).tables for need in REPORT_TABLES.get(table).needs}


def report_producers(plan) -> list[str]:
    """The jobs that write a report tables file under this plan."""
    producers = ["main"] if plan.main_tables() else []
    producers += [f"study_{study}" for study in plan.studies]
    producers += ["comparison"] if plan.comparison else []
    producers += ["lreid"] if plan.benchmark else []
    return producers
