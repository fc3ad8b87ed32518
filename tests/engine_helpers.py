"""Helpers for engine and workflow tests: a tiny prepared config in a temp folder."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from reid.config import load_config

TINY = Path(__file__).parent / "fixtures" / "tiny.yaml"


def tiny_config(workdir: Path, **overrides) -> dict:
    """The tiny test config, validated; data root inside `workdir`."""
    raw = yaml.safe_load(TINY.read_text())
    raw.setdefault("data", {})["root"] = str(workdir / "resources" / "datasets")
    for key, value in overrides.items():
        raw[key] = value
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_config([path])


def prepare_all(config: dict) -> None:
    """Generate the tiny datasets of a config."""
    from reid.data.prepare import prepare_task
    from reid.runs import dataset_dir

    for task in config["tasks"]:
        prepare_task(task, Path(dataset_dir(config, task)), config["data"])


class chdir:  # noqa: N801 - used like contextlib.chdir
    """Run a block inside a folder (the engine writes under results/ of the working dir)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        self.old = os.getcwd()
        os.chdir(self.path)

    def __exit__(self, *exc: object) -> None:
        os.chdir(self.old)
