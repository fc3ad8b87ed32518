"""docs/extending.md, "A report table", followed step by step: its module (the code block, run
as written), named by the λ study, computed by the study's aggregate step and shown by the
report under the page order it asked for."""

from __future__ import annotations

import dataclasses
import re
import sys
import types
from pathlib import Path

import optuna
import pytest

from reid.io import write_json
from reid.plans.report import default_settings
from reid.report.build import build_report
from reid.report.inputs import ReportInputs
from reid.report_tables import REPORT_TABLES, TableInputs, page_order
from reid.tuning.aggregate import best_point, study_frame, study_report_tables
from reid.tuning.studies import STUDIES

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
MODULE = "reid.report_tables.lambda_range"


def _guide_module() -> str:
    """The python block of the guide's report-table section."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## A report table") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def followed(monkeypatch):
    """The guide's module registered, and the λ study naming its table; undone afterwards."""
    module = types.ModuleType(MODULE)
    monkeypatch.setitem(sys.modules, MODULE, module)
    exec(compile(_guide_module(), f"<{GUIDE.name}>", "exec"), module.__dict__)  # noqa: S102
    study = STUDIES.get("lambda")
    assert 'tables=("hyperparameters", "lambda", "lambda_range")' in GUIDE.read_text()
    monkeypatch.setitem(
        STUDIES._items,  # noqa: SLF001 - the registration the guide asks for, for this test
        "lambda",
        dataclasses.replace(study, tables=(*study.tables, "lambda_range")),
    )
    yield
    REPORT_TABLES._items.pop("lambda_range", None)  # noqa: SLF001


def _lambda_study(values: dict[float, float]) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="lambda-test", direction="maximize")
    study.set_user_attr("ablation", "lambda")
    dist = optuna.distributions.CategoricalDistribution(sorted(values))
    for lam, value in values.items():
        study.add_trial(
            optuna.trial.create_trial(
                params={"lam": lam},
                distributions={"lam": dist},
                value=value,
                user_attrs={"point": f"{lam:g}", "source": "grid"},
            )
        )
    return study


def test_the_guides_report_table_reaches_the_report(followed, tmp_path):
    assert [t.name for t in page_order()].index("lambda_range") == [
        t.name for t in page_order()
    ].index("lambda") + 1
    study = _lambda_study({0.7: 40.0, 1.0: 43.5, 1.3: 39.0})
    frame, best = study_frame(study), best_point(study)
    produced = study_report_tables(study, frame, best, TableInputs())
    table = next(t for t in produced["tables"] if t["name"] == "lambda_range")
    (row,) = table["rows"]
    assert row["ours"] == pytest.approx(4.5) and row["paper"] == pytest.approx(1.7)
    assert table["trends"] == ["paper: 1.7 points; ours: 4.5 points, more sensitive"]
    path = tmp_path / "results" / "report" / "tables" / "study_lambda.json"
    write_json(path, produced)
    settings = default_settings({}, {"lambda": "lambda-test"})
    html = build_report(
        ReportInputs(tables=[path]), tmp_path / "index.html", settings=settings, config={}
    ).read_text(encoding="utf-8")
    section = html[html.index('id="table-lambda-range"') :]
    assert "λ sensitivity" in html and 'data-value="4.5"' in section.split("</table>")[0]
    # without the study's result the table says what would run it
    empty = build_report(
        ReportInputs(), tmp_path / "empty.html", settings=settings, config={}
    ).read_text(encoding="utf-8")
    assert "not run: the lambda study (config keys ablations.lambdas" in empty
    assert "paper: λ moves Rank-1 by 1.7 points; ours: not run" in empty
