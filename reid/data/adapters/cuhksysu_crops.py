"""Write CUHK-SYSU's re-ID crops (cuhksysu4reid/{train,query,gallery}) from the person-search
release, as the LReID code (AKA, LSTKC) does on its first run:

    python -m reid.data.adapters.cuhksysu_crops RELEASE OUT

RELEASE holds `Image/SSM/*.jpg` and `annotation/test/train_test/{Train,TestG50}.mat`. Train:
every box of the training persons (the adapter keeps those with >= 4 boxes); query: the TestG50
query box of each test person; gallery: that person's boxes in its TestG50 gallery images
(gallery images without the person are skipped). Boxes are [x, y, w, h]; a crop is named
`PPPPP_<image stem>_IIIIIII_H.jpg` (pid from the id name `pPPPPP`, a running crop index per
split, the hard flag). The folder appears only when complete (written beside, then renamed).
"""

from __future__ import annotations

import argparse
import io as _stdio
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

from reid import io
from reid.data import naming
from reid.errors import DatasetError, ReidError

ANNOTATIONS = Path("annotation/test/train_test")
IMAGES = Path("Image/SSM")
OUT_NAME = "cuhksysu4reid"


class Box(NamedTuple):
    """One person box: pid, scene image name, [x, y, w, h], hard flag."""

    pid: int
    image: str
    box: tuple[int, int, int, int]
    hard: int


def _structs(value: object) -> list:
    """MATLAB structs read by scipy (struct_as_record=False), from a struct, array or cell."""
    if isinstance(value, np.ndarray):
        return [s for item in value.ravel() for s in _structs(item)]
    return [value] if hasattr(value, "_fieldnames") else []


def _box(pid: int, record) -> Box | None:
    where = np.asarray(record.idlocate, dtype=float).ravel()
    if where.size != 4:
        return None  # a gallery image without this person
    x, y, w, h = (int(round(v)) for v in where)
    return Box(pid, str(record.imname), (x, y, w, h), int(np.asarray(record.ishard).ravel()[0]))


def _pid(name: object) -> int:
    return int(str(name).strip().lstrip("p"))


def _load(path: Path, key: str) -> list:
    from scipy.io import loadmat

    if not path.is_file():
        raise DatasetError(
            f"{path} does not exist; expected the CUHK-SYSU release with {ANNOTATIONS}/ and "
            f"{IMAGES}/"
        )
    try:
        return _structs(loadmat(str(path), squeeze_me=True, struct_as_record=False)[key])
    except (KeyError, ValueError, OSError) as exc:
        raise DatasetError(f"{path} could not be read as CUHK-SYSU's {key} ({exc})") from exc


def read_boxes(release: Path) -> dict[str, list[Box]]:
    """The boxes of each split from Train.mat and TestG50.mat."""
    boxes: dict[str, list[Box]] = {"train": [], "query": [], "gallery": []}
    for person in _load(release / ANNOTATIONS / "Train.mat", "Train"):
        names = person._fieldnames  # idname, nAppear, scene
        pid = _pid(getattr(person, names[0]))
        for scene in _structs(getattr(person, names[2])):
            boxes["train"] += [b for b in [_box(pid, scene)] if b is not None]
    for test in _load(release / ANNOTATIONS / "TestG50.mat", "TestG50"):
        query = _structs(test.Query)[0]
        pid = _pid(query.idname)
        boxes["query"] += [b for b in [_box(pid, query)] if b is not None]
        for image in _structs(test.Gallery):
            boxes["gallery"] += [b for b in [_box(pid, image)] if b is not None]
    return boxes


def _crop(release: Path, box: Box) -> bytes:
    path = release / IMAGES / box.image
    if not path.is_file():
        raise DatasetError(f"{path} (named in the annotations) does not exist; extract it again")
    x, y, w, h = box.box
    buffer = _stdio.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").crop((x, y, x + w, y + h)).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def make_crops(release: Path, out: Path) -> Path:
    """Write `out/cuhksysu4reid/` from the release at `release` (kept if already there)."""
    release, target = Path(release), Path(out) / OUT_NAME
    if target.is_dir():
        return target
    boxes = read_boxes(release)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{OUT_NAME}.", dir=target.parent))
    try:
        for split, items in boxes.items():
            (staging / split).mkdir()
            for index, box in enumerate(items):
                stem = Path(box.image).stem
                name = naming.format_cuhksysu_crop(box.pid, stem, index, box.hard)
                io.write_bytes(staging / split / name, _crop(release, box))
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: RELEASE OUT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("release", type=Path, help="the CUHK-SYSU release folder")
    parser.add_argument("out", type=Path, help="where cuhksysu4reid/ is written")
    args = parser.parse_args(argv)
    try:
        print(make_crops(args.release, args.out))
    except ReidError as exc:
        print(f"cuhksysu_crops: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
