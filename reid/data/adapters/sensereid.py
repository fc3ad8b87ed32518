"""SenseReID: a test-only set (query = test_probe/, gallery = test_gallery/)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import CITY, SCENES
from reid.data.generator.styles import Plan, Shot, Style

PATTERN = re.compile(r"^(\d+)_(\d+)\.jpg$")
DESCRIBED = "<pid>_<camera>.jpg"


def scan(folder: Path, split_file: Path | None) -> Raw:
    """Query and gallery as the release splits them (cameras shifted to start at 1)."""
    raw: Raw = {"train": []}
    for sub, split in (("test_probe", "query"), ("test_gallery", "gallery")):
        raw[split] = []
        for path in common.images(folder / sub, (".jpg",)):
            match = common.match_name(PATTERN, path, DESCRIBED)
            raw[split].append((path, int(match.group(1)), int(match.group(2)) + 1))
    return raw


SPEC = DatasetSpec(
    name="sensereid",
    title="SenseReID",
    folders=("SenseReID", "sensereid/SenseReID"),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=99,
    counts={"train": (0, 0), "query": (522, 1040), "gallery": (1717, 3388)},
    acquire_hint="place SenseReID/ in the data root (LSTKC) or under sensereid/ (torchreid)",
    scan=scan,
    has_layout=common.has_dirs("test_probe", "test_gallery"),
    expected="SenseReID/test_probe/*.jpg and SenseReID/test_gallery/*.jpg (names "
    "<pid>_<camera>.jpg)",
    test_only=True,
)
# many surveillance cameras indoors and out, of every quality
LOOK = Look(
    scene=SCENES["city"],
    cast=(1.05, 0.95, 1.05),
    gain_spread=0.3,
    brightness=(0.55, 1.25),
    blur=(0.0, 0.8),
    resolution=(0.4, 0.9),
    scale=(0.7, 0.95),
    shift=0.06,
    occlusion=(0.05, 0.25),
    crowd=(0.05, 0.3),
    nuisance=1.2,
)

common.known_archive(
    "sensereid",
    "SenseReID.zip",
    "SenseReID has no stable public URL: bring your own copy",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """`num_test_ids` ids with `images_per_id` images on distinct cameras, one or two of them
    queries; `num_distractors` gallery-only ids. num_train_ids is not used (test only)."""
    result = Plan()
    pids = sorted(int(p) for p in rng.choice(9000, size=params["num_test_ids"], replace=False))
    for pid in pids:
        person = result.person("test")
        cams = sorted(int(c) for c in rng.choice(8, size=params["images_per_id"], replace=False))
        queries = 1 + int(rng.integers(2)) if len(cams) > 2 else 1
        for number, cam in enumerate(cams):
            sub = "test_probe" if number < queries else "test_gallery"
            result.shots.append(Shot(person, cam + 1, f"{sub}/{pid:07d}_{cam:02d}.jpg"))
    for offset in range(params["num_distractors"]):
        cam = int(rng.integers(8))
        name = f"test_gallery/{9000 + offset:07d}_{cam:02d}.jpg"
        result.shots.append(Shot(result.person("other"), cam + 1, name))
    return result


register_dataset(
    SPEC,
    Style(
        "sensereid",
        look=LOOK,
        wardrobe=CITY,
        num_cameras=8,
        plan=plan,
        max_images=8,
        notes="test only (num_train_ids not used); images_per_id 2..8, one per camera",
    ),
)
