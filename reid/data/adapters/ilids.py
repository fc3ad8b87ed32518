"""QMUL i-LIDS (i-LIDS_Pedestrian): 119 ids / 476 images in one folder; 59 ids train, each test
id gives one query and one gallery image."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import SCENES, TRAVEL
from reid.data.generator.styles import Plan, Shot, Style
from reid.errors import DatasetError

PATTERN = re.compile(r"^(\d{4})(\d{3})\.jpg$")
DESCRIBED = "PPPPIII.jpg (person, image index)"


def _items(folder: Path) -> list[common.Item]:
    items = []
    for path in common.images(folder, (".jpg",)):
        match = common.match_name(PATTERN, path, DESCRIBED)
        items.append((path, int(match.group(1)), int(match.group(2))))  # camera = image index
    return items


def scan(folder: Path, split_file: Path | None) -> Raw:
    """Train ids keep all images; a test id's first image (by name) is the query, its second
    the gallery image."""
    items = _items(folder)
    split = common.load_split("ilids", split_file)
    if isinstance(split, common.FileSplit):
        return common.apply_file_split(split, items, folder)
    raw: Raw = {"train": [], "query": [], "gallery": []}
    test: dict[int, list[common.Item]] = defaultdict(list)
    for path, pid, cam in items:
        if split.side(path, pid) == "train":
            raw["train"].append((path, pid, cam))
        else:
            test[pid].append((path, pid, cam))
    for pid, shots in sorted(test.items()):
        if len(shots) < 2:
            raise DatasetError(
                f"{shots[0][0]}: i-LIDS test identity {pid} has 1 image, a query and a gallery "
                "image are needed; restore the missing image or pass a split that trains on it"
            )
        raw["query"].append(shots[0])
        raw["gallery"].append(shots[1])
    return raw


def _has_layout(folder: Path) -> bool:
    return any(PATTERN.match(p.name) for p in folder.iterdir())


SPEC = DatasetSpec(
    name="ilids",
    title="i-LIDS",
    folders=(
        "i-LIDS_Pedestrian/Persons",
        "ilids/i-LIDS_Pedestrian/Persons",
        "Persons",
    ),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=99,
    counts={"train": (59, None), "query": (60, 60), "gallery": (60, 60)},
    acquire_hint="place i-LIDS_Pedestrian/ in the data root (LSTKC) or under ilids/ (torchreid)",
    scan=scan,
    has_layout=_has_layout,
    expected="i-LIDS_Pedestrian/Persons/PPPPIII.jpg (LSTKC: at the data root; torchreid: "
    "under ilids/)",
)
# an airport arrival hall: bright, busy, people with luggage, much occlusion
LOOK = Look(
    scene=SCENES["airport"],
    gain_spread=0.3,
    brightness=(0.65, 1.25),
    blur=(0.2, 0.7),
    resolution=(0.5, 0.9),
    scale=(0.7, 0.95),
    shift=0.07,
    occlusion=(0.2, 0.45),
    crowd=(0.2, 0.5),
    nuisance=1.2,
)

common.known_archive(
    "ilids",
    "i-LIDS_Pedestrian.tgz",
    "QMUL i-LIDS is distributed as i-LIDS_Pedestrian.tgz: bring your own copy",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Ids from the shipped split, `images_per_id` images each, image k seen by camera k."""
    result = Plan()
    for side, pid in common.shipped_split_ids("ilids", params):
        person = result.person(side)
        for index in range(1, params["images_per_id"] + 1):
            result.shots.append(Shot(person, index, f"{pid:04d}{index:03d}.jpg"))
    return result


register_dataset(
    SPEC,
    Style(
        "ilids",
        look=LOOK,
        wardrobe=TRAVEL,
        num_cameras=15,
        plan=plan,
        max_images=15,
        notes="images_per_id images per id (2..15), image k by camera k; no distractors",
    ),
)
