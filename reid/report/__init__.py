"""The HTML report: the paper's tables beside ours, figures and provenance, in one file."""

from __future__ import annotations

__all__ = ["build_report"]


def build_report(*args, **kwargs):
    """Build the report (see `reid.report.build.build_report`)."""
    from reid.report.build import build_report as _build

    return _build(*args, **kwargs)
