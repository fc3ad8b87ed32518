"""MSMT17: fifteen cameras (twelve outdoor, three indoor) over four days of changing weather
and light (a seen set; V1 and V2 folders both read).

Its generated style writes `train/`, `test/` and the four list files, about 10 % of the train
images listed in `list_val.txt` (train and val together are the training set, as in MSMT17)."""

from __future__ import annotations

import numpy as np

from reid.data import naming
from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, register_dataset
from reid.data.generator.cameras import Look, Scene
from reid.data.generator.looks import MIXED, SCENES
from reid.data.generator.styles import Plan, Shot, Style

NUM_CAMERAS = 15
_MIXED_SCENES = Scene(
    walls=SCENES["indoor"].walls + SCENES["street"].walls,
    grounds=SCENES["indoor"].grounds + SCENES["street"].grounds,
    horizon=(0.35, 0.8),
)
# indoor halls and outdoor paths, morning to afternoon: strong and varied casts and light;
# Faster R-CNN boxes of mid tightness
LOOK = Look(
    scene=_MIXED_SCENES,
    gain_spread=0.28,
    brightness=(0.55, 1.25),
    saturation=(0.7, 1.15),
    blur=(0.0, 0.7),
    resolution=(0.6, 1.0),
    scale=(0.78, 0.95),
    shift=0.05,
    occlusion=(0.05, 0.25),
    crowd=(0.05, 0.3),
    nuisance=0.6,
)
LISTS = ("train", "val", "query", "gallery")


def _line(pid: int, index: int, cam: int, frame: int, rng: np.random.Generator) -> str:
    tag = f"{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
    tag += ("morning", "noon", "afternoon")[int(rng.integers(3))]
    return naming.format_msmt17_line(pid, index, cam, tag, frame % 10000, 0)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Train pids 0..n-1 and test pids 0..m-1 (MSMT17 numbers each part from 0); distractors
    are gallery-only test pids; the list files name every image."""
    result, lists = Plan(), {name: [] for name in LISTS}
    groups = [("train", pid) for pid in range(params["num_train_ids"])]
    groups += [("test", pid) for pid in range(params["num_test_ids"])]
    groups += [("other", params["num_test_ids"] + k) for k in range(params["num_distractors"])]
    frame = 0
    for side, pid in groups:
        person, seen = result.person(side), set()
        cams = [int(rng.integers(NUM_CAMERAS)) + 1] if side == "other" else None
        cams = cams or common.spread_over_cameras(rng, params["images_per_id"], NUM_CAMERAS)
        for index, cam in enumerate(cams):
            frame += int(rng.integers(1, 60))
            line = _line(pid, index, cam, frame, rng)
            if side == "train":
                split = "val" if rng.uniform() < 0.1 else "train"
            else:
                split = "gallery" if cam in seen or side == "other" else "query"
            seen.add(cam)
            top = "train" if side == "train" else "test"
            result.shots.append(Shot(person, cam, f"{top}/{line.split()[0]}"))
            lists[split].append(line)
    for name, lines in lists.items():
        result.extra[f"list_{name}.txt"] = "".join(f"{x}\n" for x in lines).encode()
    return result


register_dataset(
    DatasetSpec(
        name="msmt17",
        title="MSMT17",
        folders=("MSMT17_V1", "MSMT17_V2", "MSMT17", "msmt17"),
        layout="msmt",
        parser=naming.parse_msmt17,
        num_cameras=NUM_CAMERAS,
        counts={"train": (1041, 32621), "query": (3060, 11659), "gallery": (3060, 82161)},
        acquire_hint="MSMT17 has no public download: place your own copy and run `reid prepare`",
    ),
    Style(
        "msmt",
        plan=plan,
        look=LOOK,
        wardrobe=MIXED,
        num_cameras=NUM_CAMERAS,
        min_images=4,
        notes="train/ and test/ with the four list files; distractors are gallery-only pids",
    ),
)
