"""The shared backbone with one pipeline per task, and its checkpoint signature."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from reid.errors import ConfigError
from reid.models.backbone import ModelConfig, build_backbone
from reid.models.pipeline import Pipeline


@dataclass
class ModelOutput:
    """Backbone map and, per requested pipeline (in request order), its outputs."""

    base: Tensor
    block2: list[Tensor] = field(default_factory=list)
    logits: list[Tensor] = field(default_factory=list)
    embeddings: list[Tensor] = field(default_factory=list)


class MultiPipelineNet(nn.Module):
    """ResNet trunk (`.base`) followed by task pipelines (`.pipelines`)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.base, self.out_channels = build_backbone(cfg)
        self.feature_hw = self._probe_feature_hw()
        self.pipelines = nn.ModuleList()
        self.frozen: set[int] = set()
        self.base_frozen = False

    def _probe_feature_hw(self) -> tuple[int, int]:
        was_training = self.base.training
        self.base.eval()
        try:
            with torch.no_grad():
                fmap = self.base(torch.zeros(1, 3, *self.cfg.input_size))
        except RuntimeError as exc:
            raise ConfigError(
                f"model.input_size: {self.cfg.input_size} is too small for {self.cfg.backbone}"
            ) from exc
        finally:
            self.base.train(was_training)
        return int(fmap.shape[2]), int(fmap.shape[3])

    def add_pipeline(self, num_classes: int) -> int:
        """Append a new pipeline for `num_classes` identities; return its index."""
        head = Pipeline(
            self.out_channels,
            num_classes,
            classifier_input=self.cfg.classifier_input,
            feature_hw=self.feature_hw,
            residual=self.cfg.residual,
            leaky_slope=self.cfg.leaky_slope,
            embedding=self.cfg.embedding,
            bn_momentum=self.cfg.head_bn_momentum,
        )
        param = next(self.base.parameters())
        head.to(device=param.device)
        head.train(self.training)
        self.pipelines.append(head)
        return len(self.pipelines) - 1

    def freeze_pipelines(self, indices: Iterable[int]) -> None:
        """Stop gradients and keep BN statistics fixed for these pipelines (even under .train())."""
        for i in indices:
            if not 0 <= i < len(self.pipelines):
                raise IndexError(f"no pipeline {i}; the model has {len(self.pipelines)}")
            for p in self.pipelines[i].parameters():
                p.requires_grad_(False)
            self.pipelines[i].eval()
            self.frozen.add(i)

    def freeze_base(self) -> None:
        """Stop gradients and keep BN statistics fixed for the backbone (even under .train())."""
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.base.eval()
        self.base_frozen = True

    def train(self, mode: bool = True) -> MultiPipelineNet:
        """Like nn.Module.train, but frozen pipelines (and a frozen base) stay in eval mode."""
        super().train(mode)
        if self.base_frozen:
            self.base.eval()
        for i in self.frozen:
            self.pipelines[i].eval()
        return self

    def forward(self, x: Tensor, pipelines: Sequence[int] | None = None) -> ModelOutput:
        """Backbone once, then each requested pipeline (default: all)."""
        fmap = self.base(x)
        out = ModelOutput(base=fmap)
        indices = range(len(self.pipelines)) if pipelines is None else pipelines
        for i in indices:
            res = self.pipelines[i](fmap)
            out.block2.append(res.block2)
            out.logits.append(res.logits)
            out.embeddings.append(res.embedding)
        return out


def model_signature(model: MultiPipelineNet) -> dict[str, Any]:
    """What a checkpoint must match to be loaded into `model` (plain JSON values)."""
    cfg = model.cfg
    return {
        "backbone": cfg.backbone,
        "num_classes": [int(p.num_classes) for p in model.pipelines],
        "classifier_input": cfg.classifier_input,
        "embedding": cfg.embedding,
        "residual": bool(cfg.residual),
        "feature_hw": list(model.feature_hw),
        "last_stride": int(cfg.last_stride),
    }
