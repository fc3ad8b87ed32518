"""Covariance loss (paper §3.4, eq. 1–2) and the couple mask that picks its inputs.

For couple k (positive pair P_k, P'_k; negative pair N_k, N'_k) of the batch, on spatially
average-pooled block-2 features (C values): d_k = (P'_k − P_k) − (N'_k − N_k).

`couples="summed"` (default; eq. (1) as printed, and the authors' code, which accumulates the
couples' differences before the outer product):
    A = λ(α Σ_k d_k − β)   (a C-vector; β subtracted once, from every channel)
    X = A Aᵀ,  loss = Σ_ij X[i, j] = (Σ_i A_i)² = λ² (α Σ_i Σ_k d_k,i − C β)².
`couples="separate"` (the suite's earlier reading: one matrix per couple):
    A_k = λ(α d_k − β),  loss = Σ_k Σ_ij (A_k A_kᵀ)[i, j] = Σ_k (Σ_i A_k,i)².
Both are λ² times a square (λ enters A, and X is A's outer product). docs/method.md, section
"Covariance loss", gives the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from reid.errors import ConfigError

Variant = Literal["paper", "detached", "off"]
CoupleSum = Literal["summed", "separate"]
COUPLE_SUMS = ("summed", "separate")


def _pool(x: Tensor) -> Tensor:
    """[K, C, H, W] → [K, C] by spatial mean; [K, C] unchanged. Half precision becomes float32:
    under fp16 autocast α·d (α = 1e-9) would underflow to zero before the sum."""
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    if x.dim() == 4:
        return x.mean(dim=(2, 3))
    if x.dim() != 2:
        raise ValueError(f"expected [K, C] or [K, C, H, W], got shape {tuple(x.shape)}")
    return x


def _scaled_difference(
    pos_a: Tensor,
    pos_b: Tensor,
    neg_a: Tensor,
    neg_b: Tensor,
    lam: float,
    alpha: float,
    beta: float,
    couples: CoupleSum,
) -> Tensor:
    """A as [1, C] (`summed`: Σ_k inside) or one row A_k per couple ([K, C], `separate`)."""
    if couples not in COUPLE_SUMS:
        raise ConfigError(f"covariance couples {couples!r}: use one of {COUPLE_SUMS}")
    d = (_pool(pos_b) - _pool(pos_a)) - (_pool(neg_b) - _pool(neg_a))
    if couples == "summed":
        d = d.sum(dim=0, keepdim=True)
    return lam * (alpha * d - beta)


def covariance_loss(
    pos_a: Tensor,
    pos_b: Tensor,
    neg_a: Tensor,
    neg_b: Tensor,
    lam: float = 1.0,
    alpha: float = 1e-9,
    beta: float = 0.0,
    couples: CoupleSum = "summed",
) -> Tensor:
    """Σ_ij (A Aᵀ)[i, j] (per couple and summed with `separate`), computed as (Σ_i A_i)²
    without C×C matrices.

    Arguments are [K, C] or [K, C, H, W]; K = 0 (no couple) gives a zero that still supports
    backward.
    """
    if pos_a.shape[0] == 0:
        return _pool(pos_a).sum() * 0.0
    a = _scaled_difference(pos_a, pos_b, neg_a, neg_b, lam, alpha, beta, couples)
    return a.sum(dim=1).pow(2).sum()


def explicit_covariance_loss(
    pos_a: Tensor,
    pos_b: Tensor,
    neg_a: Tensor,
    neg_b: Tensor,
    lam: float = 1.0,
    alpha: float = 1e-9,
    beta: float = 0.0,
    couples: CoupleSum = "summed",
) -> Tensor:
    """Same value as `covariance_loss`, built literally with the C×C matrices (reference)."""
    if pos_a.shape[0] == 0:
        return _pool(pos_a).sum() * 0.0
    a = _scaled_difference(pos_a, pos_b, neg_a, neg_b, lam, alpha, beta, couples)
    return (a.unsqueeze(2) * a.unsqueeze(1)).sum()


@dataclass
class Couples:
    """Batch indices of K couples: positive pairs (pos_a, pos_b), negative pairs (neg_a, neg_b)."""

    pos_a: Tensor
    pos_b: Tensor
    neg_a: Tensor
    neg_b: Tensor

    def __len__(self) -> int:
        return int(self.pos_a.numel())


def select_couples(pids: Tensor, camids: Tensor) -> Couples:
    """The couple mask, one couple per pid with at least two images in the batch.

    For each pid in order of first appearance: P = its first image; P' = its first image from
    another camera, else its second image; N = P (the anchor); N' = first image of the next
    different pid in order of first appearance, cyclically. No couple → K = 0.
    """
    pid_list = [int(p) for p in pids.reshape(-1).tolist()]
    cam_list = [int(c) for c in camids.reshape(-1).tolist()]
    if len(pid_list) != len(cam_list):
        raise ValueError(f"pids ({len(pid_list)}) and camids ({len(cam_list)}) differ in length")
    members: dict[int, list[int]] = {}
    for i, p in enumerate(pid_list):
        members.setdefault(p, []).append(i)
    order = list(members)
    rows: list[tuple[int, int, int, int]] = []
    if len(order) >= 2:
        for n, pid in enumerate(order):
            idx = members[pid]
            if len(idx) < 2:
                continue
            anchor = idx[0]
            other_cam = [i for i in idx[1:] if cam_list[i] != cam_list[anchor]]
            positive = other_cam[0] if other_cam else idx[1]
            negative = members[order[(n + 1) % len(order)]][0]
            rows.append((anchor, positive, anchor, negative))
    table = torch.tensor(rows, dtype=torch.int64, device=pids.device).reshape(-1, 4)
    return Couples(table[:, 0], table[:, 1], table[:, 2], table[:, 3])


class CovarianceTerm:
    """The covariance loss summed over every given block-2 map (one per pipeline).

    variant "paper": gradient flows into the features; "detached": computed on detached
    features, so it sends no gradient (the authors' code); "off": always 0. `couples`: see
    `covariance_loss`.
    """

    def __init__(
        self,
        variant: Variant = "paper",
        lam: float = 1.0,
        alpha: float = 1e-9,
        beta: float = 0.0,
        couples: CoupleSum = "summed",
    ) -> None:
        if variant not in ("paper", "detached", "off"):
            raise ConfigError(f"covariance variant {variant!r}: use 'paper', 'detached' or 'off'")
        if couples not in COUPLE_SUMS:
            raise ConfigError(f"covariance couples {couples!r}: use one of {COUPLE_SUMS}")
        self.variant, self.couples = variant, couples
        self.lam, self.alpha, self.beta = float(lam), float(alpha), float(beta)

    def __call__(
        self, block2_maps: Sequence[Tensor], pids: Tensor, camids: Tensor
    ) -> tuple[Tensor, int]:
        """Return (loss, number of couples)."""
        device = block2_maps[0].device if block2_maps else pids.device
        zero = torch.zeros((), device=device)
        if self.variant == "off" or not block2_maps:
            return zero, 0
        c = select_couples(pids, camids)
        if len(c) == 0:
            return zero, 0
        total = zero
        for fmap in block2_maps:
            feats = _pool(fmap.detach() if self.variant == "detached" else fmap)
            idx = [t.to(feats.device) for t in (c.pos_a, c.pos_b, c.neg_a, c.neg_b)]
            pa, pb, na, nb = (feats[i] for i in idx)
            total = total + covariance_loss(
                pa, pb, na, nb, self.lam, self.alpha, self.beta, self.couples
            )
        return total, len(c)
