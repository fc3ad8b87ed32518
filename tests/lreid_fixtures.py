"""Small trees of the LReID datasets in their real naming, and split-file helpers."""

from __future__ import annotations

import json
from pathlib import Path

from data_fixtures import write_image

from reid.data.adapters.common import shipped_split_path


def make_files(root: Path, relpaths: list[str]) -> Path:
    """An image at each of `relpaths` under `root` (contents: a small solid image)."""
    for number, rel in enumerate(relpaths):
        write_image(root / rel, (20 * number % 255, 90, 160))
    return root


def shipped(name: str) -> dict:
    """The split file shipped for `name`, as JSON."""
    return json.loads(shipped_split_path(name).read_text())


def first_ids(name: str, train: int, test: int) -> tuple[list[int], list[int]]:
    """The first `train` train ids and `test` test ids of the shipped split of `name`."""
    split = shipped(name)
    return split["train_ids"][:train], split["test_ids"][:test]


def write_json(path: Path, obj: object) -> Path:
    """`obj` as a JSON file at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def rows(splits) -> list[tuple[int, int]]:
    """(ids, images) of train, query and gallery."""
    return [(r["ids"], r["images"]) for r in splits.summary_rows()]
