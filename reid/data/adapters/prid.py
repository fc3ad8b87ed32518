"""PRID 2011 (single-shot): ids 1-200 seen by both cameras; 100 train, 100 test; cam_b's ids
above 200 stay in the gallery as distractors (cam_a's are unused)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import MIXED, SCENES
from reid.data.generator.styles import Plan, Shot, Style

PATTERN = re.compile(r"^person_(\d{4})\.png$")
DESCRIBED = "person_NNNN.png"
PAIRED = 200  # ids 1..200 appear in both cameras


def _items(folder: Path) -> list[common.Item]:
    items = []
    for cam, sub in ((1, "cam_a"), (2, "cam_b")):
        for path in common.images(folder / sub, (".png",)):
            pid = int(common.match_name(PATTERN, path, DESCRIBED).group(1))
            items.append((path, pid, cam))
    return items


def scan(folder: Path, split_file: Path | None) -> Raw:
    """Read cam_a / cam_b and place each image by the split (see the module docstring)."""
    items = _items(folder)
    split = common.load_split("prid", split_file)
    if isinstance(split, common.FileSplit):
        return common.apply_file_split(split, items, folder)
    raw: Raw = {"train": [], "query": [], "gallery": []}
    for path, pid, cam in items:
        if pid > PAIRED:
            if cam == 2:
                raw["gallery"].append((path, pid, cam))
            continue
        side = split.side(path, pid)
        raw["train" if side == "train" else ("query" if cam == 1 else "gallery")].append(
            (path, pid, cam)
        )
    return raw


SPEC = DatasetSpec(
    name="prid",
    title="PRID 2011",
    folders=(
        "prid2011/single_shot",
        "prid2011/prid_2011/single_shot",
        "prid_2011/single_shot",
        "single_shot",
    ),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=2,
    suffixes=(".png",),
    counts={"train": (100, 200), "query": (100, 100), "gallery": (649, 649)},
    acquire_hint="place PRID 2011's single_shot/ folder under prid2011/ in the data root",
    scan=scan,
    has_layout=common.has_dirs("cam_a", "cam_b"),
    expected="single_shot/cam_a/person_NNNN.png and single_shot/cam_b/person_NNNN.png "
    "(LSTKC: prid2011/single_shot; torchreid: prid2011/prid_2011/single_shot)",
)
# two static outdoor cameras along a path (people walk towards or away from both) whose
# colour and light differ strongly from each other
LOOK = Look(
    scene=SCENES["outdoor"],
    cast=(0.92, 1.0, 1.1),
    gain_spread=0.35,
    brightness=(0.5, 1.25),
    saturation=(0.7, 1.1),
    blur=(0.2, 0.6),
    resolution=(0.6, 0.9),
    scale=(0.75, 0.9),
    shift=0.05,
    occlusion=(0.0, 0.15),
    crowd=(0.05, 0.25),
    view_bias=0.9,
    axes=("frontback", "frontback"),
    nuisance=1.2,
)

common.known_archive(
    "prid",
    "prid_2011.zip",
    "PRID 2011 is given out by its authors (TU Graz) as prid_2011.zip: bring your own copy",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Train / test ids from the shipped split, one image per camera; distractors are cam_b
    ids above 200 (every other number also names an unused cam_a-only person, as in the real
    set)."""
    result = Plan()
    for side, pid in common.shipped_split_ids("prid", params):
        person = result.person(side)
        result.shots += [Shot(person, 1, f"cam_a/person_{pid:04d}.png")]
        result.shots += [Shot(person, 2, f"cam_b/person_{pid:04d}.png")]
    for offset in range(params["num_distractors"]):
        pid, person = PAIRED + 1 + offset, result.person("other")
        result.shots.append(Shot(person, 2, f"cam_b/person_{pid:04d}.png"))
        if offset % 2 == 0:  # a cam_a-only person with the same number (unused)
            result.shots.append(Shot(result.person("other"), 1, f"cam_a/person_{pid:04d}.png"))
    return result


register_dataset(
    SPEC,
    Style(
        "prid",
        look=LOOK,
        wardrobe=MIXED,
        num_cameras=2,
        plan=plan,
        notes="one image per camera per id; distractors are cam_b ids above 200; "
        "images_per_id is not used",
    ),
)
