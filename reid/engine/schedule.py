"""Learning-rate factors: linear warm-up, then step decay (LSTKC, DKP, PatchKD) or the paper's
triangular CLR, as pure functions of the position in the phase.

The position t is in epochs: the epoch index when the scheduler is stepped once per epoch, the
iteration divided by the iterations per epoch when it is stepped every iteration. The rate is
`lr · factor(t)`, with factor(t) = warm(t) · decay(t):

- warm(t) = s + (1 − s) · t / W for t < W (W warm-up epochs, s the start factor), else 1;
- step decay: decay(t) = γ^(number of milestones ≤ t) (torch's MultiStepLR, and the codes'
  WarmupMultiStepLR: at t = 30 with milestone 30 the rate is already ×γ);
- CLR: the triangular cycle between `lr` and `max_lr` (torch's CyclicLR), over the steps;
- none: 1.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import torch


def warmup_factor(position: float, epochs: float, start: float) -> float:
    """Linear warm-up from `start` at position 0 to 1 at `epochs`; 1 after (and without)."""
    if epochs <= 0 or position >= epochs:
        return 1.0
    return start + (1.0 - start) * position / epochs


def step_factor(position: float, milestones: Sequence[float], gamma: float) -> float:
    """γ to the number of milestones reached (a milestone counts from its own epoch on)."""
    return float(gamma) ** bisect_right(sorted(milestones), position)


def clr_factor(step: int, lr: float, max_lr: float, step_size: float) -> float:
    """The triangular cyclical rate at `step`, divided by `lr` (torch's CyclicLR formula)."""
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return (lr + (max_lr - lr) * max(0.0, 1.0 - x)) / lr


def warmup_settings(sched: dict[str, Any]) -> tuple[float, float]:
    """(epochs, start factor) of the scheduler's warm-up ((0, 1) when there is none)."""
    warmup = sched.get("warmup") or {}
    return float(warmup.get("epochs", 0)), float(warmup.get("start_factor", 0.01))


def lr_factor(step: int, train: dict[str, Any], batches_per_epoch: int) -> float:
    """Factor of the base rate after `step` scheduler steps, for a spec's `train` section."""
    sched = train["scheduler"]
    per_iteration = sched.get("step") == "iteration"
    per_epoch_steps = max(1, batches_per_epoch) if per_iteration else 1
    position = step / per_epoch_steps
    epochs, start = warmup_settings(sched)
    factor = warmup_factor(position, epochs, start)
    if sched["name"] == "step":
        factor *= step_factor(position, sched.get("milestones", ()), sched.get("gamma", 0.1))
    elif sched["name"] == "clr":
        step_size = max(1, round(sched["half_cycle_epochs"] * per_epoch_steps))
        factor *= clr_factor(step, train["lr"], sched["max_lr"], step_size)
    return factor


def factor_scheduler(
    optimizer: torch.optim.Optimizer, train: dict[str, Any], batches_per_epoch: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A LambdaLR that follows `lr_factor` (warm-up, step decay, CLR or a constant rate)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, train, batches_per_epoch)
    )
