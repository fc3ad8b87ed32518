"""Provenance of a workflow run: config, git commit, package versions, device."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "torchvision", "optuna", "snakemake", "pandas", "seaborn", "numpy")


def git_commit(repo: Path) -> str | None:
    """The checked-out commit (with `-dirty` when the tree has changes), or None outside git."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def device_description() -> str:
    """CPU or the CUDA device the workflow would train on."""
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    return f"cpu: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def collect(config: dict[str, Any], repo: Path) -> dict[str, Any]:
    """Everything the report's provenance block shows."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "config": config,
        "git_commit": git_commit(repo),
        "packages": versions,
        "python": platform.python_version(),
        "device": device_description(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
