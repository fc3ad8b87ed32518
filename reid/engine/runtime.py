"""Runtime options that do not change what is learnt: device, threads, precision, memory layout."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Any

import torch

from reid.errors import ConfigError


@dataclass
class Runtime:
    """How to run a phase on this machine. Only the precision (`amp`) is part of a run's hash:
    it is taken from the spec's `train.amp` by `for_spec`."""

    device_name: str = "auto"
    threads: int | None = None
    amp: str = "off"
    channels_last: bool = False
    compile: bool = False
    cache_images: bool = True

    def device(self) -> torch.device:
        """The torch device: `auto` picks CUDA when one is visible."""
        if self.threads:
            torch.set_num_threads(self.threads)
        if self.device_name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device_name)

    def amp_dtype(self, device: torch.device) -> torch.dtype | None:
        """Autocast dtype, or None (mixed precision only on CUDA)."""
        if device.type != "cuda" or self.amp == "off":
            return None
        return torch.bfloat16 if self.amp == "bf16" else torch.float16

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """Autocast at the runtime's precision on `device` (a no-op where it is off, and on a
        device type without autocast, such as `meta`)."""
        dtype = self.amp_dtype(device)
        if dtype is None and not torch.amp.is_autocast_available(device.type):
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)

    def for_spec(self, spec: dict[str, Any]) -> Runtime:
        """This runtime with the precision of a run spec (`train.amp`); a different precision
        asked for on the command line is refused, since it would train another run."""
        precision = spec["train"].get("amp", "off")
        if self.amp not in ("off", precision):
            raise ConfigError(
                f"--amp {self.amp} differs from the run's train.amp {precision!r}: precision is "
                "part of a run's identity; set train.amp in the config instead"
            )
        return replace(self, amp=precision)
