"""CUHK-SYSU (re-ID crops) adapter: both folder conventions, the four-crop train rule."""

from __future__ import annotations

import pytest
from lreid_fixtures import make_files, rows

from reid.data import load_dataset
from reid.errors import DatasetError


def make_sysu(root):
    files = [f"train/00017_s{100 + k}_{k:07d}_0.jpg" for k in range(4)]  # kept: 4 crops
    files += [f"train/00023_s{200 + k}_{10 + k:07d}_1.jpg" for k in range(3)]  # dropped: 3
    files += ["query/05001_s9001_0000100_0.jpg", "query/05002_s9002_0000101_0.jpg"]
    files += ["gallery/05001_s9010_0000200_0.jpg", "gallery/05002_s9011_0000201_1.jpg"]
    files += ["gallery/05002_s9012_0000202_0.jpg"]
    return make_files(root, files)


@pytest.mark.parametrize(
    "layout", ["cuhksysu4reid", "cuhk-sysu/CUHK-SYSU/cuhksysu4reid"], ids=["lstkc", "aka"]
)
def test_both_conventions_and_the_four_crop_rule(tmp_path, layout):
    root = make_sysu(tmp_path / layout)
    (root / "combine").mkdir()  # the LReID code also writes combine/; not used
    splits = load_dataset("cuhksysu", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(1, 4), (2, 2), (2, 3)]
    cams = [{s.camid for s in getattr(splits, k)} for k in ("train", "query", "gallery")]
    assert cams == [{1}, {3}, {2}]


def test_bad_crop_name(tmp_path):
    root = make_sysu(tmp_path / "cuhksysu4reid")
    make_files(root, ["query/p11422_s16929_1.jpg"])  # torchreid's train-only naming
    with pytest.raises(DatasetError, match=r"'p11422_s16929_1.jpg'.*PPPPP_sN_IIIIIII_H.jpg"):
        load_dataset("cuhksysu", root)


def test_verify_counts_rejects_a_small_tree(tmp_path):
    make_sysu(tmp_path / "cuhksysu4reid")
    with pytest.raises(DatasetError, match=r"query: expected 2900 ids / 2900 images, found 2 / 2"):
        load_dataset("cuhksysu", tmp_path, verify_counts=True)


def make_lreid_code_crops(root):
    """Crops as the LReID code (AKA, LSTKC, DKP) writes them: the hard flag is str() of the
    MATLAB double scipy reads, `0.0` / `1.0`."""
    files = [f"train/00017_s{100 + k}_{k:07d}_{k % 2}.0.jpg" for k in range(4)]
    files += [f"train/00023_s{200 + k}_{4 + k:07d}_1.0.jpg" for k in range(3)]  # dropped: 3
    files += ["query/05001_s9001_0000000_0.0.jpg", "query/05002_s9002_0000001_1.0.jpg"]
    files += ["gallery/05001_s9010_0000000_0.0.jpg", "gallery/05002_s9011_0000001_1.0.jpg"]
    return make_files(root, files)


def test_crops_written_by_the_lreid_code_load(tmp_path):
    root = make_lreid_code_crops(tmp_path / "cuhk-sysu" / "CUHK-SYSU" / "cuhksysu4reid")
    splits = load_dataset("cuhksysu", tmp_path)
    assert splits.root == root
    assert rows(splits) == [(1, 4), (2, 2), (2, 2)]
    assert {s.pid for s in splits.query} == {5001, 5002}


def test_our_crops_with_an_integer_flag_load(tmp_path):
    root = make_sysu(tmp_path / "cuhksysu4reid")
    names = {p.name for p in (root / "train").iterdir()}
    assert "00017_s100_0000000_0.jpg" in names and "00023_s200_0000010_1.jpg" in names
    assert rows(load_dataset("cuhksysu", tmp_path)) == [(1, 4), (2, 2), (2, 3)]


@pytest.mark.parametrize(
    "name",
    ["00017_s100_0000000_0.5.jpg", "00017_s100_0000000_.jpg", "00017_s100_0000000_0.0.0.jpg"],
)
def test_a_flag_that_is_neither_spelling_is_refused(tmp_path, name):
    root = make_sysu(tmp_path / "cuhksysu4reid")
    make_files(root, [f"train/{name}"])
    with pytest.raises(DatasetError, match="does not follow the expected pattern"):
        load_dataset("cuhksysu", root)
