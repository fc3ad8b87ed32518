"""Learning without Forgetting (Li & Hoiem 2016): earlier pipelines' outputs distilled from the
frozen parent."""

from __future__ import annotations

import copy
from typing import Any

import torch

from reid.losses import lwf_loss
from reid.strategies.base import Batch, LossParts, PhaseContext, Strategy, register_strategy

# `method.lwf`: its settings, as JSON schema with defaults.
OPTIONS = {
    "temperature": {"type": "number", "exclusiveMinimum": 0, "default": 2.0},
    "weight": {"type": "number", "minimum": 0, "default": 1.0},
}


def distilled(model: Any, out: Any, old: list[torch.Tensor]) -> list[tuple[Any, Any]]:
    """(learner, teacher) logit pairs to distil: each earlier pipeline's logits; with a growing
    classifier, the rows of every earlier task's classes, once (its outputs are shared)."""
    if getattr(model, "growing", False):
        rows = model.label_offset(len(old))
        return [(out.logits[-1][:, :rows], old[-1][:, :rows])]
    return list(zip(out.logits[:-1], old, strict=True))


@register_strategy("lwf", "Learning without Forgetting", order=30, options=OPTIONS)
class LwfStrategy(Strategy):
    """The task loss on the new pipeline + KL to the parent's logits on every earlier pipeline
    (on a growing classifier: to the parent's logits of the old rows)."""

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)
        self.teacher = copy.deepcopy(ctx.model).eval()
        for param in self.teacher.parameters():
            param.requires_grad_(False)

    def forward_pipelines(self, batch: Batch) -> list[int]:
        return list(range(self.new_index + 1))

    def loss(self, model: Any, out: Any, batch: Batch) -> LossParts:
        task, terms = self.task_loss(out, batch)
        with torch.no_grad():
            old = self.teacher(batch.images, pipelines=list(range(self.new_index))).logits
        temperature = self.settings["temperature"]
        distil = sum(
            (lwf_loss(new, target, temperature) for new, target in distilled(model, out, old)),
            start=torch.zeros((), device=task.device),
        )
        total = task + self.settings["weight"] * distil
        return LossParts(total, {**terms, "lwf": distil.detach()})
