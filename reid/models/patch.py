"""PatchKD's patch sampler (feifeiobama/PatchKD, `pkd/models/patch_net.py`, and
`generate_patch_features` in `pkd/operation/train_p_s.py`).

Scorer: Conv1×1(C → hidden, bias) → BN → ReLU → Conv1×1(hidden → K); each of the K score maps is
flattened over the h·w positions and a hard Gumbel-softmax (τ = 1) picks one position per map,
straight-through: the forward value is one-hot, the gradient that of the soft sample. Maps choose
independently (two may pick the same position). The authors feed it the detached layer-4 map.
Plain module, no registration: input a feature map, output named tensors.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid.losses.precision import compute_dtype, full_precision


class PatchSelection(NamedTuple):
    """weights [B, K, H, W]: one-hot over positions per (image, patch), straight-through;
    scores [B, K, H, W]: the scorer's logits."""

    weights: Tensor
    scores: Tensor


def hard_gumbel_softmax(
    logits: Tensor, tau: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """One-hot of argmax((logits + g) / τ) over the last dim, g = −log(Exp(1)), with the gradient
    of y_soft = softmax((logits + g) / τ) (y_hard − y_soft.detach() + y_soft). With
    `generator=None` it draws like `F.gumbel_softmax(hard=True)` from the global generator."""
    with full_precision(logits.device):
        z = logits.to(compute_dtype(logits))
        if generator is None:
            exp = torch.empty_like(z).exponential_()
        else:
            exp = torch.empty(z.shape, dtype=z.dtype, device=generator.device)
            exp = exp.exponential_(generator=generator).to(z.device)
        y_soft = F.softmax((z - exp.log()) / tau, dim=-1)
        index = y_soft.max(dim=-1, keepdim=True)[1]
        y_hard = torch.zeros_like(y_soft).scatter_(-1, index, 1.0)
        return y_hard - y_soft.detach() + y_soft


class PatchSampler(nn.Module):
    """K patch maps over a [B, C, H, W] feature map, each a hard Gumbel-softmax over positions."""

    def __init__(
        self,
        in_channels: int = 2048,
        hidden_channels: int = 4096,
        num_patches: int = 3,
        tau: float = 1.0,
    ) -> None:
        super().__init__()
        if num_patches < 1:
            raise ValueError(f"num_patches must be ≥ 1, got {num_patches}")
        self.num_patches = int(num_patches)
        self.tau = float(tau)
        self.scorer = nn.Sequential(
            nn.Conv2d(in_channels, hidden_channels, kernel_size=1),
            nn.BatchNorm2d(hidden_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden_channels, self.num_patches, kernel_size=1),
        )

    def forward(self, fmap: Tensor, generator: torch.Generator | None = None) -> PatchSelection:
        """Scores [B, K, H, W] and their hard Gumbel-softmax selection over the H·W positions."""
        scores = self.scorer(fmap)
        flat = scores.flatten(2)
        weights = hard_gumbel_softmax(flat, self.tau, generator).reshape(scores.shape)
        return PatchSelection(weights=weights, scores=scores)


def gather_patches(fmap: Tensor, weights: Tensor) -> Tensor:
    """Patch vectors [B, K, C] = Σ_hw fmap[b, :, h, w] · weights[b, k, h, w] (the selected
    position's vector, carrying the straight-through gradient), in float32. Flatten to
    [B·K, C] image-major with `.reshape(-1, C)`."""
    if fmap.shape[0] != weights.shape[0] or fmap.shape[-2:] != weights.shape[-2:]:
        raise ValueError(f"map {tuple(fmap.shape)} and weights {tuple(weights.shape)} do not match")
    with full_precision(fmap.device):
        dtype = compute_dtype(fmap, weights)
        return torch.einsum("bchw,bkhw->bkc", fmap.to(dtype), weights.to(dtype))
