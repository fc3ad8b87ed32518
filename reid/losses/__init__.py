"""Covariance loss with its couple mask, the LwF distillation loss, the batch-hard triplet
loss and the task loss that combines cross-entropy and triplet."""

from reid.losses.covariance import (
    Couples,
    CovarianceTerm,
    covariance_loss,
    explicit_covariance_loss,
    select_couples,
)
from reid.losses.distillation import lwf_loss
from reid.losses.task import TaskLoss
from reid.losses.triplet import batch_hard_triplet

__all__ = [
    "Couples",
    "CovarianceTerm",
    "TaskLoss",
    "batch_hard_triplet",
    "covariance_loss",
    "explicit_covariance_loss",
    "lwf_loss",
    "select_couples",
]
