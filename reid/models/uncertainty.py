"""DKP's uncertainty head: a mean and a standard-deviation branch on a backbone map, with
reparameterised samples (zhoujiahuan1991/CVPR2024-DKP, `reid/models/resnet_uncertainty.py`).

The authors feed it ResNet-50 cut after layer3 (1024 channels, 16×8 at 256×128):
mean = n(Linear(GeM₃(map))), std = ReLU(n(Linear(GeM₃(Conv8×8(map)) + 1e-4))) + 1e-4,
samples_s = n(mean + std ⊙ ε_s), ε_s ~ N(0, I), with n(x) = x / (‖x‖₂ + 1e-4).
Plain module, no registration: input a feature map, output named tensors.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid.losses.precision import compute_dtype, full_precision


class UncertaintyOutput(NamedTuple):
    """mean [B, D], std [B, D], samples [B, n, D] (n = 0 when not sampling), merged [B, 1+n, D]
    (index 0 the mean, then the samples: the layout the CE and set-triplet losses take)."""

    mean: Tensor
    std: Tensor
    samples: Tensor
    merged: Tensor


def gem_pool(x: Tensor, p: float = 3.0, eps: float = 1e-6) -> Tensor:
    """GeM: ((1/HW) Σ_hw max(x, eps)^p)^(1/p), [B, C, H, W] → [B, C], computed in float32."""
    with full_precision(x.device):
        y = x.to(compute_dtype(x)).clamp(min=eps).pow(p)
        return y.mean(dim=(2, 3)).pow(1.0 / p)


def soft_l2_normalise(x: Tensor, eps: float = 1e-4, dim: int = -1) -> Tensor:
    """x / (‖x‖₂ + eps): the authors' `Normalize` (eps added to the norm, so ‖result‖ < 1)."""
    return x / (x.pow(2).sum(dim=dim, keepdim=True).sqrt() + eps)


class UncertaintyHead(nn.Module):
    """Mean branch Linear(C → D) on GeM(map); variance branch Conv(C → C, `var_kernel`, no bias),
    GeM, + 1e-4, Linear(C → D); `num_samples` reparameterised draws while training."""

    def __init__(
        self,
        in_channels: int = 1024,
        out_dim: int = 2048,
        num_samples: int = 6,
        var_kernel: tuple[int, int] = (8, 8),
        gem_p: float = 3.0,
    ) -> None:
        super().__init__()
        if num_samples < 0:
            raise ValueError(f"num_samples must be ≥ 0, got {num_samples}")
        self.num_samples = int(num_samples)
        self.gem_p = float(gem_p)
        self.var_kernel = (int(var_kernel[0]), int(var_kernel[1]))
        self.mean_fc = nn.Linear(in_channels, out_dim)
        self.var_conv = nn.Conv2d(in_channels, in_channels, kernel_size=self.var_kernel, bias=False)
        self.var_fc = nn.Linear(in_channels, out_dim)

    def distribution(self, fmap: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, std) [B, D] of each image, without sampling."""
        h, w = fmap.shape[-2:]
        kh, kw = self.var_kernel
        if h < kh or w < kw:
            raise ValueError(f"feature map {h}×{w} is smaller than the variance kernel {kh}×{kw}")
        mean = self.mean_fc(gem_pool(fmap, self.gem_p))
        pooled_var = gem_pool(self.var_conv(fmap), self.gem_p) + 1e-4
        std_raw = self.var_fc(pooled_var)
        with full_precision(fmap.device):
            mean = soft_l2_normalise(mean.to(compute_dtype(mean)))
            std = F.relu(soft_l2_normalise(std_raw.to(compute_dtype(std_raw)))) + 1e-4
        return mean, std

    def forward(
        self, fmap: Tensor, generator: torch.Generator | None = None, sample: bool | None = None
    ) -> UncertaintyOutput:
        """Mean, std and (when `sample`, default: in training mode) `num_samples` normalised
        samples. ε [n, B, D] comes from `generator` (on its device) or, when None, from the
        global generator of the map's device — the stream `MultivariateNormal.rsample` uses."""
        mean, std = self.distribution(fmap)
        draws = self.num_samples if (self.training if sample is None else sample) else 0
        shape = (draws, *mean.shape)
        with full_precision(fmap.device):
            if generator is None:
                eps = torch.randn(shape, dtype=mean.dtype, device=mean.device)
            else:
                eps = torch.randn(
                    shape, generator=generator, dtype=mean.dtype, device=generator.device
                )
            samples = soft_l2_normalise(mean.unsqueeze(0) + std.unsqueeze(0) * eps.to(mean.device))
            samples = samples.permute(1, 0, 2)
            merged = torch.cat([mean.unsqueeze(1), samples], dim=1)
        return UncertaintyOutput(mean=mean, std=std, samples=samples, merged=merged)


def classify_merged(merged: Tensor, neck: nn.Module, classifier: nn.Module) -> Tensor:
    """Logits [B, 1+n, C] of the means and samples: one BN `neck` over all B·(1+n) vectors together
    (its batch statistics mix means and samples, as the authors' bottleneck does), then
    `classifier`."""
    batch, draws, dim = merged.shape
    flat = neck(merged.reshape(batch * draws, dim))
    return classifier(flat).reshape(batch, draws, -1)
