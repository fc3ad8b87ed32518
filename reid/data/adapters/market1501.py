"""Market-1501: six cameras in front of a campus supermarket in summer (the first seen set).

Its generated style writes `bounding_box_train/`, `query/` and `bounding_box_test/` with real
names (`0002_c1s1_000451_03.jpg`), distractors as pid 0000 and junk crops as pid -1."""

from __future__ import annotations

import numpy as np

from reid.data import naming
from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import SCENES, SUMMER
from reid.data.generator.styles import Plan, Shot, Style

NUM_CAMERAS = 6
# summer daylight, warm; DPM boxes: loose, often off-centre, one low-resolution camera
LOOK = Look(
    scene=SCENES["street"],
    cast=(1.1, 1.0, 0.85),
    gain_spread=0.18,
    brightness=(0.8, 1.3),
    saturation=(0.95, 1.15),
    blur=(0.0, 0.4),
    resolution=(0.55, 1.0),
    scale=(0.7, 0.9),
    shift=0.09,
    occlusion=(0.0, 0.15),
    crowd=(0.1, 0.35),
    nuisance=0.6,
)


def market_namer():
    """File names `PPPP_cCsS_FFFFFF_BB.jpg` with a running frame number (unique names)."""
    frame = 0

    def name(pid: int, cam: int, rng: np.random.Generator) -> str:
        nonlocal frame
        frame += int(rng.integers(1, 60))
        return naming.format_market1501(
            pid, cam, int(rng.integers(1, 7)), frame, int(rng.integers(1, 9))
        )

    return name


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Market's layout: distractors are pid 0000, junk crops (pid -1) in the gallery."""
    name = market_namer()
    result = common.folder_plan(params, rng, NUM_CAMERAS, name, shared_distractor=0)
    for _ in range(params["num_junk"]):
        cam = int(rng.integers(NUM_CAMERAS)) + 1
        result.shots.append(Shot(-1, cam, f"bounding_box_test/{name(-1, cam, rng)}"))
    return result


register_dataset(
    DatasetSpec(
        name="market1501",
        title="Market-1501",
        folders=("Market-1501-v15.09.15", "Market-1501", "market1501"),
        layout="folders",
        parser=naming.parse_market1501,
        num_cameras=NUM_CAMERAS,
        counts={"train": (751, 12936), "query": (750, 3368), "gallery": (751, 15913)},
        distractor_pid=0,
    ),
    Style(
        "market",
        plan=plan,
        look=LOOK,
        wardrobe=SUMMER,
        num_cameras=NUM_CAMERAS,
        min_images=4,
        junk=True,
        notes="distractors are pid 0000, junk crops pid -1 (num_junk)",
    ),
)
