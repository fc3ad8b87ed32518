"""GRID adapter: its own partition .mat (read with scipy), the shipped split, distractors."""

from __future__ import annotations

import numpy as np
import pytest
from lreid_fixtures import first_ids, make_files, rows, write_json
from scipy.io import savemat

from reid.data import load_dataset
from reid.errors import DatasetError


def make_grid(root, ids, distractors=3):
    files = [f"probe/{p:04d}_1_{p:05d}_12.jpeg" for p in ids]
    files += [f"gallery/{p:04d}_5_{p:05d}_40.jpeg" for p in ids]
    files += [f"gallery/0000_{c}_{90000 + c:05d}_7.jpeg" for c in range(2, 2 + distractors)]
    return make_files(root, files)


def write_partitions(path, train_ids):
    """features_and_partitions.mat as the release holds it: trainIdxAll, a 1x10 cell of
    structs whose third field lists the train ids of that split."""
    cells = np.empty((1, 10), dtype=object)
    for index in range(10):
        ids = np.asarray(train_ids if index == 0 else [1], dtype=np.float64).reshape(1, -1)
        cells[0, index] = {"a": np.zeros((1, 1)), "b": np.zeros((1, 1)), "idx": ids}
    savemat(str(path), {"trainIdxAll": cells})


def test_partition_mat_split_zero(tmp_path):
    root = make_grid(tmp_path / "grid" / "underground_reid", [1, 2, 3, 4])
    write_partitions(root / "features_and_partitions.mat", [2, 4])
    splits = load_dataset("grid", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(2, 4), (2, 2), (3, 5)]
    assert sorted(s.pid for s in splits.query) == [1, 3]
    assert sorted(s.pid for s in splits.gallery) == [0, 0, 0, 1, 3]
    assert {s.camid for s in splits.query} == {1}


def test_shipped_split_when_the_mat_is_absent(tmp_path):
    train, test = first_ids("grid", 2, 2)
    root = make_grid(tmp_path / "underground_reid", train + test)
    splits = load_dataset("grid", root)
    assert sorted({s.pid for s in splits.query}) == test
    assert splits.num_train_pids == 2


def test_user_split_overrides_the_mat_and_a_broken_mat_is_named(tmp_path):
    root = make_grid(tmp_path / "underground_reid", [1, 2, 3])
    (root / "features_and_partitions.mat").write_bytes(b"not a mat file")
    with pytest.raises(DatasetError, match=r"features_and_partitions.mat could not be read"):
        load_dataset("grid", root)
    split = write_json(tmp_path / "s.json", {"train_ids": [1], "test_ids": [2, 3]})
    assert rows(load_dataset("grid", root, split_file=split))[1] == (2, 2)


def test_verify_counts_rejects_a_small_tree(tmp_path):
    root = make_grid(tmp_path / "underground_reid", [1, 2, 3, 4])
    write_partitions(root / "features_and_partitions.mat", [2, 4])
    with pytest.raises(DatasetError, match=r"train: expected 125 ids / 250 images, found 2 / 4"):
        load_dataset("grid", root, verify_counts=True)
