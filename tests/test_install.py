"""The package installed non-editable (a wheel, outside the clone) loads, validates and prints
a config: the schema ships inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = "reid/schemas/config.schema.yaml"


def _source_copy(dest: Path) -> Path:
    """The files a wheel is built from, copied (the build writes nothing into the clone)."""
    shutil.copytree(REPO / "reid", dest / "reid", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    return dest


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | env
    return subprocess.run(
        args, cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )


def test_a_wheel_outside_the_clone_loads_validates_and_prints_a_config(tmp_path):
    source = _source_copy(tmp_path / "source")
    build = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp_path / "dist"), str(source)],
        cwd=tmp_path,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert SCHEMA in zipfile.ZipFile(wheel).namelist()
    site = tmp_path / "site"
    install = _run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site)]
        + [str(wheel)],
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = elsewhere / "mine.yaml"
    config.write_text((REPO / "tests" / "fixtures" / "tiny.yaml").read_text(encoding="utf-8"))
    shown = _run(
        [
            sys.executable,
            "-c",
            "import reid, sys; print(reid.__file__, file=sys.stderr); "
            "from reid.cli import main; raise SystemExit(main(sys.argv[1:]))",
        ]
        + ["config", "--config", str(config), "--set", "train.epochs=3"],
        cwd=elsewhere,
        PYTHONPATH=str(site),
    )
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stderr.strip().startswith(str(site))  # the installed copy, not the clone
    printed = yaml.safe_load(shown.stdout)
    assert printed["train"]["epochs"] == 3
    assert printed["method"]["name"] == "covariance"  # a default filled from the schema
    assert "ewc" in printed["comparison"]["methods"]  # a list filled from the registries
    refused = _run(
        [sys.executable, "-m", "reid", "config", "--config", str(config), "--set", "trian=1"],
        cwd=elsewhere,
        PYTHONPATH=str(site),
    )
    assert refused.returncode == 2
    assert "unknown config key 'trian'" in refused.stderr
