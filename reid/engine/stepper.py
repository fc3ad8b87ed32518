"""One optimisation step of a phase: forward under autocast, the strategy's loss and hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from reid.engine.runtime import Runtime
from reid.strategies import Batch, LossParts, StepContext, Strategy


@dataclass
class Stepper:
    """One optimisation step: forward under autocast, the strategy's loss, backward, the
    strategy's `after_backward` (gradients unscaled), update."""

    model: nn.Module
    strategy: Strategy
    forward: Callable[..., Any]
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    runtime: Runtime
    device: torch.device

    @classmethod
    def build(cls, model, strategy, optimizer, runtime: Runtime, device) -> Stepper:
        """A stepper with the runtime's compiled forward and gradient scaler."""
        forward = torch.compile(model) if runtime.compile and device.type == "cuda" else model
        scaler = torch.amp.GradScaler(enabled=runtime.amp_dtype(device) == torch.float16)
        return cls(model, strategy, forward, optimizer, scaler, runtime, device)

    def step(self, batch: Batch) -> LossParts:
        """Train on one batch; returns the loss and its logged terms."""
        with self.runtime.autocast(self.device):
            out = self.forward(batch.images, pipelines=self.strategy.forward_pipelines(batch))
            parts = self.strategy.loss(self.model, out, batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(parts.total).backward()
        self.scaler.unscale_(self.optimizer)  # a no-op without fp16 scaling
        self.strategy.after_backward(StepContext(self.model, self.optimizer, batch, parts))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return parts
