"""Sub-commands of the `reid` CLI, one module per concern."""

from reid.commands import config, data, lreid, ranklist, report, tables, train, tune  # noqa: F401

__all__ = ["config", "data", "lreid", "ranklist", "report", "tables", "train", "tune"]
