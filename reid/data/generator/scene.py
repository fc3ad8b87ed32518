"""A camera's background: a scene three crops wide (wall, ground, objects), of which each crop
shows the part behind its person, so crops of one camera share their background without
repeating it."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from reid.data.generator.cameras import Camera
from reid.data.generator.canvas import Canvas

WIDTHS = 3  # a scene is this many crops wide


def _wall(c: Canvas, cam: Camera, horizon: float) -> None:
    wall = np.asarray(cam.wall, np.float32)
    above = c.yy < horizon
    c.paint(above, wall)
    unit = max(c.h / 16.0, 2.0)
    if cam.texture == "bricks":
        rows = (c.yy // unit) % 2 == 0
        c.paint(above & rows, wall * 0.82)
    elif cam.texture == "windows":
        cells = ((c.yy // (2 * unit)) % 2 == 1) & ((c.xx // (1.5 * unit)) % 2 == 1)
        c.paint(above & cells & (c.yy < horizon - unit), wall * 0.35)
    elif cam.texture == "panels":
        bands = (c.xx // (3 * unit)) % 2 == 0
        c.paint(above & bands, np.clip(wall * 1.18, 0.0, 1.0))


def _ground(c: Canvas, cam: Camera, horizon: float) -> None:
    ground = np.asarray(cam.ground, np.float32)
    below = c.yy >= horizon
    depth = np.clip((c.yy - horizon) / max(c.h - horizon, 1.0), 0.0, 1.0)[..., None]
    c.rgb[below] = (ground * (0.85 + 0.25 * depth))[below]
    joints = (c.xx // max(c.h / 6.0, 3.0)) % 2 == 0
    c.paint(below & joints & (depth[..., 0] > 0.3), ground * 0.92)


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
