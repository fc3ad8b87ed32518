"""PatchKD (Sun & Mu, ACM MM'22) as its authors' code computes it.

Logit distillation on the old heads (kd), patch-logit distillation (pd), the confidence term on
the old model's patch logits (conf), relation distillation between patch features (rd) and the
diversity among an image's patches (div). Weights in the authors' code: kd 1, pd 0.1, rd 100,
div 0.5, conf 1, T = 2.
Source: feifeiobama/PatchKD, `pkd/losses/kd_loss.py` (`loss_fn_kd`, `loss_fn_rd`,
`loss_fn_div`, `pdist`) and `pkd/operation/train_p_s.py` (`train_p_s_an_epoch`).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from reid.losses.precision import compute_dtype, full_precision

SoftmaxOver = Literal["all", "old"]


def logit_distillation(
    new_logits: Tensor,
    old_logits: Tensor,
    temperature: float = 2.0,
    softmax_over: SoftmaxOver = "all",
) -> Tensor:
    """T² · (1/B) Σ_b −Σ_c p_bc log q_bc with p = softmax(old / T) (detached).

    `new_logits` [B, C_new] are the new model's heads concatenated (old heads first, the current
    step's last), `old_logits` [B, C_old] the old model's, C_old ≤ C_new. "all" (the authors'
    `loss_fn_kd`): q = softmax(new / T) over all C_new columns and p zero-padded to C_new, so the
    new step's logits enter the normaliser; "old": q over the first C_old columns only (LwF on the
    old heads).
    """
    if new_logits.dim() != 2 or old_logits.dim() != 2 or len(new_logits) != len(old_logits):
        raise ValueError(f"logits must be [B, C]: {new_logits.shape} vs {old_logits.shape}")
    old_width = old_logits.shape[1]
    if old_width > new_logits.shape[1]:
        raise ValueError(f"old logits have {old_width} columns, new only {new_logits.shape[1]}")
    if softmax_over not in ("all", "old"):
        raise ValueError(f"softmax_over={softmax_over!r}: use 'all' or 'old'")
    with full_precision(new_logits.device):
        dtype = compute_dtype(new_logits, old_logits)
        z = new_logits.to(dtype)
        if softmax_over == "old":
            z = z[:, :old_width]
        log_q = F.log_softmax(z / temperature, dim=1)[:, :old_width]
        p = F.softmax(old_logits.detach().to(dtype) / temperature, dim=1)
        return -(p * log_q).sum(dim=1).mean() * temperature**2


def patch_logit_distillation(
    patch_logits: Tensor,
    old_patch_logits: Tensor,
    temperature: float = 2.0,
    softmax_over: SoftmaxOver = "all",
) -> Tensor:
    """pd: `logit_distillation` on patches. `patch_logits` [B·K, C_new]: the new model's patch
    heads on the patches picked with the detached selection; `old_patch_logits` [B·K, C_old]: the
    old model's global heads on the old model's patches (target, detached)."""
    return logit_distillation(patch_logits, old_patch_logits, temperature, softmax_over)


def patch_confidence(old_patch_logits: Tensor, temperature: float = 2.0) -> Tensor:
    """conf: T² · (1/N) Σ_n H(softmax(z_n / T)), the entropy of the old model's patch logits.

    Gradient flows through both the probabilities and the log-probabilities (the authors call
    `loss_fn_kd(z, z)`); the old model is frozen, so it reaches only the patch selection.
    """
    with full_precision(old_patch_logits.device):
        z = old_patch_logits.to(compute_dtype(old_patch_logits)) / temperature
        p, log_p = F.softmax(z, dim=1), F.log_softmax(z, dim=1)
        return -(p * log_p).sum(dim=1).mean() * temperature**2


def pairwise_distances(e: Tensor, eps: float = 1e-12) -> Tensor:
    """[..., N, C] → [..., N, N]: sqrt(max(‖e_i‖² + ‖e_j‖² − 2 e_i·e_j, eps)), diagonal set to 0."""
    square = e.pow(2).sum(dim=-1)
    gram = e @ e.transpose(-1, -2)
    dist = (square.unsqueeze(-2) + square.unsqueeze(-1) - 2 * gram).clamp(min=eps).sqrt()
    eye = torch.eye(e.shape[-2], dtype=torch.bool, device=e.device)
    return dist.masked_fill(eye, 0.0)


def _mean_normalised(dist: Tensor) -> Tensor:
    """dist / mean(dist[dist > 0]), written without a data-dependent shape (meta-device safe)."""
    positive = (dist > 0).to(dist.dtype)
    return dist / ((dist * positive).sum() / positive.sum())


def relation_distillation(student: Tensor, teacher: Tensor) -> Tensor:
    """Smooth-L1 (β = 1, mean over all G·N·N entries) between mean-normalised distance matrices.

    student, teacher [G, N, C]: D = `pairwise_distances` per group; each D is divided by the
    mean of its entries > 0 taken over all groups together; the zero diagonals stay in the mean.
    Nothing is detached (the authors' teacher side carries the patch selection's gradient).
    """
    if student.shape != teacher.shape or student.dim() != 3:
        raise ValueError(
            f"student and teacher must be equal [G, N, C]: {student.shape}, {teacher.shape}"
        )
    with full_precision(student.device):
        dtype = compute_dtype(student, teacher)
        d_t = _mean_normalised(pairwise_distances(teacher.to(dtype)))
        d_s = _mean_normalised(pairwise_distances(student.to(dtype)))
        return F.smooth_l1_loss(d_s, d_t, reduction="mean")


def patch_relation_distillation(patches: Tensor, old_patches: Tensor) -> Tensor:
    """rd: `relation_distillation` within each image (over its K patches, [B, K, C]) plus across
    the batch for each patch slot ([K, B, C]). `patches` from the new model's map with the
    detached selection, `old_patches` from the old model's map with the selection's gradient."""
    within = relation_distillation(patches, old_patches)
    across = relation_distillation(patches.transpose(0, 1), old_patches.transpose(0, 1))
    return within + across


def patch_diversity(patch_features: Tensor, num_patches: int) -> Tensor:
    """div: (1/B) Σ_b (Σ_jk M_bjk − K) / (K(K − 1)), M_b = F_b F_bᵀ of the L2-normalised patches.

    `patch_features` [B·K, C] (image-major, as the authors flatten) or [B, K, C]. With non-zero
    rows (unit diagonal) this is the mean cosine between two different patches of an image.
    """
    k = int(num_patches)
    if k < 2:
        raise ValueError(f"patch diversity needs at least 2 patches per image, got {k}")
    with full_precision(patch_features.device):
        x = patch_features.to(compute_dtype(patch_features))
        x = F.normalize(x.reshape(-1, x.shape[-1]), dim=1).reshape(-1, k, x.shape[-1])
        gram = x @ x.transpose(1, 2)
        return (gram.sum(dim=(1, 2)) - k).mean() / (k * (k - 1))
