"""Similarity-Preserving knowledge Distillation (Tung & Mori, ICCV 2019).

The frozen parent's backbone is the teacher: for each batch, the b×b similarity matrix of its
feature maps, G = normalise_rows(A Aᵀ) with A the flattened maps, is distilled into the
learner's, L = ‖G_teacher − G_learner‖²_F / b² (their eq. 2–4), added with `method.spd.weight`
(their γ; 3000 in their experiments).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F

from reid.losses.precision import float32_gram
from reid.strategies.base import Batch, LossParts, PhaseContext, Strategy, register_strategy


def similarity(features: torch.Tensor) -> torch.Tensor:
    """Row-normalised b×b similarity of a batch of feature maps, in float32 even under autocast
    (the loss is the small difference of two near-equal matrices: bf16 products swamp it)."""
    return F.normalize(float32_gram(features.flatten(1)), p=2, dim=1)


def spd_loss(learner: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Similarity-preserving loss between two batches of feature maps (same batch)."""
    b = learner.shape[0]
    return (similarity(teacher) - similarity(learner)).pow(2).sum() / (b * b)


# `method.spd`: its settings, as JSON schema with defaults.
OPTIONS = {"weight": {"type": "number", "minimum": 0, "default": 3000.0}}


@register_strategy(
    "spd", "similarity-preserving distillation", order=80, options=OPTIONS, revision=2
)
class SpdStrategy(Strategy):
    """Cross-entropy on the new task + SPD between the parent's and the learner's backbone."""

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)
        self.teacher = copy.deepcopy(ctx.model.base).eval()
        for param in self.teacher.parameters():
            param.requires_grad_(False)

    def loss(self, model: Any, out: Any, batch: Batch) -> LossParts:
        task, terms = self.task_loss(out, batch)
        with torch.no_grad():
            target = self.teacher(batch.images)
        distil = spd_loss(out.base, target)
        total = task + self.settings["weight"] * distil
        return LossParts(total, {**terms, "spd": distil.detach()})
