"""Tiny dataset trees in the real naming conventions, for the data tests."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

from PIL import Image

MARKET_FILES = {
    "bounding_box_train": [
        "0002_c1s1_000451_03.jpg",
        "0002_c1s1_000551_01.jpg",
        "0002_c2s1_000301_02.jpg",
        "0007_c3s3_015240_04.jpg",
        "0007_c4s3_015340_01.jpg",
        "0011_c6s4_002202_01.jpg",
    ],
    "query": ["0001_c1s1_001051_00.jpg", "0003_c2s1_000151_00.jpg"],
    "bounding_box_test": [
        "0001_c2s1_000301_01.jpg",
        "0001_c3s1_000401_02.jpg",
        "0003_c1s1_000201_01.jpg",
        "0000_c4s2_000101_01.jpg",
        "0000_c5s2_000111_02.jpg",
        "-1_c5s2_000121_03.jpg",
        "-1_c6s3_000131_01.jpg",
    ],
}

DUKE_FILES = {
    "bounding_box_train": ["0005_c2_f0046985.jpg", "0005_c5_f0051341.jpg", "0008_c8_f0000001.jpg"],
    "query": ["0010_c1_f0000100.jpg"],
    "bounding_box_test": ["0010_c3_f0000200.jpg", "0012_c7_f0000300.jpg"],
}

MSMT_LISTS = {
    "list_train.txt": ["0000/0000_000_01_0303morning_0015_0.jpg 0"],
    "list_val.txt": ["0001/0001_000_15_0303noon_0016_1.jpg 1"],
    "list_query.txt": ["0000/0000_000_03_0113morning_0001_0.jpg 0"],
    "list_gallery.txt": [
        "0000/0000_001_07_0113morning_0002_0.jpg 0",
        "0002/0002_000_12_0113noon_0003_0.jpg 2",
    ],
}

CUHK_FILES = {
    "bounding_box_train": ["0001_c1_1.png", "0001_c2_6.png", "0004_c1_2.png"],
    "query": ["0003_c1_1.png"],
    "bounding_box_test": ["0003_c2_7.png", "0005_c2_6.png"],
}


def jpeg_bytes(
    colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (8, 16)
) -> bytes:
    """A small solid JPEG (size is width, height)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def write_image(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    """Write a small solid image at `path` (PNG or JPEG by suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        Image.new("RGB", (8, 16), colour).save(path)
    else:
        path.write_bytes(jpeg_bytes(colour))
    return path


def make_tree(root: Path, files: dict[str, list[str]]) -> Path:
    """Create the folders and images listed in `files` under `root`."""
    for folder, names in files.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for number, name in enumerate(names):
            write_image(root / folder / name, (20 * number % 255, 100, 150))
    return root


def make_market(root: Path) -> Path:
    """A tiny Market-1501 tree (3 train ids / 6, 2 query, 5 gallery + 2 junk) with a Thumbs.db."""
    make_tree(root, MARKET_FILES)
    (root / "bounding_box_train" / "Thumbs.db").write_bytes(b"not an image")
    return root


def make_msmt(root: Path) -> Path:
    """A tiny MSMT17 tree: train/ and test/ image folders and the four list files."""
    for list_name, lines in MSMT_LISTS.items():
        top = "train" if list_name in ("list_train.txt", "list_val.txt") else "test"
        for line in lines:
            write_image(root / top / line.split()[0])
        (root / list_name).write_text("".join(f"{x}\n" for x in lines))
    return root


def zip_folder(folder: Path, archive: Path, arc_root: str) -> Path:
    """Zip `folder` so its contents lie under `arc_root/` in the archive."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, f"{arc_root}/{path.relative_to(folder).as_posix()}")
    return archive


def tar_with(archive: Path, members: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    """A tar.gz holding the given members (regular files get `data`)."""
    with tarfile.open(archive, "w:gz") as tf:
        for info in members:
            if info.isfile():
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return archive
