"""i-LIDS adapter: both folder conventions, one query and one gallery image per test id."""

from __future__ import annotations

import pytest
from lreid_fixtures import first_ids, make_files, rows, write_json

from reid.data import load_dataset
from reid.errors import DatasetError


def make_ilids(root, ids, per=3):
    return make_files(root, [f"{p:04d}{i:03d}.jpg" for p in ids for i in range(1, per + 1)])


@pytest.mark.parametrize(
    "layout",
    ["i-LIDS_Pedestrian/Persons", "ilids/i-LIDS_Pedestrian/Persons"],
    ids=["lstkc", "torchreid"],
)
def test_both_conventions_with_the_shipped_split(tmp_path, layout):
    train, test = first_ids("ilids", 2, 2)
    root = make_ilids(tmp_path / layout, train + test)
    splits = load_dataset("ilids", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(2, 6), (2, 2), (2, 2)]
    # the first image (by name) is the query, the second the gallery image; camera = index
    assert {s.path.name[4:] for s in splits.query} == {"001.jpg"}
    assert {(s.path.name[4:], s.camid) for s in splits.gallery} == {("002.jpg", 2)}


def test_test_identity_with_one_image_is_named(tmp_path):
    root = make_ilids(tmp_path / "Persons", [1, 2])
    (root / "0002002.jpg").unlink()
    (root / "0002003.jpg").unlink()
    split = write_json(tmp_path / "s.json", {"train_ids": [1], "test_ids": [2]})
    with pytest.raises(DatasetError, match=r"0002001.jpg: i-LIDS test identity 2 has 1 image"):
        load_dataset("ilids", root, split_file=split)


def test_verify_counts_rejects_a_small_tree(tmp_path):
    train, test = first_ids("ilids", 1, 1)
    make_ilids(tmp_path / "Persons", train + test)
    with pytest.raises(DatasetError, match=r"train: expected 59 ids / any number of images"):
        load_dataset("ilids", tmp_path, verify_counts=True)
