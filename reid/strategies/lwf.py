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


@register_strategy("lwf", "Learning without Forgetting", order=30, options=OPTIONS)
class LwfStrategy(Strategy):
    """Cross-entropy on the new pipeline + KL to the parent's logits on every earlier pipeline."""

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)
        self.teacher = copy.deepcopy(ctx.model).eval()
        for param in self.teacher.parameters():
            param.requires_grad_(False)

    def forward_pipelines(self, batch: Batch) -> list[int]:
        return list(range(self.new_index + 1))

    def loss(self, model: Any, out: Any, batch: Batch) -> LossParts:
        ce = self.ce(out.logits[-1], batch.pids)
        with torch.no_grad():
            old = self.teacher(batch.images, pipelines=list(range(self.new_index))).logits
        temperature = self.settings["temperature"]
        distil = sum(
            (
                lwf_loss(new, target, temperature)
                for new, target in zip(out.logits[:-1], old, strict=True)
            ),
            start=torch.zeros((), device=ce.device),
        )
        total = ce + self.settings["weight"] * distil
        return LossParts(total, {"ce": ce.detach(), "lwf": distil.detach()})
