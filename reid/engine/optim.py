"""Optimisers and learning-rate schedules: the paper's cyclical rate (§3.3), and warm-up with
step decay (the LReID recipe; `reid.engine.schedule`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from reid.engine.schedule import factor_scheduler, warmup_settings


def build_optimizer(
    params: Iterable[torch.nn.Parameter] | list[dict[str, Any]], train: dict[str, Any]
) -> torch.optim.Optimizer:
    """SGD with momentum (the paper's choice) or Adam with L2 weight decay (its first try).

    `params` are parameters, or parameter groups `{"params": [...], "lr_factor": f}` (a
    strategy's own modules): each group's learning rate is f × `train.lr` (f = 1 by default),
    and the schedule scales it alike."""
    params = list(params)
    if params and isinstance(params[0], dict):
        params = [
            {**group, "lr": train["lr"] * group.setdefault("lr_factor", 1.0)} for group in params
        ]
    if train["optimizer"] == "sgd":
        return torch.optim.SGD(
            params, lr=train["lr"], momentum=train["momentum"], weight_decay=train["weight_decay"]
        )
    if train["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=train["lr"], weight_decay=train["weight_decay"])
    raise ValueError(f"unknown optimizer {train['optimizer']!r}")


def build_scheduler(
    optimizer: torch.optim.Optimizer, train: dict[str, Any], batches_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Triangular CLR between `lr` and `scheduler.max_lr`, stepped per epoch or per iteration;
    with a warm-up or `name: step`, the rate of `reid.engine.schedule.lr_factor`.

    The half cycle is given in epochs; stepped per iteration it becomes
    `half_cycle_epochs * batches_per_epoch` steps. Momentum is not cycled (the authors' CLR did
    not cycle it).
    """
    sched = train["scheduler"]
    if warmup_settings(sched)[0] > 0 or sched["name"] == "step":
        return factor_scheduler(optimizer, train, batches_per_epoch)
    if sched["name"] == "none":
        return None
    per_epoch = sched["step"] == "epoch"
    step_size = sched["half_cycle_epochs"] * (1 if per_epoch else max(1, batches_per_epoch))
    factors = [group.get("lr_factor", 1.0) for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.CyclicLR(
        optimizer,
        base_lr=[train["lr"] * f for f in factors],
        max_lr=[sched["max_lr"] * f for f in factors],
        step_size_up=max(1, round(step_size)),
        mode="triangular",
        cycle_momentum=False,
    )


def steps_per_iteration(train: dict[str, Any]) -> bool:
    """Whether the scheduler is stepped after every iteration (else once per epoch)."""
    sched = train["scheduler"]
    scheduled = sched["name"] != "none" or warmup_settings(sched)[0] > 0
    return scheduled and sched["step"] == "iteration"
