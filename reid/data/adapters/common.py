"""Helpers shared by the LReID adapters: file scanning, name parsing and split files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reid.data.acquire import KNOWN_ARCHIVES, KnownArchive
from reid.data.datasets import Raw
from reid.errors import DatasetError

Item = tuple[Path, int, int]  # (path, pid, camid)


def images(folder: Path, suffixes: Iterable[str]) -> list[Path]:
    """The image files directly in `folder` (sorted by name), other files ignored."""
    wanted = {s.lower() for s in suffixes}
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in wanted)


def match_name(pattern: re.Pattern[str], path: Path, described: str) -> re.Match[str]:
    """`pattern` matched against the file name, or a DatasetError naming the file."""
    match = pattern.match(path.name)
    if match is None:
        raise DatasetError(
            f"file name {path.name!r} in {path.parent} does not follow the expected pattern "
            f"{described}; remove or rename the stray file, or check that the dataset name "
            "matches the folder"
        )
    return match


def unused_parser(name: str, where: str | None = None) -> tuple[int, int]:
    """The `parser` of a spec with its own `scan` (never called by the generic loader)."""
    raise DatasetError(f"{name}: this dataset is read by its adapter's scan, not by a parser")


def known_archive(name: str, file_name: str, note: str) -> None:
    """Tell `reid prepare` the archive file name users have for dataset `name` (no md5 known)."""
    KNOWN_ARCHIVES.setdefault(name, KnownArchive(file_name, None, note))


def has_dirs(*relpaths: str) -> Callable[[Path], bool]:
    """A layout check: every one of `relpaths` is a folder under the candidate folder."""
    return lambda folder: all((folder / rel).is_dir() for rel in relpaths)


@dataclass(frozen=True)
class IdSplit:
    """A split over published identity numbers: the adapter's rule places each image."""

    source: str
    train_ids: frozenset[int]
    test_ids: frozenset[int]

    def side(self, path: Path, pid: int) -> str:
        """The side ("train" or "test") of an image of identity `pid`; an error if in neither."""
        if pid in self.train_ids:
            return "train"
        if pid in self.test_ids:
            return "test"
        raise DatasetError(
            f"{path}: identity {pid} is in neither train_ids nor test_ids of split file "
            f"{self.source}; the split does not match these images: pass the split file made "
            "for this copy of the dataset"
        )


@dataclass(frozen=True)
class FileSplit:
    """A split listing image files (ours, or torchreid's splits.json): train/query/gallery."""

    source: str
    files: dict[str, list[str]]


Split = IdSplit | FileSplit


def shipped_split_path(name: str) -> Path:
    """The split file shipped in the package for dataset `name` (reid/data/splits/)."""
    return Path(str(resources.files("reid.data") / "splits" / f"{name}.json"))


def _read_json(path: Path) -> object:
    if not path.is_file():
        raise DatasetError(
            f"split file {path} does not exist; pass an existing split file, or leave it unset "
            "to use the shipped one"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"split file {path} is not readable JSON ({exc}); fix or replace it"
        ) from None


def _entry_name(entry: object, path: Path) -> str:
    if isinstance(entry, list | tuple) and entry:
        entry = entry[0]  # torchreid stores [path, pid, camid]
    if not isinstance(entry, str):
        raise DatasetError(f"split file {path}: entry {entry!r} is not a file name")
    return entry


def read_split(path: Path) -> Split:
    """Read an identity split ({"train_ids", "test_ids"}) or a file split ({"train", "query",
    "gallery"}, or a torchreid list of such splits, of which the first is used)."""
    data = _read_json(path)
    if isinstance(data, list):
        if not data:
            raise DatasetError(f"split file {path} holds an empty list of splits")
        data = data[0]
    if isinstance(data, dict) and {"train_ids", "test_ids"} <= data.keys():
        try:
            train, test = (frozenset(int(i) for i in data[k]) for k in ("train_ids", "test_ids"))
        except (TypeError, ValueError):
            raise DatasetError(
                f"split file {path}: train_ids and test_ids must be lists of integers"
            ) from None
        return IdSplit(str(path), train, test)
    if isinstance(data, dict) and {"train", "query", "gallery"} <= data.keys():
        files = {k: [_entry_name(e, path) for e in data[k]] for k in ("train", "query", "gallery")}
        return FileSplit(str(path), files)
    raise DatasetError(
        f"split file {path} has neither train_ids/test_ids nor train/query/gallery lists; "
        "see docs/datasets.md for the format"
    )


def load_split(name: str, split_file: Path | None) -> Split:
    """The user's split file if given, else the one shipped for `name`."""
    return read_split(Path(split_file) if split_file is not None else shipped_split_path(name))


def _suffix_index(items: list[Item], folder: Path) -> dict[str, Item]:
    return {item[0].relative_to(folder).as_posix(): item for item in items}


def _find(entry: str, index: dict[str, Item]) -> Item | None:
    parts = entry.replace("\\", "/").split("/")
    for start in range(len(parts)):  # longest relative path first: a/b/c.png, b/c.png, c.png
        found = index.get("/".join(parts[start:]))
        if found is not None:
            return found
    return None


def apply_file_split(split: FileSplit, items: list[Item], folder: Path) -> Raw:
    """Place the listed files; the first listed file not found among `items` is an error.

    Entries may be relative to the dataset folder or absolute paths from another machine
    (torchreid's splits.json): they are matched by their trailing path components."""
    index = _suffix_index(items, folder)
    raw: Raw = {}
    for name, entries in split.files.items():
        raw[name] = []
        for entry in entries:
            found = _find(entry, index)
            if found is None:
                raise DatasetError(
                    f"split file {split.source} names {entry} ({name}), which is not among the "
                    f"images under {folder}; the split does not match these images: pass the "
                    "split file made for this copy, or leave it unset for the shipped one"
                )
            raw[name].append(found)
    return raw


def split_two_views(name: str, items: list[Item], folder: Path, split_file: Path | None) -> Raw:
    """The usual split of a two-view set: a file split as given; otherwise train identities keep
    every image and a test identity's camera 1 goes to the query, camera 2 to the gallery."""
    split = load_split(name, split_file)
    if isinstance(split, FileSplit):
        return apply_file_split(split, items, folder)
    raw: Raw = {"train": [], "query": [], "gallery": []}
    for path, pid, cam in items:
        side = split.side(path, pid)
        raw["train" if side == "train" else ("query" if cam == 1 else "gallery")].append(
            (path, pid, cam)
        )
    return raw
