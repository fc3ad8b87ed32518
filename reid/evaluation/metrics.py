"""Re-ID metrics (CMC, non-interpolated mAP) without sorting whole gallery rows.

Protocol: per query, gallery items with the same pid AND the same camera are dropped; the
matches are the remaining items with the query's pid; a query with no match left is skipped.
Only the ranks of the matches matter, so per query we sort the (few) match distances and count,
with one `searchsorted` pass over the row, how many valid non-matches lie at or below each.
Ties: a non-match at exactly a match's distance is ranked before it (pessimistic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from reid.evaluation.distance import Metric, pairwise_distance

_ROW_BUDGET = 1 << 22  # elements of a distance block bucketed at once


@dataclass
class _GalleryIndex:
    """Gallery items grouped by pid (a CSR layout), to find each query's same-pid items fast."""

    order: np.ndarray
    pids: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    camids: np.ndarray
    size: int

    @classmethod
    def build(cls, g_pids: np.ndarray, g_camids: np.ndarray) -> _GalleryIndex:
        order = np.argsort(g_pids, kind="stable")
        pids, starts, counts = np.unique(g_pids[order], return_index=True, return_counts=True)
        return cls(order, pids, starts, counts, g_camids, len(g_pids))

    def same_pid_table(
        self, q_pids: np.ndarray, q_camids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded [B, L] gallery indices of each query's same-pid items, a presence mask, and
        whether each is a match (other camera); the others are same-camera (dropped) items."""
        counts = np.zeros(len(q_pids), dtype=np.int64)
        starts = np.zeros(len(q_pids), dtype=np.int64)
        if len(self.pids):
            pos = np.minimum(np.searchsorted(self.pids, q_pids), len(self.pids) - 1)
            found = self.pids[pos] == q_pids
            counts[found] = self.counts[pos[found]]
            starts[found] = self.starts[pos[found]]
        width = int(counts.max()) if len(counts) else 0
        cols = np.arange(width)
        present = cols[None, :] < counts[:, None]
        gal = self.order[np.where(present, starts[:, None] + cols[None, :], 0)]
        is_match = present & (self.camids[gal] != q_camids[:, None])
        return gal.astype(np.int64), present, is_match


def _match_positions(
    dist: Tensor, gal: Tensor, present: Tensor, is_match: Tensor
) -> tuple[Tensor, Tensor]:
    """0-based ranks (among valid gallery items) of each query's matches, nearest first.

    dist [B, G]; gal/present/is_match [B, L]. Returns positions [B, L] (meaningful for the first
    n_match[b] columns) and n_match [B].
    """
    n_match = is_match.sum(dim=1)
    width = gal.shape[1]
    if width == 0:
        return torch.zeros(dist.shape[0], 0, dtype=torch.int64), n_match
    same_d = dist.gather(1, gal)
    inf = torch.tensor(float("inf"), dtype=dist.dtype, device=dist.device)
    thr = torch.where(is_match, same_d, inf).sort(dim=1).values.contiguous()
    bucket = torch.searchsorted(thr, dist.contiguous())  # = #thresholds strictly below d
    hist = torch.zeros(dist.shape[0], width + 1, dtype=torch.int64, device=dist.device)
    one = torch.ones((), dtype=torch.int64, device=dist.device)
    hist.scatter_add_(1, bucket, one.expand_as(bucket))
    le_all = hist.cumsum(dim=1)[:, :width]  # items with d <= thr[k]
    le_same = ((same_d.unsqueeze(1) <= thr.unsqueeze(2)) & present.unsqueeze(1)).sum(dim=2)
    ranks = torch.arange(width, device=dist.device).unsqueeze(0)
    return ranks + (le_all - le_same), n_match


class _Accumulator:
    """Per-query AP and first-hit rank, filled chunk by chunk."""

    def __init__(self, num_queries: int, g_pids: np.ndarray, g_camids: np.ndarray) -> None:
        self.index = _GalleryIndex.build(g_pids, g_camids)
        self.ap = np.full(num_queries, np.nan)
        self.first = np.full(num_queries, -1, dtype=np.int64)

    def add(self, start: int, dist: Tensor, q_pids: np.ndarray, q_camids: np.ndarray) -> None:
        """Score queries start … start + len(dist) − 1 from their distance rows."""
        rows = max(1, _ROW_BUDGET // max(dist.shape[1], 1))
        for s in range(0, dist.shape[0], rows):
            e = min(s + rows, dist.shape[0])
            gal, present, is_match = self.index.same_pid_table(q_pids[s:e], q_camids[s:e])
            dev = dist.device
            pos, n_match = _match_positions(
                dist[s:e],
                torch.from_numpy(gal).to(dev),
                torch.from_numpy(present).to(dev),
                torch.from_numpy(is_match).to(dev),
            )
            pos_np = pos.cpu().numpy().astype(np.float64)
            n_np = n_match.cpu().numpy()
            valid = n_np > 0
            k = np.arange(pos_np.shape[1])
            prec = np.where(k[None, :] < n_np[:, None], (k + 1) / (pos_np + 1.0), 0.0)
            ap = prec.sum(axis=1) / np.maximum(n_np, 1)
            self.ap[start + s : start + e][valid] = ap[valid]
            if pos_np.shape[1]:
                self.first[start + s : start + e][valid] = pos_np[valid, 0].astype(np.int64)

    def result(self, max_rank: int) -> dict[str, Any]:
        valid = self.first >= 0
        n_valid = int(valid.sum())
        hits = np.bincount(np.minimum(self.first[valid], max_rank), minlength=max_rank + 1)
        cmc = np.cumsum(hits[:max_rank]).astype(np.float64) / max(n_valid, 1)
        m_ap = float(np.mean(self.ap[valid])) if n_valid else float("nan")
        return {"cmc": cmc, "mAP": m_ap, "num_valid_queries": n_valid, "all_AP": self.ap}


def _int_array(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x.cpu() if isinstance(x, Tensor) else x).reshape(-1)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got {arr.dtype}")
    return arr.astype(np.int64)


def _check_lengths(
    q: int,
    g: int,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
) -> None:
    if not (len(q_pids) == len(q_camids) == q and len(g_pids) == len(g_camids) == g):
        raise ValueError(
            f"shape mismatch: {q}×{g} distances, {len(q_pids)}/{len(q_camids)} query and "
            f"{len(g_pids)}/{len(g_camids)} gallery pids/camids"
        )


def evaluate(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 50,
) -> dict[str, Any]:
    """CMC (length `max_rank`), mAP (non-interpolated), number of valid queries, and per-query AP
    (`all_AP`, NaN for skipped queries) from a [Q, G] distance matrix (smaller = closer)."""
    q_pids, g_pids = _int_array(q_pids, "q_pids"), _int_array(g_pids, "g_pids")
    q_camids, g_camids = _int_array(q_camids, "q_camids"), _int_array(g_camids, "g_camids")
    dist_np = np.asarray(distmat.cpu() if isinstance(distmat, Tensor) else distmat)
    if dist_np.ndim != 2:
        raise ValueError(f"distmat must be 2-D, got shape {dist_np.shape}")
    _check_lengths(*dist_np.shape, q_pids, g_pids, q_camids, g_camids)
    dtype = np.float64 if dist_np.dtype == np.float64 else np.float32
    acc = _Accumulator(dist_np.shape[0], g_pids, g_camids)
    rows = max(1, _ROW_BUDGET // max(dist_np.shape[1], 1))
    for s in range(0, dist_np.shape[0], rows):
        block = np.ascontiguousarray(dist_np[s : s + rows], dtype=dtype)
        acc.add(s, torch.from_numpy(block), q_pids[s : s + rows], q_camids[s : s + rows])
    return acc.result(max_rank)


def evaluate_features(
    qf: Tensor | np.ndarray,
    gf: Tensor | np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    metric: Metric = "euclidean",
    max_rank: int = 50,
    chunk_size: int = 1024,
) -> dict[str, Any]:
    """`evaluate` on features, `chunk_size` queries at a time: the [Q, G] matrix is never held."""
    qf_t = torch.as_tensor(qf)
    gf_t = torch.as_tensor(gf)
    q_pids, g_pids = _int_array(q_pids, "q_pids"), _int_array(g_pids, "g_pids")
    q_camids, g_camids = _int_array(q_camids, "q_camids"), _int_array(g_camids, "g_camids")
    _check_lengths(qf_t.shape[0], gf_t.shape[0], q_pids, g_pids, q_camids, g_camids)
    acc = _Accumulator(qf_t.shape[0], g_pids, g_camids)
    with torch.inference_mode():
        for s in range(0, qf_t.shape[0], max(1, chunk_size)):
            e = s + max(1, chunk_size)
            dist = pairwise_distance(qf_t[s:e], gf_t, metric)
            acc.add(s, dist, q_pids[s:e], q_camids[s:e])
            del dist
    return acc.result(max_rank)
