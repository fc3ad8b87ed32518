"""The paper's method: cross-entropy plus the covariance term on every pipeline's block-2 map."""

from __future__ import annotations

from typing import Any

from reid.losses import CovarianceTerm
from reid.strategies.base import Batch, LossParts, PhaseContext, Strategy, register_strategy

PAPER_VARIANT = {"covariance": {"variant": "paper"}}


# `method.covariance`: its settings, as JSON schema with defaults.
OPTIONS = {
    "variant": {"type": "string", "enum": ["paper", "detached", "off"], "default": "detached"},
    "lam": {"type": "number", "default": 1.0},
    "alpha": {"type": "number", "default": 1.0e-9},
    "beta": {"type": "number", "default": 0.0},
    # Eq. (1): Σ over the batch's couples inside A (as printed, and the authors' code), or one
    # squared term per couple (this suite's reading before the fix).
    "couples": {"type": "string", "enum": ["summed", "separate"], "default": "summed"},
}


@register_strategy(
    "covariance",
    "covariance (paper, detached = authors' code)",
    order=10,
    variants={"covariance_paper": ("covariance (gradient variant)", PAPER_VARIANT)},
    options=OPTIONS,
    heads=("pipeline",),
)
class CovarianceStrategy(Strategy):
    """Cross-entropy on the new pipeline + the covariance loss over all pipelines (eq. 1)."""

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)
        cov = self.settings
        self.term = CovarianceTerm(
            cov["variant"], cov["lam"], cov["alpha"], cov["beta"], cov.get("couples", "summed")
        )

    def forward_pipelines(self, batch: Batch) -> list[int]:
        return list(range(self.new_index + 1))

    def loss(self, model: Any, out: Any, batch: Batch) -> LossParts:
        task, terms = self.task_loss(out, batch)
        cov, couples = self.term(out.block2, batch.pids, batch.camids)
        return LossParts(task + cov, {**terms, "cov": cov.detach()}, couples)
