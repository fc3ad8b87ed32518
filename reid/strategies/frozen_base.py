"""Frozen base: only the new pipeline learns (no forgetting, least plasticity)."""

from __future__ import annotations

from reid.strategies.base import PhaseContext, Strategy, register_strategy


@register_strategy
class FrozenBaseStrategy(Strategy):
    """The shared backbone and earlier pipelines stay as the parent left them."""

    name = "frozen_base"
    label = "frozen base"
    order = 50

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)
        ctx.model.freeze_base()
