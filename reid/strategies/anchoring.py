"""Shared pieces of the strategies that pull the backbone back to an earlier task's weights
with a per-parameter weight (ewc: the diagonal Fisher, mas: the MAS importance): batches of a
task's training images, the anchor, normalisation by the largest entry, the quadratic penalty.
Not a strategy: it registers nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from reid.data.transforms import EvalTransform

# Images whose per-sample gradients are held at once (memory: CHUNK × backbone size).
CHUNK = 8


def backbone_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    """The shared backbone's parameters, by name."""
    return dict(model.base.named_parameters())


def backbone_anchor(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the backbone's current weights (θ*)."""
    return {name: p.detach().clone() for name, p in backbone_parameters(model).items()}


def per_sample_gradients(
    model: nn.Module,
    pipeline: int,
    images: torch.Tensor,
    targets: torch.Tensor,
    value: Callable[[Any, torch.Tensor], torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Per-image gradients ∂ value(pipeline output of x, target)/∂θ of the backbone, each of
    shape [N, *θ.shape] (torch.func: one image at a time, the model as it is, eval mode for BN)."""
    params = {name: p.detach() for name, p in backbone_parameters(model).items()}
    head = model.task_head(pipeline)

    def of_one(weights: dict[str, torch.Tensor], image: torch.Tensor, target: torch.Tensor):
        fmap = functional_call(model.base, weights, (image.unsqueeze(0),))
        return value(head(fmap), target)

    grads = vmap(grad(of_one), in_dims=(None, 0, 0), chunk_size=CHUNK)(params, images, targets)
    # torch.func's gradients stay differentiable w.r.t. the head's trainable weights (a shared
    # BNNeck head or growing classifier): a penalty weighted by them would backpropagate into
    # the head through the estimate, and a second step through a freed graph.
    return {name: g.detach() for name, g in grads.items()}


def sampled_batches(bank: Any, batches: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """Up to `batches` disjoint index batches of the bank, in a seeded random order."""
    order = torch.randperm(len(bank.pids), generator=torch.Generator().manual_seed(seed))
    return list(order.split(batch_size)[:batches])


def eval_images(bank: Any, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The bank's uint8 images at `index`, on `device`, with the evaluation transform."""
    return EvalTransform()(bank.images[index].to(device))


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode for the block, back in its previous mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def sum_over_batches(
    model: nn.Module,
    bank: Any,
    batches: int,
    batch_size: int,
    seed: int,
    contribution: Callable[[torch.Tensor, torch.Tensor, int], dict[str, torch.Tensor]],
) -> tuple[dict[str, torch.Tensor], int]:
    """Σ of `contribution(images, index, number of batches)` (a tensor per backbone parameter
    name) over seeded batches of the bank, the model in eval mode; also the number of images."""
    params = backbone_parameters(model)
    device = next(iter(params.values())).device
    total = {name: torch.zeros_like(p) for name, p in params.items()}
    chunks = sampled_batches(bank, batches, batch_size, seed)
    with evaluating(model):
        for index in chunks:
            for name, value in contribution(
                eval_images(bank, index, device), index, len(chunks)
            ).items():
                total[name] += value
    return total, sum(len(index) for index in chunks)


def normalised(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every entry divided by the largest one (so the penalty's scale is the strategy's weight)."""
    largest = torch.stack([w.max() for w in weights.values()]).max().clamp(min=1e-30)
    return {name: w / largest for name, w in weights.items()}


def quadratic_penalty(
    model: nn.Module, weights: dict[str, torch.Tensor], anchor: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Σ_i w_i (θ_i − θ*_i)² over the backbone parameters named in `weights`."""
    params = backbone_parameters(model)
    penalty = torch.zeros((), device=next(iter(params.values())).device)
    for name, weight in weights.items():
        penalty = penalty + (weight * (params[name] - anchor[name]).pow(2)).sum()
    return penalty
