"""Report tables: what the results say, computed by the workflow rule that has the inputs and
written as JSON (`reid.paths.report_tables`) for the report to format.

Registered tables (`REPORT_TABLES`; `page_order()`): the opening answer (fed by the α study),
the paper's tables (fed by the studies that name them, or computed from the main run). Every
module of this package is imported here, so a new table is one new module that registers
itself (docs/extending.md, "A report table"). The method comparison, the lifelong benchmark
and each study's section are computed here too, by their own jobs.
"""

import importlib
import pkgutil

from reid.report_tables.base import (
    REPORT_TABLES,
    ReportTable,
    Row,
    TableInputs,
    compute_tables,
    line_figure,
    page_order,
    paper_table,
    register_report_table,
)

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "REPORT_TABLES",
    "ReportTable",
    "Row",
    "TableInputs",
    "compute_tables",
    "line_figure",
    "page_order",
    "paper_table",
    "register_report_table",
]
