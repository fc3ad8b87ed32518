"""Generated re-ID domains in the real folder layouts and file names of each dataset.

`generate_domain(out_dir, style, ...)` writes the domain of a registered style (one per
dataset: `STYLES` maps each to the adapter that loads it) into `out_dir`, atomically, and
reuses an identical earlier one. The people, cameras and images come from
`reid.data.generator`; docs/method.md ("Generated data") describes them. Everything is seeded
with numpy generators from (seed, style code, purpose).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from reid import io
from reid.data.generator.styles import (
    JPEG_QUALITY,
    STYLE_SPECS,
    STYLES,
    Plan,
    Shot,
    Style,
    style_adapters,
    write_style,
)
from reid.errors import DatasetError

# Version 3: identities are combinations of shared clothing colours, patterns and carried
# things with view-dependent cues; cameras with scenes, viewpoints, crop habits, resolution,
# passers-by and occluders; every dataset its own look and wardrobe.
GENERATOR_VERSION = 3
MARKER = ".synthetic.json"

__all__ = [
    "GENERATOR_VERSION",
    "JPEG_QUALITY",
    "MARKER",
    "STYLES",
    "STYLE_SPECS",
    "Plan",
    "Shot",
    "Style",
    "generate_domain",
    "get_style",
    "style_adapters",
]


def get_style(name: str) -> Style:
    """The registered style `name`, or a ConfigError listing the registered ones."""
    return STYLE_SPECS.get(name)


def _params(style: str, **values: object) -> dict[str, object]:
    return {"generator_version": GENERATOR_VERSION, "style": style, **values}


def _read_marker(folder: Path) -> dict[str, object] | None:
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def generate_domain(
    out_dir: Path,
    style: str,
    *,
    num_train_ids: int,
    num_test_ids: int,
    images_per_id: int,
    num_distractors: int = 0,
    num_junk: int = 0,
    height: int = 128,
    width: int = 64,
    seed: int = 0,
    difficulty: float = 1.0,
) -> Path:
    """Write a generated domain to `out_dir` (or reuse an identical one); return its root.

    `difficulty` scales every camera nuisance of the style's look (colour spread, light range,
    clutter, occlusion, passers-by, viewpoint bias): 0 gives identical, clean cameras."""
    out_dir = Path(out_dir)
    params = _params(
        style,
        num_train_ids=num_train_ids,
        num_test_ids=num_test_ids,
        images_per_id=images_per_id,
        num_distractors=num_distractors,
        num_junk=num_junk,
        height=height,
        width=width,
        seed=seed,
        difficulty=difficulty,
    )
    spec = get_style(style)
    spec.validate(params)
    existing = _read_marker(out_dir) if out_dir.is_dir() else None
    if existing is not None and existing.get("params") == params:
        return out_dir
    if out_dir.exists() and existing is None and any(out_dir.iterdir()):
        raise DatasetError(
            f"{out_dir} exists and is not a generated domain (no {MARKER}); choose another "
            "folder or remove it"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    io.apply_umask(staging, directory=True)
    try:
        manifest = write_style(spec, staging, params)
        io.write_json(staging / MARKER, {"params": params, **manifest})
        _swap_in(staging, out_dir, params)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _swap_in(staging: Path, out_dir: Path, params: dict[str, object]) -> None:
    """Rename the complete staging folder onto `out_dir`, replacing a stale generated one."""
    if out_dir.exists() and not any(out_dir.iterdir()):
        out_dir.rmdir()
    if not out_dir.exists():
        try:
            os.rename(staging, out_dir)
            return
        except OSError:  # another process finished first
            marker = _read_marker(out_dir)
            if marker is not None and marker.get("params") == params:
                return
            raise
    trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    os.replace(out_dir, trash / "old")
    os.rename(staging, out_dir)
    shutil.rmtree(trash, ignore_errors=True)
