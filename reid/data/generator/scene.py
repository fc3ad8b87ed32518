"""A camera's background: a scene three crops wide (wall, ground, objects), of which each crop
shows the part behind its person, so crops of one camera share their background without
repeating it."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from reid.data.generator.cameras import Camera
from reid.data.generator.canvas import Canvas

WIDTHS = 3  # a scene is this many crops wide


def _pattern(c: Canvas, kind: str, unit: float) -> np.ndarray:
    """Where a texture of cell size `unit` (pixels) is darker."""
    rows = (c.yy // unit).astype(int)
    if kind == "bricks":  # staggered bricks: mortar lines between rows and bricks
        offset = (rows % 2) * unit
        return ((c.yy % unit) < max(unit / 4, 1.0)) | (
            ((c.xx + offset) % (2 * unit)) < max(unit / 4, 1.0)
        )
    if kind == "windows":
        return ((rows % 3) != 0) & (((c.xx // unit) % 2) == 1)
    if kind == "panels":
        return ((c.xx // (1.5 * unit)) % 2) == 0
    if kind == "tiles":
        return ((rows + (c.xx // unit).astype(int)) % 2) == 0
    if kind == "stripes":
        return (((c.xx + c.yy) // unit) % 2) == 0
    return c.yy < 0  # plain


def _wall(c: Canvas, cam: Camera, horizon: float) -> None:
    wall = np.asarray(cam.wall, np.float32)
    above = c.yy < horizon
    c.paint(above, wall)
    unit = max(cam.grain * c.h / 12.0, 2.0)
    c.paint(above & _pattern(c, cam.texture, unit), wall * (1.0 - cam.contrast))


def _ground(c: Canvas, cam: Camera, horizon: float) -> None:
    ground = np.asarray(cam.ground, np.float32)
    below = c.yy >= horizon
    depth = np.clip((c.yy - horizon) / max(c.h - horizon, 1.0), 0.0, 1.0)[..., None]
    c.rgb[below] = (ground * (0.85 + 0.25 * depth))[below]
    unit = max(cam.grain * c.h / 8.0, 2.0)
    joints = _pattern(c, "tiles", unit)
    c.paint(below & joints, ground * (1.0 - 0.6 * cam.contrast))


@lru_cache(maxsize=256)
def scene_image(cam: Camera, height: int, width: int) -> np.ndarray:
    """The camera's whole scene, [height, WIDTHS * width, 3] float32 (read-only)."""
    c = Canvas(height, WIDTHS * width)
    horizon = cam.horizon * height
    _wall(c, cam, horizon)
    _ground(c, cam, horizon)
    for x, y, w, h, *colour in cam.props:
        c.paint(c.rect(y * height, (y + h) * height, x * c.w, (x + w) * c.w), colour)
    c.rgb.setflags(write=False)
    return c.rgb


def background(c: Canvas, cam: Camera, rng: np.random.Generator) -> None:
    """Fill the canvas with the part of the camera's scene behind this crop."""
    scene = scene_image(cam, c.h, c.w)
    x0 = int(rng.integers(0, scene.shape[1] - c.w + 1))
    c.rgb[:] = scene[:, x0 : x0 + c.w]


def occluder(c: Canvas, cam: Camera, rng: np.random.Generator) -> None:
    """Something between camera and person: a low object from the bottom (a car, a bench, a
    barrier) or a pole, in one of the scene's colours."""
    colours = [p[4:] for p in cam.props] or [cam.ground]
    colour = np.asarray(colours[int(rng.integers(len(colours)))], np.float32) * 0.9
    if rng.uniform() < 0.65:
        height = rng.uniform(0.15, 0.4) * c.h
        x0 = rng.uniform(-0.5, 0.6) * c.w
        c.paint(c.rect(c.h - height, c.h, x0, x0 + rng.uniform(0.5, 1.0) * c.w), colour)
    else:
        x0 = rng.uniform(-0.1, 0.85) * c.w
        c.paint(c.rect(0, c.h, x0, x0 + rng.uniform(0.1, 0.25) * c.w), colour)
