"""CUHK01 adapter: both folder conventions, views from the image index, the shipped split."""

from __future__ import annotations

import pytest
from lreid_fixtures import first_ids, make_files, rows

from reid.data import load_dataset
from reid.errors import DatasetError


def make_cuhk01(root, ids):
    return make_files(root, [f"{p:04d}{i:03d}.png" for p in ids for i in range(1, 5)])


@pytest.mark.parametrize("layout", ["CUHK01/campus", "cuhk01/campus"], ids=["lstkc", "torchreid"])
def test_both_conventions_with_the_shipped_split(tmp_path, layout):
    train, test = first_ids("cuhk01", 2, 3)
    root = make_cuhk01(tmp_path / layout, train + test)
    splits = load_dataset("cuhk01", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(2, 8), (3, 6), (3, 6)]
    assert {s.path.name[4:] for s in splits.query} == {"001.png", "002.png"}
    assert {(s.path.name[4:], s.camid) for s in splits.gallery} == {("003.png", 2), ("004.png", 2)}


def test_verify_counts_rejects_a_small_tree(tmp_path):
    train, test = first_ids("cuhk01", 1, 1)
    make_cuhk01(tmp_path / "campus", train + test)
    with pytest.raises(DatasetError, match=r"query: expected 486 ids / 972 images, found 1 / 2"):
        load_dataset("cuhk01", tmp_path, verify_counts=True)
