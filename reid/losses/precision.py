"""Full-precision regions for losses whose products must not run in half precision.

Autocast casts matrix products down whatever dtype their inputs have (bf16 on CPU, fp16/bf16 on
CUDA), so `.float()` alone does not keep a similarity matrix in float32: a cosine divided by a
temperature of 0.1 loses two significant digits, and a loss that is the small difference of two
near-equal matrices (SPD) is swamped by rounding. Such losses compute inside
`full_precision(device)` on inputs cast with `compute_dtype` (float32, or float64 when given
float64), so their value does not depend on the surrounding autocast.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch
from torch import Tensor
from torch.amp.autocast_mode import is_autocast_available


def full_precision(device: torch.device | str) -> AbstractContextManager[object]:
    """A context with autocast off on `device`; a no-op where autocast does not exist (meta)."""
    kind = torch.device(device).type
    if is_autocast_available(kind):
        return torch.autocast(device_type=kind, enabled=False)
    return nullcontext()


def compute_dtype(*tensors: Tensor) -> torch.dtype:
    """float64 when any input is float64, else float32 (half precision is raised to float32)."""
    if any(t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def cosine_matrix(x: Tensor, y: Tensor) -> Tensor:
    """cos(x_i, y_j) = x̂ ŷᵀ with rows L2-normalised by `F.normalize` (eps 1e-12)."""
    x_hat = torch.nn.functional.normalize(x, p=2, dim=1)
    y_hat = torch.nn.functional.normalize(y, p=2, dim=1)
    return x_hat @ y_hat.t()


def float32_gram(rows: Tensor) -> Tensor:
    """rows · rowsᵀ in float32 (float64 kept) even under autocast ([b, d] -> [b, b])."""
    flat = rows.to(compute_dtype(rows))
    with full_precision(flat.device):
        return flat @ flat.t()
