"""A float RGB image with pixel-coordinate grids for drawing masks."""

from __future__ import annotations

import numpy as np


class Canvas:
    """`rgb` [H, W, 3] float32 in [0, 1]; `yy`, `xx` pixel coordinates for masks."""

    def __init__(self, height: int, width: int) -> None:
        self.h, self.w = height, width
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float32)
        self.rgb = np.zeros((height, width, 3), dtype=np.float32)

    def paint(self, mask: np.ndarray, colour) -> None:
        """Fill `mask` with `colour`."""
        self.rgb[mask] = colour

    def rect(self, y0: float, y1: float, x0: float, x1: float) -> np.ndarray:
        """Pixels inside the box (x0, x1 in either order)."""
        lo, hi = min(x0, x1), max(x0, x1)
        return (self.yy >= y0) & (self.yy < y1) & (self.xx >= lo) & (self.xx < hi)

    def ellipse(self, cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
        """Pixels inside the ellipse."""
        return ((self.yy - cy) / ry) ** 2 + ((self.xx - cx) / max(rx, 0.5)) ** 2 <= 1.0

    def slanted(self, y0: float, y1: float, x_top: float, x_bottom: float, half: float):
        """A band from (y0, x_top) to (y1, x_bottom) of half-width `half` (a limb)."""
        t = (self.yy - y0) / max(y1 - y0, 1e-3)
        centre = x_top + t * (x_bottom - x_top)
        return (self.yy >= y0) & (self.yy < y1) & (np.abs(self.xx - centre) < max(half, 0.5))
