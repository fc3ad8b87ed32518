"""The dataset registry and the generic loader: every adapter (one module each in
`reid/data/adapters/`) registers a `DatasetSpec` with `register_dataset`; `load_dataset` reads
the Market-style folders, MSMT17's list files, or calls the adapter's own `scan`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reid import io
from reid.data import naming
from reid.data.generator.styles import Style, add_style
from reid.data.types import DatasetSplits, Sample
from reid.errors import ConfigError, DatasetError
from reid.registry import Registry

SPLITS = ("train", "query", "gallery")
FOLDER_LAYOUT = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
MSMT_LISTS = {
    "train": (("train", "list_train.txt"), ("train", "list_val.txt")),
    "query": (("test", "list_query.txt"),),
    "gallery": (("test", "list_gallery.txt"),),
}
MSMT_V2_DIRS = {"train": "mask_train_v2", "test": "mask_test_v2"}

Counts = dict[str, tuple[int, int | None]]  # split -> (identities, images); None: not published
Raw = dict[str, list[tuple[Path, int, int]]]  # split -> (path, pid, camid) before relabelling


@dataclass(frozen=True)
class DatasetSpec:
    """What one adapter expects: folder names, layout, file-name parser, camera range, counts."""

    name: str
    title: str
    folders: tuple[str, ...]
    layout: str  # "folders" (bounding_box_*/query), "msmt" (list files) or "custom" (`scan`)
    parser: Callable[[str, str | None], tuple[int, int]]
    num_cameras: int
    suffixes: tuple[str, ...] = (".jpg",)
    counts: Counts | None = None
    acquire_hint: str = "run `reid prepare` for this dataset"
    # hooks for adapters defined in reid.data.adapters (None: the layout above)
    scan: Callable[[Path, Path | None], Raw] | None = None  # (folder, split_file) -> splits
    has_layout: Callable[[Path], bool] | None = None
    expected: str | None = None  # the layout, in words, for error messages
    test_only: bool = False  # no train split (SenseReID)
    counts_by_folder: dict[str, Counts] | None = None  # published counts per variant folder
    distractor_pid: int | None = None  # a gallery pid that never matches (Market's 0000)


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec, *styles: Style) -> DatasetSpec:
    """Register a dataset adapter together with its generated style(s): the one route by which
    a dataset module (`reid/data/adapters/<name>.py`) adds a dataset. `load_dataset(spec.name,
    root)` then reads it and `generate_domain(out, style.name, ...)` writes it; each style's
    seed code is derived from its name and checked unique."""
    DATASETS.add(spec.name, spec)
    for style in styles:
        add_style(style, spec.name)
    return spec


def get_spec(name: str) -> DatasetSpec:
    """The adapter spec of `name`, or a DatasetError listing the known names."""
    try:
        return DATASETS.get(name)
    except ConfigError as exc:
        raise DatasetError(str(exc)) from None


def _has_layout(folder: Path, spec: DatasetSpec) -> bool:
    if spec.has_layout is not None:
        return folder.is_dir() and spec.has_layout(folder)
    if spec.layout == "msmt":
        lists = [f for group in MSMT_LISTS.values() for _, f in group]
        return all((folder / f).is_file() for f in lists)
    return all((folder / sub).is_dir() for sub in FOLDER_LAYOUT.values())


def _expected_layout(spec: DatasetSpec) -> str:
    if spec.expected is not None:
        return spec.expected
    if spec.layout == "msmt":
        return (
            "train/ (or mask_train_v2/), test/ (or mask_test_v2/), list_train.txt, "
            "list_val.txt, list_query.txt, list_gallery.txt"
        )
    return "bounding_box_train/, query/, bounding_box_test/"


def resolve_root(name: str, root: Path) -> Path:
    """The extracted dataset folder: `root` itself or `root/<canonical folder name>`."""
    spec = get_spec(name)
    root = Path(root)
    expected = _expected_layout(spec)
    if not root.exists():
        raise DatasetError(
            f"{spec.title} folder {root} does not exist; expected a folder holding {expected} "
            f"(or a parent holding {spec.folders[0]}/); {spec.acquire_hint}"
        )
    if not root.is_dir():
        raise DatasetError(f"{spec.title} root {root} is a file, expected a folder")
    if _has_layout(root, spec):
        return root
    for folder in spec.folders:
        if _has_layout(root / folder, spec):
            return root / folder
    found = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    shown = ", ".join(found[:20]) + (" ..." if len(found) > 20 else "") or "nothing"
    raise DatasetError(
        f"{root} does not look like {spec.title}: expected {expected} there or in one of "
        f"{', '.join(spec.folders)}; found {shown}. Point the dataset root at the extracted "
        f"folder, or {spec.acquire_hint}"
    )


def _check_camera(spec: DatasetSpec, camid: int, where: str) -> None:
    if not 1 <= camid <= spec.num_cameras:
        raise DatasetError(
            f"{where}: camera {camid} is outside {spec.title}'s range 1..{spec.num_cameras}; "
            "the file belongs to another dataset or is misnamed"
        )


def _scan_folder(spec: DatasetSpec, folder: Path) -> list[tuple[Path, int, int]]:
    items = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in spec.suffixes:
            continue  # Thumbs.db and other non-image files
        pid, camid = spec.parser(path.name, str(folder))
        _check_camera(spec, camid, str(path))
        items.append((path, pid, camid))
    return items


def _msmt_image_dir(root: Path, kind: str) -> Path:
    v2 = root / MSMT_V2_DIRS[kind]
    return v2 if not (root / kind).is_dir() and v2.is_dir() else root / kind


def _scan_msmt(spec: DatasetSpec, root: Path, split: str) -> list[tuple[Path, int, int]]:
    items = []
    for kind, list_name in MSMT_LISTS[split]:
        list_path = root / list_name
        image_dir = _msmt_image_dir(root, kind)
        lines = list_path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            entry = naming.parse_msmt17_line(line, f"{list_path}:{number}")
            path = image_dir / entry.relpath
            _check_camera(spec, entry.camid, f"{list_path}:{number} ({entry.relpath})")
            if not path.is_file():
                raise DatasetError(
                    f"{list_path}:{number} names {path}, which does not exist; the extraction "
                    "looks incomplete: extract the archive again"
                )
            items.append((path, entry.pid, entry.camid))
    return items


def _relabel(items: list[tuple[Path, int, int]]) -> list[Sample]:
    mapping = {pid: label for label, pid in enumerate(sorted({pid for _, pid, _ in items}))}
    return [Sample(path, mapping[pid], camid) for path, pid, camid in items]


def _expected_counts(spec: DatasetSpec, root: Path) -> Counts | None:
    if spec.counts_by_folder is not None:
        return spec.counts_by_folder.get(root.name)
    return spec.counts


def _verify_counts(spec: DatasetSpec, splits: DatasetSplits) -> None:
    assert splits.root is not None
    expected = _expected_counts(spec, splits.root)
    if expected is None and spec.counts_by_folder is not None:
        raise DatasetError(
            f"no published counts for {spec.title} at {splits.root}; expected the folder to be "
            f"one of {', '.join(spec.counts_by_folder)}; or set data.verify_counts: false"
        )
    if expected is None:
        raise DatasetError(
            f"no published counts for {spec.title} (its DatasetSpec has no `counts`): add them "
            f"to the {spec.name!r} registration, or set data.verify_counts: false"
        )
    found = {r["split"]: (r["ids"], r["images"]) for r in splits.summary_rows()}
    wrong = [s for s in SPLITS if s in expected and not _counts_match(found[s], expected[s])]
    if wrong:
        details = "; ".join(
            f"{s}: expected {expected[s][0]} ids / {expected[s][1] or 'any number of'} images, "
            f"found {found[s][0]} / {found[s][1]}"
            for s in wrong
        )
        raise DatasetError(
            f"{spec.title} at {splits.root}: the extraction looks incomplete ({details}); "
            "extract the archive again or run `reid prepare`"
        )


def _counts_match(found: tuple[int, int], expected: tuple[int, int | None]) -> bool:
    return found[0] == expected[0] and expected[1] in (None, found[1])


def verify_images(samples: list[Sample]) -> None:
    """Open each image's header with PIL; a DatasetError names the first unreadable file."""
    from PIL import Image

    for sample in samples:
        try:
            with Image.open(sample.path) as image:
                image.verify()
        except Exception as exc:  # PIL raises many types for broken files
            raise DatasetError(
                f"image {sample.path} is corrupt or unreadable ({exc}); replace it from the "
                "archive, or set `skip_corrupt: true` to skip such images"
            ) from exc


def _scan_layout(spec: DatasetSpec, folder: Path) -> Raw:
    if spec.layout == "msmt":
        return {split: _scan_msmt(spec, folder, split) for split in SPLITS}
    return {split: _scan_folder(spec, folder / FOLDER_LAYOUT[split]) for split in SPLITS}


def load_dataset(
    name: str,
    root: Path,
    verify_counts: bool = False,
    check_images: bool = False,
    split_file: Path | None = None,
) -> DatasetSplits:
    """Load the train/query/gallery lists of dataset `name` found at `root`.

    `split_file` replaces the shipped split of a dataset whose split is random (VIPeR, PRID,
    GRID, iLIDS, CUHK01; see docs/datasets.md)."""
    spec = get_spec(name)
    folder = resolve_root(name, Path(root))
    if split_file is not None and spec.scan is None:
        raise DatasetError(f"{spec.title} has a fixed split and takes no split file ({split_file})")
    raw = spec.scan(folder, split_file) if spec.scan is not None else _scan_layout(spec, folder)
    notes = {"junk_skipped": 0, "distractors": 0}
    for split in SPLITS:
        notes["junk_skipped"] += sum(1 for _, pid, _ in raw[split] if pid < 0)
        raw[split] = [item for item in raw[split] if item[1] >= 0]
        if not raw[split] and not (spec.test_only and split == "train"):
            raise DatasetError(
                f"{spec.title} at {folder}: the {split} split has no images; the extraction "
                "looks incomplete: extract the archive again or run `reid prepare`"
            )
    if spec.distractor_pid is not None:
        notes["distractors"] = sum(1 for _, pid, _ in raw["gallery"] if pid == spec.distractor_pid)
    splits = DatasetSplits(
        name=spec.name,
        train=_relabel(raw["train"]),
        query=[Sample(p, pid, cam) for p, pid, cam in raw["query"]],
        gallery=[Sample(p, pid, cam) for p, pid, cam in raw["gallery"]],
        root=folder,
        notes=notes,
    )
    if verify_counts:
        _verify_counts(spec, splits)
    if check_images:
        verify_images(splits.train + splits.query + splits.gallery)
    return splits


def format_summary(splits: DatasetSplits) -> str:
    """A printed table of identities, images and cameras per split."""
    rows = splits.summary_rows()
    header = f"{'split':<8} {'ids':>7} {'images':>8} {'cams':>5}"
    lines = [f"{splits.name}  ({splits.root})", header]
    lines += [f"{r['split']:<8} {r['ids']:>7} {r['images']:>8} {r['cameras']:>5}" for r in rows]
    if splits.notes:
        lines.append("  ".join(f"{k}={v}" for k, v in sorted(splits.notes.items())))
    return "\n".join(lines)


def write_summary(splits: DatasetSplits, path_csv: Path) -> Path:
    """Write `splits.summary_rows()` as a CSV file atomically."""
    import pandas as pd

    return io.write_csv(path_csv, pd.DataFrame(splits.summary_rows()))
