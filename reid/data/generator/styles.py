"""Generated styles: a dataset's plan of files (its real layout and names) with the look of its
cameras and the wardrobe of its people; and the style registries.

A style is registered together with its dataset (`reid.data.datasets.register_dataset(spec,
style)`), which sets `adapter` to the dataset's name and derives the style's seed `code` from
its name (refused if two styles would share one).
"""

from __future__ import annotations

import dataclasses
import io as _stdio
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from reid import io
from reid.data.generator.cameras import Camera, Look, sample_cameras
from reid.data.generator.people import Identity, Wardrobe, sample_identities
from reid.data.generator.render import render
from reid.errors import ConfigError
from reid.registry import Registry

JPEG_QUALITY = 90
SAVE_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP"}
# Generated styles, each naming the dataset adapter whose folder layout and names it writes
# (the config schema's style list and its style/dataset check read this one).
STYLES: Registry[str] = Registry("synthetic style")
# The styles themselves (plan, look, wardrobe), by the same names.
STYLE_SPECS: Registry[Style] = Registry("synthetic style")
_CODES: dict[int, str] = {}


@dataclass(frozen=True)
class Shot:
    """One image to write: identity index (into the drawn people; -1 a junk crop without a
    person), camera (1-based), file path relative to the dataset folder."""

    person: int
    cam: int
    relpath: str
    view: str | None = None  # front, back, left, right; None: drawn from the camera's views


@dataclass
class Plan:
    """Everything a style writes: the images, extra files, and which people train / test."""

    shots: list[Shot] = field(default_factory=list)
    extra: dict[str, bytes] = field(default_factory=dict)
    train_people: list[int] = field(default_factory=list)
    test_people: list[int] = field(default_factory=list)
    people: int = 0

    def person(self, side: str) -> int:
        """A new identity index on `side` ("train", "test" or "other")."""
        index = self.people
        self.people += 1
        {"train": self.train_people, "test": self.test_people}.get(side, []).append(index)
        return index


Planner = Callable[[dict, np.random.Generator], Plan]


@dataclass(frozen=True)
class Style:
    """A generated style: its plan, the look of its cameras and the wardrobe of its people.

    `adapter` and `code` are set when it is registered with its dataset."""

    name: str
    plan: Planner
    look: Look
    wardrobe: Wardrobe
    num_cameras: int
    min_images: int = 2
    max_images: int = 1000
    junk: bool = False  # takes `num_junk` (Market-1501's -1 crops)
    notes: str = ""
    adapter: str = ""
    code: int = 0

    def validate(self, params: dict) -> None:
        """ConfigError for a parameter this style cannot honour."""
        lows = {"num_train_ids": 0, "num_test_ids": 1, "images_per_id": self.min_images}
        lows |= {"num_distractors": 0, "num_junk": 0, "height": 16, "width": 8}
        for key, low in lows.items():
            if not isinstance(params[key], int) or params[key] < low:
                raise ConfigError(
                    f"synthetic `{key}` must be an integer >= {low} for the {self.name} style, "
                    f"got {params[key]!r}"
                )
        if params["images_per_id"] > self.max_images:
            raise ConfigError(
                f"synthetic `images_per_id` must be at most {self.max_images} for the "
                f"{self.name} style (one image per camera), got {params['images_per_id']}"
            )
        if params["num_junk"] and not self.junk:
            raise ConfigError(
                f"synthetic `num_junk` is only for Market-1501 layouts (junk is Market's -1 "
                f"pid); set it to 0 for {self.name!r}"
            )
        difficulty = params.get("difficulty", 1.0)
        if not isinstance(difficulty, int | float) or not 0.0 <= difficulty <= 2.0:
            raise ConfigError(f"synthetic `difficulty` must be in [0, 2], got {difficulty!r}")

    def cameras(self, rng: np.random.Generator, difficulty: float = 1.0) -> list[Camera]:
        """The style's cameras, drawn from its look."""
        return sample_cameras(rng, self.look, self.num_cameras, difficulty)

    def people(self, rng: np.random.Generator, count: int) -> list[Identity]:
        """`count` people of the style's wardrobe."""
        return sample_identities(rng, count, self.wardrobe)


def style_code(name: str) -> int:
    """The seed code of a style, derived from its name (stable across runs and machines)."""
    return zlib.crc32(name.encode("utf-8"))


def add_style(style: Style, adapter: str) -> Style:
    """Register `style` as writing dataset `adapter`'s layout (called by `register_dataset`)."""
    code = style_code(style.name)
    if style.name in STYLE_SPECS:
        raise ValueError(f"synthetic style {style.name!r} is registered twice")
    if code in _CODES:
        raise ValueError(
            f"synthetic styles {_CODES[code]!r} and {style.name!r} derive the same seed code "
            f"{code}; rename one"
        )
    style = dataclasses.replace(style, adapter=adapter, code=code)
    STYLE_SPECS.add(style.name, style)
    STYLES.add(style.name, adapter)
    _CODES[code] = style.name
    return style


def style_adapters() -> dict[str, str]:
    """Every generated style -> the dataset adapter that loads it."""
    return dict(STYLES.items())


def encode(image: np.ndarray, suffix: str) -> bytes:
    """The image encoded in the format its file suffix names (.jpg/.jpeg, .png, .bmp)."""
    buffer = _stdio.BytesIO()
    kind = SAVE_FORMAT[suffix.lower()]
    options = {"quality": JPEG_QUALITY} if kind == "JPEG" else {}
    Image.fromarray(image).save(buffer, format=kind, **options)
    return buffer.getvalue()


def write_style(style: Style, folder: Path, params: dict) -> dict[str, object]:
    """Render and write a style's planned images into `folder`; return the manifest."""
    seed, code = params["seed"], style.code
    plan = style.plan(params, np.random.default_rng([seed, code, 2]))
    people = style.people(np.random.default_rng([seed, code, 0]), plan.people)
    cameras = style.cameras(np.random.default_rng([seed, code, 1]), params["difficulty"])
    size = (params["height"], params["width"])
    # rendering stays in this thread (deterministic order); atomic writes overlap in a pool
    with ThreadPoolExecutor(max_workers=4) as writers:
        pending = []
        for number, shot in enumerate(plan.shots):
            rng = np.random.default_rng([seed, code, 4, number])
            who = people[shot.person] if shot.person >= 0 else None
            image = render(who, cameras[shot.cam - 1], *size, rng, people, shot.view)
            data = encode(image, Path(shot.relpath).suffix)
            pending.append(writers.submit(io.write_bytes, folder / shot.relpath, data))
        for relpath, data in plan.extra.items():
            pending.append(writers.submit(io.write_bytes, folder / relpath, data))
        for job in pending:
            job.result()  # re-raise a failed write
    return {
        "train_identities": plan.train_people,
        "test_identities": plan.test_people,
        "identities": [asdict(p) for p in people],
        "cameras": [asdict(c) for c in cameras],
        "images": len(plan.shots),
    }
