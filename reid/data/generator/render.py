"""One generated image: the camera's background, perhaps a passer-by at the edge, the person in
a view the camera favours, perhaps something in front, then the camera's photometry (channel
order, saturation, colour cast, light and its gradient, gamma, noise, resolution, blur)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageFilter

from reid.data.generator.cameras import VIEWS, Camera
from reid.data.generator.canvas import Canvas
from reid.data.generator.figure import Pose, draw_person
from reid.data.generator.people import COLOURS, Identity
from reid.data.generator.scene import background, occluder


def pose_for(
    c: Canvas, cam: Camera, who: Identity, rng: np.random.Generator, cx=None, view=None
) -> Pose:
    """Where and how `who` stands in a crop of `cam` (centred unless `cx` is given; in a view
    the camera favours unless `view` is given)."""
    drawn = VIEWS[int(rng.choice(len(VIEWS), p=np.asarray(cam.views) / sum(cam.views)))]
    view = view or drawn
    fig = who.height * cam.scale * rng.uniform(0.95, 1.05) * c.h
    feet = c.h * rng.uniform(0.95, 1.02)
    if cx is None:
        cx = c.w * (0.5 + cam.shift + rng.uniform(-0.04, 0.04))
    return Pose(
        view=view,
        cx=float(cx),
        top=float(feet - fig),
        feet=float(feet),
        sx=float(cam.squash * 2.0 * c.w / c.h),
        stride=float(rng.uniform(-1.0, 1.0)),
        swing=float(rng.uniform(-1.0, 1.0)),
    )


def _passer_by(c: Canvas, cam: Camera, people: Sequence[Identity], rng) -> None:
    other = people[int(rng.integers(len(people)))]
    edge = -0.2 if rng.uniform() < 0.5 else 1.2
    draw_person(c, other, pose_for(c, cam, other, rng, cx=c.w * (edge + rng.uniform(-0.1, 0.1))))


def _junk(c: Canvas, rng: np.random.Generator) -> None:
    """A false detection: a fragment of clothing somewhere in the background."""
    y0, x0 = rng.uniform(0, c.h * 0.7), rng.uniform(-c.w * 0.3, c.w * 0.7)
    colours = list(COLOURS.values())
    c.paint(
        c.rect(y0, y0 + c.h * 0.4, x0, x0 + c.w * 0.6), colours[int(rng.integers(len(colours)))]
    )


def photograph(rgb: np.ndarray, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """The camera's rendering of a scene's float RGB: uint8 [H, W, 3]."""
    h, w = rgb.shape[:2]
    rgb = rgb[..., list(cam.channels)]
    grey = rgb.mean(axis=2, keepdims=True)
    rgb = grey + cam.saturation * (rgb - grey)
    across = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :, None]
    light = cam.brightness * rng.uniform(0.92, 1.08) * (1.0 + cam.gradient * across)
    rgb = np.clip(rgb * np.asarray(cam.gain, np.float32) * light, 0.0, 1.0) ** cam.gamma
    rgb = rgb + rng.normal(0.0, cam.noise, size=rgb.shape).astype(np.float32)
    image = Image.fromarray((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    if cam.resolution < 0.97:
        small = (max(4, round(w * cam.resolution)), max(8, round(h * cam.resolution)))
        image = image.resize(small, Image.Resampling.BILINEAR).resize(
            (w, h), Image.Resampling.BILINEAR
        )
    blur = cam.blur * h / 64.0 * rng.uniform(0.8, 1.2)
    if blur > 0.05:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image)


def render(
    who: Identity | None,
    cam: Camera,
    height: int,
    width: int,
    rng: np.random.Generator,
    people: Sequence[Identity] = (),
    view: str | None = None,
) -> np.ndarray:
    """One uint8 [H, W, 3] image of `who` by `cam` (None: a junk crop without a person);
    `people` are the domain's other persons, who may pass by at the crop's edge; `view`
    forces the viewpoint (front, back, left, right)."""
    c = Canvas(height, width)
    background(c, cam, rng)
    if who is None:
        _junk(c, rng)
    else:
        if people and rng.uniform() < cam.crowd:
            _passer_by(c, cam, people, rng)
        draw_person(c, who, pose_for(c, cam, who, rng, view=view))
        if rng.uniform() < cam.occlusion:
            occluder(c, cam, rng)
    return photograph(c.rgb, cam, rng)
