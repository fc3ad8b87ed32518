"""Training engine: one phase at a time, resumable."""

from reid.engine.runtime import Runtime
from reid.engine.trainer import load_model, run_phase

__all__ = ["Runtime", "load_model", "run_phase"]
