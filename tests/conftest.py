"""Shared fixtures: a headless plotting backend and the repository root; the long end-to-end
modules (markers `slurm` and `slow`) are collected first, so that pytest-xdist with `--dist
loadfile` (`make test`) starts them at once and the short modules fill the other workers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
REPO_ROOT = Path(__file__).resolve().parents[1]


LONG_FIRST = ("slurm", "slow")


def _rank(item: pytest.Item) -> int:
    """0 for the SLURM module, 1 for the other slow ones, 2 for the rest."""
    for rank, marker in enumerate(LONG_FIRST):
        if item.get_closest_marker(marker) is not None:
            return rank
    return len(LONG_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long modules first; a stable sort on the module's rank keeps each module's items together
    and in their order (pytest collects module by module)."""
    module_rank: dict[Path, int] = {}
    for item in items:
        module_rank[item.path] = min(module_rank.get(item.path, len(LONG_FIRST)), _rank(item))
    items.sort(key=lambda item: module_rank[item.path])


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
