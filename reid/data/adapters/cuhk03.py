"""CUHK03 labeled under the 767/700 protocol (the LReID seen set).

Two ways to hold it: the CUHK03-NP `labeled/` folder (bounding_box_train, query,
bounding_box_test; the same split), or the release converted to `images_labeled/` PNGs with
`cuhk03_new_protocol_config_labeled.mat` beside it (torchreid's `cuhk03/`, LSTKC's
`CUHK03_lifelong/`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from reid.data import datasets as ds
from reid.data import naming
from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import CAMPUS, SCENES
from reid.data.generator.styles import Plan, Shot, Style
from reid.errors import DatasetError

CONFIG = "cuhk03_new_protocol_config_labeled.mat"
IMAGES = "images_labeled"
RELEASE_NAME = re.compile(r"^(\d)_(\d{3})_(\d)_(\d{2})\.png$")
SETS = {"train": "train_idx", "query": "query_idx", "gallery": "gallery_idx"}
PAIRS = 5  # camera pairs; a person is seen by the two cameras of one pair
CUHK03NP_COUNTS: dict[str, ds.Counts] = {
    "labeled": {"train": (767, 7368), "query": (700, 1400), "gallery": (700, 5328)},
    "detected": {"train": (767, 7365), "query": (700, 1400), "gallery": (700, 5332)},
}
# a Hong Kong campus under dim, greenish fluorescent and overcast light; hand-labelled but
# small, blurry crops (low detail), tight and narrow; the two cameras of a pair see people walk
# towards/away and across
LOOK = Look(
    scene=SCENES["hk_campus"],
    cast=(0.9, 1.08, 0.92),
    gain_spread=0.15,
    brightness=(0.55, 0.85),
    saturation=(0.6, 0.85),
    blur=(0.6, 1.2),
    resolution=(0.4, 0.6),
    scale=(0.85, 0.98),
    squash=(1.1, 1.3),
    shift=0.03,
    occlusion=(0.05, 0.2),
    crowd=(0.0, 0.15),
    view_bias=0.8,
    axes=("frontback", "side"),
    nuisance=0.6,
)
CUHK03NP_SPEC = DatasetSpec(
    name="cuhk03np",
    title="CUHK03-NP",
    folders=("cuhk03-np/labeled", "cuhk03-np/detected", "labeled", "detected"),
    layout="folders",
    parser=naming.parse_cuhk03np,
    num_cameras=2,
    suffixes=(".png", ".jpg"),
    counts_by_folder=CUHK03NP_COUNTS,  # labeled and detected differ
)


def _is_np(folder: Path) -> bool:
    layout = all((folder / sub).is_dir() for sub in ds.FOLDER_LAYOUT.values())
    return layout and folder.name != "detected"  # the benchmark uses labeled images


def _is_release(folder: Path) -> bool:
    return (folder / IMAGES).is_dir() and (folder / CONFIG).is_file()


def _read_config(path: Path) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
        names = [str(np.asarray(entry).ravel()[0]) for entry in mat["filelist"].ravel()]
        labels = mat["labels"].ravel().astype(int)
        sets = {split: mat[key].ravel().astype(int) - 1 for split, key in SETS.items()}
    except Exception as exc:  # scipy raises many types for a broken or foreign file
        raise DatasetError(
            f"{path} could not be read as the CUHK03 767/700 config (filelist, labels, "
            f"train_idx, query_idx, gallery_idx: {exc}); restore it from the protocol's release"
        ) from exc
    return names, labels, sets


def _scan_release(folder: Path) -> Raw:
    names, labels, sets = _read_config(folder / CONFIG)
    raw: Raw = {}
    for split, indices in sets.items():
        raw[split] = []
        for index in indices:
            path = folder / IMAGES / names[index]
            if not path.is_file():
                raise DatasetError(
                    f"{folder / CONFIG} names {path}, which does not exist; convert the release "
                    f"into {IMAGES}/ again"
                )
            match = common.match_name(RELEASE_NAME, path, "C_PPP_V_II.png")
            raw[split].append((path, int(labels[index]), int(match.group(3))))
    return raw


def scan(folder: Path, split_file: Path | None) -> Raw:
    """The CUHK03-NP labeled folders, or images_labeled/ placed by the 767/700 config .mat."""
    if split_file is not None:
        raise DatasetError(
            f"CUHK03's 767/700 split is fixed; it takes no split file ({split_file})"
        )
    if _is_release(folder):
        return _scan_release(folder)
    return {
        split: ds._scan_folder(CUHK03NP_SPEC, folder / sub)
        for split, sub in ds.FOLDER_LAYOUT.items()
    }


CUHK03_SPEC = DatasetSpec(
    name="cuhk03",
    title="CUHK03 (labeled, 767/700)",
    folders=(
        "cuhk03-np/labeled",
        "CUHK03-NP/labeled",
        "labeled",
        "CUHK03_lifelong",
        "cuhk03",
    ),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=2,
    suffixes=(".png", ".jpg"),
    counts=CUHK03NP_COUNTS["labeled"],
    acquire_hint="place CUHK03-NP's labeled/ folder (or the converted release with "
    f"{CONFIG}) in the data root",
    scan=scan,
    has_layout=lambda folder: _is_np(folder) or _is_release(folder),
    expected=f"cuhk03-np/labeled/ with bounding_box_train/, query/, bounding_box_test/ "
    f"(PPPP_cC_N.png), or {IMAGES}/ (C_PPP_V_II.png) with {CONFIG} (torchreid: cuhk03/, "
    "LSTKC: CUHK03_lifelong/)",
)

common.known_archive(
    "cuhk03",
    "cuhk03-np.zip",
    "CUHK03-NP has no stable public URL: bring your own copy (its labeled/ folder is "
    "the 767/700 split)",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """CUHK03-NP labeled layout: images alternate between the two cameras of one of five camera
    pairs; each test id gives one query per camera and its other images to the gallery."""
    result, index = Plan(), 0
    total = params["num_train_ids"] + params["num_test_ids"]
    pids = iter(sorted(int(p) for p in rng.choice(np.arange(1, 1468), size=total, replace=False)))
    sides = ["train"] * params["num_train_ids"] + ["test"] * params["num_test_ids"]
    for side in sides:
        person, pid, seen = result.person(side), next(pids), set()
        pair = int(rng.integers(PAIRS))
        for cam in sorted(1 + i % 2 for i in range(params["images_per_id"])):
            index += 1
            folder = "bounding_box_train"
            if side == "test":
                folder = "bounding_box_test" if cam in seen else "query"
                seen.add(cam)
            name = naming.format_cuhk03np(pid, cam, index)
            result.shots.append(Shot(person, 2 * pair + cam, f"{folder}/{name}"))
    return result


def _style(name: str) -> Style:
    return Style(
        name,
        plan=plan,
        look=LOOK,
        wardrobe=CAMPUS,
        num_cameras=2 * PAIRS,
        min_images=4,
        notes="the CUHK03-NP labeled layout (five camera pairs, labelled 1 and 2); no distractors",
    )


register_dataset(CUHK03_SPEC, _style("cuhk03"))
register_dataset(CUHK03NP_SPEC, _style("cuhk03np"))
