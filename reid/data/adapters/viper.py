"""VIPeR: 632 pedestrians, one image per camera (cam_a, cam_b); a random half trains."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import SCENES, SUMMER
from reid.data.generator.styles import Plan, Shot, Style
from reid.errors import DatasetError

PATTERN = re.compile(r"^(\d+)_(\d+)\.bmp$")
DESCRIBED = "NNN_ANGLE.bmp"
# the viewpoint a generated image shows for the angle in its name
ANGLE_VIEWS = {0: "front", 45: "left", 90: "left", 135: "back", 180: "back"}


def _pairs(folder: Path) -> list[common.Item]:
    cam_a = common.images(folder / "cam_a", (".bmp",))
    cam_b = common.images(folder / "cam_b", (".bmp",))
    for path in cam_a + cam_b:
        common.match_name(PATTERN, path, DESCRIBED)
    if len(cam_a) != len(cam_b):
        raise DatasetError(
            f"VIPeR at {folder}: cam_a holds {len(cam_a)} images and cam_b {len(cam_b)}; the "
            "i-th image of cam_a pairs with the i-th of cam_b, so they must be equal in number: "
            "extract the archive again"
        )
    return [(p, i, 1) for i, p in enumerate(cam_a)] + [(p, i, 2) for i, p in enumerate(cam_b)]


def scan(folder: Path, split_file: Path | None) -> Raw:
    """Pair cam_a / cam_b by sorted position (pid = pair index) and apply the split."""
    items = _pairs(folder)
    return common.split_two_views("viper", items, folder, split_file)


SPEC = DatasetSpec(
    name="viper",
    title="VIPeR",
    folders=("VIPeR", "viper/VIPeR"),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=2,
    suffixes=(".bmp",),
    counts={"train": (316, 632), "query": (316, 316), "gallery": (316, 316)},
    acquire_hint="place the VIPeR archive's VIPeR/ folder under viper/ in the data root",
    scan=scan,
    has_layout=common.has_dirs("cam_a", "cam_b"),
    expected="VIPeR/cam_a/*.bmp and VIPeR/cam_b/*.bmp (names NNN_ANGLE.bmp)",
)
# two outdoor cameras with strong light and viewpoint changes (the angle is in the file
# name); 128x48 crops: low detail, narrow (so a person looks wide once resized)
LOOK = Look(
    scene=SCENES["outdoor"],
    cast=(1.08, 1.0, 0.9),
    gain_spread=0.35,
    brightness=(0.55, 1.35),
    blur=(0.3, 0.8),
    resolution=(0.45, 0.7),
    scale=(0.88, 0.98),
    squash=(1.15, 1.35),
    shift=0.03,
    occlusion=(0.0, 0.1),
    crowd=(0.0, 0.1),
    nuisance=1.2,
)

common.known_archive(
    "viper",
    "VIPeR.v1.0.zip",
    "VIPeR is distributed by its authors (UCSC) as VIPeR.v1.0.zip: bring your own copy",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """The shortest prefix of pair indices holding the asked train and test ids of the shipped
    split (so the domain loads with it); one image per camera per pair."""
    split = common.load_split("viper", None)
    assert isinstance(split, common.IdSplit)
    want = {"train": params["num_train_ids"], "test": params["num_test_ids"]}
    got = {"train": 0, "test": 0}
    sides: list[str] = []
    for index in range(632):
        side = "train" if index in split.train_ids else "test"
        sides.append(side)
        got[side] += 1
        if got["train"] >= want["train"] and got["test"] >= want["test"]:
            break
    numbers = sorted(int(n) for n in rng.choice(874, size=len(sides), replace=False))
    result = Plan()
    for number, side in zip(numbers, sides, strict=True):
        person = result.person(side)
        for cam, folder in ((1, "cam_a"), (2, "cam_b")):
            angle = int(rng.choice([0, 45, 90, 135, 180]))
            name = f"{folder}/{number:03d}_{angle}.bmp"
            result.shots.append(Shot(person, cam, name, view=ANGLE_VIEWS[angle]))
    return result


register_dataset(
    SPEC,
    Style(
        "viper",
        look=LOOK,
        wardrobe=SUMMER,
        num_cameras=2,
        plan=plan,
        min_images=2,
        notes="one image per camera per pair; at least the asked train / test ids (a prefix of "
        "the shipped split); images_per_id is not used",
    ),
)
