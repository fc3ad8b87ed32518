"""SenseReID adapter: a test-only set in both folder conventions."""

from __future__ import annotations

import pytest
from lreid_fixtures import make_files, rows

from reid.data import load_dataset, select_ids
from reid.errors import DatasetError

FILES = [
    "test_probe/0000012_00.jpg",
    "test_probe/0000031_02.jpg",
    "test_gallery/0000012_01.jpg",
    "test_gallery/0000031_00.jpg",
    "test_gallery/0000099_03.jpg",
]


@pytest.mark.parametrize("layout", ["SenseReID", "sensereid/SenseReID"], ids=["lstkc", "torchreid"])
def test_both_conventions_test_only(tmp_path, layout):
    root = make_files(tmp_path / layout, FILES)
    splits = load_dataset("sensereid", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(0, 0), (2, 2), (3, 3)]
    assert sorted((s.pid, s.camid) for s in splits.query) == [(12, 1), (31, 3)]
    with pytest.raises(DatasetError, match="select_ids 1 is larger than sensereid's train split"):
        select_ids(splits, 1)


def test_empty_probe_folder_is_an_error(tmp_path):
    root = make_files(tmp_path / "SenseReID", FILES[2:])
    (root / "test_probe").mkdir()
    with pytest.raises(DatasetError, match="query split has no images"):
        load_dataset("sensereid", root)


def test_verify_counts_rejects_a_small_tree(tmp_path):
    make_files(tmp_path / "SenseReID", FILES)
    with pytest.raises(DatasetError, match=r"query: expected 522 ids / 1040 images, found 2 / 2"):
        load_dataset("sensereid", tmp_path, verify_counts=True)
