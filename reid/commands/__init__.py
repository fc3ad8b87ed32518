"""Sub-commands of the `reid` CLI, one module per concern."""

from reid.commands import data, lreid, ranklist, report, tables, train, tune  # noqa: F401

__all__ = ["data", "lreid", "ranklist", "report", "tables", "train", "tune"]
