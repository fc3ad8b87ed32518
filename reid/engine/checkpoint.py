"""Checkpoints: saved atomically, loaded with `weights_only=True`, checked against the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from reid.errors import CheckpointError
from reid.io import save_torch


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint atomically (temp file + rename)."""
    save_torch(path, state)


def load_checkpoint(
    path: Path, map_location: str | torch.device = "cpu", require: str = "model"
) -> dict[str, Any]:
    """Load a checkpoint safely (no pickled code), with a clear error when it is unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; train the parent phase first")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is unusable
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {_reason(exc)}); "
            "delete it and re-run the rule that wrote it"
        ) from None
    if not isinstance(state, dict) or require not in state:
        raise CheckpointError(f"checkpoint {path} holds no {require} state; delete it and re-run")
    return state


def _reason(exc: BaseException) -> str:
    """One line out of torch's many-line unpickling messages: the line that says what failed."""
    text = str(exc)
    marker = "WeightsUnpickler error:"
    if marker in text:  # weights_only refused a global: a pickled object, not tensors
        text = text.split(marker, 1)[1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "unreadable"


def check_signature(path: Path, found: dict[str, Any], expected: dict[str, Any]) -> None:
    """Refuse a checkpoint whose model signature differs from the one the config builds."""
    diffs = [
        f"{key}: checkpoint has {found.get(key)!r}, config gives {expected.get(key)!r}"
        for key in sorted(set(found) | set(expected))
        if found.get(key) != expected.get(key)
    ]
    if diffs:
        raise CheckpointError(
            f"checkpoint {path} was trained with another config ({'; '.join(diffs)}); "
            "use a checkpoint of this config or delete the run folder to retrain"
        )
