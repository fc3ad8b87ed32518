"""Runtime options that do not change what is learnt: device, threads, precision, memory layout."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Runtime:
    """How to run a phase on this machine (not part of the run's hash)."""

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
