"""Learning without Forgetting distillation loss (Li & Hoiem, 2016)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def lwf_loss(
    new_logits: Tensor, old_logits: Tensor, temperature: float = 2.0, kl_scaled: bool = False
) -> Tensor:
    """Cross-entropy from softmax(old/T) (target, detached) to softmax(new/T), batch mean.

    `kl_scaled=True` gives instead KL(old_T ‖ new_T) · T² (batch mean), the form some libraries
    use (Hinton et al.); it differs from the default by the target entropy and the T² factor.
    """
    if new_logits.shape != old_logits.shape:
        raise ValueError(f"logit shapes differ: {tuple(new_logits.shape)} vs {old_logits.shape}")
    t = float(temperature)
    target = F.softmax(old_logits.detach() / t, dim=1)
    log_pred = F.log_softmax(new_logits / t, dim=1)
    if kl_scaled:
        return F.kl_div(log_pred, target, reduction="batchmean") * (t * t)
    return -(target * log_pred).sum(dim=1).mean()
