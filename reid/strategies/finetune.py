"""Fine-tuning: cross-entropy on the new task only (the lower bound of forgetting)."""

from __future__ import annotations

from reid.strategies.base import Strategy, register_strategy


@register_strategy("finetune", "fine-tuning", order=20)
class FinetuneStrategy(Strategy):
    """Earlier pipelines frozen, base and new pipeline learn the new task with cross-entropy."""
