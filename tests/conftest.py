"""Shared fixtures: a headless plotting backend and the repository root; the long end-to-end
modules (markers `slurm` and `slow`) are collected first, so that `pytest -n 2 --dist loadfile`
(`make test`) starts them at once and the short modules fill the other worker meanwhile."""

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
    """Long modules first, whole modules kept together, the order otherwise unchanged."""
    module_rank: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        module_rank[module] = min(module_rank.get(module, len(LONG_FIRST)), _rank(item))
    position = {module: index for index, module in enumerate(module_rank)}

    def key(item: pytest.Item) -> tuple[int, int]:
        module = item.nodeid.split("::", 1)[0]
        return module_rank[module], position[module]

    items.sort(key=key)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT
