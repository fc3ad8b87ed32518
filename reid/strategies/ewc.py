"""Elastic Weight Consolidation (Kirkpatrick et al., PNAS 2017) on the shared backbone.

After each phase (computed when the next one starts, from the parent's weights: the weights at
the end of that phase) the diagonal Fisher information of the backbone's parameters is
estimated on the task's training images through the task's own pipeline; later phases add the
quadratic penalty  weight/2 · Σ_tasks Σ_i F_i (θ_i − θ*_i)².

`method.ewc.fisher` chooses the estimate:
- `per_sample` (default): Kirkpatrick et al.'s diagonal Fisher in its empirical form,
  F_i = mean over images x of (∂ log p(y|x) / ∂θ_i)² with y the true label, one gradient per
  image (torch.func), in eval mode.
- `batch`: the mean over mini-batches of the squared gradient of the batch-mean cross-entropy
  (what this suite computed before, and what some libraries do): (E g)² + Var(g)/B, not the
  Fisher; kept as a named option for comparison.
With `normalize` (default) it is divided by its largest entry, so the penalty's largest
curvature is `weight` whatever the scale of the gradients: plain SGD on the penalty stays stable
while lr · weight < 2. Fisher and anchor weights of every earlier task are saved with the run
(`strategy.pt`). The images are drawn from the run's `seed` (`method.ewc.seed` is an offset).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from reid.strategies import base
from reid.strategies.anchoring import (
    backbone_anchor,
    backbone_parameters,
    normalised,
    per_sample_gradients,
    quadratic_penalty,
    sum_over_batches,
)
from reid.strategies.base import register_strategy


def diagonal_fisher(
    model: nn.Module, pipeline: int, bank: Any, batches: int, batch_size: int, seed: int
) -> dict[str, torch.Tensor]:
    """Empirical diagonal Fisher of the backbone: mean over the images of `batches` seeded
    batches of the squared per-image gradient of log p(y|x), y the true label."""

    # A growing classifier: the rows known after this task, its labels offset.
    known, offset = model.known_classes(pipeline), model.label_offset(pipeline)

    def nll(out: Any, label: torch.Tensor) -> torch.Tensor:
        return _negative_log_likelihood(out, label, known)

    def squared_sample_gradients(images: torch.Tensor, index: torch.Tensor, count: int) -> dict:
        labels = bank.pids[index].to(images.device) + offset
        grads = per_sample_gradients(model, pipeline, images, labels, nll)
        return {name: g.pow(2).sum(dim=0) for name, g in grads.items()}

    total, images = sum_over_batches(
        model, bank, batches, batch_size, seed, squared_sample_gradients
    )
    return {name: t / images for name, t in total.items()}


def _negative_log_likelihood(out: Any, label: torch.Tensor, known: int) -> torch.Tensor:
    return nn.functional.cross_entropy(out.logits[:, :known], label.unsqueeze(0))


def batch_squared_gradients(
    model: nn.Module, pipeline: int, bank: Any, batches: int, batch_size: int, seed: int
) -> dict[str, torch.Tensor]:
    """`fisher: batch`: mean over `batches` batches of the squared gradient of the batch-mean
    cross-entropy w.r.t. the backbone (not the Fisher: (E g)² + Var(g)/B)."""
    params = backbone_parameters(model)

    def squared_gradients(images: torch.Tensor, index: torch.Tensor, count: int) -> dict:
        # A growing classifier: the rows known after this task, its labels offset.
        logits = model(images, pipelines=[pipeline]).logits[-1][:, : model.known_classes(pipeline)]
        labels = bank.pids[index].to(images.device) + model.label_offset(pipeline)
        loss = nn.functional.cross_entropy(logits, labels)
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        found = zip(params, grads, strict=True)
        return {name: g.detach().pow(2) / count for name, g in found if g is not None}

    return sum_over_batches(model, bank, batches, batch_size, seed, squared_gradients)[0]


FISHER = {"per_sample": diagonal_fisher, "batch": batch_squared_gradients}


def ewc_penalty(model: nn.Module, per_task: list[dict[str, Any]]) -> torch.Tensor:
    """Σ_tasks Σ_i F_i (θ_i − θ*_i)² over the backbone (without the weight/2 factor)."""
    penalty = quadratic_penalty(model, {}, {})  # a zero on the model's device
    for entry in per_task:
        penalty = penalty + quadratic_penalty(model, entry["fisher"], entry["anchor"])
    return penalty


# `method.ewc`: its settings, as JSON schema with defaults.
OPTIONS = {
    "weight": {"type": "number", "minimum": 0, "default": 10.0},
    "fisher": {"type": "string", "enum": sorted(FISHER), "default": "per_sample"},
    "normalize": {"type": "boolean", "default": True},
    "fisher_batches": {"type": "integer", "minimum": 1, "default": 16},
    # An offset to the run's seed (the images are drawn from both).
    "seed": {"type": "integer", "default": 0},
}


@register_strategy("ewc", "EWC", order=70, options=OPTIONS, revision=2)
class EwcStrategy(base.ConsolidatingStrategy):
    """Cross-entropy on the new task + the EWC penalty of every earlier task."""

    def consolidate(self, ctx: base.PhaseContext, task: dict, pipeline: int, bank: Any) -> dict:
        opts = self.settings
        size = ctx.spec["train"]["batch"]["p"] * ctx.spec["train"]["batch"]["k"]
        estimate = FISHER[opts.get("fisher", "per_sample")]
        fisher = estimate(
            ctx.model, pipeline, bank, opts["fisher_batches"], size, self.seed_for(pipeline)
        )
        if opts["normalize"]:
            fisher = normalised(fisher)
        anchor = backbone_anchor(ctx.model)
        return {"fisher": fisher, "anchor": anchor}

    def loss(self, model: nn.Module, out: Any, batch: base.Batch) -> base.LossParts:
        task, terms = self.task_loss(out, batch)
        penalty = ewc_penalty(model, self.per_task)
        total = task + self.settings["weight"] / 2 * penalty
        return base.LossParts(total, {**terms, "ewc": penalty.detach()})
