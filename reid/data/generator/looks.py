"""Building blocks of the datasets' looks: scene families and wardrobes.

Each dataset module composes its own `Look` (cameras) from a scene and sets its crop habits,
light and resolution, and picks (or tweaks) a wardrobe, so two domains differ the way two
datasets do while sharing the colour vocabulary and the way a person is built.
"""

from __future__ import annotations

from reid.data.generator.cameras import Scene
from reid.data.generator.people import COLOURS, Wardrobe

C = COLOURS
MUTED = tuple(C[n] for n in ("charcoal", "grey", "brown", "khaki", "navy", "olive", "beige"))

SCENES: dict[str, Scene] = {
    # pavement and shop fronts in summer (Market-1501's supermarket front)
    "street": Scene(
        walls=((0.78, 0.72, 0.60), (0.70, 0.70, 0.68), (0.60, 0.35, 0.28), (0.35, 0.45, 0.50)),
        grounds=((0.62, 0.58, 0.52), (0.38, 0.38, 0.39), (0.56, 0.42, 0.36)),
        horizon=(0.35, 0.65),
    ),
    # a campus in winter: snow, grass, brick and bare trees (DukeMTMC-reID)
    "winter_campus": Scene(
        walls=((0.45, 0.25, 0.20), (0.30, 0.30, 0.32), (0.16, 0.20, 0.13), (0.52, 0.50, 0.46)),
        grounds=((0.90, 0.92, 0.95), (0.30, 0.45, 0.25), (0.30, 0.30, 0.31)),
        props=MUTED,
        horizon=(0.30, 0.60),
        textures=("bricks", "windows", "stripes"),
    ),
    # halls and corridors in arbitrary colours (MSMT17's indoor cameras, SenseReID)
    "indoor": Scene(
        walls=(
            (0.86, 0.82, 0.70),
            (0.62, 0.74, 0.84),
            (0.66, 0.80, 0.64),
            (0.60, 0.60, 0.62),
            (0.55, 0.40, 0.26),
        ),
        grounds=((0.72, 0.72, 0.70), (0.55, 0.40, 0.25), (0.30, 0.32, 0.40)),
        horizon=(0.50, 0.80),
        textures=("panels", "windows", "tiles"),
    ),
    # city streets and movie frames of every kind (CUHK-SYSU)
    "city": Scene(
        walls=(
            (0.78, 0.72, 0.60),
            (0.35, 0.45, 0.50),
            (0.60, 0.35, 0.28),
            (0.86, 0.82, 0.70),
            (0.62, 0.74, 0.84),
            (0.20, 0.22, 0.25),
        ),
        grounds=((0.62, 0.58, 0.52), (0.38, 0.38, 0.39), (0.72, 0.72, 0.70)),
        horizon=(0.30, 0.80),
    ),
    # a Hong Kong campus: concrete, plants and glass (CUHK01, CUHK02, CUHK03)
    "hk_campus": Scene(
        walls=((0.66, 0.66, 0.63), (0.22, 0.45, 0.22), (0.42, 0.52, 0.56)),
        grounds=((0.56, 0.56, 0.55), (0.56, 0.32, 0.26)),
        horizon=(0.35, 0.60),
        textures=("panels", "windows", "tiles"),
    ),
    # an underground station: tiles, dim light (GRID)
    "underground": Scene(
        walls=((0.74, 0.74, 0.64), (0.42, 0.36, 0.30), (0.55, 0.60, 0.52)),
        grounds=((0.36, 0.34, 0.31), (0.50, 0.48, 0.44)),
        props=MUTED,
        horizon=(0.45, 0.75),
        textures=("bricks", "tiles"),
    ),
    # an airport arrival hall: glass, polished floor, luggage (i-LIDS)
    "airport": Scene(
        walls=((0.62, 0.72, 0.78), (0.86, 0.86, 0.85), (0.50, 0.52, 0.55)),
        grounds=((0.76, 0.73, 0.68), (0.60, 0.58, 0.56)),
        horizon=(0.45, 0.70),
        textures=("windows", "panels", "stripes"),
    ),
    # open outdoor paths, lawns and buildings (VIPeR, PRID)
    "outdoor": Scene(
        walls=((0.30, 0.42, 0.25), (0.70, 0.68, 0.62), (0.52, 0.58, 0.66)),
        grounds=((0.55, 0.54, 0.50), (0.34, 0.48, 0.27), (0.40, 0.38, 0.36)),
        horizon=(0.25, 0.55),
    ),
}


def _w(**weights: float) -> dict[str, float]:
    return dict(weights)


SUMMER = Wardrobe(
    tops=_w(
        white=3,
        black=2,
        grey=2,
        red=1.5,
        blue=1.5,
        sky=1,
        pink=1,
        yellow=1,
        green=1,
        orange=0.5,
        purple=0.5,
    ),
    bottoms=_w(black=3, denim=3, grey=1.5, blue=1, white=1, khaki=1.5, beige=0.5),
    shorts=0.3,
    skirt=0.12,
    jacket=0.08,
    backpack=0.3,
    bag=0.25,
    hat=0.08,
)
WINTER = Wardrobe(
    tops=_w(
        black=3,
        charcoal=2,
        navy=2,
        grey=1.5,
        maroon=1,
        brown=1,
        olive=1,
        red=1,
        white=0.5,
        beige=0.5,
    ),
    bottoms=_w(black=3, denim=3, charcoal=1.5, khaki=1, navy=1),
    jackets=_w(black=3, navy=2, charcoal=2, brown=1, olive=1, red=0.5, beige=1),
    patterned=0.2,
    jacket=0.6,
    shorts=0.01,
    skirt=0.04,
    backpack=0.45,
    bag=0.15,
    hat=0.2,
)
MIXED = Wardrobe(
    tops=_w(black=3, white=2, grey=2, navy=1.5, red=1, pink=1, beige=1, blue=1, charcoal=1),
    bottoms=_w(black=4, denim=2, grey=1, khaki=0.5, charcoal=1),
    jackets=_w(black=3, navy=1, charcoal=2, beige=1, white=0.5, red=0.5),
    jacket=0.45,
    shorts=0.05,
    backpack=0.35,
    bag=0.2,
    hat=0.12,
)
CAMPUS = Wardrobe(
    tops=_w(white=3, black=2, grey=1.5, blue=1.5, sky=1, red=1, green=0.7, yellow=0.7, pink=0.5),
    bottoms=_w(denim=3, black=3, grey=1, khaki=1, beige=0.5),
    shorts=0.2,
    jacket=0.1,
    backpack=0.4,
    bag=0.2,
)
CITY = Wardrobe(
    tops={name: 1.0 for name in COLOURS},
    bottoms=_w(black=3, denim=2, grey=1, khaki=1, navy=1, brown=0.5, beige=0.5, white=0.5),
    jacket=0.3,
)
TRAVEL = Wardrobe(
    tops=_w(black=2, white=1.5, grey=1.5, navy=1, beige=1, red=0.7, blue=0.7, pink=0.5),
    bottoms=_w(black=3, denim=2, beige=1, grey=1, khaki=1),
    jackets=_w(black=2, beige=2, navy=1, brown=1, grey=1),
    jacket=0.5,
    backpack=0.3,
    bag=0.45,
)
