"""LSTKC (Xu, Zou & Zhou, AAAI'24) as its authors' code computes it.

Short term (every iteration of a step t ≥ 1): rectified affinity distillation
(`rectified_affinity_kl`). Long term (after each step): the fusion weight α (`fusion_weight`) and
the weight-space fusion θ = α θ_new + (1 − α) θ_old (`fuse_state_dicts`).
Source: zhoujiahuan1991/AAAI2024-LSTKC, `reid/trainer.py` (`get_attri`, `cal_KL`) and
`continual_train.py` (`get_adaptive_alpha`, `linear_combination`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from reid.losses.precision import compute_dtype, cosine_matrix, full_precision


@dataclass(frozen=True)
class RankingAttributes:
    """Per pair (i, j) of one affinity matrix, as 0/1 float masks, and per row the two thresholds.

    hardest_negative[i] = max_j (1 − G_ij) A_ij (0 when row i has no negative);
    lowest_positive[i] = min_j ((1 − G_ij) + A_ij + δ_ij) = the lowest affinity among the row's
    other positives (> 1 when it has none: the diagonal and negatives are lifted by 1).
    tp = [positive and A_ij > hardest_negative[i]] ∨ diagonal; fn = G − tp;
    fp = [negative and A_ij > lowest_positive[i]]; tn = (1 − G) − fp. Ties are not TP / not FP.
    """

    tp: Tensor
    fn: Tensor
    fp: Tensor
    tn: Tensor
    hardest_negative: Tensor
    lowest_positive: Tensor


def same_pid_matrix(pids: Tensor, dtype: torch.dtype) -> Tensor:
    """G[i, j] = 1 when pids[i] == pids[j] (diagonal included), as `dtype`."""
    flat = pids.reshape(-1)
    return (flat.reshape(-1, 1) == flat.reshape(1, -1)).to(dtype)


def ranking_attributes(affinity: Tensor, same_pid: Tensor) -> RankingAttributes:
    """TP/FN/FP/TN of one row-normalised affinity matrix against the identity matrix G (margin 0).

    Gradient flows from `affinity` into the two thresholds (max / min pick one entry each).
    """
    eye = torch.eye(affinity.shape[0], dtype=affinity.dtype, device=affinity.device)
    negative = 1 - same_pid
    hardest_negative = (negative * affinity).max(dim=1, keepdim=True).values
    tp = ((same_pid * affinity - hardest_negative) > 0).to(affinity.dtype)
    tp = torch.maximum(tp, eye)
    lifted = negative + affinity + eye
    lowest_positive = lifted.min(dim=1, keepdim=True).values
    fp = ((negative * affinity) > lowest_positive).to(affinity.dtype)
    return RankingAttributes(
        tp=tp,
        fn=same_pid - tp,
        fp=fp,
        tn=negative - fp,
        hardest_negative=hardest_negative,
        lowest_positive=lowest_positive,
    )


def rectified_target(new_affinity: Tensor, old_affinity: Tensor, pids: Tensor) -> Tensor:
    """LSTKC's rectified target, rows renormalised to sum 1.

    T = A_old·(TP_old + TN_old) + A_new·(TP_new + TN_new)·(FN_old + FP_old)
        + FN_new·FN_old·max(hn_new, hn_old) + FP_new·FP_old·min(lp_new, lp_old),
    T ← T / Σ_j T_ij, with hn = hardest negative and lp = lowest positive of each row
    (`ranking_attributes`). Nothing is detached: A_new reaches T through the second term, the
    thresholds and the renormalisation, as in the authors' code.
    """
    same_pid = same_pid_matrix(pids, new_affinity.dtype).to(new_affinity.device)
    new = ranking_attributes(new_affinity, same_pid)
    old = ranking_attributes(old_affinity, same_pid)
    old_right = old.tp + old.tn
    only_new_right = (new.tp + new.tn) * (old.fn + old.fp)
    both_miss_positive = new.fn * old.fn
    both_rank_negative_high = new.fp * old.fp
    target = (
        old_affinity * old_right
        + new_affinity * only_new_right
        + both_miss_positive * torch.maximum(new.hardest_negative, old.hardest_negative)
        + both_rank_negative_high * torch.minimum(new.lowest_positive, old.lowest_positive)
    )
    return target / target.sum(dim=1, keepdim=True)


def rectified_affinity_kl(
    new: Tensor,
    old: Tensor,
    pids: Tensor,
    temperature: float = 0.1,
    detach_target: bool = False,
) -> Tensor:
    """KL(T ‖ A_new) with batchmean reduction: (1/B) Σ_ij T_ij (log T_ij − log A_new,ij).

    A = row-softmax(cos(f, f) / temperature) for the learner's features `new` [B, D] and the frozen
    old model's features `old` [B, D] (detached here); T = `rectified_target(A_new, A_old, pids)`.
    `detach_target=False` is the authors' code (gradient also through the target); True is the
    corrected reading (the target is a constant). Computed in float32 with autocast off.
    """
    if new.shape != old.shape or new.dim() != 2:
        raise ValueError(f"new and old features must be equal [B, D]: {new.shape} vs {old.shape}")
    if pids.numel() != new.shape[0]:
        raise ValueError(f"{pids.numel()} pids for a batch of {new.shape[0]} features")
    with full_precision(new.device):
        dtype = compute_dtype(new, old)
        f_new, f_old = new.to(dtype), old.detach().to(dtype)
        logits_new = cosine_matrix(f_new, f_new) / temperature
        a_new = F.softmax(logits_new, dim=1)
        a_old = F.softmax(cosine_matrix(f_old, f_old) / temperature, dim=1)
        target = rectified_target(a_new, a_old, pids)
        if detach_target:
            target = target.detach()
        return F.kl_div(F.log_softmax(logits_new, dim=1), target, reduction="batchmean")


@torch.no_grad()
def fusion_weight(
    new_features: Tensor,
    old_features: Tensor,
    scale: float = 100.0,
    block_rows: int = 2048,
    clamp: bool = False,
) -> float:
    """α = 1 − (1/N) Σ_i Σ_j |A_new,ij − A_old,ij|, A = row-softmax(scale · cos(F, F)) over N rows.

    `new_features` / `old_features` [N, D]: the new domain's training features from the trained
    and the step-start model. Rows are processed `block_rows` at a time (same value, memory
    block_rows × N). Σ_j |ΔA| ∈ [0, 2], so α ∈ [−1, 1]; the authors do not clamp (`clamp=False`);
    `clamp=True` clamps α to [0, 1].
    """
    if new_features.shape != old_features.shape or new_features.dim() != 2:
        raise ValueError(f"feature shapes differ: {new_features.shape} vs {old_features.shape}")
    n = new_features.shape[0]
    if n == 0:
        raise ValueError("fusion_weight needs at least one feature")
    with full_precision(new_features.device):
        dtype = compute_dtype(new_features, old_features)
        f_new = F.normalize(new_features.to(dtype), dim=1)
        f_old = F.normalize(old_features.to(dtype), dim=1)
        total = torch.zeros((), dtype=torch.float64, device=new_features.device)
        for start in range(0, n, max(1, int(block_rows))):
            stop = min(n, start + max(1, int(block_rows)))
            a_new = F.softmax(f_new[start:stop] @ f_new.t() * scale, dim=1)
            a_old = F.softmax(f_old[start:stop] @ f_old.t() * scale, dim=1)
            total += (a_new - a_old).abs().sum(dim=1).to(torch.float64).sum()
    alpha = 1.0 - float(total) / n
    return min(1.0, max(0.0, alpha)) if clamp else alpha


def _fuse_tensor(new: Tensor, old: Tensor, alpha: float, integers: str) -> Tensor:
    if new.is_floating_point():
        return alpha * new + (1 - alpha) * old.to(new.dtype)
    if integers == "new":
        return new.clone()
    mixed = alpha * new.to(torch.float64) + (1 - alpha) * old.to(torch.float64)
    return mixed.to(new.dtype)  # truncation toward zero, as load_state_dict's copy does


def fuse_state_dicts(
    new: Mapping[str, Tensor],
    old: Mapping[str, Tensor],
    alpha: float,
    integers: Literal["fuse", "new"] = "fuse",
) -> dict[str, Tensor]:
    """θ = α θ_new + (1 − α) θ_old for every entry of `new` (parameters and buffers).

    An entry whose first dimension grew (a classifier with the new step's identities: `old` has
    fewer rows, other dimensions equal) has its first rows fused and its later rows copied from
    `new` unchanged. Integer entries (BN `num_batches_tracked`): "fuse" mixes them and truncates
    toward zero (the authors' code); "new" keeps the new value. Inputs are not modified.
    """
    if integers not in ("fuse", "new"):
        raise ValueError(f"integers={integers!r}: use 'fuse' or 'new'")
    fused: dict[str, Tensor] = {}
    for key, value in new.items():
        if key not in old:
            raise ValueError(f"state entry {key!r} is missing from the old model's state")
        before = old[key]
        if before.shape == value.shape:
            fused[key] = _fuse_tensor(value, before, alpha, integers)
            continue
        grown = (
            value.dim() == before.dim()
            and value.dim() > 0
            and value.shape[1:] == before.shape[1:]
            and value.shape[0] > before.shape[0]
        )
        if not grown:
            raise ValueError(
                f"state entry {key!r}: new shape {tuple(value.shape)} is not the old shape "
                f"{tuple(before.shape)} grown along its first dimension"
            )
        rows = before.shape[0]
        out = value.clone()
        out[:rows] = _fuse_tensor(value[:rows], before, alpha, integers)
        fused[key] = out
    return fused
