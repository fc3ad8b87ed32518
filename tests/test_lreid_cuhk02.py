"""CUHK02 adapter: both folder conventions, P1-P4 train with per-pair ids, P5 test."""

from __future__ import annotations

import pytest
from lreid_fixtures import make_files, rows, write_json

from reid.data import load_dataset
from reid.errors import DatasetError


def make_cuhk02(root):
    files = []
    for pair, pids in (("P1", [1, 2]), ("P2", [1]), ("P5", [1, 7])):
        files += [f"{pair}/cam{v}/{p:03d}_{k}.png" for p in pids for v in (1, 2) for k in (1, 2)]
    return make_files(root, files)


@pytest.mark.parametrize("layout", ["CUHK02", "cuhk02/Dataset"], ids=["lstkc", "torchreid"])
def test_both_conventions(tmp_path, layout):
    root = make_cuhk02(tmp_path / layout)
    splits = load_dataset("cuhk02", tmp_path)
    assert splits.root == root
    # P1's 001 and P2's 001 are different people: 3 train ids
    assert rows(splits) == [(3, 12), (2, 4), (2, 4)]
    assert {s.camid for s in splits.train} == {1, 2, 3, 4}
    assert {s.camid for s in splits.query} == {9} and {s.camid for s in splits.gallery} == {10}
    assert sorted({s.pid for s in splits.query}) == [1, 7]


def test_fixed_split_refuses_a_split_file(tmp_path):
    root = make_cuhk02(tmp_path / "CUHK02")
    split = write_json(tmp_path / "s.json", {"train_ids": [1], "test_ids": [7]})
    with pytest.raises(DatasetError, match="fixed"):
        load_dataset("cuhk02", root, split_file=split)


def test_verify_counts_rejects_a_small_tree(tmp_path):
    make_cuhk02(tmp_path / "CUHK02")
    with pytest.raises(DatasetError, match=r"train: expected 1577 ids / 6308 images, found 3 / 12"):
        load_dataset("cuhk02", tmp_path, verify_counts=True)
