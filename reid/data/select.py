"""`select_ids`: keep N identities of a train split (the LReID benchmark's 500 per domain)."""

from __future__ import annotations

import dataclasses

import numpy as np

from reid.data.types import DatasetSplits, Sample
from reid.errors import DatasetError


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
