"""Loss arithmetic in float32 under mixed precision.

`torch.autocast` casts matrix products (and a few other ops) down to bf16 / fp16 whatever dtype
their inputs have, so `.float()` alone does not keep a similarity matrix in float32. A loss that
is a small difference of large products (a distillation of similarity matrices, a KL between
near-equal affinities) must compute those products inside `float32_products()`.
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor


def float32_products(device: torch.device | str) -> contextlib.AbstractContextManager:
    """A block where autocast is off on `device`, so products of float32 tensors stay float32
    (a no-op on a device type without autocast, such as `meta`)."""
    kind = torch.device(device).type
    if torch.amp.is_autocast_available(kind):
        return torch.autocast(kind, enabled=False)
    return contextlib.nullcontext()


def float32_gram(rows: Tensor) -> Tensor:
    """rows · rowsᵀ computed in float32 even under autocast ([b, d] -> [b, b])."""
    flat = rows.float()
    with float32_products(flat.device):
        return flat @ flat.t()
