"""Dataset adapters on tiny trees with the real naming."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from data_fixtures import CUHK_FILES, DUKE_FILES, make_market, make_msmt, make_tree

from reid.data import DATASETS, DatasetSplits, Sample, format_summary, load_dataset, write_summary
from reid.data import datasets as ds
from reid.errors import DatasetError


def test_market_counts_relabelling_junk_and_distractors(tmp_path):
    root = make_market(tmp_path / "Market-1501-v15.09.15")
    splits = load_dataset("market1501", root)
    assert isinstance(splits, DatasetSplits) and splits.root == root
    assert [(r["ids"], r["images"]) for r in splits.summary_rows()] == [(3, 6), (2, 2), (3, 5)]
    # train pids 2, 7, 11 relabelled 0, 1, 2 in sorted order of the original pid
    train = sorted((s.path.name[:4], s.pid, s.camid) for s in splits.train)
    assert train == [
        ("0002", 0, 1),
        ("0002", 0, 1),
        ("0002", 0, 2),
        ("0007", 1, 3),
        ("0007", 1, 4),
        ("0011", 2, 6),
    ]
    assert sorted((s.pid, s.camid) for s in splits.query) == [(1, 1), (3, 2)]
    assert sorted(s.pid for s in splits.gallery) == [0, 0, 1, 1, 3]
    assert all(s.pid >= 0 for s in splits.gallery)
    assert splits.notes == {"junk_skipped": 2, "distractors": 2}
    assert all(isinstance(s, Sample) for s in splits.train)


def test_root_may_be_the_parent_holding_the_canonical_folder(tmp_path):
    make_market(tmp_path / "Market-1501-v15.09.15")
    splits = load_dataset("market1501", tmp_path)
    assert splits.root == tmp_path / "Market-1501-v15.09.15"
    make_tree(tmp_path / "cuhk03-np" / "detected", CUHK_FILES)
    assert load_dataset("cuhk03np", tmp_path).root == tmp_path / "cuhk03-np" / "detected"


def test_duke(tmp_path):
    root = make_tree(tmp_path / "DukeMTMC-reID", DUKE_FILES)
    splits = load_dataset("dukemtmcreid", tmp_path)
    assert sorted((s.pid, s.camid) for s in splits.train) == [(0, 2), (0, 5), (1, 8)]
    assert [(s.pid, s.camid) for s in splits.query] == [(10, 1)]
    assert sorted((s.pid, s.camid) for s in splits.gallery) == [(10, 3), (12, 7)]
    assert splits.root == root and splits.notes["junk_skipped"] == 0


def test_msmt_lists(tmp_path):
    root = make_msmt(tmp_path / "MSMT17_V1")
    splits = load_dataset("msmt17", tmp_path)
    assert splits.root == root
    assert sorted((s.pid, s.camid) for s in splits.train) == [(0, 1), (1, 15)]
    assert [(s.pid, s.camid) for s in splits.query] == [(0, 3)]
    assert sorted((s.pid, s.camid) for s in splits.gallery) == [(0, 7), (2, 12)]
    assert all(s.path.is_file() for s in splits.train + splits.query + splits.gallery)
    assert splits.train[0].path.parent.parent.name == "train"


def test_msmt_v2_image_folders(tmp_path):
    root = make_msmt(tmp_path / "MSMT17_V2")
    (root / "train").rename(root / "mask_train_v2")
    (root / "test").rename(root / "mask_test_v2")
    splits = load_dataset("msmt17", tmp_path)
    assert splits.train[0].path.parent.parent.name == "mask_train_v2"


def test_msmt_list_naming_a_missing_image(tmp_path):
    root = make_msmt(tmp_path / "m")
    (root / "test" / "0002" / "0002_000_12_0113noon_0003_0.jpg").unlink()
    with pytest.raises(DatasetError, match=r"list_gallery.txt:2.*does not exist"):
        load_dataset("msmt17", root)


def test_cuhk03np(tmp_path):
    make_tree(tmp_path / "cuhk03-np" / "labeled", CUHK_FILES)
    splits = load_dataset("cuhk03np", tmp_path / "cuhk03-np")
    assert sorted((s.pid, s.camid) for s in splits.train) == [(0, 1), (0, 2), (1, 1)]


def test_missing_folder_names_path_layout_and_fix(tmp_path):
    with pytest.raises(DatasetError) as info:
        load_dataset("market1501", tmp_path / "nowhere")
    message = str(info.value)
    assert str(tmp_path / "nowhere") in message
    assert "bounding_box_train" in message and "reid prepare" in message


def test_wrong_layout_lists_what_was_found(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DatasetError) as info:
        load_dataset("dukemtmcreid", tmp_path)
    message = str(info.value)
    assert "images/" in message and "readme.txt" in message and "bounding_box_test" in message


def test_nonconforming_file_name(tmp_path):
    root = make_market(tmp_path / "m")
    (root / "query" / "person_1.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="person_1.jpg"):
        load_dataset("market1501", root)


@pytest.mark.parametrize(
    ("name", "files", "bad"),
    [
        ("market1501", None, "0002_c7s1_000451_03.jpg"),
        ("dukemtmcreid", DUKE_FILES, "0005_c9_f0046985.jpg"),
        ("cuhk03np", CUHK_FILES, "0001_c3_1.png"),
    ],
)
def test_camera_out_of_range(tmp_path, name, files, bad):
    root = make_market(tmp_path / "d") if files is None else make_tree(tmp_path / "d", files)
    (root / "bounding_box_train" / bad).write_bytes(b"")
    with pytest.raises(DatasetError, match=rf"{bad}.*outside"):
        load_dataset(name, root)


def test_msmt_camera_out_of_range(tmp_path):
    root = make_msmt(tmp_path / "m")
    (root / "list_query.txt").write_text("0000/0000_000_16_0113morning_0001_0.jpg 0\n")
    with pytest.raises(DatasetError, match=r"list_query.txt:1.*camera 16"):
        load_dataset("msmt17", root)


def test_empty_split(tmp_path):
    root = make_market(tmp_path / "m")
    for path in (root / "query").iterdir():
        path.unlink()
    with pytest.raises(DatasetError, match="query split has no images"):
        load_dataset("market1501", root)


def test_unknown_dataset(tmp_path):
    with pytest.raises(DatasetError, match="market1501"):
        load_dataset("nosuchset", tmp_path)


def test_verify_counts_reports_expected_and_found_per_split(tmp_path):
    root = make_market(tmp_path / "m")
    with pytest.raises(DatasetError) as info:
        load_dataset("market1501", root, verify_counts=True)
    message = str(info.value)
    assert "incomplete" in message
    assert "train: expected 751 ids / 12936 images, found 3 / 6" in message
    assert "gallery: expected 751 ids / 15913 images, found 3 / 5" in message


def test_verify_counts_passes_when_counts_match(tmp_path, monkeypatch):
    tiny = {"train": (3, 6), "query": (2, 2), "gallery": (3, 5)}
    spec = dataclasses.replace(DATASETS["market1501"], counts=tiny)
    monkeypatch.setitem(DATASETS._items, "market1501", spec)
    root = make_market(tmp_path / "m")
    assert len(load_dataset("market1501", root, verify_counts=True).train) == 6


def test_verify_counts_without_counts_names_the_registration_and_the_key(tmp_path, monkeypatch):
    spec = dataclasses.replace(DATASETS["market1501"], counts=None)
    monkeypatch.setitem(DATASETS._items, "market1501", spec)
    root = make_market(tmp_path / "m")
    with pytest.raises(DatasetError, match="no `counts`.*'market1501'.*data.verify_counts: false"):
        load_dataset("market1501", root, verify_counts=True)


def test_published_counts_table():
    assert DATASETS["market1501"].counts == {
        "train": (751, 12936),
        "query": (750, 3368),
        "gallery": (751, 15913),
    }
    assert DATASETS["dukemtmcreid"].counts["gallery"] == (1110, 17661)
    assert DATASETS["msmt17"].counts == {
        "train": (1041, 32621),
        "query": (3060, 11659),
        "gallery": (3060, 82161),
    }
    assert {"market1501", "dukemtmcreid", "msmt17", "cuhk03np"} <= set(DATASETS)


def test_check_images_finds_corrupt_file(tmp_path):
    root = make_market(tmp_path / "m")
    load_dataset("market1501", root, check_images=True)  # all readable
    bad = root / "bounding_box_test" / "0003_c1s1_000201_01.jpg"
    bad.write_bytes(b"garbage, not a jpeg")
    assert load_dataset("market1501", root).gallery  # names still parse without the check
    with pytest.raises(DatasetError, match=r"0003_c1s1_000201_01.jpg.*skip_corrupt"):
        load_dataset("market1501", root, check_images=True)


def test_summary_csv_and_table(tmp_path):
    splits = load_dataset("market1501", make_market(tmp_path / "m"))
    path = write_summary(splits, tmp_path / "out" / "summary.csv")
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["dataset", "split", "ids", "images", "cameras"]
    assert frame["images"].tolist() == [6, 2, 5]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    text = format_summary(splits)
    assert "market1501" in text and "gallery" in text and "junk_skipped=2" in text


def test_resolve_root_is_exposed(tmp_path):
    root = make_market(tmp_path / "Market-1501-v15.09.15")
    assert ds.resolve_root("market1501", tmp_path) == root
