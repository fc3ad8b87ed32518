"""DKP (Xu, Zou, Peng & Zhou, CVPR'24) as its authors' code computes it.

Uncertainty losses of every step (`uncertainty_cross_entropy`, `set_triplet_loss`), the
per-identity distribution prototypes of the previous domain (`identity_statistics`), one noisy
prototype per old identity each iteration (`sample_prototypes`) and the prototype-relation
distillation (`prototype_affinity_kl`).
Source: zhoujiahuan1991/CVPR2024-DKP, `reid/trainer.py` (`Trainer.train`),
`reid/loss/loss_uncertrainty.py` (`TripletLoss_set`), `reid/utils/feature_tools.py`
(`extract_features_uncertain`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from reid.losses.precision import compute_dtype, cosine_matrix, full_precision


def prototype_affinity_kl(
    features: Tensor,
    prototypes: Tensor,
    relation_temperature: float = 0.1,
    affinity_temperature: float = 0.1,
    detach_target: bool = False,
) -> Tensor:
    """KL(A_r ‖ A_f) with batchmean reduction, the order of the authors' `KLDivLoss(log A_f, A_r)`.

    f [B, D]: the batch's mean features; q [P, D]: one sampled, normalised prototype per old
    identity. r = row-softmax(cos(f, q) / relation_temperature) [B, P];
    A_f = row-softmax(cos(f, f) / affinity_temperature); A_r = row-softmax(cos(r, r) /
    affinity_temperature); loss = (1/B) Σ_ij A_r,ij (log A_r,ij − log A_f,ij).
    Both sides carry gradient in the authors' code (`detach_target=False`); True makes A_r a
    constant. Computed in float32 with autocast off.
    """
    if features.dim() != 2 or prototypes.dim() != 2 or features.shape[1] != prototypes.shape[1]:
        raise ValueError(
            f"features [B, D] and prototypes [P, D] expected: {features.shape}, {prototypes.shape}"
        )
    with full_precision(features.device):
        dtype = compute_dtype(features, prototypes)
        f, q = features.to(dtype), prototypes.to(dtype)
        relation = F.softmax(cosine_matrix(f, q) / relation_temperature, dim=1)
        log_a_f = F.log_softmax(cosine_matrix(f, f) / affinity_temperature, dim=1)
        a_r = F.softmax(cosine_matrix(relation, relation) / affinity_temperature, dim=1)
        if detach_target:
            a_r = a_r.detach()
        return F.kl_div(log_a_f, a_r, reduction="batchmean")


def sample_prototypes(
    means: Tensor, stds: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """q_p = normalize(μ_p + ε_p ⊙ σ_p), ε ~ N(0, I): one noisy prototype per identity, unit norm.

    ε [P, D] is drawn on the generator's device (the global CPU generator when None, as the
    authors' `torch.randn(...)` is) and moved to `means`' device. Rows normalised by
    `F.normalize` (eps 1e-12). No gradient is meant to flow (statistics are constants).
    """
    if means.shape != stds.shape or means.dim() != 2:
        raise ValueError(f"means and stds must be equal [P, D]: {means.shape} vs {stds.shape}")
    dtype = compute_dtype(means, stds)
    device = generator.device if generator is not None else torch.device("cpu")
    noise = torch.randn(tuple(means.shape), generator=generator, dtype=dtype, device=device)
    with full_precision(means.device):
        noisy = noise.to(means.device) * stds.to(dtype) + means.to(dtype)
        return F.normalize(noisy, dim=1)


@dataclass(frozen=True)
class IdentityStatistics:
    """Per identity (pids sorted ascending): mean feature μ_p and standard deviation σ_p [P, D]."""

    pids: Tensor
    means: Tensor
    stds: Tensor


def identity_statistics(
    mean_features: Tensor, std_features: Tensor, pids: Tensor
) -> IdentityStatistics:
    """μ_p = (1/n_p) Σ_i m_i, σ_p = sqrt((1/n_p) Σ_i s_i² + (1/n_p) Σ_i m_i² − μ_p²) per dimension.

    m [N, D]: each image's (normalised) mean feature, s [N, D]: its predicted standard deviation,
    over the images i of identity p: the law of total variance with population moments, as the
    authors' `extract_features_uncertain` computes it. The spread term is evaluated as
    (1/n_p) Σ_i (m_i − μ_p)², which equals (1/n_p) Σ m_i² − μ_p² and cannot go negative.
    """
    if mean_features.shape != std_features.shape or mean_features.dim() != 2:
        raise ValueError(
            f"features must be equal [N, D]: {mean_features.shape}, {std_features.shape}"
        )
    if pids.numel() != mean_features.shape[0]:
        raise ValueError(f"{pids.numel()} pids for {mean_features.shape[0]} features")
    with full_precision(mean_features.device):
        dtype = compute_dtype(mean_features, std_features)
        m, s = mean_features.to(dtype), std_features.to(dtype)
        labels, index = torch.unique(pids.reshape(-1), sorted=True, return_inverse=True)
        counts = torch.zeros(len(labels), dtype=dtype, device=m.device)
        counts.index_add_(0, index, torch.ones_like(index, dtype=dtype))
        counts = counts.unsqueeze(1)
        means = torch.zeros(len(labels), m.shape[1], dtype=dtype, device=m.device)
        means.index_add_(0, index, m)
        means = means / counts
        spread = torch.zeros_like(means).index_add_(0, index, (m - means[index]) ** 2)
        variance = torch.zeros_like(means).index_add_(0, index, s**2)
        stds = torch.sqrt((variance + spread) / counts)
    return IdentityStatistics(pids=labels, means=means, stds=stds)


def uncertainty_cross_entropy(
    logits: Tensor, targets: Tensor, label_smoothing: float = 0.0
) -> Tensor:
    """(1/(1+n)) Σ_{s=0..n} CE(logits[:, s], y): logits [B, 1+n, C] of the mean (s = 0) and the n
    reparameterised samples, each CE a mean over the batch (the authors: no label smoothing;
    `label_smoothing` ε gives each CE the target (1 − ε)·onehot + ε/C)."""
    if logits.dim() != 3:
        raise ValueError(f"logits must be [B, 1+n, C], got {tuple(logits.shape)}")
    with full_precision(logits.device):
        z = logits.to(compute_dtype(logits))
        per_draw = [
            F.cross_entropy(z[:, s], targets, label_smoothing=label_smoothing)
            for s in range(z.shape[1])
        ]
        return torch.stack(per_draw).mean()


def set_triplet_loss(merged: Tensor, targets: Tensor, margin: float | None = None) -> Tensor:
    """DKP's "set triplet": batch-hard triplet from each sample to the batch's mean features.

    merged [B, 1+n, D]: index 0 the mean, 1..n the samples. Anchors a = the B·n samples (label of
    their image), candidates = the B means; d = sqrt(max(‖a‖² + ‖m‖² − 2 a·m, 1e-12));
    d_ap = max over means of the same pid (own mean included), d_an = min over other pids' means;
    loss = mean over anchors of log(1 + exp(d_ap − d_an)) (soft margin, `margin=None`, the
    authors' default) or max(0, d_ap − d_an + margin).
    """
    if merged.dim() != 3 or merged.shape[1] < 2:
        raise ValueError(f"merged must be [B, 1+n, D] with n ≥ 1, got {tuple(merged.shape)}")
    batch, draws = merged.shape[0], merged.shape[1] - 1
    with full_precision(merged.device):
        x = merged.to(compute_dtype(merged))
        means, samples = x[:, 0], x[:, 1:].reshape(batch * draws, -1)
        labels = targets.reshape(-1)
        anchor_labels = labels.repeat_interleave(draws)
        squared = (
            samples.pow(2).sum(1, keepdim=True)
            + means.pow(2).sum(1).unsqueeze(0)
            - 2 * samples @ means.t()
        )
        dist = squared.clamp(min=1e-12).sqrt()
        positive = anchor_labels.unsqueeze(1) == labels.unsqueeze(0)
        if merged.device.type != "meta" and bool(positive.all()):
            raise ValueError("set_triplet_loss needs at least two identities in the batch")
        d_ap = dist.masked_fill(~positive, float("-inf")).max(dim=1).values
        d_an = dist.masked_fill(positive, float("inf")).min(dim=1).values
        if margin is None:
            return F.softplus(d_ap - d_an).mean()
        return F.relu(d_ap - d_an + margin).mean()
