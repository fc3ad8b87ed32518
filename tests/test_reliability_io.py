"""Atomic writes: a failing write leaves the previous file as it was and no temp file behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from reid import io
from reid.engine.checkpoint import load_checkpoint, save_checkpoint


class Unserialisable:
    pass


def _only(folder: Path, *names: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_failing_json_write_keeps_previous_file(tmp_path: Path) -> None:
    target = io.write_json(tmp_path / "metrics.json", {"rank1": 91.5})
    before = target.read_bytes()
    with pytest.raises(TypeError, match="not JSON serialisable: Unserialisable"):
        io.write_json(target, {"rank1": 92.0, "oops": Unserialisable()})
    assert target.read_bytes() == before
    _only(tmp_path, "metrics.json")


def test_failing_first_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        io.write_json(tmp_path / "out" / "new.json", [Unserialisable()])
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_torch_save_raising_midway_keeps_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "last.pt"
    save_checkpoint(target, {"model": {"w": torch.ones(3)}, "epoch": 1})

    def half_then_crash(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", half_then_crash)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(target, {"model": {"w": torch.zeros(3)}, "epoch": 2})
    monkeypatch.undo()
    state = load_checkpoint(target)
    assert state["epoch"] == 1
    assert torch.equal(state["model"]["w"], torch.ones(3))
    _only(tmp_path, "last.pt")


def test_csv_write_raising_midway_keeps_previous_table(tmp_path: Path, monkeypatch) -> None:
    target = io.write_csv(tmp_path / "history.csv", pd.DataFrame({"epoch": [1], "ce": [2.0]}))
    before = target.read_bytes()

    def partial(self, path, **kwargs):
        Path(path).write_text("epoch,ce\n1,2.0\n2,")
        raise KeyboardInterrupt  # even an interrupt (Ctrl-C) leaves the old file

    monkeypatch.setattr(pd.DataFrame, "to_csv", partial)
    with pytest.raises(KeyboardInterrupt):
        io.write_csv(target, pd.DataFrame({"epoch": [1, 2], "ce": [2.0, 1.5]}))
    assert target.read_bytes() == before
    _only(tmp_path, "history.csv")


def test_failing_rename_leaves_no_temp_file(tmp_path: Path, monkeypatch) -> None:
    target = io.write_text(tmp_path / "table.txt", "old\n")

    def no_rename(src, dst):
        raise PermissionError(f"cannot replace {dst}")

    monkeypatch.setattr(io.os, "replace", no_rename)
    with pytest.raises(PermissionError):
        io.write_text(target, "new\n")
    assert target.read_text() == "old\n"
    _only(tmp_path, "table.txt")


def test_successful_writes_replace_whole_file(tmp_path: Path) -> None:
    target = io.write_text(tmp_path / "a.txt", "x" * 10_000)
    io.write_text(target, "short\n")
    assert target.read_text() == "short\n"
    io.write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    _only(tmp_path, "a.txt")


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"), [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)]
)
def test_written_files_keep_the_users_umask(
    tmp_path: Path, umask: int, file_mode: int, dir_mode: int
) -> None:
    import os
    import stat

    from reid.data.synthetic import generate_domain

    previous = os.umask(umask)
    try:
        json_file = io.write_json(tmp_path / "report" / "index.json", {"a": 1})
        csv_file = io.write_csv(tmp_path / "table.csv", pd.DataFrame({"a": [1]}))
        domain = generate_domain(
            tmp_path / "domain",
            "market",
            num_train_ids=2,
            num_test_ids=2,
            images_per_id=4,
            height=32,
            width=16,
        )
    finally:
        os.umask(previous)
    for path in (json_file, csv_file):
        assert stat.S_IMODE(path.stat().st_mode) == file_mode, path
    assert stat.S_IMODE(domain.stat().st_mode) == dir_mode
