"""CUHK01 (campus): 971 ids, four images each (two per view); 485 ids train."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import CAMPUS, SCENES
from reid.data.generator.styles import Plan, Shot, Style

PATTERN = re.compile(r"^(\d{4})(\d{3})\.png$")
DESCRIBED = "PPPPIII.png (III 001-002: view 0, 003-004: view 1)"


def _items(folder: Path) -> list[common.Item]:
    items = []
    for path in common.images(folder, (".png",)):
        match = common.match_name(PATTERN, path, DESCRIBED)
        view = (int(match.group(2)) - 1) // 2
        items.append((path, int(match.group(1)), view + 1))
    return items


def scan(folder: Path, split_file: Path | None) -> Raw:
    """Train ids keep all images; test ids give view 0 to the query, view 1 to the gallery."""
    items = _items(folder)
    return common.split_two_views("cuhk01", items, folder, split_file)


SPEC = DatasetSpec(
    name="cuhk01",
    title="CUHK01",
    folders=("CUHK01/campus", "cuhk01/campus", "campus"),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=2,
    suffixes=(".png",),
    counts={"train": (485, 1940), "query": (486, 972), "gallery": (486, 972)},
    acquire_hint="place CUHK01's campus/ folder under CUHK01/ (LSTKC) or cuhk01/ (torchreid)",
    scan=scan,
    has_layout=lambda folder: any(PATTERN.match(p.name) for p in folder.iterdir()),
    expected="campus/PPPPIII.png (LSTKC: CUHK01/campus; torchreid: cuhk01/campus)",
)
# two campus cameras: one sees people from the front or back, the other from the side;
# 160x60 crops, sharp and narrow
LOOK = Look(
    scene=SCENES["hk_campus"],
    cast=(0.95, 1.05, 0.95),
    gain_spread=0.3,
    brightness=(0.6, 1.2),
    blur=(0.0, 0.4),
    resolution=(0.75, 1.0),
    scale=(0.85, 0.97),
    squash=(1.1, 1.3),
    shift=0.03,
    occlusion=(0.0, 0.1),
    crowd=(0.0, 0.1),
    view_bias=0.95,
    axes=("frontback", "side"),
    nuisance=1.2,
)

common.known_archive(
    "cuhk01",
    "CUHK01.zip",
    "CUHK01 is given out on request by its authors: bring your own copy",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Ids from the shipped split, four images each: 001-002 by camera 1, 003-004 by 2."""
    result = Plan()
    for side, pid in common.shipped_split_ids("cuhk01", params):
        person = result.person(side)
        for index in range(1, 5):
            result.shots.append(Shot(person, (index - 1) // 2 + 1, f"{pid:04d}{index:03d}.png"))
    return result


register_dataset(
    SPEC,
    Style(
        "cuhk01",
        look=LOOK,
        wardrobe=CAMPUS,
        num_cameras=2,
        plan=plan,
        notes="four images per id (two per view); images_per_id is not used",
    ),
)
