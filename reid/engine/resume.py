"""Per-epoch training state (state/last.pt): saved with the identity of the run it belongs to,
and resumed only by that run: the same spec (run hash) on the same parent weights."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from reid.engine.checkpoint import check_signature, load_checkpoint
from reid.errors import CheckpointError
from reid.io import file_digest
from reid.models import model_signature
from reid.runs import run_hash

log = logging.getLogger(__name__)


def run_identity(spec: dict[str, Any], run_root: Path) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the run hash and the parent's weights."""
    parent = None
    if spec["parent"] is not None:
        parent = file_digest(Path(run_root) / spec["parent"] / "model.pt")
    return {"run": run_hash(spec), "parent": parent}


def resumable(path: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The state at `path` when it was written by this very run, else None (train afresh)."""
    if not path.is_file():
        return None
    state = load_checkpoint(path)
    if state.get("identity") != identity:
        log.warning(
            "ignoring %s: it belongs to another spec or other parent weights; training afresh",
            path,
        )
        return None
    return state


def training_state(model, optimizer, scheduler, strategy, epoch: int, history, identity) -> dict:
    """Everything a resumed run needs to go on exactly where this one stopped."""
    return {
        "model": model.state_dict(),
        "signature": model_signature(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "strategy": strategy.state_dict(),
        "owned": {name: o.module.state_dict() for name, o in strategy.owned_modules().items()},
        "epoch": epoch,
        "history": history,
        "identity": identity,
    }


def restore(path: Path, state: dict, model, optimizer, scheduler) -> tuple[int, list[dict]]:
    """Load a resumable state into the model, optimiser and scheduler."""
    check_signature(path, state["signature"], model_signature(model))
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"checkpoint {path} does not fit this run ({exc}); delete {path.parent} to retrain"
        ) from None
    return int(state["epoch"]), list(state["history"])
