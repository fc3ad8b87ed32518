"""A small fake results tree, its report tables computed as the rules compute them, the report's
inputs and settings, and an HTML table parser."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from reid.report.inputs import ReportInputs

TABLE_IDS = (
    "table-optimizer",
    "table-batch-size",
    "table-hyperparameters",
    "table-lambda",
    "table-datasets",
    "table-ensembling",
    "table-results",
)
TASKS = ("market", "duke")
RUNS = ("aaaa1111", "bbbb2222")


def fake_config(source: str = "synthetic", name: str = "market") -> dict:
    return {
        "seed": 0,
        "tasks": [
            {"name": name, "dataset": "market1501", "source": source},
            {"name": "duke", "dataset": "dukemtmcreid", "source": source},
        ],
        "method": {
            "name": "covariance",
            "covariance": {"variant": "detached", "lam": 1.0, "alpha": 1e-9, "beta": 0.0},
        },
        "optuna": {"storage": "does/not/exist.log"},
    }


def _json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj), encoding="utf-8")


def _csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def _eval(task: str, rank1: float) -> dict:
    cmc = [min(1.0, rank1 + 0.02 * i) for i in range(20)]
    return {
        "rank1": rank1,
        "rank5": cmc[4],
        "rank10": cmc[9],
        "rank20": cmc[19],
        "mAP": rank1 - 0.2,
        "cmc": cmc,
        "num_valid_queries": 30,
        "num_query": 32,
        "num_gallery": 200,
        "features": "task",
        "task": task,
    }


def _study(name: str, points: dict[str, float], params: dict[str, dict]) -> list[dict]:
    rows = []
    for number, (point, value) in enumerate(points.items()):
        row = {
            "study": name,
            "number": number,
            "state": "COMPLETE",
            "value": value,
            "point": point,
            "source": "grid",
            "run": f"run{number}",
            "market_rank1": value + 2.0,
            "duke_rank1": value - 2.0,
            "market_mAP": value - 10,
        }
        row.update({f"param_{k}": v for k, v in params[point].items()})
        rows.append(row)
    rows.append(
        {
            "study": name,
            "number": len(rows),
            "state": "FAIL",
            "value": None,
            "point": None,
            "source": "sampler",
            "run": None,
        }
    )
    return rows


STUDIES = {
    "optimizer": {"adam": 52.0, "sgd": 58.0},
    "batch_size": {"32": 57.5, "64": 50.0},
    "lambda": {"0.7": 40.0, "0.8": 41.0, "0.9": 43.5, "1.0": 42.0, "1.3": 39.0},
    "ensembling": {"base_second@8": 30.0, "base_second@16": 33.0, "both@8": 29.0, "both@16": 31.0},
}


def _params(name: str, point: str) -> dict:
    if name == "optimizer":
        return {"optimizer": point}
    if name == "batch_size":
        return {"batch_size": int(point)}
    if name == "lambda":
        return {"lam": float(point), "alpha": 1e-9, "beta": 0.0}
    trainable, epochs = point.split("@")
    return {"trainable": trainable, "epochs": int(epochs)}


def write_journal(path: Path) -> None:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    for name, points in STUDIES.items():
        study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
        for point, value in points.items():
            params = _params(name, point)
            dists = {
                key: optuna.distributions.CategoricalDistribution(
                    sorted({_params(name, p)[key] for p in points}, key=str)
                )
                for key in params
            }
            study.add_trial(
                optuna.trial.create_trial(params=params, distributions=dists, value=value)
            )


# mAP (percent) of the fake comparison, seed 0: method -> {(step, task_index): value}.
COMPARISON_MAP: dict[str, dict[tuple[int, int], float]] = {
    "covariance": {(1, 0): 40.0, (2, 0): 36.0, (2, 1): 35.0},
    "covariance_paper": {(1, 0): 40.0, (2, 0): 35.0, (2, 1): 34.0},
    "finetune": {(1, 0): 40.0, (2, 0): 30.0, (2, 1): 38.0},
    "lwf": {(1, 0): 40.0, (2, 0): 37.0, (2, 1): 33.0},
    "joint": {(2, 0): 41.0, (2, 1): 37.0},
    "frozen_base": {(1, 0): 40.0, (2, 0): 40.0, (2, 1): 30.0},
}
# Per-seed offsets added to every value (so three seeds give a std of 0.8 points).
SEED_OFFSETS = (0.0, 0.8, -0.8)


def comparison_rows(
    seeds: tuple[int, ...] = (0,), overrides: dict[tuple[str, int, int], float] | None = None
) -> list[dict]:
    """Rows of comparison.csv; `overrides` replaces the seed-0 mAP of (method, step, task)."""
    rows = []
    for method, cells in COMPARISON_MAP.items():
        for (step, task), value in cells.items():
            value = (overrides or {}).get((method, step, task), value)
            for seed in seeds:
                m_ap = value + SEED_OFFSETS[seed % len(SEED_OFFSETS)]
                rows.append(
                    {
                        "method": method,
                        "seed": seed,
                        "step": step,
                        "task": TASKS[task],
                        "task_index": task,
                        "run": f"{method[:4]}{seed}{step}",
                        "rank1": min(100.0, m_ap + 20.0),
                        "mAP": m_ap,
                    }
                )
    return rows


def write_comparison(
    tables: Path,
    seeds: tuple[int, ...] = (0,),
    overrides: dict[tuple[str, int, int], float] | None = None,
) -> None:
    """comparison.csv, continual.csv and continual_summary.csv of a fake method comparison."""
    from reid.continual.table import continual_metrics, seed_summary

    results = pd.DataFrame(comparison_rows(seeds, overrides))
    continual = continual_metrics(results)
    tables.mkdir(parents=True, exist_ok=True)
    results.to_csv(tables / "comparison.csv", index=False)
    continual.to_csv(tables / "continual.csv", index=False)
    seed_summary(continual).to_csv(tables / "continual_summary.csv", index=False)


def make_results(root: Path, *, journal: bool = True) -> dict:
    """Write a full fake results tree under `root`; return the report's keyword arguments."""
    results = root / "results"
    tables = results / "tables"
    _csv(
        tables / "main_results.csv",
        [
            {
                "phase": 1,
                "task": "market",
                "rank1": 60.0,
                "rank5": 70.0,
                "rank10": 75.0,
                "rank20": 80.0,
                "mAP": 40.0,
                "run": RUNS[0],
                "features": "task",
            },
            {
                "phase": 2,
                "task": "market",
                "rank1": 45.5,
                "rank5": 60.0,
                "rank10": 65.0,
                "rank20": 70.0,
                "mAP": 30.0,
                "run": RUNS[1],
                "features": "task",
            },
            {
                "phase": 2,
                "task": "duke",
                "rank1": 50.0,
                "rank5": 61.0,
                "rank10": 66.0,
                "rank20": 75.0,
                "mAP": 35.0,
                "run": RUNS[1],
                "features": "task",
            },
        ],
    )
    _csv(
        tables / "accuracy_matrix.csv",
        [
            {"step": s, "task": t, "metric": m, "value": v}
            for s, t, m, v in [
                (1, "market", "rank1", 60.0),
                (2, "market", "rank1", 45.5),
                (2, "duke", "rank1", 50.0),
                (1, "market", "mAP", 40.0),
                (2, "market", "mAP", 30.0),
                (2, "duke", "mAP", 35.0),
            ]
        ],
    )
    for name, points in STUDIES.items():
        _csv(
            tables / f"study_{name}.csv",
            _study(name, points, {p: _params(name, p) for p in points}),
        )
        best = max(points, key=points.get)
        _json(
            results / "optuna" / f"best_{name}.json",
            {
                "study": name,
                "objective": "rank1",
                "direction": "maximize",
                "best_value": points[best],
                "best_params": _params(name, best),
                "best_trial": 0,
                "point": best,
            },
        )
    write_comparison(tables)
    for phase, run in enumerate(RUNS, start=1):
        folder = results / "runs" / run
        _csv(
            folder / "history.csv",
            [
                {
                    "epoch": e,
                    "lr": 0.01 * e,
                    "ce": 5.0 / e,
                    "cov": 0.0 if phase == 1 else 5e-15 / e,
                    "lwf": 0.0,
                    "total": 5.0 / e,
                    "couples": 8,
                    "images": 256,
                    "seconds": 1.0,
                }
                for e in range(1, 4)
            ],
        )
        task = TASKS[phase - 1]
        method = (
            None
            if phase == 1
            else {
                "name": "covariance",
                "trainable": "base_second",
                "covariance": {"lam": 1.0, "alpha": 1e-9, "beta": 0},
            }
        )
        _json(
            folder / "spec.json",
            {
                "kind": "phase",
                "phase": phase,
                "parent": None if phase == 1 else RUNS[0],
                "task": {"name": task, "dataset": "x", "root": "r"},
                "method": method,
                "seed": 0,
            },
        )
        _json(
            folder / "metrics.json",
            {
                "run": run,
                "phase": phase,
                "epochs": 3,
                "train_seconds": 3.5,
                "images_per_second": 220.0,
                "final_ce": 1.6,
                "final_cov": 1e-15,
                "num_classes": 32,
                "method": None if phase == 1 else "covariance",
                "tasks": [task],
            },
        )
        tasks = {evaluated: _eval(evaluated, 0.6 - 0.1 * phase) for evaluated in TASKS[:phase]}
        _json(folder / "eval" / "tasks.json", {"tasks": tasks})
    datasets = []
    for task, dataset, ids in (("market", "market1501", 32), ("duke", "dukemtmcreid", 30)):
        folder = root / "resources" / "datasets" / f"{task}-abc"
        _json(
            folder / "READY.json",
            {"task": task, "dataset": dataset, "root": str(folder), "num_train_pids": ids},
        )
        _csv(
            folder / "summary.csv",
            [
                {"dataset": dataset, "split": "train", "ids": ids, "images": ids * 8, "cameras": 6},
                {"dataset": dataset, "split": "query", "ids": 32, "images": 64, "cameras": 6},
            ],
        )
        datasets.append(folder / "READY.json")
    provenance = root / "provenance.json"
    _json(
        provenance,
        {
            "config": fake_config(),
            "git_commit": "0123abcd",
            "packages": {"torch": "2.14.1", "optuna": "5.0.0"},
            "device": "cpu (2 threads)",
        },
    )
    if journal:
        write_journal(results / "optuna" / "journal.log")
    tables = compute_report_tables(results, datasets, journal=journal)
    files = ReportInputs(
        tables=tables,
        histories=[results / "runs" / run / "history.csv" for run in RUNS],
        metrics=[results / "runs" / run / "metrics.json" for run in RUNS],
        ranklists=[],
        provenance=provenance,
    )
    return {
        "results": results,
        "files": files,
        "datasets": datasets,
        "provenance": provenance,
        "main_run_hashes": list(RUNS),
    }


def compute_report_tables(results: Path, datasets: list[Path], *, journal: bool) -> list[Path]:
    """The report tables files, computed from the fake tree as the rules compute them."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    from reid.report_tables import TableInputs, compute_tables
    from reid.report_tables.comparison import section
    from reid.report_tables.main import cmc_curves, dataset_rows, main_tables
    from reid.report_tables.studies import study_section
    from reid.tables import read_eval
    from reid.tuning.studies import STUDIES as REGISTERED

    tables = results / "tables"
    out = results / "report" / "tables"
    main = pd.read_csv(tables / "main_results.csv")
    manifest = [
        {"phase": r.phase, "task": r.task, "file": results / "runs" / r.run / "eval" / "tasks.json"}
        for r in main.itertuples()
    ]
    evaluations = [read_eval(e["file"], e["task"]) for e in manifest]
    histories = [pd.read_csv(results / "runs" / run / "history.csv") for run in RUNS]
    written = out / "main.json"
    _json(
        written,
        main_tables(main, dataset_rows(datasets), histories, cmc_curves(manifest, evaluations)),
    )
    files = [written]
    continual = read(tables / "continual.csv")
    if continual is not None:
        results_frame = pd.read_csv(tables / "comparison.csv")
        _json(
            out / "comparison.json",
            {"producer": "comparison", **section(results_frame, continual, synthetic=True)},
        )
        files.append(out / "comparison.json")
    storage = None
    if journal:
        storage = optuna.storages.JournalStorage(
            JournalFileBackend(str(results / "optuna" / "journal.log"))
        )
    for name in STUDIES:
        frame = read(tables / f"study_{name}.csv")
        if frame is None:
            continue
        best = json.loads((results / "optuna" / f"best_{name}.json").read_text())
        inputs = TableInputs(
            config=fake_config(),
            study=frame,
            best=best,
            summary=read(tables / "continual_summary.csv"),
            continual=continual,
        )
        part = {
            "producer": f"study_{name}",
            "tables": compute_tables(list(REGISTERED.get(name).tables), inputs),
        }
        if storage is not None:
            study = optuna.load_study(study_name=name, storage=storage)
            part["study"] = study_section(study, best, REGISTERED.get(name).heading, name)
        _json(out / f"study_{name}.json", part)
        files.append(out / f"study_{name}.json")
    return files


def read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


def settings(config: dict | None = None) -> dict:
    """The report's settings for a hand-made report of `config` (every table and study)."""
    from reid.plans.report import default_settings

    return default_settings(config if config is not None else fake_config())


def build(kwargs: dict, out: Path, config: dict | None = None) -> str:
    """The report of a fake tree, as HTML."""
    from reid.report.build import build_report

    config = config if config is not None else fake_config()
    build_report(kwargs["files"], out, settings=settings(config), config=config)
    return out.read_text(encoding="utf-8")


class TableParser(HTMLParser):
    """Collect every <table id=...>: its rows as lists of (class, data-value, text) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[dict]]] = {}
        self._table: str | None = None
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif self._table and tag == "tr":
            self.tables[self._table].append([])
        elif self._table and tag == "td":
            self._cell = {
                "class": attrs.get("class") or "",
                "value": attrs.get("data-value"),
                "text": "",
            }
            self.tables[self._table][-1].append(self._cell)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def _key(cell: dict, index: int) -> str:
    names = ("paper", "ours", "diff", "setting", "metric", "detail")
    return next((name for name in names if name in cell["class"].split()), str(index))


def parse_tables(html: str) -> dict[str, list[dict[str, dict]]]:
    """{table id: [ {column class: cell} per body row ]}."""
    parser = TableParser()
    parser.feed(html)
    return {
        table_id: [{_key(cell, i): cell for i, cell in enumerate(row)} for row in rows if row]
        for table_id, rows in parser.tables.items()
    }


@pytest.fixture
def fake_results(tmp_path: Path) -> dict:
    return make_results(tmp_path)
