"""How a generated domain's cameras see: a domain's `Look` and the `Camera`s drawn from it.

A look is what a dataset's cameras have in common (their scene family, colour cast, light,
sharpness, resolution, crop habits, viewpoints, occlusion and crowding); each camera draws its
own values from the look's ranges, so cameras of one domain differ from each other, and the
looks of two domains differ the way two datasets do. The look's `nuisance` times the domain's
`difficulty` scales every nuisance (colour spread, light range, texture contrast, clutter,
occlusion, crowding, viewpoint bias) around the look's middle values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid.data.generator.people import COLOURS, RGB

Range = tuple[float, float]
VIEWS = ("front", "back", "left", "right")


@dataclass(frozen=True)
class Scene:
    """A family of backgrounds: wall and ground colours, the colours of objects standing in
    them, where the ground starts, and the wall textures used."""

    walls: tuple[RGB, ...]
    grounds: tuple[RGB, ...]
    props: tuple[RGB, ...] = tuple(
        COLOURS[n]
        for n in (
            "charcoal",
            "grey",
            "brown",
            "beige",
            "white",
            "black",
            "red",
            "blue",
            "green",
            "yellow",
        )
    )
    horizon: Range = (0.45, 0.75)
    textures: tuple[str, ...] = ("plain", "bricks", "windows", "panels", "tiles", "stripes")


@dataclass(frozen=True)
class Look:
    """What a domain's cameras share; each range is drawn from once per camera."""

    scene: Scene
    cast: RGB = (1.0, 1.0, 1.0)  # the domain's mean gain per colour channel
    gain_spread: float = 0.2  # each camera's channel gains vary this much around the cast
    brightness: Range = (0.7, 1.2)
    gamma: Range = (0.85, 1.2)
    saturation: Range = (0.8, 1.1)
    blur: Range = (0.0, 0.5)  # Gaussian sigma in pixels of a 64-pixel-high image
    noise: Range = (0.01, 0.03)
    resolution: Range = (0.7, 1.0)  # detail kept: rendered at this fraction, then upsampled
    scale: Range = (0.78, 0.95)  # figure height / crop height (how tight the crops are)
    squash: Range = (0.9, 1.1)  # horizontal stretch of the crop
    shift: float = 0.05  # horizontal offset of the person in the crop
    occlusion: Range = (0.0, 0.2)  # probability that something stands in front
    crowd: Range = (0.0, 0.25)  # probability of a passer-by at the crop's edge
    clutter: tuple[int, int] = (1, 4)  # objects standing in a camera's scene
    texture: Range = (0.15, 0.45)  # contrast of the wall and ground texture
    grain: Range = (0.6, 1.6)  # size of the texture's cells
    view_bias: float = 0.6  # how strongly a camera sees people along one axis
    axes: tuple[str, ...] = ()  # camera i's axis ("frontback" / "side"); () draws each
    channels: tuple[int, int, int] = (0, 1, 2)  # the sensor's colour channel order
    nuisance: float = 1.0  # the dataset's own level of every nuisance, times `difficulty`


@dataclass(frozen=True)
class Camera:
    """One camera: its scene (wall, ground, objects), photometry, crop habits and views."""

    wall: RGB
    ground: RGB
    horizon: float
    texture: str
    contrast: float  # of the texture
    grain: float  # texture cell size
    props: tuple[tuple[float, ...], ...]  # (x, y, width, height, r, g, b), fractions of a scene
    gain: RGB
    brightness: float
    gamma: float
    saturation: float
    gradient: float
    blur: float
    noise: float
    resolution: float
    scale: float
    squash: float
    shift: float
    occlusion: float
    crowd: float
    views: tuple[float, float, float, float]  # probability of front, back, left, right
    channels: tuple[int, int, int] = (0, 1, 2)


def _spread(rng: np.random.Generator, span: Range, difficulty: float) -> float:
    """A value from `span` widened or narrowed around its middle by `difficulty`."""
    middle, half = (span[0] + span[1]) / 2, (span[1] - span[0]) / 2
    return float(middle + half * difficulty * rng.uniform(-1.0, 1.0))


def _jitter(rng: np.random.Generator, colour: RGB, amount: float = 0.06) -> RGB:
    values = np.clip(np.array(colour) + rng.uniform(-amount, amount, 3), 0.0, 1.0)
    return tuple(float(round(v, 4)) for v in values)  # type: ignore[return-value]


def _props(rng: np.random.Generator, scene: Scene, count: int, horizon: float):
    """Objects standing on a camera's ground (poles, signs, doors, benches, bins), as
    (x, y, width, height, r, g, b) in fractions of the scene."""
    objects = []
    for _ in range(count):
        tall = rng.uniform() < 0.5
        width = rng.uniform(0.01, 0.03) if tall else rng.uniform(0.03, 0.12)
        height = rng.uniform(0.4, 0.9) if tall else rng.uniform(0.1, 0.3)
        colour = scene.props[int(rng.integers(len(scene.props)))]
        bottom = rng.uniform(horizon, 1.0)
        box = (rng.uniform(0.0, 1.0 - width), max(0.0, bottom - height), width, height)
        objects.append(tuple(round(float(v), 4) for v in (*box, *_jitter(rng, colour))))
    return tuple(objects)


def _views(rng: np.random.Generator, bias: float, axis: str | None):
    """Walkers along the camera's axis (towards/away, or across) get `bias` of the weight."""
    weights = np.full(4, (1.0 - bias) / 4)
    frontback = rng.uniform() < 0.5 if axis is None else axis == "frontback"
    weights[[0, 1] if frontback else [2, 3]] += bias / 2
    return tuple(float(round(w, 4)) for w in weights)  # type: ignore[return-value]


def sample_camera(
    rng: np.random.Generator, look: Look, difficulty: float = 1.0, axis: str | None = None
) -> Camera:
    """One camera of `look` (`axis`: the direction people walk past it; None: drawn)."""
    scene = look.scene
    d = look.nuisance * difficulty
    gain = np.array(look.cast) * (1.0 + look.gain_spread * d * rng.uniform(-1.0, 1.0, 3))
    low, high = look.clutter
    horizon = float(round(rng.uniform(*scene.horizon), 4))
    return Camera(
        wall=_jitter(rng, scene.walls[int(rng.integers(len(scene.walls)))]),
        ground=_jitter(rng, scene.grounds[int(rng.integers(len(scene.grounds)))]),
        horizon=horizon,
        texture=scene.textures[int(rng.integers(len(scene.textures)))],
        contrast=_spread(rng, look.texture, d),
        grain=float(rng.uniform(*look.grain)),
        props=_props(rng, scene, int(round(d * rng.integers(low, high + 1))), horizon),
        gain=tuple(float(round(g, 4)) for g in np.clip(gain, 0.3, 2.0)),  # type: ignore[arg-type]
        brightness=_spread(rng, look.brightness, d),
        gamma=_spread(rng, look.gamma, d),
        saturation=_spread(rng, look.saturation, d),
        gradient=float(0.25 * d * rng.uniform(-1.0, 1.0)),
        blur=float(rng.uniform(*look.blur)),
        noise=float(rng.uniform(*look.noise)),
        resolution=float(rng.uniform(*look.resolution)),
        scale=float(rng.uniform(*look.scale)),
        squash=float(rng.uniform(*look.squash)),
        shift=float(look.shift * rng.uniform(-1.0, 1.0)),
        occlusion=float(min(1.0, d * rng.uniform(*look.occlusion))),
        crowd=float(min(1.0, d * rng.uniform(*look.crowd))),
        views=_views(rng, min(1.0, look.view_bias * d), axis),
        channels=look.channels,
    )


def sample_cameras(
    rng: np.random.Generator, look: Look, count: int, difficulty: float = 1.0
) -> list[Camera]:
    """`count` cameras of `look`."""
    axes = look.axes or (None,)
    return [sample_camera(rng, look, difficulty, axes[i % len(axes)]) for i in range(count)]
