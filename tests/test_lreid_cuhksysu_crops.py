"""CUHK-SYSU crops from the person-search release's .mat annotations (read with scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from reid.data import load_dataset
from reid.data.adapters.cuhksysu_crops import main, make_crops
from reid.errors import DatasetError

SCENE = [("imname", object), ("idlocate", object), ("ishard", object)]
PERSON = [("idname", object), ("nAppear", object), ("scene", object)]


def _scenes(rows):
    array = np.zeros((1, len(rows)), dtype=SCENE)
    for i, (name, box, hard) in enumerate(rows):
        array[0, i] = (name, np.array([box], dtype=float), np.array([[hard]]))
    return array


def make_release(root):
    """Two train persons (p00017: 4 boxes, p00023: 2) and one test person (p05001)."""
    for number in range(1, 7):
        Image.new("RGB", (60, 40), (number * 30, 80, 120)).save(root / f"s{number}.jpg")
    train = np.empty((2, 1), dtype=object)  # a cell of 1x1 structs, as Train.mat
    for i, (pid, images) in enumerate((("p00017", [1, 2, 3, 4]), ("p00023", [1, 5]))):
        person = np.zeros(
            (1, 1), dtype=[("idname", object), ("nAppear", object), ("scene", object)]
        )
        rows = [(f"s{n}.jpg", [2, 3, 10, 20], n % 2) for n in images]
        person[0, 0] = (pid, np.array([[len(images)]]), _scenes(rows))
        train[i, 0] = person
    query = np.zeros((1, 1), dtype=SCENE + [("idname", object)])
    query[0, 0] = ("s6.jpg", np.array([[5, 5, 8, 16]], dtype=float), np.array([[0]]), "p05001")
    gallery = _scenes(
        [("s2.jpg", [1, 1, 9, 18], 0), ("s3.jpg", [], 0), ("s4.jpg", [0, 0, 5, 9], 1)]
    )
    test = np.zeros((1, 1), dtype=[("Query", object), ("Gallery", object)])
    test[0, 0] = (query, gallery)
    savemat(str(root / "annotation/test/train_test/Train.mat"), {"Train": train})
    savemat(str(root / "annotation/test/train_test/TestG50.mat"), {"TestG50": test})


@pytest.fixture
def release(tmp_path):
    root = tmp_path / "CUHK-SYSU"
    (root / "Image" / "SSM").mkdir(parents=True)
    (root / "annotation" / "test" / "train_test").mkdir(parents=True)
    make_release(root)
    for path in root.glob("s*.jpg"):
        path.rename(root / "Image" / "SSM" / path.name)
    return root


def test_crops_load_with_the_adapter(release, tmp_path):
    out = make_crops(release, tmp_path / "data")
    assert out == tmp_path / "data" / "cuhksysu4reid"
    names = sorted(p.name for p in (out / "train").iterdir())
    assert names[0] == "00017_s1_0000000_1.jpg" and len(names) == 6
    assert sorted(p.name for p in (out / "gallery").iterdir()) == [
        "05001_s2_0000000_0.jpg",
        "05001_s4_0000001_1.jpg",  # s3 holds no box of this person: skipped
    ]
    with Image.open(out / "query" / "05001_s6_0000000_0.jpg") as crop:
        assert crop.size == (8, 16)
    splits = load_dataset("cuhksysu", tmp_path / "data")
    assert [(r["ids"], r["images"]) for r in splits.summary_rows()] == [(1, 4), (1, 1), (1, 2)]


def test_missing_annotation_and_image_are_named(release, tmp_path, capsys):
    (release / "Image" / "SSM" / "s5.jpg").unlink()
    with pytest.raises(DatasetError, match=r"s5.jpg \(named in the annotations\) does not exist"):
        make_crops(release, tmp_path / "data")
    assert not (tmp_path / "data" / "cuhksysu4reid").exists()  # nothing half-written
    (release / "annotation" / "test" / "train_test" / "Train.mat").unlink()
    assert main([str(release), str(tmp_path / "data")]) == 2
    assert "Train.mat does not exist" in capsys.readouterr().err
