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
from reid.data.adapters.style import Plan, Shot, Style, register_style
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.errors import DatasetError

CONFIG = "cuhk03_new_protocol_config_labeled.mat"
IMAGES = "images_labeled"
RELEASE_NAME = re.compile(r"^(\d)_(\d{3})_(\d)_(\d{2})\.png$")
SETS = {"train": "train_idx", "query": "query_idx", "gallery": "gallery_idx"}


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
    spec = ds.get_spec("cuhk03np")
    return {split: ds._scan_folder(spec, folder / sub) for split, sub in ds.FOLDER_LAYOUT.items()}


register_dataset(
    DatasetSpec(
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
        counts=ds.CUHK03NP_COUNTS["labeled"],
        acquire_hint="place CUHK03-NP's labeled/ folder (or the converted release with "
        f"{CONFIG}) in the data root",
        scan=scan,
        has_layout=lambda folder: _is_np(folder) or _is_release(folder),
        expected=f"cuhk03-np/labeled/ with bounding_box_train/, query/, bounding_box_test/ "
        f"(PPPP_cC_N.png), or {IMAGES}/ (C_PPP_V_II.png) with {CONFIG} (torchreid: cuhk03/, "
        "LSTKC: CUHK03_lifelong/)",
    )
)

common.known_archive(
    "cuhk03",
    "cuhk03-np.zip",
    "CUHK03-NP has no stable public URL: bring your own copy (its labeled/ folder is "
    "the 767/700 split)",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """CUHK03-NP labeled layout: images alternate between the two cameras; each test id gives
    one query per camera and its other images to the gallery."""
    result, index = Plan(), 0
    total = params["num_train_ids"] + params["num_test_ids"]
    pids = iter(sorted(int(p) for p in rng.choice(np.arange(1, 1468), size=total, replace=False)))
    sides = ["train"] * params["num_train_ids"] + ["test"] * params["num_test_ids"]
    for side in sides:
        person, pid, seen = result.person(side), next(pids), set()
        for cam in sorted(1 + i % 2 for i in range(params["images_per_id"])):
            index += 1
            folder = "bounding_box_train"
            if side == "test":
                folder = "bounding_box_test" if cam in seen else "query"
                seen.add(cam)
            name = naming.format_cuhk03np(pid, cam, index)
            result.shots.append(Shot(person, cam, f"{folder}/{name}"))
    return result


for _name, _code in (("cuhk03", 73), ("cuhk03np", 79)):
    register_style(
        Style(
            _name,
            _name,
            code=_code,
            look="duke",
            num_cameras=2,
            plan=plan,
            min_images=4,
            notes="the CUHK03-NP labeled layout; no distractors",
        )
    )
