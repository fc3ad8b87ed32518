"""`select_ids`: keep N identities of a train split (the LReID benchmark's 500 per domain)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from reid.data.types import DatasetSplits, Sample
from reid.errors import DatasetError
from reid.helpers import stable_hash


def select_ids(
    splits: DatasetSplits, n: int, seed: int = 0, order: str = "random"
) -> DatasetSplits:
    """A copy of `splits` whose train split keeps `n` identities, relabelled 0..n-1.

    `order="random"` draws them with `numpy.random.default_rng(seed)`; `order="first"` keeps
    the first `n` train labels (LSTKC's `select_num`). Query and gallery are unchanged."""
    labels = sorted({s.pid for s in splits.train})
    if not isinstance(n, int) or n < 1:
        raise DatasetError(f"select_ids must be a positive integer, got {n!r}")
    if n > len(labels):
        raise DatasetError(
            f"select_ids {n} is larger than {splits.name}'s train split, which has "
            f"{len(labels)} identities; lower select_ids to at most {len(labels)}"
        )
    if order == "random":
        chosen = np.random.default_rng(seed).choice(len(labels), size=n, replace=False)
        kept = sorted(labels[int(i)] for i in chosen)
    elif order == "first":
        kept = labels[:n]
    else:
        raise DatasetError(f"select_ids order must be 'random' or 'first', got {order!r}")
    mapping = {pid: label for label, pid in enumerate(kept)}
    train = [Sample(s.path, mapping[s.pid], s.camid) for s in splits.train if s.pid in mapping]
    notes = dict(splits.notes, selected_ids=n)
    return dataclasses.replace(splits, train=train, notes=notes)


SELECTION_KEYS = ("select_ids", "select_seed", "select_order", "split_file")


def selection_of(task: dict) -> dict:
    """The keys of a task (config entry or run-spec entry) that narrow what it loads: a split
    file and `select_ids` (+ `select_seed`, + `select_order` unless it is the default
    `random`); empty when none is set, so a task without them keeps its run hashes."""
    picked = {key: task.get(key) for key in SELECTION_KEYS if task.get(key) is not None}
    if picked.get("select_order") == "random":
        picked.pop("select_order")
    if "select_ids" not in picked:
        picked.pop("select_seed", None)
        picked.pop("select_order", None)
    return picked


def load_task_splits(task: dict, root) -> DatasetSplits:
    """A task's splits as training and evaluation see them: its dataset at `root`, read with
    its split file, train cut to `select_ids` identities drawn with `select_seed` (one helper,
    so `reid prepare`, training and evaluation agree)."""
    from reid.data.datasets import load_dataset

    chosen = selection_of(task)
    split_file = chosen.get("split_file")
    splits = load_dataset(
        task["dataset"], root, split_file=Path(split_file) if split_file else None
    )
    if "select_ids" in chosen:
        splits = select_ids(
            splits,
            int(chosen["select_ids"]),
            seed=chosen.get("select_seed", 0),
            order=chosen.get("select_order", "random"),
        )
    return splits


def selection_tag(task: dict, split: str) -> str:
    """Suffix of a split's image cache when the selection changes that split ('' otherwise)."""
    chosen = selection_of(task)
    if split != "train":
        chosen.pop("select_ids", None)
        chosen.pop("select_seed", None)
        chosen.pop("select_order", None)
    return f"_{stable_hash(chosen, 8)}" if chosen else ""
