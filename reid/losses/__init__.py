"""Covariance loss with its couple mask, and the LwF distillation loss."""

from reid.losses.covariance import (
    Couples,
    CovarianceTerm,
    covariance_loss,
    explicit_covariance_loss,
    select_couples,
)
from reid.losses.distillation import lwf_loss

__all__ = [
    "Couples",
    "CovarianceTerm",
    "covariance_loss",
    "explicit_covariance_loss",
    "lwf_loss",
    "select_couples",
]
