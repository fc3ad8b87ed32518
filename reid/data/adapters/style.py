"""Generated styles for the LReID datasets: each writes its dataset's real layout and names.

A style module gives a `plan` (which identity is drawn by which camera into which file) and
this module renders the images with the figures and cameras of `reid.data.synthetic`.
"""

from __future__ import annotations

import dataclasses
import io as _stdio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from reid import io
from reid.data import synthetic
from reid.data.adapters import common
from reid.errors import ConfigError

SAVE_FORMAT = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP"}


@dataclass(frozen=True)
class Shot:
    """One image to write: identity index (into the drawn people), camera (1-based), file."""

    person: int
    cam: int
    relpath: str


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
    """A generated style: the adapter that loads it, its RNG code, look and planner.

    `look` borrows a camera family of `reid.data.synthetic` (market, duke, msmt); `tweak`
    scales its brightness / blur / saturation (VIPeR is blurry, GRID is dark)."""

    name: str
    adapter: str
    code: int
    look: str
    num_cameras: int
    plan: Planner
    min_images: int = 2
    max_images: int = 1000
    tweak: dict[str, float] = field(default_factory=dict)
    notes: str = ""

    def validate(self, params: dict) -> None:
        """ConfigError for a parameter this style cannot honour."""
        lows = {"num_train_ids": 0, "num_test_ids": 1, "images_per_id": self.min_images}
        lows |= {"num_distractors": 0, "height": 16, "width": 8}
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
        if params["num_junk"]:
            raise ConfigError("synthetic `num_junk` is only for the market style; set it to 0")

    def cameras(self, rng: np.random.Generator) -> list[synthetic.Camera]:
        """`num_cameras` cameras of the borrowed look, tweaked."""
        cams: list[synthetic.Camera] = []
        while len(cams) < self.num_cameras:
            cams += synthetic.sample_cameras(self.look, rng)
        scale = {k: self.tweak.get(k, 1.0) for k in ("brightness", "blur", "saturation")}
        return [
            dataclasses.replace(
                c,
                brightness=c.brightness * scale["brightness"],
                blur=c.blur * scale["blur"],
                saturation=c.saturation * scale["saturation"],
            )
            for c in cams[: self.num_cameras]
        ]

    def write(self, folder: Path, params: dict) -> dict[str, object]:
        """Render and write the planned images into `folder`; return the manifest."""
        seed = params["seed"]
        plan = self.plan(params, np.random.default_rng([seed, self.code, 2]))
        draw = np.random.default_rng([seed, self.code, 0])
        people = synthetic.sample_identities(draw, plan.people)
        cameras = self.cameras(np.random.default_rng([seed, self.code, 1]))
        size = (params["height"], params["width"])
        # rendering stays in this thread (deterministic order); atomic writes overlap in a pool
        with ThreadPoolExecutor(max_workers=4) as writers:
            pending = []
            for number, shot in enumerate(plan.shots):
                rng = np.random.default_rng([seed, self.code, 4, number])
                image = synthetic.render(people[shot.person], cameras[shot.cam - 1], *size, rng)
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


def encode(image: np.ndarray, suffix: str) -> bytes:
    """The image encoded in the format its file suffix names (.jpg/.jpeg, .png, .bmp)."""
    buffer = _stdio.BytesIO()
    kind = SAVE_FORMAT[suffix.lower()]
    options = {"quality": synthetic.JPEG_QUALITY} if kind == "JPEG" else {}
    Image.fromarray(image).save(buffer, format=kind, **options)
    return buffer.getvalue()


def register_style(style: Style) -> Style:
    """Make `generate_domain(out_dir, style.name, ...)` write this style."""
    if style.name in synthetic.EXTRA_STYLES or style.name in synthetic.STYLE_ADAPTER:
        raise ValueError(f"synthetic style {style.name!r} is registered twice")
    synthetic.EXTRA_STYLES[style.name] = style
    synthetic.STYLES.add(style.name, style.adapter)
    return style


def style_adapters() -> dict[str, str]:
    """Every generated style (the original three and the registered ones) -> its adapter."""
    extra = {name: s.adapter for name, s in synthetic.EXTRA_STYLES.items()}
    return {**synthetic.STYLE_ADAPTER, **extra}


def spread(rng: np.random.Generator, count: int, cams: list[int]) -> list[int]:
    """`count` cameras from `cams`: each at least once while count allows, the rest random."""
    first = list(cams[:count])
    rest = [cams[int(i)] for i in rng.integers(len(cams), size=count - len(first))]
    return sorted(first + rest)


def pick_ids(pool: list[int], count: int, what: str) -> list[int]:
    """The first `count` ids of `pool` (sorted), or a ConfigError when there are too few."""
    if count > len(pool):
        raise ConfigError(f"a generated domain can hold at most {len(pool)} {what}, got {count}")
    return sorted(pool)[:count]


def shipped_split_ids(name: str, params: dict) -> list[tuple[str, int]]:
    """(side, id) for the first `num_train_ids` train and `num_test_ids` test ids of the split
    shipped for dataset `name`, train first (so a generated domain loads with that split)."""
    split = common.load_split(name, None)
    assert isinstance(split, common.IdSplit)
    train = pick_ids(list(split.train_ids), params["num_train_ids"], "train ids")
    test = pick_ids(list(split.test_ids), params["num_test_ids"], "test ids")
    return [("train", pid) for pid in train] + [("test", pid) for pid in test]
