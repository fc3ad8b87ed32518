"""The method comparison: its report tables (computed by the comparison job: statistics,
matrices, verdicts) and how the report shows them (table, heatmaps, sentences)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from test_report_fixtures import (
    COMPARISON_MAP,
    TableParser,
    build,
    make_results,
    write_comparison,
)

from reid.report.format import format_stat
from reid.report_tables import comparison


def _build(kwargs: dict, out: Path) -> str:
    return build(kwargs, out)


def section_html(html: str) -> str:
    """The HTML of the method comparison section."""
    start = html.index('<section id="section-comparison">')
    return html[start : html.index("</section>", start)]


def comparison_rows(html: str) -> dict[str, dict[str, dict]]:
    """{method: {cell class: cell}} of the comparison table."""
    parser = TableParser()
    parser.feed(html)
    table = {}
    for row in (r for r in parser.tables["table-comparison"] if r):
        cells = {cell["class"].split()[-1]: cell for cell in row}
        table[cells["method-name"]["text"]] = cells
    return table


def verdicts(html: str) -> list[str]:
    return re.findall(r'<p class="trend verdict">([^<]*)</p>', html)


def tree_verdicts(tmp_path: Path, **kwargs) -> list[str]:
    """The section's sentences for a fake comparison tree (no figures drawn)."""
    tables = tmp_path / "results" / "tables"
    write_comparison(tables, **kwargs)
    continual = pd.read_csv(tables / "continual.csv")
    return comparison.verdicts(comparison.full_summary(continual, None), synthetic=True)


def _one(sentences: list[str], start: str, metric: str = "mAP") -> str:
    """The one sentence about `metric` that starts with `start`."""
    found = [s for s in sentences if s.startswith(start) and metric in s]
    assert len(found) == 1, sentences
    return found[0]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("comparison")
    return _build(make_results(root, journal=False), root / "index.html")


def test_section_and_table_have_one_row_per_method(page):
    section = section_html(page)
    assert 'id="table-comparison"' in section
    rows = comparison_rows(page)
    assert list(rows) == list(COMPARISON_MAP)
    covariance = rows["covariance"]
    assert covariance["mAP-task1_first"]["text"] == "40.0"
    assert covariance["mAP-task1_final"]["text"] == "36.0"
    assert covariance["rank1-average"]["text"] == "55.5"
    assert float(covariance["mAP-bwt"]["value"]) == pytest.approx(-4.0)
    joint = rows["joint"]
    assert joint["mAP-forgetting"]["text"] == "n/a"
    assert joint["mAP-task1_first"]["value"] is None
    assert joint["mAP-task1_final"]["text"] == "41.0"


def test_heatmaps_are_embedded_for_every_method(page):
    section = section_html(page)
    for method in COMPARISON_MAP:
        figure = re.search(rf'id="heatmap-{method}"><img src="([^"]+)"', section)
        assert figure and figure.group(1).startswith("data:image/png;base64,"), method


def test_finetune_forgetting_sentence_carries_the_numbers(page, tmp_path):
    sentence = _one(verdicts(page), "finetune clearly forgets task 1: mAP")
    assert sentence == (
        "finetune clearly forgets task 1: mAP drops from 40.0 to 30.0 "
        "(−10.0 points, forgetting 10.0)."
    )
    small = tree_verdicts(tmp_path, overrides={("finetune", 2, 0): 38.0})
    sentence = _one(small, "finetune forgets task 1: mAP")
    assert "drops from 40.0 to 38.0 (−2.0 points, forgetting 2.0)" in sentence
    assert "the forgetting is small on this data" in sentence
    assert not any("clearly" in s for s in small)


def test_joint_versus_sequential_flips_with_the_numbers(page, tmp_path):
    sentence = _one(verdicts(page), "joint is at least as good on task 1")
    assert "mAP of task 1 after the last step 41.0" in sentence
    assert "frozen_base, 40.0" in sentence
    flipped = tree_verdicts(tmp_path, overrides={("joint", 2, 0): 35.0})
    assert not any(s.startswith("joint is at least as good") for s in flipped)
    sentence = _one(flipped, "joint is not the best on task 1: covariance")
    assert "covariance by 1.0 points, lwf by 2.0 points, frozen_base by 5.0 points" in sentence
    assert "covariance_paper" not in sentence  # 35.0 ties joint
    assert "share identity attributes" in sentence and "splits its epochs" in sentence
    assert "with one seed these differences may well be within seed noise" in sentence


def test_seed_noise_sentence_differs_between_one_and_three_seeds(tmp_path):
    one = _one(tree_verdicts(tmp_path), "With one seed the seed noise cannot be estimated")
    assert "`comparison.seeds`" in one and "mAP" in one
    three = tree_verdicts(tmp_path, seeds=(0, 1, 2))
    sentence = _one(three, "With 3 seeds (mAP")
    larger, within = sentence.split("Within the noise")
    assert "larger than the seed noise" in larger
    assert "task 1 after the last step: finetune (+6.0), joint (-5.0), frozen_base (-4.0)" in larger
    assert "task 1 after the last step: covariance_paper (+1.0), lwf (-1.0)" in within
    assert not any("cannot be estimated" in s for s in three)


def test_three_seeds_show_mean_std_and_interval(tmp_path):
    tables = tmp_path / "results" / "tables"
    write_comparison(tables, seeds=(0, 1, 2))
    summary = comparison.full_summary(pd.read_csv(tables / "continual.csv"), None)
    rows = {row["method"]: row for row in comparison.table_rows(summary)}
    cells = {cell["key"]: format_stat(cell) for cell in rows["covariance"]["cells"]}
    assert cells["mAP-task1_final"] == "36.0 ± 0.8 [34.0, 38.0]"
    assert cells["mAP-task1_first"] == "40.0 ± 0.8 [38.0, 42.0]"
    joint = {cell["key"]: format_stat(cell) for cell in rows["joint"]["cells"]}
    assert joint["rank1-bwt"] == "n/a"


def test_joint_sentence_names_separated_methods_with_seeds(tmp_path):
    three = tree_verdicts(tmp_path, seeds=(0, 1, 2), overrides={("joint", 2, 0): 35.0})
    sentence = _one(three, "joint is not the best on task 1: covariance by 1.0 points, lwf")
    assert "with 3 seeds the 95% intervals of frozen_base and joint do not overlap" in sentence
    assert "those of covariance, lwf do (within seed noise)" in sentence


def test_format_of_single_values_and_missing_ones():
    assert format_stat({"n": 1, "mean": 12.345, "std": float("nan")}) == "12.3"
    assert format_stat({"n": 0, "mean": float("nan")}) == "n/a"
    assert format_stat({}) == "n/a"


def test_missing_comparison_tables_say_not_run(tmp_path):
    kwargs = make_results(tmp_path, journal=False)
    (kwargs["results"] / "report" / "tables" / "comparison.json").unlink()
    section = section_html(_build(kwargs, tmp_path / "none.html"))
    assert "method comparison: not run" in section
    assert 'id="table-comparison"' not in section and "<img" not in section


def test_without_an_accuracy_table_the_section_has_no_heatmaps(tmp_path):
    tables = tmp_path / "results" / "tables"
    write_comparison(tables)
    part = comparison.section(None, pd.read_csv(tables / "continual.csv"), synthetic=True)
    assert part["run"] and part["matrices"]["methods"] == []
    assert [row["method"] for row in part["rows"]] == list(COMPARISON_MAP)


def test_the_section_is_not_recomputed_from_the_accuracy_table(tmp_path):
    """Continual metrics come from continual.csv (the comparison job's), never recomputed."""
    tables = tmp_path / "results" / "tables"
    write_comparison(tables)
    results = pd.read_csv(tables / "comparison.csv")
    assert comparison.section(results, None, synthetic=False) == {"run": False}
    empty = pd.read_csv(tables / "continual.csv").iloc[0:0]
    assert comparison.section(results.iloc[0:0], empty, synthetic=True) == {"run": False}
