"""select_ids: N train identities drawn with a seeded generator and relabelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from reid.data import DatasetSplits, Sample, select_ids
from reid.errors import DatasetError


def splits_with(num_ids: int) -> DatasetSplits:
    train = [Sample(Path(f"{pid}_{k}.jpg"), pid, 1 + k) for pid in range(num_ids) for k in (0, 1)]
    query = [Sample(Path("q.jpg"), 100, 1)]
    gallery = [Sample(Path("g.jpg"), 100, 2)]
    return DatasetSplits("toy", train, query, gallery)


def test_keeps_n_ids_relabelled_and_leaves_test_splits(tmp_path):
    original = splits_with(10)
    kept = select_ids(original, 4, seed=3)
    assert sorted({s.pid for s in kept.train}) == [0, 1, 2, 3]
    assert len(kept.train) == 8
    assert kept.query == original.query and kept.gallery == original.gallery
    assert kept.notes["selected_ids"] == 4
    assert len(original.train) == 20  # the input is not changed
    # each kept label still holds the images of one original identity
    origin = {s.path.name.split("_")[0] for s in kept.train}
    assert len(origin) == 4


def test_seeded_and_seed_dependent():
    original = splits_with(40)
    names = [
        sorted({s.path.name.split("_")[0] for s in select_ids(original, 5, seed=s).train})
        for s in (0, 0, 1)
    ]
    assert names[0] == names[1] and names[0] != names[2]


def test_first_order_keeps_the_first_labels():
    kept = select_ids(splits_with(6), 2, order="first")
    assert sorted({s.path.name.split("_")[0] for s in kept.train}) == ["0", "1"]


def test_more_ids_than_the_domain_has():
    with pytest.raises(
        DatasetError,
        match=r"select_ids 500 is larger than toy's train split, "
        r"which has 6 identities",
    ):
        select_ids(splits_with(6), 500)
    with pytest.raises(DatasetError, match="positive integer"):
        select_ids(splits_with(6), 0)
