"""Shared helpers of the benchmarks: timing, peak memory, result lines."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Smallest wall time of `repeat` calls of `fn`, and the last call's result."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident set size (MiB) of this process, or of its waited-for children."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FALL SHORT"


def result_line(name: str, value: float, target: str, ok: bool, unit: str = "") -> str:
    """One machine-greppable line: `RESULT <name> <value><unit> target <target> <verdict>`."""
    return f"RESULT {name} = {value:.3f}{unit} (target {target}) {verdict(ok)}"
