"""Rank lists, the picture of forgetting: for fixed queries, the top-k gallery images of a model.

`rank_lists` ranks the gallery for chosen queries with the protocol of `reid.evaluation`
(gallery items with the query's pid and camera dropped; a non-match tied with a match is ranked
first); `render_grid` draws one row per query (query, gap, top-k with green / red borders) as a
small PNG; `ranklist_for_run` does both for a trained model.pt on a prepared task.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from reid.errors import DatasetError

BORDER = 2  # px of the coloured frame around each thumbnail
PAD = 2  # px between thumbnails
GAP = 8  # px between the query and its ranked gallery
REPORT_FIELDS = ("png", "label", "phase", "task", "top", "queries")
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


def ranklist_for_run(
    model_path: Path,
    task: dict[str, Any],
    task_index: int,
    evaluation: dict[str, Any],
    *,
    count: int = 8,
    seed: int = 0,
    top: int = 10,
    runtime=None,
) -> tuple[bytes, dict[str, Any]]:
    """PNG grid and JSON record of the rank lists of `count` seeded task queries."""
    from reid.engine.evaluate import evaluation_features, resolve_features
    from reid.engine.runtime import Runtime
    from reid.engine.trainer import load_bank, load_model
    from reid.evaluation import pairwise_distance

    runtime = runtime or Runtime()
    device = runtime.device()
    model, state = load_model(Path(model_path))
    model.to(device).eval()
    data = state["spec"]["data"]
    query = load_bank(task, "query", data, runtime.cache_images)
    gallery = load_bank(task, "gallery", data, runtime.cache_images)
    q_pids, q_cams = query.pids.numpy(), query.camids.numpy()
    g_pids, g_cams = gallery.pids.numpy(), gallery.camids.numpy()
    chosen = choose_queries(q_pids, q_cams, g_pids, g_cams, count, seed)
    if not chosen:
        raise DatasetError(
            f"task {task['name']!r} ({task['root']}): no query has a match in another camera, "
            "so there is no rank list to draw; check the prepared dataset"
        )
    source = resolve_features(evaluation["features"], task_index, len(model.pipelines))

    def features(images: torch.Tensor) -> torch.Tensor:
        return evaluation_features(model, images, source, evaluation, device)

    dist = pairwise_distance(
        features(query.images[chosen]), features(gallery.images), evaluation["metric"]
    )
    lists = rank_lists(dist, chosen, q_pids, q_cams, g_pids, g_cams, top)
    png = render_grid(lists, query.images, gallery.images, top)
    record = {
        "task": task["name"],
        "features": source,
        "metric": evaluation["metric"],
        "seed": seed,
        "top": top,
        "rank1_hits": sum(1 for item in lists if item.matches[:1] == [True]),
        "queries": [asdict(item) for item in lists],
    }
    return png, record


def report_entries(paths: list[Path]) -> list[dict[str, Any]]:
    """The rank lists to show: each JSON record with its PNG as a data URI, by (phase, label).

    A listed JSON that is missing is skipped (that part was not run); one whose PNG is missing,
    or that lacks a field, is an error naming the file.
    """
    import base64

    from reid.report.inputs import ReportError, read_json

    entries = []
    for path in paths:
        record = read_json(Path(path))
        if record is None:
            continue
        missing = [
            k for k in ("png", "label", "phase", "task", "top", "queries") if k not in record
        ]
        if missing:
            raise ReportError(f"{path}: lacks {', '.join(missing)}; re-run `reid ranklist`")
        png = Path(path).parent / str(record["png"])
        if not png.is_file():
            raise ReportError(f"{path}: its image {png} is missing; re-run `reid ranklist`")
        uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")
        hits = [sum(q["matches"]) for q in record["queries"]]
        entries.append(
            {
                **{k: record[k] for k in ("label", "phase", "task", "top")},
                "uri": uri,
                "queries": len(hits),
                "rank1_hits": sum(1 for q in record["queries"] if q["matches"][:1] == [True]),
                "matches_in_top": sum(hits),
            }
        )
    return sorted(entries, key=lambda e: (e["phase"] or 0, str(e["label"])))
