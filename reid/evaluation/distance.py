"""Pairwise distances between query and gallery features."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Metric = Literal["euclidean", "cosine"]
_EPS = 1e-12


def pairwise_distance(a: Tensor, b: Tensor, metric: Metric = "euclidean") -> Tensor:
    """[Na, D] × [Nb, D] → [Na, Nb].

    "euclidean": squared euclidean distance (same ranking as euclidean), ‖a‖² + ‖b‖² − 2 a·b
    clamped at 0; "cosine": 1 − a·b / (‖a‖ ‖b‖). Neither copies `b` (the gallery) whole.
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected [Na, D] and [Nb, D], got {tuple(a.shape)}, {tuple(b.shape)}")
    if metric == "euclidean":
        dist = a @ b.T
        dist.mul_(-2.0)
        dist.add_(torch.linalg.vector_norm(a, dim=1).square().unsqueeze(1))
        dist.add_(torch.linalg.vector_norm(b, dim=1).square().unsqueeze(0))
        return dist.clamp_(min=0.0)
    if metric == "cosine":
        na = torch.linalg.vector_norm(a, dim=1).clamp(min=_EPS)
        nb = torch.linalg.vector_norm(b, dim=1).clamp(min=_EPS)
        dist = a @ b.T
        dist.div_(na.unsqueeze(1)).div_(nb.unsqueeze(0))
        return dist.neg_().add_(1.0)
    raise ValueError(f"metric {metric!r}: use 'euclidean' or 'cosine'")
