"""Continual-learning metrics (average accuracy, forgetting, backward transfer)."""

from reid.continual.metrics import (
    accuracy_matrix,
    average_accuracy,
    backward_transfer,
    forgetting,
    forgetting_per_task,
)

__all__ = [
    "accuracy_matrix",
    "average_accuracy",
    "backward_transfer",
    "forgetting",
    "forgetting_per_task",
]
