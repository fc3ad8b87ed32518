"""CUHK03 labeled 767/700: the CUHK03-NP labeled folder, or images_labeled/ + the config .mat."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import CUHK_FILES, make_tree
from lreid_fixtures import make_files, rows
from scipy.io import savemat

from reid.data import load_dataset
from reid.errors import DatasetError

NAMES = ["1_001_1_01.png", "1_001_2_06.png", "1_002_1_01.png", "1_003_1_02.png", "1_003_2_07.png"]


def make_release(root, names=NAMES):
    make_files(root / "images_labeled", names)
    filelist = np.empty((len(NAMES), 1), dtype=object)
    filelist[:, 0] = NAMES
    savemat(
        str(root / "cuhk03_new_protocol_config_labeled.mat"),
        {
            "filelist": filelist,
            "labels": np.array([[1], [1], [2], [3], [3]]),
            "train_idx": np.array([[1], [2], [3]]),  # 1-based, as the release
            "query_idx": np.array([[4]]),
            "gallery_idx": np.array([[5]]),
        },
    )
    return root


def test_np_labeled_folder_is_preferred_over_detected(tmp_path):
    make_tree(tmp_path / "cuhk03-np" / "detected", CUHK_FILES)
    labeled = make_tree(tmp_path / "cuhk03-np" / "labeled", CUHK_FILES)
    splits = load_dataset("cuhk03", tmp_path)
    assert splits.root == labeled
    assert rows(splits) == [(2, 3), (1, 1), (2, 2)]
    with pytest.raises(DatasetError, match="does not look like CUHK03"):
        load_dataset("cuhk03", tmp_path / "cuhk03-np" / "detected")


@pytest.mark.parametrize("layout", ["cuhk03", "CUHK03_lifelong"], ids=["torchreid", "lstkc"])
def test_release_images_with_the_config_mat(tmp_path, layout):
    root = make_release(tmp_path / layout)
    splits = load_dataset("cuhk03", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(2, 3), (1, 1), (1, 1)]
    assert (splits.query[0].pid, splits.query[0].camid) == (3, 1)
    assert (splits.gallery[0].pid, splits.gallery[0].camid) == (3, 2)


def test_config_naming_a_missing_image_names_it(tmp_path):
    root = make_release(tmp_path / "cuhk03", NAMES[:-1])
    with pytest.raises(DatasetError, match=r"names .*1_003_2_07.png, which does not exist"):
        load_dataset("cuhk03", root)


def test_verify_counts_rejects_a_small_tree(tmp_path):
    make_tree(tmp_path / "labeled", CUHK_FILES)
    with pytest.raises(DatasetError, match=r"train: expected 767 ids / 7368 images, found 2 / 3"):
        load_dataset("cuhk03", tmp_path, verify_counts=True)
