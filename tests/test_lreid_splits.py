"""The shipped split files: made by the documented script, well-formed, package data."""

from __future__ import annotations

import pytest
from lreid_fixtures import shipped, write_json

from reid.data.adapters import common, make_splits
from reid.errors import DatasetError


def test_shipped_files_are_what_the_script_makes(capsys):
    assert make_splits.main(["--check"]) == 0


@pytest.mark.parametrize("name", list(make_splits.ID_SPACES))
def test_split_partitions_the_published_ids(name):
    first, last, train, _ = make_splits.ID_SPACES[name]
    split = shipped(name)
    assert split["seed"] == 0 and len(split["train_ids"]) == train
    assert not set(split["train_ids"]) & set(split["test_ids"])
    assert set(split["train_ids"]) | set(split["test_ids"]) == set(range(first, last + 1))


def test_check_fails_on_an_edited_file(tmp_path, monkeypatch):
    monkeypatch.setattr(make_splits, "split_dir", lambda: tmp_path)
    assert make_splits.main([]) == 0
    path = tmp_path / "prid.json"
    path.write_text(path.read_text().replace('"seed": 0', '"seed": 1'))
    assert make_splits.main(["--check"]) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable JSON"),
        ('{"train": []}', "neither train_ids/test_ids nor train/query/gallery"),
        ('{"train_ids": ["a"], "test_ids": []}', "must be lists of integers"),
        ("[]", "empty list"),
    ],
)
def test_bad_split_files(tmp_path, content, message):
    path = tmp_path / "s.json"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        common.read_split(path)


def test_missing_split_file(tmp_path):
    with pytest.raises(DatasetError, match=r"split file .*nope.json does not exist"):
        common.read_split(tmp_path / "nope.json")


def test_file_split_reads_torchreid_list(tmp_path):
    path = write_json(tmp_path / "s.json", [{"train": ["a.jpg"], "query": [], "gallery": []}])
    split = common.read_split(path)
    assert isinstance(split, common.FileSplit) and split.files["train"] == ["a.jpg"]
