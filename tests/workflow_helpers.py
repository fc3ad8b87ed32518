"""Run the Snakemake workflow with its CLI in a temporary project folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "fixtures" / "tiny.yaml"
BIN = Path(sys.executable).parent


def env() -> dict[str, str]:
    """The test's environment with the venv's scripts (snakemake, reid) first on PATH."""
    out = dict(os.environ)
    out["PATH"] = f"{BIN}{os.pathsep}{out.get('PATH', '')}"
    out.setdefault("MPLBACKEND", "Agg")
    return out


def make_project(folder: Path, config: dict | None = None, extra: dict | None = None) -> Path:
    """A project folder whose config/config.yaml is the tiny config (plus `extra` keys)."""
    (folder / "config").mkdir(parents=True, exist_ok=True)
    data = config if config is not None else yaml.safe_load(TINY.read_text())
    for key, value in (extra or {}).items():
        data[key] = value
    (folder / "config" / "config.yaml").write_text(yaml.safe_dump(data))
    return folder


def copy_repo_configs(folder: Path) -> Path:
    """A project folder with the repository's own config/ (default and paper)."""
    shutil.copytree(REPO / "config", folder / "config")
    return folder


def snakemake(folder: Path, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """`snakemake -s <repo>/Snakefile -d <folder> ARGS`, output captured."""
    cmd = [str(BIN / "snakemake"), "-s", str(REPO / "Snakefile"), "-d", str(folder), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env(), **kw)
    if check and proc.returncode != 0:
        output = f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        raise AssertionError(f"{' '.join(cmd)} failed:\n{output}")
    return proc


def job_counts(dry_run_output: str) -> dict[str, int]:
    """The `Job stats` table of a dry run as {rule: count}."""
    counts: dict[str, int] = {}
    lines = dry_run_output.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Job stats"))
    except StopIteration:
        return counts
    for line in lines[start + 3 :]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def planned_job(dry_run_output: str, rule: str) -> tuple[list[str], str]:
    """The inputs and shell command of the one `rule` job of a `snakemake -n -p` output."""
    lines = dry_run_output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"rule {rule}:")
    inputs: list[str] = []
    for line in lines[start + 1 :]:
        if line.strip().startswith("input:"):
            inputs = [item.strip() for item in line.split(":", 1)[1].split(",")]
        if line.startswith("Shell command:"):
            return inputs, line.split(":", 1)[1].strip()
    raise AssertionError(f"no shell command of rule {rule} in the dry run")
