"""Who walks in a generated domain: identities drawn from a domain's wardrobe.

Every attribute takes one of a few values that many people share (a dozen colours, four
patterns, a handful of carried things), so no single cue names a person: identity is the
combination. Some cues show only from some viewpoints (a shirt under an open jacket and a chest
print from the front, a backpack or a back print from behind, a shoulder bag from its side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RGB = tuple[float, float, float]

# The colour vocabulary shared by every domain (RGB in [0, 1]); a wardrobe weights a subset.
COLOURS: dict[str, RGB] = {
    "black": (0.08, 0.08, 0.09),
    "charcoal": (0.26, 0.26, 0.28),
    "grey": (0.55, 0.55, 0.57),
    "white": (0.92, 0.92, 0.90),
    "navy": (0.10, 0.14, 0.38),
    "blue": (0.18, 0.38, 0.80),
    "sky": (0.52, 0.70, 0.90),
    "denim": (0.26, 0.36, 0.56),
    "red": (0.80, 0.12, 0.12),
    "maroon": (0.45, 0.08, 0.12),
    "pink": (0.92, 0.55, 0.68),
    "orange": (0.95, 0.50, 0.12),
    "yellow": (0.93, 0.83, 0.25),
    "green": (0.22, 0.60, 0.25),
    "olive": (0.40, 0.42, 0.18),
    "teal": (0.10, 0.55, 0.55),
    "purple": (0.45, 0.22, 0.60),
    "brown": (0.42, 0.27, 0.14),
    "beige": (0.83, 0.74, 0.56),
    "khaki": (0.62, 0.58, 0.40),
}
EVERY_COLOUR = {name: 1.0 for name in COLOURS}
HAIR: tuple[RGB, ...] = (
    (0.05, 0.04, 0.03),
    (0.28, 0.17, 0.08),
    (0.78, 0.64, 0.32),
    (0.58, 0.58, 0.58),
    (0.52, 0.16, 0.06),
)
SKIN: tuple[RGB, ...] = (
    (0.96, 0.80, 0.69),
    (0.86, 0.66, 0.52),
    (0.64, 0.46, 0.34),
    (0.40, 0.27, 0.20),
)
PATTERNS = ("plain", "hstripes", "vstripes", "checks")
LEGWEAR = ("trousers", "shorts", "skirt")
CARRY = ("none", "backpack", "bag_left", "bag_right")
PRINT = ("none", "front", "back")


@dataclass(frozen=True)
class Wardrobe:
    """What people wear in a domain: colour weights (names of `COLOURS`) and how often each
    garment or carried thing appears."""

    tops: dict[str, float]
    bottoms: dict[str, float]
    patterned: float = 0.35  # share of tops with stripes or checks
    jacket: float = 0.25  # open jacket: the shirt shows only from the front
    printed: float = 0.25  # a chest (front) or back print
    shorts: float = 0.15
    skirt: float = 0.08
    backpack: float = 0.25
    bag: float = 0.2  # a shoulder bag on one side
    hat: float = 0.1
    long_hair: float = 0.35
    jackets: dict[str, float] | None = None  # jacket colours (default: the bottoms')


@dataclass(frozen=True)
class Identity:
    """A person: clothing, carried things, hair, skin and body proportions."""

    top: RGB
    pattern: int  # index into PATTERNS
    pattern_colour: RGB
    jacket: RGB | None
    print_side: int  # index into PRINT
    print_colour: RGB
    bottom: RGB
    legwear: int  # index into LEGWEAR
    shoes: RGB
    hair: RGB
    long_hair: bool
    hat: RGB | None
    skin: RGB
    carry: int  # index into CARRY
    carry_colour: RGB
    height: float
    width: float
    leg: float
    signature: tuple[str, ...] = ()  # the discrete choices, shared values by name


def _clip(values: np.ndarray) -> RGB:
    return tuple(float(round(v, 4)) for v in np.clip(values, 0.0, 1.0))  # type: ignore[return-value]


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    names = sorted(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _colour(rng: np.random.Generator, name: str) -> RGB:
    """A named colour with a small per-person jitter (two red shirts are not identical)."""
    return _clip(np.array(COLOURS[name]) + rng.normal(0.0, 0.03, 3))


def _choices(rng: np.random.Generator, wear: Wardrobe) -> dict[str, str]:
    """The discrete choices of one person, by name."""
    u = rng.uniform(size=8)
    legwear = "trousers"
    if u[0] < wear.skirt + wear.shorts:
        legwear = "skirt" if u[0] < wear.skirt else "shorts"
    carry = "none"
    if u[1] < wear.backpack:
        carry = "backpack"
    elif u[1] < wear.backpack + wear.bag:
        carry = "bag_left" if u[2] < 0.5 else "bag_right"
    pattern = PATTERNS[1 + int(rng.integers(3))] if u[3] < wear.patterned else "plain"
    printed = PRINT[1 + int(rng.integers(2))] if u[4] < wear.printed else "none"
    return {
        "top": _pick(rng, wear.tops),
        "pattern": pattern,
        "pattern_colour": _pick(rng, EVERY_COLOUR),
        "jacket": _pick(rng, wear.jackets or wear.bottoms) if u[5] < wear.jacket else "",
        "print": printed,
        "print_colour": _pick(rng, EVERY_COLOUR),
        "bottom": _pick(rng, wear.bottoms),
        "legwear": legwear,
        "shoes": ("black", "white", "brown", "grey")[int(rng.integers(4))],
        "hair": str(int(rng.integers(len(HAIR)))),
        "long_hair": "long" if u[6] < wear.long_hair else "short",
        "hat": _pick(rng, wear.tops) if u[7] < wear.hat else "",
        "carry": carry,
        "carry_colour": _pick(rng, wear.bottoms),
    }


def _signature(c: dict[str, str]) -> tuple[str, ...]:
    """The choices that can be seen (a pattern colour of a plain top cannot)."""
    keys = ["top", "pattern", "jacket", "print", "bottom", "legwear", "hair", "long_hair"]
    keys += ["hat", "carry"]
    shown = [c[k] for k in keys]
    shown.append(c["pattern_colour"] if c["pattern"] != "plain" else "")
    shown.append(c["print_colour"] if c["print"] != "none" else "")
    shown.append(c["carry_colour"] if c["carry"] != "none" else "")
    return tuple(shown)


def _identity(rng: np.random.Generator, c: dict[str, str], body: np.ndarray) -> Identity:
    return Identity(
        top=_colour(rng, c["top"]),
        pattern=PATTERNS.index(c["pattern"]),
        pattern_colour=_colour(rng, c["pattern_colour"]),
        jacket=_colour(rng, c["jacket"]) if c["jacket"] else None,
        print_side=PRINT.index(c["print"]),
        print_colour=_colour(rng, c["print_colour"]),
        bottom=_colour(rng, c["bottom"]),
        legwear=LEGWEAR.index(c["legwear"]),
        shoes=COLOURS[c["shoes"]],
        hair=HAIR[int(c["hair"])],
        long_hair=c["long_hair"] == "long",
        hat=_colour(rng, c["hat"]) if c["hat"] else None,
        skin=SKIN[int(body[3] * len(SKIN))],
        carry=CARRY.index(c["carry"]),
        carry_colour=_colour(rng, c["carry_colour"]),
        height=float(round(0.84 + 0.14 * body[0], 4)),
        width=float(round(0.85 + 0.35 * body[1], 4)),
        leg=float(round(0.42 + 0.08 * body[2], 4)),
        signature=_signature(c),
    )


def sample_identities(rng: np.random.Generator, count: int, wear: Wardrobe) -> list[Identity]:
    """`count` people of a wardrobe whose visible choices all differ (while the space allows;
    colours, patterns and carried things are shared: identity is their combination)."""
    seen: set[tuple[str, ...]] = set()
    people: list[Identity] = []
    tries = 0
    while len(people) < count:
        choices, body = _choices(rng, wear), rng.uniform(size=4)
        signature = _signature(choices)
        tries += 1
        if signature in seen and tries < 50 * count:
            continue
        seen.add(signature)
        people.append(_identity(rng, choices, body))
    return people
