"""Batch-hard triplet loss (Hermans et al. 2017) as the LReID codes compute it.

Distances are Euclidean (the square root of the squared distance clamped at 1e-12, so equal
features are 1e-6 apart) on the features, L2-normalised first with `normalize`. For each anchor
the hardest positive is the farthest image of its identity (the anchor itself included, so an
anchor alone with its identity has d_ap = 1e-6) and the hardest negative the nearest image of
another identity; the loss is max(0, d_ap − d_an + margin) (hinge) or, with `margin=None`,
log(1 + exp(d_ap − d_an)) (soft margin), averaged over the anchors. An anchor with no negative
in the batch contributes 0. Computed in float32 (float64 kept) with autocast off: under bf16
autocast the matrix product would otherwise be rounded to bf16.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from reid.losses.precision import compute_dtype, full_precision

DIST_EPS = 1e-12


def euclidean_distances(x: Tensor) -> Tensor:
    """[N, N] Euclidean distances, sqrt(clamp(‖a‖² + ‖b‖² − 2 a·b, 1e-12))."""
    squared = x.pow(2).sum(dim=1, keepdim=True)
    dist = squared + squared.t() - 2.0 * (x @ x.t())
    return dist.clamp(min=DIST_EPS).sqrt()


def hardest_pairs(dist: Tensor, pids: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per anchor the farthest positive and nearest negative distance, and whether it has a
    negative at all."""
    same = pids.view(-1, 1) == pids.view(1, -1)
    d_ap = dist.masked_fill(~same, float("-inf")).amax(dim=1)
    has_negative = (~same).any(dim=1)
    d_an = dist.masked_fill(same, float("inf")).amin(dim=1)
    d_an = torch.where(has_negative, d_an, d_ap)  # keeps inf out of the graph
    return d_ap, d_an, has_negative


def batch_hard_triplet(
    features: Tensor, pids: Tensor, margin: float | None = 0.3, normalize: bool = False
) -> Tensor:
    """Mean over anchors of the batch-hard triplet loss (hinge with `margin`, soft margin when
    `margin` is None) on Euclidean distances of (optionally L2-normalised) features."""
    if features.dim() != 2 or features.shape[0] != pids.shape[0]:
        raise ValueError(
            f"features must be [N, D] with one pid per row, got {tuple(features.shape)} and "
            f"{tuple(pids.shape)} pids"
        )
    with full_precision(features.device):
        x = features.to(compute_dtype(features))
        if normalize:
            x = F.normalize(x, dim=1)
        d_ap, d_an, has_negative = hardest_pairs(euclidean_distances(x), pids)
        gap = d_ap - d_an
        per_anchor = F.softplus(gap) if margin is None else F.relu(gap + float(margin))
        return torch.where(has_negative, per_anchor, torch.zeros_like(per_anchor)).mean()
