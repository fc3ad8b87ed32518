"""GRID (QMUL underground): 250 paired ids in probe/ and gallery/, plus 0000 distractors in
gallery/. The split is the release's own features_and_partitions.mat (trainIdxAll, split 0)
when present, else the shipped seeded split."""

from __future__ import annotations

import io as _stdio
import re
from pathlib import Path

import numpy as np

from reid.data.adapters import common
from reid.data.datasets import DatasetSpec, Raw, register_dataset
from reid.data.generator.cameras import Look
from reid.data.generator.looks import SCENES, WINTER
from reid.data.generator.styles import Plan, Shot, Style
from reid.errors import DatasetError

PATTERN = re.compile(r"^(\d{4})_(\d+)_.*\.jpeg$")
DESCRIBED = "PPPP_C_<fields>.jpeg (0000 = unmatched distractor)"
PARTITIONS = "features_and_partitions.mat"


def _items(folder: Path) -> dict[str, list[common.Item]]:
    found: dict[str, list[common.Item]] = {}
    for sub in ("probe", "gallery"):
        found[sub] = []
        for path in common.images(folder / sub, (".jpeg",)):
            match = common.match_name(PATTERN, path, DESCRIBED)
            found[sub].append((path, int(match.group(1)), int(match.group(2))))
    return found


def read_partitions(path: Path) -> common.IdSplit:
    """Train ids of split 0 of `trainIdxAll` in GRID's features_and_partitions.mat."""
    from scipy.io import loadmat

    try:
        cell = loadmat(str(path))["trainIdxAll"][0][0]
        if cell.dtype.names:  # the release: a struct whose third field holds the indices
            cell = cell[0][0][2]
        train = frozenset(int(i) for i in np.asarray(cell).ravel())
    except Exception as exc:  # scipy raises many types for a broken or foreign file
        raise DatasetError(
            f"{path} could not be read as GRID's partition file (trainIdxAll, {exc}); restore "
            "it from the archive, or remove it to use the shipped split"
        ) from exc
    return common.IdSplit(f"{path} (trainIdxAll split 0)", train, frozenset(range(1, 251)) - train)


def _split(folder: Path, split_file: Path | None) -> common.Split:
    if split_file is not None:
        return common.read_split(Path(split_file))
    if (folder / PARTITIONS).is_file():
        return read_partitions(folder / PARTITIONS)
    return common.load_split("grid", None)


def scan(folder: Path, split_file: Path | None) -> Raw:
    """Place probe / gallery images by the split; 0000 images stay in the gallery."""
    found = _items(folder)
    split = _split(folder, split_file)
    if isinstance(split, common.FileSplit):
        return common.apply_file_split(split, found["probe"] + found["gallery"], folder)
    raw: Raw = {"train": [], "query": [], "gallery": []}
    for sub, target in (("probe", "query"), ("gallery", "gallery")):
        for path, pid, cam in found[sub]:
            if pid == 0:
                raw["gallery"].append((path, pid, cam))
            else:
                side = split.side(path, pid)
                raw["train" if side == "train" else target].append((path, pid, cam))
    return raw


SPEC = DatasetSpec(
    name="grid",
    title="GRID",
    folders=("underground_reid", "grid/underground_reid", "GRID/underground_reid"),
    layout="custom",
    parser=common.unused_parser,
    num_cameras=8,
    suffixes=(".jpeg",),
    counts={"train": (125, 250), "query": (125, 125), "gallery": (126, 900)},
    acquire_hint="place GRID's underground_reid/ folder under grid/ in the data root",
    scan=scan,
    has_layout=common.has_dirs("probe", "gallery"),
    expected="underground_reid/probe/*.jpeg, underground_reid/gallery/*.jpeg (names "
    "PPPP_C_*.jpeg) and optionally underground_reid/features_and_partitions.mat",
)
# an underground station: dim, low resolution, noisy, crowded
LOOK = Look(
    scene=SCENES["underground"],
    cast=(1.05, 1.0, 0.8),
    gain_spread=0.3,
    brightness=(0.35, 0.7),
    saturation=(0.55, 0.85),
    blur=(0.4, 1.0),
    noise=(0.03, 0.06),
    resolution=(0.35, 0.6),
    scale=(0.75, 0.95),
    shift=0.06,
    occlusion=(0.1, 0.35),
    crowd=(0.2, 0.5),
    nuisance=1.2,
)


def partitions_mat(train_ids: list[int]) -> bytes:
    """A features_and_partitions.mat holding `train_ids` as split 0 (the release's struct)."""
    from scipy.io import savemat

    cells = np.empty((1, 10), dtype=object)
    for index in range(10):
        ids = np.asarray(train_ids, dtype=np.float64).reshape(1, -1)
        cells[0, index] = {"featIdx": np.zeros((1, 1)), "testIdx": np.zeros((1, 1)), "idx": ids}
    buffer = _stdio.BytesIO()
    savemat(buffer, {"trainIdxAll": cells})
    return buffer.getvalue()


common.known_archive(
    "grid",
    "underground_reid.zip",
    "GRID is distributed by its authors (QMUL / CUHK) as underground_reid.zip: bring your own copy",
)


def plan(params: dict, rng: np.random.Generator) -> Plan:
    """Ids from the shipped split, one probe and one gallery image each from two different
    cameras, `num_distractors` 0000 gallery images, and the partition .mat of that split."""
    ids = common.shipped_split_ids("grid", params)
    result, count = Plan(), 0
    for side, pid in ids:
        person = result.person(side)
        cams = [int(c) + 1 for c in rng.choice(8, size=2, replace=False)]
        for sub, cam in zip(("probe", "gallery"), cams, strict=True):
            count += 1
            name = f"{pid:04d}_{cam}_{count:05d}_{int(rng.integers(10, 99))}.jpeg"
            result.shots.append(Shot(person, cam, f"{sub}/{name}"))
    for _ in range(params["num_distractors"]):
        cam, count = int(rng.integers(8)) + 1, count + 1
        name = f"0000_{cam}_{count:05d}_{int(rng.integers(10, 99))}.jpeg"
        result.shots.append(Shot(result.person("other"), cam, f"gallery/{name}"))
    result.extra[PARTITIONS] = partitions_mat([pid for side, pid in ids if side == "train"])
    return result


register_dataset(
    SPEC,
    Style(
        "grid",
        look=LOOK,
        wardrobe=WINTER,
        num_cameras=8,
        plan=plan,
        notes="one probe and one gallery image per id; distractors are 0000 gallery images; "
        "writes features_and_partitions.mat; images_per_id is not used",
    ),
)
