"""One command-line seam: `reid`, `python -m reid` and `python -m reid.cli` behave alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
ENTRY_POINTS = {
    "reid": [str(BIN / "reid")],
    "python -m reid": [sys.executable, "-m", "reid"],
    "python -m reid.cli": [sys.executable, "-m", "reid.cli"],
}


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_every_entry_point_lists_the_same_commands():
    from reid.cli import build_parser

    parser = build_parser()
    names = sorted(parser._subparsers._group_actions[0].choices)  # noqa: SLF001
    assert {"train", "evaluate", "prepare", "tune", "report"} <= set(names)
    outputs = {}
    for label, argv in ENTRY_POINTS.items():
        proc = _run([*argv, "--help"])
        assert proc.returncode == 0, (label, proc.stderr)
        listed = [name for name in names if f"    {name} " in proc.stdout]
        assert listed == names, label
        outputs[label] = proc.stdout.replace(argv[-1], "")
    assert len({text.split("usage:")[-1].split("\n", 1)[1] for text in outputs.values()}) == 1


@pytest.mark.parametrize("label", list(ENTRY_POINTS))
def test_every_entry_point_reports_errors_in_one_line(label, tmp_path):
    proc = _run([*ENTRY_POINTS[label], "summary", "market1501", str(tmp_path / "missing")])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not exist" in lines[0]


def test_commands_do_not_import_the_cli_module():
    for path in (Path(__file__).resolve().parents[1] / "reid" / "commands").glob("*.py"):
        assert "from reid.cli import" not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("name", ["evaluate", "ranklist"])
def test_an_unknown_task_is_one_usage_error_naming_the_tasks(name, tmp_path):
    """`reid evaluate` and `reid ranklist` resolve `--task` alike (exit 2, one line)."""
    config = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
    argv = [*ENTRY_POINTS["reid"], name, "--config", str(config), "--task", "nope"]
    proc = _run([*argv, "--model", str(tmp_path / "model.pt"), "--out", str(tmp_path / "r.png")])
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--task 'nope'" in lines[0] and "['market', 'duke']" in lines[0]
