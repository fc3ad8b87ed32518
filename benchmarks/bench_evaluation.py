"""Target 1: `reid.evaluation.evaluate` at Market-1501 scale vs `numpy.argsort` of the same matrix.

Market-like labels: 3,368 queries of 750 ids; 15,913 gallery items = ~13,100 of 751 ids over
6 cameras (~17 per id) + 2,800 distractors (pid 0), no junk. Distances are float32 squared
euclidean distances of random 64-d features with an identity signal, so the metrics are neither
0 nor 1. Both sides are timed back to back, best of N, in this process.

Target: evaluate time <= 0.5 x argsort time; CMC and mAP equal to an argsort-based reference
to 1e-6.

    .venv/bin/python benchmarks/bench_evaluation.py [--repeat 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from common import best_of, result_line  # benchmarks/ is on sys.path

TARGET_RATIO = 0.5
TOL = 1e-6


def market_like(seed: int = 0, dim: int = 64) -> dict[str, np.ndarray]:
    """Labels and a float32 distance matrix shaped like Market-1501's test split."""
    rng = np.random.default_rng(seed)
    num_q, num_g, num_ids, num_distractors = 3368, 15913, 751, 2800
    g_real = num_g - num_distractors
    g_pids = np.concatenate(
        [
            rng.permutation(np.arange(1, num_ids + 1).repeat(-(-g_real // num_ids)))[:g_real],
            np.zeros(num_distractors, dtype=np.int64),
        ]
    )
    g_pids[:num_ids] = np.arange(1, num_ids + 1)  # every id present in the gallery
    g_camids = rng.integers(1, 7, num_g)
    q_pids = rng.permutation(np.arange(1, num_ids).repeat(-(-num_q // (num_ids - 1))))[:num_q]
    q_camids = rng.integers(1, 7, num_q)
    centres = rng.standard_normal((num_ids + 1, dim)).astype(np.float32)
    qf = centres[q_pids] + 1.3 * rng.standard_normal((num_q, dim)).astype(np.float32)
    gf = centres[g_pids] + 1.3 * rng.standard_normal((num_g, dim)).astype(np.float32)
    gf[g_pids == 0] = 1.6 * rng.standard_normal((num_distractors, dim)).astype(np.float32)
    dist = (qf**2).sum(1)[:, None] + (gf**2).sum(1)[None, :] - 2.0 * qf @ gf.T
    np.maximum(dist, 0.0, out=dist)
    return {
        "distmat": np.ascontiguousarray(dist, dtype=np.float32),
        "q_pids": q_pids.astype(np.int64),
        "g_pids": g_pids.astype(np.int64),
        "q_camids": q_camids.astype(np.int64),
        "g_camids": g_camids.astype(np.int64),
    }


def reference_evaluate(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=50, block=256):
    """Plain argsort protocol: per query sort the whole row (removed items last), read the ranks
    of the matches. Ties: a non-match at a match's distance ranks first (as `evaluate`), done by
    sorting on the key (float bits << 1 | is_match); distances must be >= 0."""
    dist = np.asarray(distmat, dtype=np.float32)
    if (dist < 0).any():
        raise ValueError("reference needs non-negative distances")
    bits = dist.view(np.int32).astype(np.int64)
    num_q = dist.shape[0]
    cmc_hits = np.zeros(max_rank, dtype=np.float64)
    aps = []
    for s in range(0, num_q, block):
        e = min(s + block, num_q)
        same_pid = g_pids[None, :] == q_pids[s:e, None]
        removed = same_pid & (g_camids[None, :] == q_camids[s:e, None])
        match = same_pid & ~removed
        key = (bits[s:e] << 1) | match
        key[removed] = np.iinfo(np.int64).max
        order = np.argsort(key, axis=1, kind="stable")
        hits = np.take_along_axis(match, order, axis=1)
        n_match = hits.sum(axis=1)
        for row, n in zip(hits, n_match, strict=True):
            if n == 0:
                continue
            pos = np.flatnonzero(row)  # 0-based ranks of the matches among valid items
            aps.append(float(np.mean(np.arange(1, n + 1) / (pos + 1.0))))
            first = pos[0]
            if first < max_rank:
                cmc_hits[first:] += 1
    n_valid = len(aps)
    return {"cmc": cmc_hits / max(n_valid, 1), "mAP": float(np.mean(aps)), "num_valid": n_valid}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args(argv)

    import torch

    from reid.evaluation import evaluate

    if args.threads:
        torch.set_num_threads(args.threads)
    data = market_like()
    dist = data["distmat"]
    labels = (data["q_pids"], data["g_pids"], data["q_camids"], data["g_camids"])
    print(
        f"distance matrix {dist.shape[0]} x {dist.shape[1]} float32, "
        f"{(data['g_pids'] == 0).sum()} distractors, torch threads {torch.get_num_threads()}"
    )

    # Interleave the two sides so a burst of load from elsewhere hits both alike.
    t_sort, t_eval = float("inf"), float("inf")
    res = None
    for _ in range(max(1, args.repeat)):
        t, _ = best_of(lambda: np.argsort(dist, axis=1), 1)
        t_sort = min(t_sort, t)
        t, res = best_of(lambda: evaluate(dist, *labels), 1)
        t_eval = min(t_eval, t)
    t_ref, ref = best_of(lambda: reference_evaluate(dist, *labels), 1)

    cmc_err = float(np.max(np.abs(res["cmc"] - ref["cmc"])))
    map_err = abs(res["mAP"] - ref["mAP"])
    same = cmc_err <= TOL and map_err <= TOL and res["num_valid_queries"] == ref["num_valid"]
    ratio = t_eval / t_sort
    print(f"numpy.argsort(axis=1)      best {t_sort:.3f} s")
    print(f"reid.evaluation.evaluate   best {t_eval:.3f} s")
    print(f"argsort reference          {t_ref:.3f} s (once)")
    print(
        f"R1 {res['cmc'][0]:.4f} R5 {res['cmc'][4]:.4f} mAP {res['mAP']:.4f} "
        f"valid queries {res['num_valid_queries']}"
    )
    print(f"max |CMC - ref| {cmc_err:.2e}, |mAP - ref| {map_err:.2e}")
    print(
        result_line(
            "evaluation_time_over_argsort", ratio, f"<= {TARGET_RATIO}", ratio <= TARGET_RATIO
        )
    )
    print(
        result_line(
            "evaluation_max_abs_error_vs_reference", max(cmc_err, map_err), f"<= {TOL:g}", same
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
