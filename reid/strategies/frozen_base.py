"""Frozen base: only the new pipeline learns (no forgetting, least plasticity)."""

from __future__ import annotations

from reid.strategies.base import PhaseContext, Strategy, register_strategy


@register_strategy("frozen_base", "frozen base", order=50)
class FrozenBaseStrategy(Strategy):
    """The shared backbone and earlier pipelines stay as the parent left them."""

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)
        ctx.model.freeze_base()
