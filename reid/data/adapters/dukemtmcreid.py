"""DukeMTMC-reID: eight cameras on a university campus in winter (a seen set; withdrawn by its
authors, so users bring their own copy).

Its generated style writes `bounding_box_train/`, `query/` and `bounding_box_test/` with real
names (`0005_c2_f0046985.jpg`); distractors are gallery-only identities with their own pids."""

from __future__ import annotations

import numpy as np

from reid.data import naming
from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import SCENES, WINTER
from reid.data.generator.styles import Plan, Style

NUM_CAMERAS = 8
# dark, cold winter light, washed-out colours; hand-drawn boxes: tight and centred
LOOK = Look(
    scene=SCENES["winter_campus"],
    cast=(0.85, 1.0, 1.2),
    gain_spread=0.18,
    brightness=(0.5, 0.85),
    saturation=(0.7, 0.95),
    blur=(0.2, 0.6),
    resolution=(0.85, 1.0),
    scale=(0.86, 0.98),
    shift=0.02,
    occlusion=(0.05, 0.25),
    crowd=(0.0, 0.2),
    nuisance=0.6,
)


def duke_namer():
    """File names `PPPP_cC_fFFFFFFF.jpg` with a running frame number (unique names)."""
    frame = 0

    def name(pid: int, cam: int, rng: np.random.Generator) -> str:
        nonlocal frame
        frame += int(rng.integers(1, 60))
        return naming.format_dukemtmcreid(pid, cam, frame)

    return name


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Duke's layout: distractors are gallery-only identities with their own pids."""
    return common.folder_plan(params, rng, NUM_CAMERAS, duke_namer())


register_dataset(
    DatasetSpec(
        name="dukemtmcreid",
        title="DukeMTMC-reID",
        folders=("DukeMTMC-reID", "dukemtmc-reid", "dukemtmcreid"),
        layout="folders",
        parser=naming.parse_dukemtmcreid,
        num_cameras=NUM_CAMERAS,
        counts={"train": (702, 16522), "query": (702, 2228), "gallery": (1110, 17661)},
        acquire_hint="DukeMTMC-reID was withdrawn by its authors: place your own copy and run "
        "`reid prepare`",
    ),
    Style(
        "duke",
        plan=plan,
        look=LOOK,
        wardrobe=WINTER,
        num_cameras=NUM_CAMERAS,
        min_images=4,
        notes="distractors are gallery-only identities with their own pids",
    ),
)
