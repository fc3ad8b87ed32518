"""CUHK-SYSU for re-ID: the crops the LReID code writes (cuhksysu4reid/{train,query,gallery}).

Train keeps the identities with at least four crops (LSTKC's subset); there are no camera
labels, so cameras are invented as in LSTKC (0 train, 1 gallery, 2 query; here + 1)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from reid.data import naming
from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import CITY, SCENES
from reid.data.generator.styles import Plan, Shot, Style
from reid.errors import DatasetError

CAMERAS = {"train": 1, "gallery": 2, "query": 3}
MIN_TRAIN_CROPS = 4
SCENE_CAMERAS = 20  # scenes the generated crops are cut from


def scan(folder: Path, split_file: Path | None) -> Raw:
    """Read the three crop folders; drop train ids with fewer than four crops."""
    if split_file is not None:
        raise DatasetError(f"CUHK-SYSU's split is fixed; it takes no split file ({split_file})")
    raw: Raw = {}
    for split, cam in CAMERAS.items():
        raw[split] = []
        for path in common.images(folder / split, (".jpg",)):
            pid = naming.parse_cuhksysu_crop(path.name, str(path.parent))
            raw[split].append((path, pid, cam))
    crops = Counter(pid for _, pid, _ in raw["train"])
    raw["train"] = [item for item in raw["train"] if crops[item[1]] >= MIN_TRAIN_CROPS]
    return raw


SPEC = DatasetSpec(
    name="cuhksysu",
    title="CUHK-SYSU",
    folders=("cuhksysu4reid", "cuhk-sysu/CUHK-SYSU/cuhksysu4reid", "CUHK-SYSU/cuhksysu4reid"),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=3,
    counts={"query": (2900, 2900)},
    acquire_hint="make the crops with the LReID code (AKA / LSTKC write cuhksysu4reid/ from "
    "CUHK-SYSU's Image/SSM and annotation/) and place cuhksysu4reid/ in the data root",
    scan=scan,
    has_layout=common.has_dirs("train", "query", "gallery"),
    expected="cuhksysu4reid/train/, query/, gallery/ holding crops PPPPP_sN_IIIIIII_H.jpg "
    "(LSTKC: at the data root; AKA: cuhk-sysu/CUHK-SYSU/cuhksysu4reid)",
)
# crops of people in street photographs and movie frames: every image its own scene (drawn
# from SCENE_CAMERAS), of every size (low detail for small people) and crop shape
LOOK = Look(
    scene=SCENES["city"],
    gain_spread=0.25,
    brightness=(0.6, 1.25),
    blur=(0.0, 0.6),
    resolution=(0.35, 0.9),
    scale=(0.8, 0.98),
    squash=(0.85, 1.3),
    shift=0.04,
    occlusion=(0.05, 0.2),
    crowd=(0.1, 0.4),
    nuisance=0.6,
)

common.known_archive(
    "cuhksysu",
    "cuhksysu4reid.zip",
    "CUHK-SYSU is given out on request by its authors; the LReID code (AKA / LSTKC) "
    "writes the re-ID crops cuhksysu4reid/ from it: bring those crops",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Train ids with `images_per_id` crops (>= 4, kept), `num_distractors` train ids with two
    crops (dropped by the four-crop rule), test ids with one query and the rest gallery crops.
    Each crop comes from its own scene (one of SCENE_CAMERAS); names spell the hard flag as
    the LReID code writes it (`0.0` / `1.0`)."""
    result, crop = Plan(), 0
    pool = rng.choice(
        np.arange(1, 20000),
        replace=False,
        size=sum(params[k] for k in ("num_train_ids", "num_test_ids", "num_distractors")),
    )
    pids = iter(sorted(int(p) for p in pool))
    groups = [("train", params["images_per_id"])] * params["num_train_ids"]
    groups += [("other", 2)] * params["num_distractors"]
    groups += [("test", params["images_per_id"])] * params["num_test_ids"]
    for side, count in groups:
        person, pid = result.person(side), next(pids)
        for number in range(count):
            split = "train" if side != "test" else ("query" if number == 0 else "gallery")
            crop += 1
            scene, hard = int(rng.integers(1, 18000)), float(rng.integers(2))
            name = naming.format_cuhksysu_crop(pid, f"s{scene}", crop, hard)
            camera = 1 + int(rng.integers(SCENE_CAMERAS))
            result.shots.append(Shot(person, camera, f"{split}/{name}"))
    return result


register_dataset(
    SPEC,
    Style(
        "cuhksysu",
        look=LOOK,
        wardrobe=CITY,
        num_cameras=SCENE_CAMERAS,
        plan=plan,
        min_images=4,
        notes="distractors are train ids with two crops, which the loader drops",
    ),
)
