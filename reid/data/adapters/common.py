"""Helpers shared by the LReID adapters: file scanning, name parsing and split files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from reid.data.acquire import KNOWN_ARCHIVES, KnownArchive
from reid.data.datasets import Raw
from reid.data.generator.styles import Plan, Shot
from reid.errors import ConfigError, DatasetError

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


# Helpers of the generated styles' plans.


def spread(rng: np.random.Generator, count: int, cams: list[int]) -> list[int]:
    """`count` cameras from `cams`: each at least once while count allows, the rest random."""
    first = list(cams[:count])
    rest = [cams[int(i)] for i in rng.integers(len(cams), size=count - len(first))]
    return sorted(first + rest)


def spread_over_cameras(rng: np.random.Generator, count: int, num_cams: int) -> list[int]:
    """Cameras (1-based) for `count` images of one person: 2-4 cameras with at least two images
    on each, so every query has a match from another camera."""
    many = int(rng.integers(2, min(4, num_cams, count // 2) + 1))
    cams = [int(c) + 1 for c in rng.choice(num_cams, size=many, replace=False)]
    chosen = cams * 2 + [cams[int(i)] for i in rng.integers(many, size=count - 2 * many)]
    return sorted(chosen)


def pick_ids(pool: list[int], count: int, what: str) -> list[int]:
    """The first `count` ids of `pool` (sorted), or a ConfigError when there are too few."""
    if count > len(pool):
        raise ConfigError(f"a generated domain can hold at most {len(pool)} {what}, got {count}")
    return sorted(pool)[:count]


def shipped_split_ids(name: str, params: dict) -> list[tuple[str, int]]:
    """(side, id) for the first `num_train_ids` train and `num_test_ids` test ids of the split
    shipped for dataset `name`, train first (so a generated domain loads with that split)."""
    split = load_split(name, None)
    assert isinstance(split, IdSplit)
    train = pick_ids(list(split.train_ids), params["num_train_ids"], "train ids")
    test = pick_ids(list(split.test_ids), params["num_test_ids"], "test ids")
    return [("train", pid) for pid in train] + [("test", pid) for pid in test]


FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
Namer = Callable[[int, int, np.random.Generator], str]  # (pid, camera, rng) -> file name


def folder_plan(
    params: dict, rng: np.random.Generator, num_cams: int, name: Namer, shared_distractor=None
) -> Plan:
    """A Market-style plan (bounding_box_train/, query/, bounding_box_test/): train ids over 2-4
    cameras; each test id's first image on a camera is its query there, the rest gallery;
    distractors in the gallery with their own pids (or all `shared_distractor`, Market's 0)."""
    n_train, n_test, n_dis = (
        params[k] for k in ("num_train_ids", "num_test_ids", "num_distractors")
    )
    pool = rng.choice(
        np.arange(1, 2 * (n_train + n_test + n_dis) + 2),
        replace=False,
        size=n_train + n_test + n_dis,
    )
    pids = [sorted(int(p) for p in part) for part in np.split(pool, [n_train, n_train + n_test])]
    result = Plan()
    for side, side_pids in zip(("train", "test"), pids[:2], strict=True):
        for pid in side_pids:
            person, seen = result.person(side), set()
            for cam in spread_over_cameras(rng, params["images_per_id"], num_cams):
                split = side if side == "train" else ("gallery" if cam in seen else "query")
                seen.add(cam)
                result.shots.append(Shot(person, cam, f"{FOLDERS[split]}/{name(pid, cam, rng)}"))
    for pid in pids[2]:
        cam, pid = (
            int(rng.integers(num_cams)) + 1,
            pid if shared_distractor is None else shared_distractor,
        )
        result.shots.append(
            Shot(result.person("other"), cam, f"{FOLDERS['gallery']}/{name(pid, cam, rng)}")
        )
    return result
