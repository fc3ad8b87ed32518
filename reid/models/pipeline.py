"""One task-specific pipeline (head `pipeline`): two conv blocks and a classifier (paper §3.2)."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from reid.models.backbone import ClassifierInput, Embedding
from reid.models.heads import HeadOutput, register_head

# What a pipeline returns: a HeadOutput whose `block2` is its block-2 map [B, C, h, w].
PipelineOutput = HeadOutput


def _conv_block(cin: int, cout: int, kernel: int, slope: float, momentum: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=kernel, stride=1, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(cout, momentum=momentum),
        nn.LeakyReLU(slope, inplace=True),
    )


@register_head("pipeline", reads=("classifier_input", "embedding", "residual", "head_bn_momentum"))
class Pipeline(nn.Module):
    """Conv1×1 C→C/2 + BN + LeakyReLU; Conv3×3 C/2→C + BN + LeakyReLU; optional residual;
    Linear classifier on the flattened map ("flatten") or on its GAP vector ("pooled")."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        classifier_input: ClassifierInput = "pooled",
        feature_hw: tuple[int, int] = (8, 4),
        residual: bool = False,
        leaky_slope: float = 0.1,
        embedding: Embedding = "pooled",
        bn_momentum: float = 0.1,
    ) -> None:
        super().__init__()
        if in_channels % 2:
            raise ValueError(f"in_channels must be even, got {in_channels}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.classifier_input = classifier_input
        self.feature_hw = (int(feature_hw[0]), int(feature_hw[1]))
        self.residual = residual
        self.embedding_kind = embedding
        self.block1 = _conv_block(in_channels, in_channels // 2, 1, leaky_slope, bn_momentum)
        self.block2 = _conv_block(in_channels // 2, in_channels, 3, leaky_slope, bn_momentum)
        h, w = self.feature_hw
        features = in_channels * h * w if classifier_input == "flatten" else in_channels
        self.classifier = nn.Linear(features, num_classes)

    @classmethod
    def from_config(
        cls, in_channels: int, num_classes: int, feature_hw: tuple[int, int], cfg: Any
    ) -> Pipeline:
        """A pipeline shaped by a `ModelConfig`."""
        return cls(
            in_channels,
            num_classes,
            classifier_input=cfg.classifier_input,
            feature_hw=feature_hw,
            residual=cfg.residual,
            leaky_slope=cfg.leaky_slope,
            embedding=cfg.embedding,
            bn_momentum=cfg.head_bn_momentum,
        )

    def forward(self, fmap: Tensor) -> HeadOutput:
        """Run both blocks and the classifier on a backbone map [B, C, h, w]; the metric
        feature is the pooled block-2 map."""
        out = self.block2(self.block1(fmap))
        if self.residual:
            out = out + fmap
        pooled = out.mean(dim=(2, 3))
        if self.classifier_input == "flatten":
            logits = self.classifier(out.flatten(1))
        else:
            logits = self.classifier(pooled)
        embedding = logits if self.embedding_kind == "logits" else pooled
        return HeadOutput(logits, embedding, pooled, block2=out)
