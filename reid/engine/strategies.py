"""Continual strategies: which modules learn in a phase and which losses they minimise.

Kept apart from the evaluation metrics (Avalanche's split): a strategy only says how a phase
trains. Phase 1 is plain cross-entropy on pipeline 1 for every strategy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from reid.losses import CovarianceTerm, lwf_loss


@dataclass
class LossParts:
    """The loss of one batch and its logged components."""

    total: torch.Tensor
    parts: dict[str, float] = field(default_factory=dict)
    couples: int = 0


class Strategy:
    """Cross-entropy on the pipeline of the task being learnt (subclasses add terms)."""

    name = "finetune"

    def __init__(self, method: dict[str, Any] | None, label_smoothing: float = 0.0) -> None:
        self.method = method or {}
        self.ce = nn.CrossEntropyLoss(label_smoothing=label_smoothing)

    def setup(self, model: nn.Module, new_index: int) -> None:
        """Freeze what must not learn in this phase."""
        self.new_index = new_index
        earlier = list(range(new_index))
        if not earlier:
            return
        if self.method.get("trainable") == "both":
            # The ensembling ablation's "both pipelines": earlier pipelines' blocks keep learning
            # (through the shared loss terms); their classifiers have no labels for this task.
            for index in earlier:
                for param in model.pipelines[index].classifier.parameters():
                    param.requires_grad_(False)
        else:
            model.freeze_pipelines(earlier)

    def forward_pipelines(self, model: nn.Module) -> list[int]:
        """Pipelines whose outputs this strategy needs in training."""
        return [self.new_index]

    def loss(self, model: nn.Module, out: Any, images, pids, camids) -> LossParts:
        """Loss of one batch; `out` lists the pipelines of `forward_pipelines` in order."""
        ce = self.ce(out.logits[-1], pids)
        return LossParts(ce, {"ce": float(ce.detach())})


class CovarianceStrategy(Strategy):
    """The paper: cross-entropy plus the covariance term on every pipeline's block-2 map."""

    name = "covariance"

    def setup(self, model: nn.Module, new_index: int) -> None:
        super().setup(model, new_index)
        cov = self.method["covariance"]
        self.term = CovarianceTerm(cov["variant"], cov["lam"], cov["alpha"], cov["beta"])

    def forward_pipelines(self, model: nn.Module) -> list[int]:
        return list(range(self.new_index + 1))

    def loss(self, model, out, images, pids, camids) -> LossParts:
        ce = self.ce(out.logits[-1], pids)
        cov, couples = self.term(out.block2, pids, camids)
        total = ce + cov
        return LossParts(total, {"ce": float(ce.detach()), "cov": float(cov.detach())}, couples)


class LwfStrategy(Strategy):
    """Learning without Forgetting: distil earlier pipelines' outputs from the frozen parent."""

    name = "lwf"

    def setup(self, model: nn.Module, new_index: int) -> None:
        super().setup(model, new_index)
        self.teacher = copy.deepcopy(model).eval()
        for param in self.teacher.parameters():
            param.requires_grad_(False)
        self.temperature = self.method["lwf"]["temperature"]
        self.weight = self.method["lwf"]["weight"]

    def forward_pipelines(self, model: nn.Module) -> list[int]:
        return list(range(self.new_index + 1))

    def loss(self, model, out, images, pids, camids) -> LossParts:
        ce = self.ce(out.logits[-1], pids)
        earlier = list(range(self.new_index))
        with torch.no_grad():
            old = self.teacher(images, pipelines=earlier).logits
        distil = sum(
            (
                lwf_loss(new, target, self.temperature)
                for new, target in zip(out.logits[:-1], old, strict=True)
            ),
            start=torch.zeros((), device=ce.device),
        )
        total = ce + self.weight * distil
        return LossParts(total, {"ce": float(ce.detach()), "lwf": float(distil.detach())})


class FrozenBaseStrategy(Strategy):
    """Only the new pipeline learns: no forgetting, least plasticity."""

    name = "frozen_base"

    def setup(self, model: nn.Module, new_index: int) -> None:
        super().setup(model, new_index)
        model.freeze_base()


STRATEGIES: dict[str, type[Strategy]] = {
    "finetune": Strategy,
    "covariance": CovarianceStrategy,
    "lwf": LwfStrategy,
    "frozen_base": FrozenBaseStrategy,
}


def make_strategy(method: dict[str, Any] | None, label_smoothing: float) -> Strategy:
    """The strategy of a phase (`None` = phase 1: plain cross-entropy)."""
    if method is None:
        return Strategy(None, label_smoothing)
    return STRATEGIES[method["name"]](method, label_smoothing)
