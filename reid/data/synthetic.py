"""Generated re-ID domains: pedestrian-like figures whose identity lives in clothing, body and
accessories, seen through cameras that change background, colour cast, light, blur and framing.

`generate_domain` writes a dataset in the real folder layout and file names of Market-1501,
DukeMTMC-reID or MSMT17, so the real adapters load it. Everything is seeded with numpy RNGs.
"""

from __future__ import annotations

import io as _stdio
import json
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from reid import io
from reid.data import naming
from reid.errors import ConfigError, DatasetError
from reid.registry import Registry

GENERATOR_VERSION = 2
MARKER = ".synthetic.json"
STYLE_ADAPTER = {"market": "market1501", "duke": "dukemtmcreid", "msmt": "msmt17"}
STYLE_CODE = {"market": 11, "duke": 23, "msmt": 37}
NUM_CAMERAS = {"market": 6, "duke": 8, "msmt": 15}
# styles registered by reid.data.adapters (one per LReID dataset): name -> object with
# `adapter`, `validate(params)` and `write(folder, params) -> manifest`
EXTRA_STYLES: dict[str, Any] = {}
# Generated styles, each naming the dataset adapter whose folder layout and names it writes.
STYLES: Registry[str] = Registry("synthetic style")


# The folder layouts and file names this module writes (one per adapter); a style for another
# layout is a `reid.data.adapters.style.Style` (as every LReID dataset's), see docs/extending.md.
LAYOUTS = ("market1501", "dukemtmcreid", "msmt17")


def register_style(style: str, adapter: str, code: int, num_cameras: int) -> None:
    """Register a generated style writing `adapter`'s layout and file names (one of `LAYOUTS`);
    its look is drawn by `_style_ranges` & co. below (the msmt look unless given one)."""
    if adapter not in LAYOUTS:
        raise ValueError(
            f"register_style({style!r}): this module writes the layouts of {list(LAYOUTS)}, "
            f"not {adapter!r}; define a reid.data.adapters.style.Style for it instead"
        )
    STYLE_ADAPTER[style], STYLE_CODE[style], NUM_CAMERAS[style] = adapter, code, num_cameras
    STYLES.add(style, adapter)


def _layout(style: str) -> str:
    """The adapter whose folder layout and file names `style` writes."""
    return STYLE_ADAPTER[style]


for _style, _adapter in list(STYLE_ADAPTER.items()):
    register_style(_style, _adapter, STYLE_CODE[_style], NUM_CAMERAS[_style])
JPEG_QUALITY = 90

# Clothing palette (RGB in [0, 1]): well separated hues and lightness levels.
CLOTHES = np.array(
    [
        [0.80, 0.10, 0.10],
        [0.45, 0.05, 0.08],
        [0.95, 0.50, 0.10],
        [0.95, 0.85, 0.20],
        [0.20, 0.65, 0.20],
        [0.05, 0.35, 0.15],
        [0.10, 0.60, 0.60],
        [0.15, 0.35, 0.85],
        [0.08, 0.10, 0.35],
        [0.50, 0.20, 0.65],
        [0.95, 0.55, 0.70],
        [0.95, 0.95, 0.95],
        [0.60, 0.60, 0.62],
        [0.08, 0.08, 0.08],
        [0.45, 0.28, 0.12],
        [0.85, 0.75, 0.55],
    ],
    dtype=np.float32,
)
HAIR = np.array(
    [
        [0.05, 0.04, 0.03],
        [0.30, 0.18, 0.08],
        [0.80, 0.65, 0.30],
        [0.55, 0.55, 0.55],
        [0.55, 0.15, 0.05],
    ],
    dtype=np.float32,
)
SKIN = np.array(
    [[0.96, 0.80, 0.69], [0.85, 0.65, 0.50], [0.63, 0.45, 0.33], [0.40, 0.27, 0.20]],
    dtype=np.float32,
)
PATTERNS = ("plain", "hstripes", "vstripes", "checks")


@dataclass(frozen=True)
class Identity:
    """What makes a person: clothing colours and pattern, body proportions, hair, bag."""

    upper: tuple[float, float, float]
    upper2: tuple[float, float, float]
    pattern: int
    lower: tuple[float, float, float]
    shorts: bool
    height: float
    width: float
    leg: float
    hair: tuple[float, float, float]
    long_hair: bool
    skin: tuple[float, float, float]
    bag: int  # 0 none, 1 left, 2 right
    bag_colour: tuple[float, float, float]


@dataclass(frozen=True)
class Camera:
    """What a camera changes: background, colour cast, light, blur, framing and occlusion."""

    bg_kind: int
    bg_a: tuple[float, float, float]
    bg_b: tuple[float, float, float]
    gain: tuple[float, float, float]
    brightness: float
    gradient: float
    saturation: float
    blur: float
    scale: float
    shift: float
    occlusion_p: float
    occluder: tuple[float, float, float]
    noise: float
    channels: tuple[int, int, int] = (0, 1, 2)


def _tuple(values: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(round(v, 4)) for v in np.clip(values, 0.0, 1.0))  # type: ignore[return-value]


def sample_identities(rng: np.random.Generator, count: int) -> list[Identity]:
    """`count` identities with distinct discrete signatures (while the space allows)."""
    seen: set[tuple[int, ...]] = set()
    people: list[Identity] = []
    while len(people) < count:
        key = (
            int(rng.integers(len(CLOTHES))),
            int(rng.integers(len(CLOTHES))),
            int(rng.integers(len(PATTERNS))),
            int(rng.integers(len(HAIR))),
            int(rng.integers(2)),
            int(rng.integers(3)),
            int(rng.integers(2)),
        )
        up, low, pattern, hair, long_hair, bag, shorts = key
        second = (up + 1 + int(rng.integers(len(CLOTHES) - 1))) % len(CLOTHES)
        continuous = rng.uniform(size=6)
        if key[:6] in seen and len(seen) < 3000:
            continue
        seen.add(key[:6])
        jitter = rng.normal(0.0, 0.03, size=(3, 3))
        people.append(
            Identity(
                upper=_tuple(CLOTHES[up] + jitter[0]),
                upper2=_tuple(CLOTHES[second] + jitter[1]),
                pattern=pattern,
                lower=_tuple(CLOTHES[low] + jitter[2]),
                shorts=bool(shorts),
                height=0.80 + 0.16 * continuous[0],
                width=0.80 + 0.45 * continuous[1],
                leg=0.40 + 0.12 * continuous[2],
                hair=_tuple(HAIR[hair]),
                long_hair=bool(long_hair),
                skin=_tuple(SKIN[int(continuous[3] * len(SKIN))]),
                bag=bag,
                bag_colour=_tuple(CLOTHES[int(continuous[4] * len(CLOTHES))] * 0.8),
            )
        )
    return people


def _style_ranges(style: str) -> dict[str, tuple[float, float]]:
    common = {"scale": (0.85, 1.0), "shift": (-0.06, 0.06), "noise": (0.01, 0.03)}
    if style == "market":  # warm daylight on pavement, sharp
        return common | {
            "r": (0.85, 1.35),
            "g": (0.80, 1.15),
            "b": (0.60, 1.00),
            "brightness": (0.65, 1.25),
            "gradient": (-0.15, 0.15),
            "saturation": (0.95, 1.15),
            "blur": (0.0, 0.5),
            "occlusion_p": (0.0, 0.15),
        }
    if style == "duke":  # cold, dark winter campus, slightly soft and washed out
        return common | {
            "r": (0.60, 1.00),
            "g": (0.80, 1.15),
            "b": (0.95, 1.45),
            "brightness": (0.45, 0.80),
            "gradient": (-0.30, 0.30),
            "saturation": (0.75, 1.00),
            "blur": (0.3, 0.7),
            "occlusion_p": (0.0, 0.15),
        }
    # msmt: many indoor/outdoor cameras, strong and varied casts and light levels
    return common | {
        "r": (0.75, 1.25),
        "g": (0.75, 1.25),
        "b": (0.75, 1.25),
        "brightness": (0.55, 1.25),
        "gradient": (-0.35, 0.35),
        "saturation": (0.65, 1.20),
        "blur": (0.0, 1.0),
        "occlusion_p": (0.05, 0.25),
    }


def _background_colours(style: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if style == "market":  # beige / grey pavement and shop fronts
        base = np.array([0.62, 0.58, 0.50]) + rng.uniform(-0.12, 0.12, 3)
        other = base * rng.uniform(0.6, 0.9) + np.array([0.05, 0.02, 0.0])
    elif style == "duke":  # grass, snow and dark brick
        choices = np.array([[0.25, 0.40, 0.22], [0.85, 0.88, 0.92], [0.35, 0.22, 0.20]])
        base = choices[rng.integers(len(choices))] + rng.uniform(-0.06, 0.06, 3)
        other = choices[rng.integers(len(choices))] * rng.uniform(0.7, 1.0)
    else:  # indoor halls with arbitrary hues
        base = rng.uniform(0.2, 0.8, 3)
        other = rng.uniform(0.1, 0.9, 3)
    return base, other


def sample_cameras(style: str, rng: np.random.Generator) -> list[Camera]:
    """The cameras of one style, drawn from that style's ranges."""
    ranges = _style_ranges(style)
    cameras = []
    for _ in range(NUM_CAMERAS[style]):
        v = {key: float(rng.uniform(lo, hi)) for key, (lo, hi) in ranges.items()}
        bg_a, bg_b = _background_colours(style, rng)
        cameras.append(
            Camera(
                bg_kind=int(rng.integers(4)),
                bg_a=_tuple(bg_a),
                bg_b=_tuple(bg_b),
                gain=(v["r"], v["g"], v["b"]),
                brightness=v["brightness"],
                gradient=v["gradient"],
                saturation=v["saturation"],
                blur=v["blur"],
                scale=v["scale"],
                shift=v["shift"],
                occlusion_p=v["occlusion_p"],
                occluder=_tuple(rng.uniform(0.1, 0.7, 3)),
                noise=v["noise"],
                channels=_channel_order(style, rng),
            )
        )
    return cameras


def _channel_order(style: str, rng: np.random.Generator) -> tuple[int, int, int]:
    """Sensor colour response: every duke camera rotates the colour channels the same way
    (red is recorded as green, green as blue, blue as red)."""
    if style != "duke":
        return (0, 1, 2)
    return (2, 0, 1)


class Canvas:
    """A float RGB image with pixel-coordinate grids for drawing masks."""

    def __init__(self, height: int, width: int) -> None:
        self.h, self.w = height, width
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float32)
        self.rgb = np.zeros((height, width, 3), dtype=np.float32)

    def paint(self, mask: np.ndarray, colour: np.ndarray | tuple[float, ...]) -> None:
        self.rgb[mask] = colour

    def rect(self, y0: float, y1: float, x0: float, x1: float) -> np.ndarray:
        return (self.yy >= y0) & (self.yy < y1) & (self.xx >= x0) & (self.xx < x1)

    def ellipse(self, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
        return ((self.yy - cy) / ry) ** 2 + ((self.xx - cx) / rx) ** 2 <= 1.0

    def slanted(self, y0: float, y1: float, x_top: float, x_bottom: float, half: float):
        t = (self.yy - y0) / max(y1 - y0, 1e-3)
        centre = x_top + t * (x_bottom - x_top)
        return (self.yy >= y0) & (self.yy < y1) & (np.abs(self.xx - centre) < half)


def _background(canvas: Canvas, cam: Camera, rng: np.random.Generator) -> None:
    a, b = np.array(cam.bg_a, np.float32), np.array(cam.bg_b, np.float32)
    h, w = canvas.h, canvas.w
    if cam.bg_kind == 0:  # vertical gradient (sky / wall to ground)
        t = canvas.yy / h
    elif cam.bg_kind == 1:  # horizontal bands (pavement, steps)
        t = ((canvas.yy + rng.integers(h)) // max(h // 8, 2) % 2).astype(np.float32) * 0.7
    elif cam.bg_kind == 2:  # tiles
        period = max(w // 4, 2)
        t = (((canvas.yy + rng.integers(period)) // period + canvas.xx // period) % 2) * 0.5
    else:  # blotchy texture
        coarse = rng.uniform(size=(5, 3)).astype(np.float32)
        t = np.kron(coarse, np.ones((h // 5 + 1, w // 3 + 1), np.float32))[:h, :w]
    canvas.rgb[:] = a + t[..., None] * (b - a)


def _person(canvas: Canvas, who: Identity, cam: Camera, rng: np.random.Generator) -> None:
    h, w = canvas.h, canvas.w
    scale = cam.scale * rng.uniform(0.94, 1.06)
    fig = who.height * scale * h
    feet = h * rng.uniform(0.95, 1.0)
    top = feet - fig
    cx = w * (0.5 + cam.shift + rng.uniform(-0.05, 0.05))
    head_r = 0.075 * fig
    torso_top = top + 2.0 * head_r
    hip = feet - who.leg * fig
    half = 0.12 * fig * who.width * (w / h) * 2.0
    arm = 0.045 * fig * (w / h) * 2.0
    skin, hair = np.array(who.skin), np.array(who.hair)

    if who.long_hair:
        canvas.paint(
            canvas.rect(top + head_r, torso_top + 0.12 * fig, cx - head_r * 0.9, cx + head_r * 0.9),
            hair,
        )
    # legs with a small stride
    stride = rng.uniform(-0.5, 0.5) * half
    leg_half = 0.42 * half
    lower = np.array(who.lower)
    for side in (-1, 1):
        x_top = cx + side * 0.5 * half
        mask = canvas.slanted(hip, feet, x_top, x_top + side * stride * 0.5, leg_half)
        canvas.paint(mask, lower)
        if who.shorts:
            canvas.paint(mask & (canvas.yy > hip + 0.45 * (feet - hip)), skin)
        canvas.paint(mask & (canvas.yy > feet - 0.05 * fig), (0.1, 0.1, 0.1))
    # arms swing a little, drawn behind the torso
    swing = rng.uniform(-0.3, 0.3) * arm
    for side in (-1, 1):
        x_top = cx + side * (half + 0.5 * arm)
        mask = canvas.slanted(
            torso_top + 0.02 * fig, hip + 0.05 * fig, x_top, x_top + side * swing, 0.5 * arm
        )
        canvas.paint(mask, who.upper)
        canvas.paint(mask & (canvas.yy > hip), skin)
    # torso with its pattern
    torso = canvas.rect(torso_top, hip + 0.02 * fig, cx - half, cx + half)
    canvas.paint(torso, who.upper)
    period = max(0.06 * fig, 2.0)
    rows = ((canvas.yy - torso_top) // period % 2).astype(bool)
    cols = ((canvas.xx - cx + 8 * period) // period % 2).astype(bool)
    pattern = PATTERNS[who.pattern]
    if pattern != "plain":
        stripes = {"hstripes": rows, "vstripes": cols, "checks": rows ^ cols}[pattern]
        canvas.paint(torso & stripes, who.upper2)
    # head and hair
    canvas.paint(canvas.ellipse(top + head_r, cx, head_r, head_r * 0.8), skin)
    canvas.paint(
        canvas.ellipse(top + head_r * 0.8, cx, head_r * 0.85, head_r * 0.85)
        & (canvas.yy < top + head_r * 0.9),
        hair,
    )
    # bag on one side with a strap across the chest
    if who.bag:
        side = -1 if who.bag == 1 else 1
        bx = cx + side * (half + 0.2 * arm)
        bag = canvas.rect(
            hip - 0.12 * fig,
            hip + 0.06 * fig,
            min(bx, bx + side * 0.16 * fig),
            max(bx, bx + side * 0.16 * fig),
        )
        canvas.paint(bag, who.bag_colour)
        strap = canvas.slanted(torso_top, hip - 0.1 * fig, cx - side * half, bx, 0.9)
        canvas.paint(strap & torso, who.bag_colour)


def _camera_look(canvas: Canvas, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    rgb = canvas.rgb
    if rng.uniform() < cam.occlusion_p:  # something in front of the person
        oh = rng.uniform(0.15, 0.35) * canvas.h
        ow = rng.uniform(0.4, 1.0) * canvas.w
        x0 = rng.uniform(-0.2, 0.8) * canvas.w
        y0 = canvas.h - oh if rng.uniform() < 0.7 else rng.uniform(0, canvas.h - oh)
        rgb[canvas.rect(y0, y0 + oh, x0, x0 + ow)] = cam.occluder
    rgb = rgb[..., list(cam.channels)]
    grey = rgb.mean(axis=2, keepdims=True)
    rgb = grey + cam.saturation * (rgb - grey)
    light = cam.brightness * rng.uniform(0.93, 1.07)
    light = light * (1.0 + cam.gradient * (canvas.xx / canvas.w - 0.5))[..., None]
    rgb = rgb * np.array(cam.gain, np.float32) * light
    rgb = rgb + rng.normal(0.0, cam.noise, size=rgb.shape).astype(np.float32)
    image = Image.fromarray((np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    blur = cam.blur * rng.uniform(0.8, 1.2)
    if blur > 0.05:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(image)


def render(who: Identity | None, cam: Camera, height: int, width: int, rng) -> np.ndarray:
    """One uint8 [H, W, 3] image of `who` (None: a junk crop without a whole person)."""
    canvas = Canvas(height, width)
    _background(canvas, cam, rng)
    if who is not None:
        _person(canvas, who, cam, rng)
    else:  # junk: a fragment of clothing at a random place
        y0, x0 = rng.uniform(0, height * 0.7), rng.uniform(-width * 0.3, width * 0.7)
        canvas.paint(
            canvas.rect(y0, y0 + height * 0.4, x0, x0 + width * 0.6),
            CLOTHES[rng.integers(len(CLOTHES))],
        )
    return _camera_look(canvas, cam, rng)


def encode_jpeg(image: np.ndarray) -> bytes:
    """JPEG bytes (quality 90) of a uint8 [H, W, 3] array."""
    buffer = _stdio.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


@dataclass(frozen=True)
class Shot:
    """One image to write: who (index into the identity list, -1 junk), pid, camera, split."""

    person: int
    pid: int
    cam: int
    split: str  # train / val / query / gallery


def _spread_over_cameras(rng: np.random.Generator, count: int, num_cams: int) -> list[int]:
    """Cameras for `count` images: at least 2 cameras with at least 2 images each."""
    many = int(rng.integers(2, min(4, num_cams, count // 2) + 1))
    cams = [int(c) + 1 for c in rng.choice(num_cams, size=many, replace=False)]
    chosen = cams * 2 + [cams[int(i)] for i in rng.integers(many, size=count - 2 * many)]
    return sorted(chosen)


def plan_shots(style: str, params: dict[str, int], rng: np.random.Generator) -> list[Shot]:
    """Which identity is seen by which camera in which split."""
    n_train, n_test = params["num_train_ids"], params["num_test_ids"]
    n_dis, n_junk, per_id = params["num_distractors"], params["num_junk"], params["images_per_id"]
    num_cams, layout = NUM_CAMERAS[style], _layout(style)
    if layout == "msmt17":
        train_pids, test_pids = list(range(n_train)), list(range(n_test))
        distractor_pids = list(range(n_test, n_test + n_dis))
    else:
        pool = rng.choice(
            np.arange(1, 2 * (n_train + n_test + n_dis) + 2),
            replace=False,
            size=n_train + n_test + n_dis,
        )
        train_pids = sorted(int(p) for p in pool[:n_train])
        test_pids = sorted(int(p) for p in pool[n_train : n_train + n_test])
        distractor_pids = sorted(int(p) for p in pool[n_train + n_test :])
    shots: list[Shot] = []
    for person, pid in enumerate(train_pids):
        for cam in _spread_over_cameras(rng, per_id, num_cams):
            split = "val" if layout == "msmt17" and rng.uniform() < 0.1 else "train"
            shots.append(Shot(person, pid, cam, split))
    for offset, pid in enumerate(test_pids):
        seen: set[int] = set()
        for cam in _spread_over_cameras(rng, per_id, num_cams):
            shots.append(Shot(n_train + offset, pid, cam, "gallery" if cam in seen else "query"))
            seen.add(cam)
    for offset in range(n_dis):  # Market layout: pid 0000; others: gallery-only identities
        pid = 0 if layout == "market1501" else distractor_pids[offset]
        cam = int(rng.integers(num_cams)) + 1
        shots.append(Shot(n_train + n_test + offset, pid, cam, "gallery"))
    for _ in range(n_junk):
        shots.append(Shot(-1, -1, int(rng.integers(num_cams)) + 1, "gallery"))
    return shots


class _Namer:
    """File names in the real convention of each style, unique within the domain."""

    def __init__(self, style: str) -> None:
        self.layout = _layout(style)
        self.frame = 0
        self.per_pid: dict[int, int] = {}

    def __call__(self, shot: Shot, rng: np.random.Generator) -> tuple[str, str | None]:
        """(relative path, MSMT list line or None)."""
        self.frame += int(rng.integers(1, 60))
        folder = {
            "train": "bounding_box_train",
            "val": "bounding_box_train",
            "query": "query",
            "gallery": "bounding_box_test",
        }[shot.split]
        if self.layout == "market1501":
            name = naming.format_market1501(
                shot.pid, shot.cam, int(rng.integers(1, 7)), self.frame, int(rng.integers(1, 9))
            )
            return f"{folder}/{name}", None
        if self.layout == "dukemtmcreid":
            return f"{folder}/{naming.format_dukemtmcreid(shot.pid, shot.cam, self.frame)}", None
        index = self.per_pid.get(shot.pid, 0)
        self.per_pid[shot.pid] = index + 1
        tag = f"{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}"
        tag += ("morning", "noon", "afternoon")[int(rng.integers(3))]
        line = naming.format_msmt17_line(shot.pid, index, shot.cam, tag, self.frame % 10000, 0)
        top = "train" if shot.split in ("train", "val") else "test"
        return f"{top}/{line.split()[0]}", line


def _params(style: str, **values: int) -> dict[str, object]:
    return {"generator_version": GENERATOR_VERSION, "style": style, **values}


def _validate(style: str, params: dict[str, object]) -> None:
    if style in EXTRA_STYLES:
        EXTRA_STYLES[style].validate(params)
        return
    if style not in STYLE_ADAPTER:
        raise ConfigError(
            f"unknown synthetic style {style!r}; expected one of "
            f"{', '.join([*STYLE_ADAPTER, *EXTRA_STYLES])}"
        )
    checks = [
        ("num_train_ids", 1),
        ("num_test_ids", 1),
        ("images_per_id", 4),
        ("num_distractors", 0),
        ("num_junk", 0),
        ("height", 16),
        ("width", 8),
    ]
    for key, low in checks:
        if not isinstance(params[key], int) or params[key] < low:  # type: ignore[operator]
            raise ConfigError(f"synthetic `{key}` must be an integer >= {low}, got {params[key]!r}")
    if params["num_junk"] and _layout(style) != "market1501":
        raise ConfigError(
            f"synthetic `num_junk` is only for Market-1501 layouts (junk is Market's -1 pid); "
            f"set it to 0 for {style!r}"
        )


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
) -> Path:
    """Write a generated domain to `out_dir` (or reuse an identical one); return its root."""
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
    )
    _validate(style, params)
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
        manifest = _write_domain(staging, style, params)
        io.write_json(staging / MARKER, {"params": params, **manifest})
        _swap_in(staging, out_dir, params)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def _write_domain(folder: Path, style: str, params: dict) -> dict[str, object]:
    if style in EXTRA_STYLES:
        return EXTRA_STYLES[style].write(folder, params)
    code, seed = STYLE_CODE[style], params["seed"]
    total = params["num_train_ids"] + params["num_test_ids"] + params["num_distractors"]
    people = sample_identities(np.random.default_rng([seed, code, 0]), total)
    cameras = sample_cameras(style, np.random.default_rng([seed, code, 1]))
    shots = plan_shots(style, params, np.random.default_rng([seed, code, 2]))
    namer, name_rng = _Namer(style), np.random.default_rng([seed, code, 3])
    lists: dict[str, list[str]] = {"train": [], "val": [], "query": [], "gallery": []}
    for subdir in ("bounding_box_train", "query", "bounding_box_test", "train", "test"):
        if (_layout(style) == "msmt17") == (subdir in ("train", "test")):
            (folder / subdir).mkdir()
    # rendering stays in this thread (deterministic order); atomic writes (fsync) overlap in a pool
    with ThreadPoolExecutor(max_workers=4) as writers:
        pending = []
        for number, shot in enumerate(shots):
            relpath, line = namer(shot, name_rng)
            rng = np.random.default_rng([seed, code, 4, number])
            who = people[shot.person] if shot.person >= 0 else None
            image = render(who, cameras[shot.cam - 1], params["height"], params["width"], rng)
            (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
            pending.append(writers.submit(io.write_bytes, folder / relpath, encode_jpeg(image)))
            if line is not None:
                lists[shot.split].append(line)
        for job in pending:
            job.result()  # re-raise a failed write
    if _layout(style) == "msmt17":
        for split, lines in lists.items():
            io.write_text(folder / f"list_{split}.txt", "".join(f"{x}\n" for x in lines))
    n_train, n_test = params["num_train_ids"], params["num_test_ids"]
    return {
        "train_identities": list(range(n_train)),
        "test_identities": list(range(n_train, n_train + n_test)),
        "identities": [asdict(p) for p in people],
        "cameras": [asdict(c) for c in cameras],
        "images": len(shots),
    }


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
