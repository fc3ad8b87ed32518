"""The HTML report: the paper's tables beside ours, banner, escaping, missing inputs, figures;
it opens only the files it is given."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from test_report_fixtures import (
    TABLE_IDS,
    build,
    fake_config,
    make_results,
    parse_tables,
    settings,
)

from reid import paper
from reid.cli import main
from reid.report.build import build_report
from reid.report.inputs import ReportInputs


def _build(kwargs: dict, out: Path, config: dict | None = None) -> str:
    return build(kwargs, out, config)


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> tuple[str, dict]:
    root = tmp_path_factory.mktemp("full")
    kwargs = make_results(root)
    return _build(kwargs, root / "report" / "index.html"), kwargs


def test_all_seven_tables_have_paper_ours_and_correct_differences(full):
    html, _ = full
    tables = parse_tables(html)
    for table_id in TABLE_IDS:
        rows = tables[table_id]
        compared = [row for row in rows if row["paper"]["value"] and row["ours"]["value"]]
        assert compared, table_id
        for row in compared:
            paper_value, ours = float(row["paper"]["value"]), float(row["ours"]["value"])
            assert float(row["diff"]["value"]) == pytest.approx(ours - paper_value)
            assert row["diff"]["text"].startswith(("+", "-"))


def test_tables_hold_the_papers_values_and_ours(full):
    tables = parse_tables(full[0])
    optimizer = {r["setting"]["text"]: r for r in tables["table-optimizer"]}
    assert float(optimizer["Adam"]["paper"]["value"]) == 74.0
    assert float(optimizer["SGD+CLR"]["ours"]["value"]) == 58.0
    batch = [float(r["paper"]["value"]) for r in tables["table-batch-size"]]
    assert batch == [89.3, 79.2]
    lam = {r["setting"]["text"]: r for r in tables["table-lambda"]}
    assert float(lam["λ = 1"]["paper"]["value"]) == 84.6
    assert float(lam["λ = 1"]["ours"]["value"]) == 42.0
    assert "market 44.0" in lam["λ = 1"]["detail"]["text"]
    hyper = {r["setting"]["text"]: r for r in tables["table-hyperparameters"]}
    assert float(hyper["λ"]["ours"]["value"]) == 0.9
    assert float(hyper["α"]["paper"]["value"]) == 1e-9
    datasets = [
        (float(r["paper"]["value"]), float(r["ours"]["value"])) for r in tables["table-datasets"]
    ]
    assert datasets == [(751, 32), (702, 30)]
    ensembling = [(r["paper"]["value"], r["ours"]["value"]) for r in tables["table-ensembling"]]
    assert [(float(p), float(o)) for p, o in ensembling if p] == [
        (84.5, 30.0),
        (87.7, 33.0),
        (84.1, 29.0),
    ]
    results = [
        (r["metric"]["text"], float(r["paper"]["value"]), float(r["ours"]["value"]))
        for r in tables["table-results"]
    ]
    expected_paper = [v for metrics in paper.RESULTS.values() for v in metrics.values()]
    assert [p for _, p, _ in results] == expected_paper
    assert results[0] == ("Rank-1", 89.3, 60.0)
    assert results[-1] == ("mAP", 41.2, 30.0)


def test_trend_verdicts_are_computed_from_the_numbers(full):
    html = full[0]
    assert (
        "paper: SGD+CLR beats Adam by 15.3 points; ours: SGD+CLR beats Adam by 6.0 points"
        " — same direction"
    ) in html
    assert "task 1 Rank-1 drops by 14.5 points after phase 2 (paper: drops by 19.1)" in html
    assert "different best λ" in html
    assert "the covariance term is 1e-15 of the cross-entropy" in html


def test_synthetic_banner_only_for_generated_data(tmp_path, full):
    _, kwargs = full
    assert 'id="synthetic-banner"' in full[0]
    real = _build(kwargs, tmp_path / "real.html", fake_config(source="download"))
    assert 'id="synthetic-banner"' not in real
    assert "not comparable" not in real


def test_strings_from_the_config_are_escaped(tmp_path, full):
    _, kwargs = full
    config = fake_config(name="<script>alert(1)</script>")
    html = _build(kwargs, tmp_path / "escaped.html", config)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_figures_are_embedded_and_nothing_external(full):
    html = full[0]
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 5
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "<script" not in html


def test_missing_optional_inputs_show_not_run(tmp_path):
    out = build_report(ReportInputs(), tmp_path / "index.html", settings=settings({}), config={})
    html = out.read_text(encoding="utf-8")
    tables = parse_tables(html)
    for table_id in TABLE_IDS:
        rows = tables[table_id]
        assert rows and all(r["ours"]["text"] == "not run" for r in rows), table_id
        assert all(r["paper"]["value"] for r in rows if r["setting"]["text"] != "")
    assert "study lambda: not run" in html
    assert "not run: the lambda study (config keys ablations.lambdas" in html
    assert "method comparison: not run" in html
    assert 'id="synthetic-banner"' not in html


def test_partial_results_keep_the_rest(tmp_path):
    kwargs = make_results(tmp_path, journal=False)
    tables_dir = kwargs["results"] / "report" / "tables"
    (tables_dir / "study_optimizer.json").unlink()
    (tables_dir / "comparison.json").unlink()
    html = _build(kwargs, tmp_path / "partial.html")
    tables = parse_tables(html)
    assert all(r["ours"]["text"] == "not run" for r in tables["table-optimizer"])
    assert float(tables["table-batch-size"][0]["ours"]["value"]) == 57.5
    assert "method comparison: not run" in html
    assert "study batch_size: not run" in html  # its section needs the study itself


def test_cli_writes_the_report(tmp_path, capsys):
    kwargs = make_results(tmp_path, journal=False)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(fake_config()), encoding="utf-8")
    out = tmp_path / "site" / "index.html"
    files = kwargs["files"]
    code = main(
        ["report", "--out", str(out), "--config-json", f"@{config}"]
        + ["--settings-json", json.dumps(settings())]
        + ["--tables", *map(str, files.tables), "--histories", *map(str, files.histories)]
        + ["--metrics", *map(str, files.metrics), "--provenance", str(files.provenance)]
        + ["--ranklists"]
    )
    assert code == 0
    assert str(out) in capsys.readouterr().out
    assert 'id="table-results"' in out.read_text(encoding="utf-8")


def test_the_report_opens_only_the_files_it_is_given(tmp_path):
    """Copy only the given files to a fresh folder: the same page (the time stamp aside)."""
    kwargs = make_results(tmp_path / "full")
    files = kwargs["files"]
    fresh = tmp_path / "fresh"
    moved = {}
    for path in files.files():
        target = fresh / path.relative_to(tmp_path / "full")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        moved[path] = target
    copied = ReportInputs(
        tables=[moved[p] for p in files.tables],
        histories=[moved[p] for p in files.histories],
        metrics=[moved[p] for p in files.metrics],
        ranklists=[],
        provenance=moved[files.provenance],
    )
    first = build(kwargs, tmp_path / "first.html")
    second = build({"files": copied}, tmp_path / "second.html")
    assert len(list(fresh.rglob("*.*"))) == len(moved)  # nothing but the given files
    assert _without_time(first) == _without_time(second)
    assert 'id="table-lambda"' in second and "heatmap-covariance" in second


def _without_time(html: str) -> str:
    return re.sub(r"Generated [^.]*UTC", "Generated", html)


def test_cli_reports_a_missing_results_folder(tmp_path, capsys):
    code = main(["report", "--results", str(tmp_path / "nope")])
    assert code == 2
    assert "no such folder" in capsys.readouterr().err


def test_a_report_by_hand_finds_the_files_of_a_results_folder(tmp_path):
    """`reid report --results R` alone: report tables, the main runs they name, provenance."""
    kwargs = make_results(tmp_path, journal=False)
    out = tmp_path / "by-hand.html"
    assert main(["report", "--results", str(kwargs["results"]), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert 'id="table-runs"' in html and "bbbb2222" in html
    assert float(parse_tables(html)["table-optimizer"][1]["ours"]["value"]) == 58.0
