"""Memory Aware Synapses (Aljundi et al., ECCV 2018) on the shared backbone.

After each phase (computed when the next one starts, from the parent's weights: the weights at
the end of that phase) the importance of every backbone parameter is estimated without labels:
Ω_i = mean over the task's training images x of |∂ ‖f(x)‖²₂ / ∂θ_i|, where f(x) is the
*embedding* of the task's own pipeline (its retrieval feature: the pooled block-2 map, or the
logits with `model.embedding: logits`). The gradient is taken per image (eq. 3–4 of the paper,
not the gradient of a batch sum), in eval mode, on `method.mas.omega_batches` batches of the
train batch size. With `normalize` (default) each task's Ω is divided by its largest entry.

As in the paper, the Ω of the earlier tasks are summed and the anchor θ* is the parent's
weights; later phases add  weight · Σ_i Ω_i (θ_i − θ*_i)²  (the paper's λ, no factor 1/2: the
penalty's largest curvature is 2 · weight per task, so plain SGD on it stays stable while
lr · weight < 1). Each task's Ω and anchor are saved with the run (`strategy.pt`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from reid.strategies import base
from reid.strategies.anchoring import (
    backbone_anchor,
    normalised,
    per_sample_gradients,
    quadratic_penalty,
    sum_over_batches,
)
from reid.strategies.base import register_strategy


def sample_gradients(
    model: nn.Module, pipeline: int, images: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Per-image gradients ∂‖f(x)‖²/∂θ of the backbone, each of shape [N, *θ.shape]."""
    unused = torch.zeros(len(images), device=images.device)
    return per_sample_gradients(
        model, pipeline, images, unused, lambda out, _: out.embedding.pow(2).sum()
    )


def importance(
    model: nn.Module, pipeline: int, bank: Any, batches: int, batch_size: int, seed: int
) -> dict[str, torch.Tensor]:
    """Mean |per-image gradient| of ‖f(x)‖² w.r.t. the backbone over `batches` batches."""

    def absolute_gradients(images: torch.Tensor, index: torch.Tensor, count: int) -> dict:
        grads = sample_gradients(model, pipeline, images)
        return {name: g.abs().sum(dim=0) for name, g in grads.items()}

    total, images = sum_over_batches(model, bank, batches, batch_size, seed, absolute_gradients)
    return {name: t / images for name, t in total.items()}


def accumulate(per_task: list[dict[str, Any]]) -> tuple[dict, dict]:
    """Σ_tasks Ω and the latest anchor (the parent's weights); ({}, {}) before any task."""
    if not per_task:
        return {}, {}
    total = {name: sum(entry["omega"][name] for entry in per_task) for name in per_task[0]["omega"]}
    return total, per_task[-1]["anchor"]


def mas_penalty(
    model: nn.Module, omega: dict[str, torch.Tensor], anchor: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Σ_i Ω_i (θ_i − θ*_i)² over the backbone (without the weight)."""
    return quadratic_penalty(model, omega, anchor)


# `method.mas`: its settings, as JSON schema with defaults.
OPTIONS = {
    "weight": {"type": "number", "minimum": 0, "default": 5.0},
    "normalize": {"type": "boolean", "default": True},
    "omega_batches": {"type": "integer", "minimum": 1, "default": 16},
    # An offset to the run's seed (the images are drawn from both).
    "seed": {"type": "integer", "default": 0},
}


@register_strategy("mas", "MAS", order=75, options=OPTIONS, revision=2)
class MasStrategy(base.ConsolidatingStrategy):
    """Cross-entropy on the new task + the MAS penalty of the earlier tasks' summed Ω."""

    def __init__(self, method: dict[str, Any] | None, label_smoothing: float = 0.0) -> None:
        super().__init__(method, label_smoothing)
        self.omega: dict[str, torch.Tensor] = {}
        self.anchor: dict[str, torch.Tensor] = {}

    def before_phase(self, ctx: base.PhaseContext) -> None:
        super().before_phase(ctx)
        self.omega, self.anchor = accumulate(self.per_task)

    def consolidate(self, ctx: base.PhaseContext, task: dict, pipeline: int, bank: Any) -> dict:
        opts = self.settings
        size = ctx.spec["train"]["batch"]["p"] * ctx.spec["train"]["batch"]["k"]
        found = importance(
            ctx.model, pipeline, bank, opts["omega_batches"], size, self.seed_for(pipeline)
        )
        if opts["normalize"]:
            found = normalised(found)
        anchor = backbone_anchor(ctx.model)
        return {"omega": found, "anchor": anchor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.omega, self.anchor = accumulate(self.per_task)

    def loss(self, model: nn.Module, out: Any, batch: base.Batch) -> base.LossParts:
        task, terms = self.task_loss(out, batch)
        penalty = mas_penalty(model, self.omega, self.anchor)
        total = task + self.settings["weight"] * penalty
        return base.LossParts(total, {**terms, "mas": penalty.detach()})
