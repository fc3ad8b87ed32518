"""Head `dkp`: DKP's uncertainty model (Xu, Zou, Peng & Zhou, CVPR'24) as a registered head.

On the backbone map (the authors cut ResNet-50 after layer3: `model.last_layer: layer3`) the
`UncertaintyHead` gives each image a mean μ = n(Linear(GeM₃(map))) and a standard deviation
σ = ReLU(n(Linear(GeM₃(Conv_k(map)) + 1e-4))) + 1e-4 (n(x) = x / (‖x‖ + 1e-4)); in training
mode `samples` reparameterised draws z_s = n(μ + σ ⊙ ε_s). One BatchNorm neck (weight 1, bias 0
frozen) runs over the means and samples together and a bias-free classifier, N(0, 0.001²),
classifies them: logits [B, 1+n, C]. The retrieval embedding and the metric feature are μ.
Its task loss (`DkpOutput.supervised_loss`, phase 1 included) is the authors':
(1/(1+n)) Σ_s CE(logits_s, y) + 1.5 · set triplet (samples to the batch's means, soft margin).
Source: zhoujiahuan1991/CVPR2024-DKP, `reid/models/resnet_uncertainty.py` (`ResNetSimCLR`),
`reid/trainer.py` (`Trainer.train`: weights 1 and 1.5), `continual_train.py` (`--n_sampling` 6).

The samples' noise comes from the head's own generator, seeded per training forward from two
buffers (`noise_seed`, drawn from the run's seeded global generator when the head is built, and
`noise_draws`, the forwards so far): saved with the weights, so a resumed run draws what the
uninterrupted one drew (the authors draw from the global CUDA generator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from reid.errors import ConfigError
from reid.losses.dkp import set_triplet_loss, uncertainty_cross_entropy
from reid.models.heads import HeadOutput, register_head
from reid.models.uncertainty import UncertaintyHead, classify_merged
from reid.seeding import derive_seed

CLASSIFIER_STD = 0.001  # `ResNetSimCLR.classifier`: N(0, 0.001²), no bias
NOISE_BUFFERS = ("noise_seed", "noise_draws")  # the head's generator state, not weights

# `model.dkp`: its settings, as JSON schema with the authors' defaults.
OPTIONS = {
    "out_dim": {
        "type": "integer",
        "minimum": 1,
        "default": 2048,
        "description": "dimension of the mean and std (ResNetSimCLR out_dim 2048)",
    },
    "samples": {
        "type": "integer",
        "minimum": 1,
        "default": 6,
        "description": "reparameterised samples per image (continual_train.py --n_sampling 6)",
    },
    "var_kernel": {
        "type": ["array", "null"],
        "items": {"type": "integer", "minimum": 1},
        "minItems": 2,
        "maxItems": 2,
        "default": None,
        "description": "[h, w] of the variance branch's conv; null: (floor(h/2), w) of the "
        "backbone map, the authors' 8x8 on their 16x8 map (256x128 cut after layer3)",
    },
    "gem_p": {"type": "number", "exclusiveMinimum": 0, "default": 3.0},
    "set_triplet_weight": {
        "type": "number",
        "minimum": 0,
        "default": 1.5,
        "description": "weight of the set triplet in the task loss (reid/trainer.py: 1.5); the "
        "cross-entropy's is train.loss.ce (1); train.loss.triplet is not used by this head",
    },
    "set_triplet_margin": {
        "type": ["number", "null"],
        "exclusiveMinimum": 0,
        "default": None,
        "description": "null: soft margin log(1 + e^(d_ap - d_an)) (TripletLoss_set); else hinge",
    },
}


def variance_kernel(feature_hw: tuple[int, int], kernel: Any = None) -> tuple[int, int]:
    """The variance conv's kernel: `kernel` [h, w] when given, else (max(1, ⌊h/2⌋), w) of the
    map (8×8 on the authors' 16×8 map); refused in one line when larger than the map."""
    h, w = int(feature_hw[0]), int(feature_hw[1])
    chosen = (max(1, h // 2), w) if kernel is None else (int(kernel[0]), int(kernel[1]))
    if chosen[0] > h or chosen[1] > w:
        raise ConfigError(
            f"model.dkp.var_kernel {list(chosen)} is larger than the backbone map {h}x{w} at "
            "this input size; use null (half the map's height, its width) or a smaller kernel"
        )
    return chosen


@dataclass
class DkpOutput(HeadOutput):
    """A `HeadOutput` whose task loss is DKP's; `maps` holds `std` [B, D], `samples`
    [B, n, D], `merged` [B, 1+n, D] (mean first) and `sample_logits` [B, 1+n, C]."""

    set_triplet_weight: float = 1.5
    set_triplet_margin: float | None = None

    def supervised_loss(self, pids: Tensor, losses: Any) -> tuple[Tensor, dict[str, Tensor]]:
        """`losses.ce` · (1/(1+n)) Σ_s CE(logits_s, y) + `set_triplet_weight` · set triplet
        (anchors the samples, candidates the means; `reid.losses.dkp`)."""
        merged = self.maps["merged"]
        if merged.shape[1] < 2:
            raise RuntimeError("DKP's task loss needs the head's samples: run it in train mode")
        ce = uncertainty_cross_entropy(
            self.maps["sample_logits"], pids, label_smoothing=losses.label_smoothing
        )
        triplet = set_triplet_loss(merged, pids, self.set_triplet_margin)
        total = losses.ce * ce + self.set_triplet_weight * triplet
        return total, {"ce": ce.detach(), "set_triplet": triplet.detach()}


@register_head("dkp", options=OPTIONS, growable=True)
class DkpHead(nn.Module):
    """UncertaintyHead, a BN neck over means and samples, a bias-free (growing) classifier."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        feature_hw: tuple[int, int],
        out_dim: int = 2048,
        samples: int = 6,
        var_kernel: Any = None,
        gem_p: float = 3.0,
        set_triplet_weight: float = 1.5,
        set_triplet_margin: float | None = None,
    ) -> None:
        super().__init__()
        kernel = variance_kernel(feature_hw, var_kernel)
        self.uncertainty = UncertaintyHead(in_channels, out_dim, samples, kernel, gem_p)
        self.out_dim = int(out_dim)
        self.set_triplet_weight = float(set_triplet_weight)
        self.set_triplet_margin = None if set_triplet_margin is None else float(set_triplet_margin)
        self.neck = nn.BatchNorm1d(out_dim)
        nn.init.ones_(self.neck.weight)
        nn.init.zeros_(self.neck.bias)
        self.neck.bias.requires_grad_(False)
        self.classifier = self._linear(num_classes)
        seed = torch.randint(0, 2**62, (), dtype=torch.int64)  # the run's seeded global stream
        self.register_buffer("noise_seed", seed)
        self.register_buffer("noise_draws", torch.zeros((), dtype=torch.int64))

    @classmethod
    def from_config(
        cls, in_channels: int, num_classes: int, feature_hw: tuple[int, int], cfg: Any
    ) -> DkpHead:
        """A DKP head with the config's `model.dkp` options."""
        return cls(in_channels, num_classes, feature_hw, **dict(cfg.head_options))

    @property
    def num_classes(self) -> int:
        return int(self.classifier.out_features)

    def _linear(self, rows: int) -> nn.Linear:
        linear = nn.Linear(self.out_dim, rows, bias=False)
        nn.init.normal_(linear.weight, std=CLASSIFIER_STD)
        return linear

    def noise_generator(self) -> torch.Generator | None:
        """The generator of this forward's samples, seeded from (`noise_seed`, `noise_draws`),
        and one more draw counted; None on the `meta` device (no values to seed from)."""
        device = self.noise_seed.device
        if device.type == "meta":
            return None
        seed = derive_seed(int(self.noise_seed), int(self.noise_draws))
        self.noise_draws += 1
        return torch.Generator(device=device).manual_seed(seed)

    def forward(self, fmap: Tensor) -> DkpOutput:
        """Mean (embedding and metric), std, and in training mode the samples and the logits of
        means and samples (`logits` = the mean's)."""
        generator = self.noise_generator() if self.training else None
        out = self.uncertainty(fmap, generator=generator)
        sample_logits = classify_merged(out.merged, self.neck, self.classifier)
        maps = {
            "std": out.std,
            "samples": out.samples,
            "merged": out.merged,
            "sample_logits": sample_logits,
        }
        return DkpOutput(
            sample_logits[:, 0],
            out.mean,
            out.mean,
            maps=maps,
            set_triplet_weight=self.set_triplet_weight,
            set_triplet_margin=self.set_triplet_margin,
        )

    @torch.no_grad()
    def grow(self, num_classes: int, rows: Tensor | None = None) -> None:
        """Append `num_classes` classifier rows: `rows` [num_classes, out_dim] when given (the
        new identities' normalised mean features), else N(0, 0.001²); old rows kept."""
        old = self.classifier
        new = self._linear(old.out_features + num_classes).to(old.weight.device)
        new.weight[: old.out_features].copy_(old.weight)
        if rows is not None:
            if tuple(rows.shape) != (num_classes, self.out_dim):
                raise ValueError(
                    f"new classifier rows have shape {tuple(rows.shape)}; "
                    f"expected {(num_classes, self.out_dim)}"
                )
            new.weight[old.out_features :].copy_(rows)
        new.weight.requires_grad_(old.weight.requires_grad)
        self.classifier = new
