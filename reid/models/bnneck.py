"""Head `bnneck`: the field's "strong baseline" head (Luo et al. 2019; LSTKC, DKP, PatchKD).

Pooling (GeM with a fixed p, or average) gives the feature f; BatchNorm1d with a frozen zero
bias gives the BN feature; a bias-free Linear classifies the BN feature. The metric feature
(triplet) is f; the retrieval embedding is f L2-normalised (`feature: pre_bn`, LSTKC and DKP)
or the BN feature (`post_bn`, PatchKD). The classifier can grow across tasks (`grow`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid.models.heads import HeadOutput, register_head

GEM_EPS = 1e-6
CLASSIFIER_STD = 0.001  # initial classifier weights ~ N(0, 0.001²), as in all three codes

# `model.bnneck`: its settings, as JSON schema with defaults (LSTKC's).
OPTIONS = {
    "pooling": {
        "type": "string",
        "enum": ["gem", "avg"],
        "default": "gem",
        "description": "gem (LSTKC, DKP; p fixed) or avg (PatchKD)",
    },
    "gem_p": {"type": "number", "exclusiveMinimum": 0, "default": 3.0},
    "feature": {
        "type": "string",
        "enum": ["pre_bn", "post_bn"],
        "default": "pre_bn",
        "description": "retrieval feature: pre_bn = pooled feature L2-normalised (LSTKC, DKP), "
        "post_bn = the BatchNorm output (PatchKD)",
    },
}


def gem_pool(fmap: Tensor, p: float, eps: float = GEM_EPS) -> Tensor:
    """Generalised mean over space, (mean x^p)^(1/p) of x clamped at eps, in float32."""
    x = fmap.float().clamp(min=eps).pow(p)
    return x.mean(dim=(2, 3)).pow(1.0 / p)


@register_head("bnneck", options=OPTIONS, growable=True)
class BNNeck(nn.Module):
    """Pooling, BatchNorm1d (bias frozen at 0), bias-free classifier."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        pooling: str = "gem",
        gem_p: float = 3.0,
        feature: str = "pre_bn",
    ) -> None:
        super().__init__()
        if pooling not in ("gem", "avg") or feature not in ("pre_bn", "post_bn"):
            raise ValueError(f"bnneck: pooling {pooling!r}, feature {feature!r}")
        self.in_channels, self.pooling, self.gem_p, self.feature = (
            in_channels,
            pooling,
            float(gem_p),
            feature,
        )
        self.bn = nn.BatchNorm1d(in_channels)
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        self.bn.bias.requires_grad_(False)
        self.classifier = self._linear(num_classes)

    @classmethod
    def from_config(
        cls, in_channels: int, num_classes: int, feature_hw: tuple[int, int], cfg: Any
    ) -> BNNeck:
        """A BNNeck with the config's `model.bnneck` options."""
        return cls(in_channels, num_classes, **dict(cfg.head_options))

    @property
    def num_classes(self) -> int:
        return int(self.classifier.out_features)

    def _linear(self, rows: int) -> nn.Linear:
        linear = nn.Linear(self.in_channels, rows, bias=False)
        nn.init.normal_(linear.weight, std=CLASSIFIER_STD)
        return linear

    def pool(self, fmap: Tensor) -> Tensor:
        """The pooled feature f [B, C] (float32 for GeM)."""
        if self.pooling == "gem":
            return gem_pool(fmap, self.gem_p)
        return fmap.mean(dim=(2, 3))

    def forward(self, fmap: Tensor) -> HeadOutput:
        pooled = self.pool(fmap)
        bn = self.bn(pooled)
        logits = self.classifier(bn)
        embedding = F.normalize(pooled, dim=1) if self.feature == "pre_bn" else bn
        return HeadOutput(logits, embedding, pooled, maps={"bn": bn})

    @torch.no_grad()
    def grow(self, num_classes: int, rows: Tensor | None = None) -> None:
        """Append `num_classes` rows to the classifier: `rows` [num_classes, C] when given
        (e.g. normalised class means), else N(0, 0.001²); the old rows are kept as they are."""
        old = self.classifier
        new = self._linear(old.out_features + num_classes).to(old.weight.device)
        new.weight[: old.out_features].copy_(old.weight)
        if rows is not None:
            if tuple(rows.shape) != (num_classes, self.in_channels):
                raise ValueError(
                    f"new classifier rows have shape {tuple(rows.shape)}; "
                    f"expected {(num_classes, self.in_channels)}"
                )
            new.weight[old.out_features :].copy_(rows)
        new.weight.requires_grad_(old.weight.requires_grad)
        self.classifier = new
