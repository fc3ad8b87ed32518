"""Drawing one person, seen from the front, the back or one side, onto a canvas.

What shows depends on the view: the shirt under an open jacket and a chest print only from the
front, a back print and the whole of a backpack only from behind (its straps from the front, a
bump from the side), a shoulder bag from the front, the back and its own side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reid.data.generator.canvas import Canvas
from reid.data.generator.people import CARRY, LEGWEAR, PATTERNS, PRINT, Identity


@dataclass(frozen=True)
class Pose:
    """Where the figure stands in the crop and how it moves, in pixels."""

    view: str  # front, back, left, right
    cx: float
    top: float
    feet: float
    sx: float  # horizontal pixels per unit of a 2:1 crop (crop squash and aspect)
    stride: float  # -1..1
    swing: float  # -1..1

    @property
    def fig(self) -> float:
        return self.feet - self.top


@dataclass(frozen=True)
class Body:
    """The figure's landmarks (pixels) for one pose."""

    head_r: float
    neck: float
    hip: float
    half: float  # torso half-width
    limb: float  # half-width of an arm or a leg


def body_of(who: Identity, pose: Pose) -> Body:
    """Landmarks of `who` standing in `pose` (narrower from the side)."""
    fig, side = pose.fig, pose.view in ("left", "right")
    head_r = 0.068 * fig
    half = (0.09 if side else 0.14) * fig * who.width * pose.sx
    return Body(
        head_r=head_r,
        neck=pose.top + 2.0 * head_r,
        hip=pose.feet - who.leg * fig,
        half=half,
        limb=0.048 * fig * pose.sx,
    )


def _shade(colour, factor: float) -> np.ndarray:
    return np.asarray(colour, np.float32) * factor


def _legs(c: Canvas, who: Identity, pose: Pose, b: Body) -> None:
    side = pose.view in ("left", "right")
    spread = pose.stride * (0.5 * b.half if not side else 1.4 * b.half)
    knee = b.hip + 0.5 * (pose.feet - b.hip)
    for number, sign in enumerate((-1, 1)):
        x_top = pose.cx + (0.1 if side else 0.5) * sign * b.half
        x_bottom = x_top + sign * spread
        mask = c.slanted(b.hip, pose.feet, x_top, x_bottom, b.limb)
        shade = 0.8 if side and number == 0 else 1.0  # the far leg is in shadow
        c.paint(mask, _shade(who.bottom, shade))
        if LEGWEAR[who.legwear] == "shorts":
            c.paint(mask & (c.yy > knee), _shade(who.skin, shade))
        c.paint(mask & (c.yy > pose.feet - 0.045 * pose.fig), who.shoes)
    if LEGWEAR[who.legwear] == "skirt":
        flare = b.half * 1.25
        t = np.clip((c.yy - b.hip) / max(knee - b.hip, 1.0), 0.0, 1.0)
        skirt = (
            (c.yy >= b.hip)
            & (c.yy < knee)
            & (np.abs(c.xx - pose.cx) < b.half + t * (flare - b.half))
        )
        c.paint(skirt, who.bottom)


def _sleeve(who: Identity):
    return who.jacket if who.jacket is not None else who.top


def _arms(c: Canvas, who: Identity, pose: Pose, b: Body, front_arm: bool) -> None:
    """Both arms from the front or back; from the side only the near arm (`front_arm`)."""
    side = pose.view in ("left", "right")
    if side != front_arm:
        return
    wrist = b.hip + 0.06 * pose.fig
    signs = (1,) if side else (-1, 1)
    for sign in signs:
        x_top = pose.cx + (0.0 if side else sign * (b.half + 0.6 * b.limb))
        x_bottom = x_top + pose.swing * (2.0 if side else 0.5) * b.limb * (1 if side else sign)
        mask = c.slanted(b.neck + 0.02 * pose.fig, wrist, x_top, x_bottom, 0.85 * b.limb)
        c.paint(mask, _sleeve(who))
        c.paint(mask & (c.yy > wrist - 0.05 * pose.fig), who.skin)


def _pattern(c: Canvas, who: Identity, area: np.ndarray, pose: Pose, b: Body) -> None:
    name = PATTERNS[who.pattern]
    if name == "plain":
        return
    period = max(0.055 * pose.fig, 2.0)
    rows = ((c.yy - b.neck) // period % 2).astype(bool)
    cols = ((c.xx - pose.cx + 16 * period) // period % 2).astype(bool)
    stripes = {"hstripes": rows, "vstripes": cols, "checks": rows ^ cols}[name]
    c.paint(area & stripes, who.pattern_colour)


def _torso(c: Canvas, who: Identity, pose: Pose, b: Body) -> np.ndarray:
    torso = c.rect(b.neck, b.hip + 0.02 * pose.fig, pose.cx - b.half, pose.cx + b.half)
    c.paint(torso, who.top)
    _pattern(c, who, torso, pose, b)
    if who.jacket is not None:
        shirt = np.zeros_like(torso)
        if pose.view == "front":  # an open jacket: the shirt shows down the middle
            shirt = torso & (np.abs(c.xx - pose.cx) < 0.35 * b.half)
        elif pose.view in ("left", "right"):  # a sliver of it at the front edge
            front = -1 if pose.view == "left" else 1
            shirt = torso & (front * (c.xx - pose.cx) > 0.6 * b.half)
        c.paint(torso & ~shirt, who.jacket)
    printed = PRINT[who.print_side]
    if printed != "none" and printed == pose.view:
        chest = b.neck + 0.08 * pose.fig
        mark = c.rect(
            chest, chest + 0.09 * pose.fig, pose.cx - 0.45 * b.half, pose.cx + 0.45 * b.half
        )
        c.paint(mark, who.print_colour)
    return torso


def _backpack(c: Canvas, who: Identity, pose: Pose, b: Body, behind: bool) -> None:
    """From behind: the whole pack over the torso; front: straps; side: a bump at the back."""
    if CARRY[who.carry] != "backpack":
        return
    y0, y1 = b.neck + 0.03 * pose.fig, b.hip - 0.02 * pose.fig
    if pose.view in ("left", "right") and behind:
        back = 1 if pose.view == "left" else -1
        edge = pose.cx + back * b.half
        c.paint(c.rect(y0, y1, edge, edge + back * 0.9 * b.half), who.carry_colour)
    elif pose.view == "back" and not behind:
        c.paint(c.rect(y0, y1, pose.cx - 0.75 * b.half, pose.cx + 0.75 * b.half), who.carry_colour)
    elif pose.view == "front" and not behind:
        for sign in (-1, 1):
            x = pose.cx + sign * 0.6 * b.half
            c.paint(c.rect(b.neck, y0 + 0.15 * pose.fig, x - 0.6, x + 0.6), who.carry_colour)


def _bag(c: Canvas, who: Identity, pose: Pose, b: Body) -> None:
    """A shoulder bag: on the viewer's right of a person seen from the front with the bag on
    their left; hidden from the other side."""
    carry = CARRY[who.carry]
    if carry not in ("bag_left", "bag_right"):
        return
    left = carry == "bag_left"
    if pose.view in ("left", "right"):
        if (pose.view == "left") != left:
            return
        x0, x1 = pose.cx - 0.7 * b.half, pose.cx + 0.7 * b.half
    else:
        on_right = left if pose.view == "front" else not left
        sign = 1 if on_right else -1
        x0 = pose.cx + sign * (b.half + 0.3 * b.limb)
        x1 = x0 + sign * 0.14 * pose.fig * pose.sx
        strap = c.slanted(b.neck, b.hip - 0.08 * pose.fig, pose.cx - sign * b.half, x0, 0.7)
        c.paint(strap, who.carry_colour)
    c.paint(c.rect(b.hip - 0.1 * pose.fig, b.hip + 0.06 * pose.fig, x0, x1), who.carry_colour)


def _head(c: Canvas, who: Identity, pose: Pose, b: Body) -> None:
    cy, rx = pose.top + b.head_r, b.head_r * 0.8 * pose.sx
    side = {"left": -1, "right": 1}.get(pose.view, 0)
    if who.long_hair and pose.view != "front":
        c.paint(
            c.rect(
                cy, b.neck + 0.12 * pose.fig, pose.cx - rx - side * rx, pose.cx + rx - side * rx
            ),
            who.hair,
        )
    head = c.ellipse(cy, pose.cx + 0.3 * side * rx, b.head_r, rx)
    if pose.view == "back":
        c.paint(head, who.hair)
    else:
        c.paint(head, who.skin)
        cap = c.ellipse(cy - 0.15 * b.head_r, pose.cx - 0.2 * side * rx, 0.9 * b.head_r, 1.05 * rx)
        c.paint(
            cap & ((c.yy < cy - 0.1 * b.head_r) | (side * (c.xx - pose.cx) < -0.3 * rx)), who.hair
        )
    if who.long_hair and pose.view == "front":
        for sign in (-1, 1):
            c.paint(
                c.rect(
                    cy, b.neck + 0.1 * pose.fig, pose.cx + sign * rx, pose.cx + sign * 1.35 * rx
                ),
                who.hair,
            )
    if who.hat is not None:
        c.paint(
            c.ellipse(cy - 0.45 * b.head_r, pose.cx, 0.6 * b.head_r, 1.1 * rx)
            & (c.yy < cy - 0.2 * b.head_r),
            who.hat,
        )


def draw_person(c: Canvas, who: Identity, pose: Pose) -> None:
    """Paint `who` in `pose`, back to front."""
    b = body_of(who, pose)
    _backpack(c, who, pose, b, behind=True)
    _arms(c, who, pose, b, front_arm=False)
    _legs(c, who, pose, b)
    _torso(c, who, pose, b)
    _backpack(c, who, pose, b, behind=False)
    _bag(c, who, pose, b)
    _arms(c, who, pose, b, front_arm=True)
    _head(c, who, pose, b)
