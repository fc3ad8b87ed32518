"""Rank lists, the picture of forgetting: for fixed queries, the top-k gallery images of a model.

`rank_lists` ranks the gallery for chosen queries with the protocol of `reid.evaluation.metrics`
(gallery items with the query's pid and camera dropped; a non-match tied with a match is ranked
first); `render_grid` draws one row per query (query, gap, top-k with green / red borders) as a
small PNG. `reid.engine.ranklists.ranklist_for_run` does both for a trained model.pt.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

BORDER = 2  # px of the coloured frame around each thumbnail
PAD = 2  # px between thumbnails
GAP = 8  # px between the query and its ranked gallery
COLOURS = {"query": (40, 90, 200), "match": (30, 170, 60), "miss": (210, 40, 40)}


@dataclass(frozen=True)
class RankList:
    """One query's top-k: gallery indices nearest first, whether each is a match."""

    query: int
    pid: int
    camid: int
    gallery: list[int]
    matches: list[bool]
    distances: list[float]


def choose_queries(
    q_pids: np.ndarray,
    q_camids: np.ndarray,
    g_pids: np.ndarray,
    g_camids: np.ndarray,
    count: int,
    seed: int = 0,
) -> list[int]:
    """`count` query indices (sorted) drawn with `seed` among queries that have a match."""
    valid = [
        i for i in range(len(q_pids)) if np.any((g_pids == q_pids[i]) & (g_camids != q_camids[i]))
    ]
    if count >= len(valid):
        return valid
    chosen = np.random.default_rng(seed).choice(len(valid), size=count, replace=False)
    return sorted(valid[int(i)] for i in chosen)


def rank_lists(
    dist: torch.Tensor,
    queries: list[int],
    q_pids: np.ndarray,
    q_camids: np.ndarray,
    g_pids: np.ndarray,
    g_camids: np.ndarray,
    top: int = 10,
) -> list[RankList]:
    """Top-`top` gallery items of each query; `dist` has one row per entry of `queries`."""
    out = []
    for row, q in enumerate(queries):
        d = dist[row].double().cpu().numpy()
        keep = np.flatnonzero(~((g_pids == q_pids[q]) & (g_camids == q_camids[q])))
        match = g_pids[keep] == q_pids[q]
        # distance first; at equal distance a non-match before a match (as in the metrics)
        order = keep[np.lexsort((match, d[keep]))][:top]
        out.append(
            RankList(
                query=int(q),
                pid=int(q_pids[q]),
                camid=int(q_camids[q]),
                gallery=[int(g) for g in order],
                matches=[bool(g_pids[g] == q_pids[q]) for g in order],
                distances=[float(d[g]) for g in order],
            )
        )
    return out


def grid_size(rows: int, top: int, height: int, width: int) -> tuple[int, int]:
    """(width, height) in px of the grid `render_grid` draws."""
    cell_w, cell_h = width + 2 * BORDER, height + 2 * BORDER
    return (PAD + (top + 1) * (cell_w + PAD) + GAP, PAD + rows * (cell_h + PAD))


def _thumb(image: torch.Tensor) -> Image.Image:
    return Image.fromarray(image.permute(1, 2, 0).contiguous().numpy())


def render_grid(
    lists: list[RankList], q_images: torch.Tensor, g_images: torch.Tensor, top: int = 10
) -> bytes:
    """PNG bytes: per row the query (blue frame) then its top-`top` (green match, red not)."""
    height, width = int(q_images.shape[2]), int(q_images.shape[3])
    size = grid_size(len(lists), top, height, width)
    canvas = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    cell_w, cell_h = width + 2 * BORDER, height + 2 * BORDER
    for r, item in enumerate(lists):
        y = PAD + r * (cell_h + PAD)
        cells = [(q_images[item.query], "query", PAD)]
        for k, (g, hit) in enumerate(zip(item.gallery, item.matches, strict=True)):
            x = PAD + (k + 1) * (cell_w + PAD) + GAP
            cells.append((g_images[g], "match" if hit else "miss", x))
        for image, kind, x in cells:
            draw.rectangle((x, y, x + cell_w - 1, y + cell_h - 1), fill=COLOURS[kind])
            canvas.paste(_thumb(image), (x + BORDER, y + BORDER))
    buffer = io.BytesIO()  # a 256-colour palette keeps the PNG small (about 70 kB for 8 rows)
    small = canvas.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
