"""The supervised loss of the task being learnt: cross-entropy (optional label smoothing) plus
an optional batch-hard triplet term, combined with the weights of `train.loss`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import Tensor

from reid.losses.triplet import batch_hard_triplet


@dataclass(frozen=True)
class TaskLoss:
    """`ce` · cross-entropy + `triplet` · batch-hard triplet (`margin` None = soft margin) on
    the metric features (L2-normalised first with `normalize`)."""

    ce: float = 1.0
    triplet: float = 0.0
    margin: float | None = 0.3
    normalize: bool = False
    label_smoothing: float = 0.0

    @classmethod
    def from_train(cls, train: dict[str, Any]) -> TaskLoss:
        """The loss a spec's `train` section asks for (no `loss` section: cross-entropy only)."""
        loss = train.get("loss") or {}
        return cls(
            ce=float(loss.get("ce", 1.0)),
            triplet=float(loss.get("triplet", 0.0)),
            margin=loss.get("triplet_margin", 0.3),
            normalize=bool(loss.get("triplet_normalize", False)),
            label_smoothing=float(train.get("label_smoothing", 0.0)),
        )

    @property
    def plain(self) -> bool:
        """Cross-entropy alone, unweighted (the paper's loss)."""
        return self.ce == 1.0 and self.triplet == 0.0

    def __call__(
        self, logits: Tensor, features: Tensor, pids: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and its logged (detached, unweighted) terms `ce` and `triplet`."""
        ce = F.cross_entropy(logits, pids, label_smoothing=self.label_smoothing)
        if self.plain:
            return ce, {"ce": ce.detach()}
        total = self.ce * ce
        parts = {"ce": ce.detach()}
        if self.triplet:
            tri = batch_hard_triplet(features, pids, self.margin, self.normalize)
            total = total + self.triplet * tri
            parts["triplet"] = tri.detach()
        return total, parts
