"""VIPeR adapter: pairs by sorted position, the shipped split, user split files, errors."""

from __future__ import annotations

import pytest
from lreid_fixtures import make_files, rows, shipped, write_json

from reid.data import load_dataset
from reid.errors import DatasetError


def _prefix_with_both_sides() -> list[str]:
    """Pair indices 0..P-1, P the shortest prefix holding a train and a test id."""
    train = set(shipped("viper")["train_ids"])
    sides = []
    for index in range(632):
        sides.append("train" if index in train else "test")
        if len(set(sides)) == 2:
            return sides
    raise AssertionError("the shipped split has one side only")


def make_viper(root, count):
    numbers = [3 * i + 1 for i in range(count)]  # real numbering has gaps
    files = [f"cam_a/{n:03d}_45.bmp" for n in numbers] + [f"cam_b/{n:03d}_90.bmp" for n in numbers]
    return make_files(root, files)


def test_shipped_split_places_pairs_by_sorted_position(tmp_path):
    sides = _prefix_with_both_sides()
    make_viper(tmp_path / "viper" / "VIPeR", len(sides))
    splits = load_dataset("viper", tmp_path)  # the data root holding viper/VIPeR
    assert splits.root == tmp_path / "viper" / "VIPeR"
    test = [i for i, side in enumerate(sides) if side == "test"]
    n_train = sides.count("train")
    assert rows(splits) == [(n_train, 2 * n_train), (len(test), len(test)), (len(test), len(test))]
    assert sorted(s.pid for s in splits.query) == test
    assert {s.camid for s in splits.query} == {1} and {s.camid for s in splits.gallery} == {2}
    assert {s.path.parent.name for s in splits.gallery} == {"cam_b"}


def test_root_may_be_the_viper_folder_itself(tmp_path):
    root = make_viper(tmp_path / "VIPeR", 3)
    split = write_json(tmp_path / "s.json", {"train_ids": [0, 1], "test_ids": [2]})
    splits = load_dataset("viper", root, split_file=split)
    assert splits.root == root
    assert [s.path.name for s in splits.query] == ["007_45.bmp"]


def test_torchreid_splits_json_with_absolute_paths_from_another_machine(tmp_path):
    root = make_viper(tmp_path / "viper" / "VIPeR", 3)
    far = "/home/someone/data/viper/VIPeR"
    split = [
        {
            "train": [[f"{far}/cam_a/001_45.bmp", 0, 0], [f"{far}/cam_b/001_90.bmp", 0, 1]],
            "query": [[f"{far}/cam_a/004_45.bmp", 1, 0]],
            "gallery": [[f"{far}/cam_b/004_90.bmp", 1, 1]],
        }
    ]
    splits = load_dataset("viper", tmp_path, split_file=write_json(tmp_path / "s.json", split))
    assert rows(splits) == [(1, 2), (1, 1), (1, 1)]
    assert splits.query[0].path == root / "cam_a" / "004_45.bmp"


def test_split_file_naming_a_missing_image_names_it(tmp_path):
    make_viper(tmp_path / "VIPeR", 2)
    split = {"train": ["cam_a/001_45.bmp"], "query": ["cam_a/999_0.bmp"], "gallery": []}
    with pytest.raises(DatasetError, match=r"names cam_a/999_0.bmp \(query\).*does not match"):
        load_dataset("viper", tmp_path, split_file=write_json(tmp_path / "s.json", split))


def test_id_split_not_covering_an_image_names_the_image(tmp_path):
    make_viper(tmp_path / "VIPeR", 3)
    split = write_json(tmp_path / "s.json", {"train_ids": [0], "test_ids": [1]})
    with pytest.raises(DatasetError, match=r"007_45.bmp: identity 2 is in neither"):
        load_dataset("viper", tmp_path, split_file=split)


def test_unequal_cameras_and_bad_names(tmp_path):
    root = make_viper(tmp_path / "VIPeR", 2)
    make_files(root, ["cam_b/010_0.bmp"])
    with pytest.raises(DatasetError, match="cam_a holds 2 images and cam_b 3"):
        load_dataset("viper", root)
    make_files(root, ["cam_a/person.bmp"])
    with pytest.raises(DatasetError, match=r"'person.bmp'.*NNN_ANGLE.bmp"):
        load_dataset("viper", root)


def test_missing_folder_names_it_and_the_layout(tmp_path):
    with pytest.raises(DatasetError) as info:
        load_dataset("viper", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value) and "cam_a" in str(info.value)


def test_verify_counts_rejects_a_small_tree(tmp_path):
    make_viper(tmp_path / "VIPeR", len(_prefix_with_both_sides()))
    with pytest.raises(DatasetError, match=r"train: expected 316 ids / 632 images, found"):
        load_dataset("viper", tmp_path, verify_counts=True)


def test_prepare_extracts_the_known_archive_name(tmp_path):
    from data_fixtures import zip_folder

    from reid.data.acquire import prepare_dataset

    tree = make_viper(tmp_path / "src", 3)
    (tmp_path / "dest").mkdir()
    zip_folder(tree, tmp_path / "dest" / "VIPeR.v1.0.zip", "VIPeR")
    root = prepare_dataset("viper", tmp_path / "dest")
    assert root == tmp_path / "dest" / "VIPeR"
    split = write_json(tmp_path / "s.json", {"train_ids": [0], "test_ids": [1, 2]})
    assert rows(load_dataset("viper", root, split_file=split)) == [(1, 2), (2, 2), (2, 2)]
