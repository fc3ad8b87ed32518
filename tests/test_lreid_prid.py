"""PRID 2011 single-shot adapter: both folder conventions, the 200 paired ids, distractors."""

from __future__ import annotations

import pytest
from lreid_fixtures import first_ids, make_files, rows, write_json

from reid.data import load_dataset
from reid.errors import DatasetError


def make_prid(root, train, test):
    paired = [f"cam_{c}/person_{p:04d}.png" for p in train + test for c in "ab"]
    others = ["cam_b/person_0201.png", "cam_b/person_0530.png", "cam_a/person_0201.png"]
    return make_files(root, paired + others)


@pytest.mark.parametrize(
    "layout", ["prid2011/single_shot", "prid2011/prid_2011/single_shot"], ids=["lstkc", "torchreid"]
)
def test_both_conventions_with_the_shipped_split(tmp_path, layout):
    train, test = first_ids("prid", 2, 3)
    root = make_prid(tmp_path / layout, train, test)
    splits = load_dataset("prid", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(2, 4), (3, 3), (5, 5)]
    assert sorted(s.pid for s in splits.query) == test
    assert {s.camid for s in splits.query} == {1} and {s.camid for s in splits.gallery} == {2}
    # cam_b ids above 200 are distractors; cam_a's are unused
    assert sorted(s.pid for s in splits.gallery) == sorted(test + [201, 530])
    assert not [s for s in splits.train + splits.query if s.pid > 200]


def test_user_split_and_a_paired_id_outside_it(tmp_path):
    root = make_prid(tmp_path / "single_shot", [1, 2], [3])
    split = write_json(tmp_path / "s.json", {"train_ids": [1, 3], "test_ids": [2]})
    splits = load_dataset("prid", root, split_file=split)
    assert sorted(s.pid for s in splits.query) == [2]
    bad = write_json(tmp_path / "bad.json", {"train_ids": [1], "test_ids": [2]})
    with pytest.raises(DatasetError, match=r"person_0003.png: identity 3 is in neither"):
        load_dataset("prid", root, split_file=bad)


def test_bad_name_and_missing_layout(tmp_path):
    root = make_prid(tmp_path / "single_shot", [1], [2])
    make_files(root, ["cam_a/img_1.png"])
    with pytest.raises(DatasetError, match=r"'img_1.png'.*person_NNNN.png"):
        load_dataset("prid", root)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"single_shot/cam_a.*found nothing"):
        load_dataset("prid", tmp_path / "empty")


def test_verify_counts_rejects_a_small_tree(tmp_path):
    train, test = first_ids("prid", 1, 1)
    make_prid(tmp_path / "single_shot", train, test)
    with pytest.raises(DatasetError, match=r"gallery: expected 649 ids / 649 images, found 3 / 3"):
        load_dataset("prid", tmp_path, verify_counts=True)
