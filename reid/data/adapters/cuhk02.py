"""CUHK02: five camera-view pairs P1-P5; P1-P4 train, P5 tests (cam1 query, cam2 gallery)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import CAMPUS, SCENES
from reid.data.generator.styles import Plan, Shot, Style
from reid.errors import DatasetError

PATTERN = re.compile(r"^(\d+)_(\d+)\.png$")
DESCRIBED = "PPP_K.png"
PAIRS = ("P1", "P2", "P3", "P4", "P5")
OFFSET = 100_000  # train pids are numbered within a pair: pid + pair * OFFSET keeps them apart


def scan(folder: Path, split_file: Path | None) -> Raw:
    """P1-P4 (whichever exist) train, P5 cam1 query, P5 cam2 gallery; cameras 1-10 over
    P1cam1..P5cam2. The split is fixed."""
    if split_file is not None:
        raise DatasetError(
            f"CUHK02's split is fixed (P1-P4 train, P5 test); it takes no split file ({split_file})"
        )
    raw: Raw = {"train": [], "query": [], "gallery": []}
    for number, pair in enumerate(PAIRS):
        for view in (1, 2):
            cam = 2 * number + view
            for path in common.images(folder / pair / f"cam{view}", (".png",)):
                pid = int(common.match_name(PATTERN, path, DESCRIBED).group(1))
                if pair != "P5":
                    raw["train"].append((path, pid + number * OFFSET, cam))
                else:
                    raw["query" if view == 1 else "gallery"].append((path, pid, cam))
    return raw


SPEC = DatasetSpec(
    name="cuhk02",
    title="CUHK02",
    folders=("CUHK02", "cuhk02/Dataset", "Dataset", "CUHK02/Dataset"),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=10,
    suffixes=(".png",),
    counts={"train": (1577, 6308), "query": (239, 478), "gallery": (239, 478)},
    acquire_hint="place CUHK02's P1..P5 folders under CUHK02/ (LSTKC) or the archive's "
    "Dataset/ under cuhk02/ (torchreid)",
    scan=scan,
    has_layout=common.has_dirs("P5/cam1", "P5/cam2"),
    expected="P1..P5/cam1/*.png and P1..P5/cam2/*.png (names PPP_K.png; LSTKC: CUHK02/P1; "
    "torchreid: cuhk02/Dataset/P1)",
)
# five camera pairs of a campus: in each pair one camera sees people from the front or
# back, the other from the side; 160x60 crops, sharp and narrow
LOOK = Look(
    scene=SCENES["hk_campus"],
    cast=(0.95, 1.05, 0.95),
    gain_spread=0.3,
    brightness=(0.6, 1.2),
    blur=(0.0, 0.5),
    resolution=(0.7, 1.0),
    scale=(0.85, 0.97),
    squash=(1.1, 1.3),
    shift=0.03,
    occlusion=(0.0, 0.15),
    crowd=(0.0, 0.15),
    view_bias=0.9,
    axes=("frontback", "side"),
    nuisance=1.2,
)

common.known_archive(
    "cuhk02",
    "cuhk02.zip",
    "CUHK02 is given out on request by its authors: bring your own copy",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Train ids spread round-robin over P1-P4, test ids in P5; `images_per_id` images per id
    over the pair's two cameras (each camera at least once)."""
    result = Plan()
    sides = [("train", PAIRS[i % 4]) for i in range(params["num_train_ids"])]
    sides += [("test", "P5")] * params["num_test_ids"]
    numbers: dict[str, int] = {}
    for side, pair in sides:
        person, pid = result.person(side), numbers.get(pair, 0) + 1
        numbers[pair] = pid
        base = 2 * PAIRS.index(pair)
        counts: dict[int, int] = {}
        for view in common.spread(rng, params["images_per_id"], [1, 2]):
            counts[view] = counts.get(view, 0) + 1
            name = f"{pair}/cam{view}/{pid:03d}_{counts[view]}.png"
            result.shots.append(Shot(person, base + view, name))
    return result


register_dataset(
    SPEC,
    Style(
        "cuhk02",
        look=LOOK,
        wardrobe=CAMPUS,
        num_cameras=10,
        plan=plan,
        notes="train ids over P1-P4, test ids in P5; no distractors",
    ),
)
