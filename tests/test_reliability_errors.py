"""Bad input is refused through the CLI with one clear line on stderr, exit code 2, no
traceback and no partial output; earlier outputs stay as they were."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch
import yaml
from data_fixtures import make_market, tar_with, zip_folder
from engine_helpers import TINY, chdir, prepare_all, tiny_config
from workflow_helpers import make_project, snakemake

from reid.cli import main
from reid.engine.checkpoint import load_checkpoint
from reid.errors import CheckpointError
from reid.models import MultiPipelineNet, model_signature
from reid.runs import main_chain, run_hash


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, command: str, *argv: str, needles: tuple[str, ...] = ()) -> str:
    """Run `reid COMMAND ARGV`; check exit 2 and one error line holding every needle."""
    code, out, err = cli(capsys, command, *argv)
    assert code == 2, (out, err)
    assert "Traceback" not in err + out
    lines = err.strip().split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith(f"reid {command}: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (to check that nothing changed)."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


# --- datasets -------------------------------------------------------------------------------


def test_missing_dataset_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "summary.csv"
    out.write_text("split,ids\nkept,1\n")
    missing = tmp_path / "Market-1501"
    refused(
        capsys,
        "summary",
        "market1501",
        missing,
        "--out",
        out,
        needles=(str(missing), "does not exist", "bounding_box_train/", "reid prepare"),
    )
    assert out.read_text() == "split,ids\nkept,1\n"
    assert not missing.exists()


def test_wrong_layout_lists_what_was_found(tmp_path: Path, capsys) -> None:
    root = tmp_path / "market"
    (root / "images").mkdir(parents=True)
    (root / "images" / "0001_c1s1_000151_01.jpg").write_bytes(b"kept")
    before = snapshot(root)
    refused(
        capsys,
        "summary",
        "market1501",
        root,
        "--out",
        tmp_path / "summary.csv",
        needles=(str(root), "does not look like Market-1501", "bounding_box_train/", "images/"),
    )
    assert snapshot(root) == before
    assert not (tmp_path / "summary.csv").exists()


@pytest.mark.parametrize(
    ("folder", "name"),
    [("query", "0001_c1s1.jpg"), ("bounding_box_train", "0002_c1_f0046985.jpg")],
)
def test_file_name_off_convention(tmp_path: Path, capsys, folder: str, name: str) -> None:
    root = make_market(tmp_path / "market")
    (root / folder / name).write_bytes(b"x")
    refused(
        capsys,
        "summary",
        "market1501",
        root,
        "--out",
        tmp_path / "summary.csv",
        needles=(repr(name), str(root / folder), "PPPP_cCsS_FFFFFF_BB.jpg"),
    )
    assert not (tmp_path / "summary.csv").exists()


def test_file_name_off_convention_through_prepare(tmp_path: Path, capsys) -> None:
    src = make_market(tmp_path / "src")
    (src / "bounding_box_test" / "img_001.jpg").write_bytes(b"x")
    task = {"name": "market", "dataset": "market1501", "source": "local", "folder": str(src)}
    dest = tmp_path / "dest"
    refused(
        capsys,
        "prepare",
        "--task-json",
        json.dumps(task),
        "--dest",
        dest,
        needles=("'img_001.jpg'", "bounding_box_test"),
    )
    assert not (dest / "READY.json").exists()
    assert not (dest / "summary.csv").exists()


@pytest.fixture
def corrupt_workdir(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A prepared one-task tiny project with one unreadable training image."""
    raw = yaml.safe_load(TINY.read_text())
    with chdir(tmp_path):
        config = tiny_config(tmp_path, tasks=raw["tasks"][:1])
        prepare_all(config)
    images = sorted(tmp_path.rglob("bounding_box_train/*.jpg"))
    bad = images[len(images) // 2]
    bad.write_bytes(b"\xff\xd8 this is not a JPEG")
    run = tmp_path / "results" / "runs" / run_hash(main_chain(config)[0])
    return tmp_path, bad, run


TRAIN_BASE = ("--phase", "1", "--device", "cpu", "--threads", "1")
TRAIN_ARGS = (*TRAIN_BASE, "--set", "train.epochs=1")


def test_corrupt_image_is_named_by_train(corrupt_workdir, capsys) -> None:
    workdir, bad, run = corrupt_workdir
    with chdir(workdir):
        refused(
            capsys,
            "train",
            "--config",
            workdir / "config.yaml",
            *TRAIN_ARGS,
            needles=(f"image {bad} is corrupt or unreadable", "skip_corrupt: true"),
        )
    for name in ("model.pt", "history.csv", "metrics.json", "state"):
        assert not (run / name).exists(), name


def test_corrupt_image_is_skipped_and_counted_when_asked(corrupt_workdir, capsys, caplog) -> None:
    workdir, bad, _ = corrupt_workdir
    config = workdir / "config.yaml"
    with chdir(workdir), caplog.at_level("WARNING"):
        code, out, err = cli(
            capsys, "train", "--config", config, *TRAIN_ARGS, "--set", "data.skip_corrupt=true"
        )
    assert code == 0, err
    messages = [r.getMessage() for r in caplog.records]
    assert any(str(bad) in m and "skipping unreadable image" in m for m in messages), messages
    assert any("skipped 1 unreadable image(s)" in m for m in messages), messages


# --- acquisition ----------------------------------------------------------------------------


@pytest.fixture
def market_zip(tmp_path: Path) -> Path:
    src = make_market(tmp_path / "src")
    return zip_folder(src, tmp_path / "Market-1501-v15.09.15.zip", "Market-1501-v15.09.15")


def test_md5_mismatch_of_a_download(tmp_path: Path, market_zip: Path, capsys) -> None:
    from reid.data.acquire import md5sum

    dest = tmp_path / "dest"
    task = {
        "name": "market",
        "dataset": "market1501",
        "source": "download",
        "url": market_zip.as_uri(),
        "md5": "0" * 32,
    }
    refused(
        capsys,
        "prepare",
        "--task-json",
        json.dumps(task),
        "--dest",
        dest,
        needles=("md5 mismatch", market_zip.as_uri(), "0" * 32, md5sum(market_zip)),
    )
    leftovers = [p for p in dest.rglob("*") if p.is_file()] if dest.exists() else []
    assert leftovers == []  # the partial download is removed


def test_md5_mismatch_of_a_placed_archive(tmp_path: Path, market_zip: Path, capsys) -> None:
    from reid.data.acquire import md5sum

    dest = tmp_path / "dest"
    before = market_zip.read_bytes()
    task = {
        "name": "market",
        "dataset": "market1501",
        "source": "local",
        "archive": str(market_zip),
        "md5": "f" * 32,
    }
    refused(
        capsys,
        "prepare",
        "--task-json",
        json.dumps(task),
        "--dest",
        dest,
        needles=("md5 mismatch", str(market_zip), "f" * 32, md5sum(market_zip), "replace it"),
    )
    assert market_zip.read_bytes() == before  # the user's file is never touched
    assert not dest.exists() or not any(dest.rglob("*"))


def _escaping_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Market-1501-v15.09.15/query/0001_c1s1_001051_00.jpg", b"x")
        zf.writestr("Market-1501-v15.09.15/../../escaped.txt", b"owned")
    return path


def _escaping_tar(path: Path) -> Path:
    inside = tarfile.TarInfo("Market-1501-v15.09.15/query/0001_c1s1_001051_00.jpg")
    link = tarfile.TarInfo("Market-1501-v15.09.15/evil")
    link.type, link.linkname = tarfile.SYMTYPE, "../../../escaped.txt"
    return tar_with(path, [inside, link])


@pytest.mark.parametrize(
    ("make", "name", "member"),
    [
        (_escaping_zip, "evil.zip", "Market-1501-v15.09.15/../../escaped.txt"),
        (_escaping_tar, "evil.tar.gz", "Market-1501-v15.09.15/evil"),
    ],
)
def test_archive_member_escaping_its_folder(tmp_path: Path, capsys, make, name, member) -> None:
    (tmp_path / "archives").mkdir()
    archive = make(tmp_path / "archives" / name)
    dest = tmp_path / "datasets" / "market"
    dest.mkdir(parents=True)
    (dest / "NOTES.txt").write_text("the user's own file")
    before = snapshot(tmp_path)
    task = {"name": "market", "dataset": "market1501", "source": "local", "archive": str(archive)}
    refused(
        capsys,
        "prepare",
        "--task-json",
        json.dumps(task),
        "--dest",
        dest,
        needles=(str(archive), "refusing", repr(member)),
    )
    assert snapshot(tmp_path) == before  # nothing extracted, nothing written outside
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["market"]


# --- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("frobnicate: 1\n", ("unknown config key 'frobnicate'", "the top level", "allowed keys")),
        ("train:\n  epochz: 3\n", ("unknown config key 'epochz'", "in 'train'", "epochs")),
        ("train:\n  epochs: three\n", ("'train.epochs'", "integer", "'three'")),
        ("data:\n  skip_corrupt: maybe\n", ("'data.skip_corrupt'", "boolean")),
        ("model:\n  backbone: vgg16\n", ("'model.backbone'", "'vgg16'", "resnet18")),
        ("tasks:\n  - {name: a, dataset: market1501, colour: red}\n", ("'colour'", "'tasks[0]'")),
        ("train: [1\n", ("not valid YAML", "line 2", "fix the syntax")),
        ("- just\n- a list\n", ("must hold a mapping",)),
    ],
)
def test_bad_config_file_through_train(tmp_path: Path, capsys, text: str, needles) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with chdir(tmp_path):
        line = refused(capsys, "train", "--config", bad, "--phase", "1", needles=needles)
    if "YAML" in line or "mapping" in line:
        assert str(bad) in line
    else:
        assert "see config/README.md" in line
    assert not (tmp_path / "results").exists()


def test_bad_set_override_names_the_key(tmp_path: Path, capsys) -> None:
    with chdir(tmp_path):
        refused(
            capsys,
            "train",
            "--config",
            TINY,
            "--phase",
            "1",
            "--set",
            "train.lr=fast",
            needles=("'train.lr'", "number", "'fast'"),
        )
        refused(capsys, "train", "--config", TINY, "--set", "seed", needles=("KEY=VALUE",))
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("config_text", "extra", "needle"),
    [
        ("train:\n  epochz: 3\n", (), "unknown config key 'epochz' in 'train'"),
        ("seed: 0\n", ("--config", "train={epochs: x}"), "config key 'train.epochs'"),
    ],
)
def test_bad_config_through_snakemake(tmp_path: Path, config_text, extra, needle) -> None:
    folder = make_project(tmp_path)
    (folder / "config" / "config.yaml").write_text(config_text)
    proc = snakemake(folder, "-n", "--cores", "1", *extra, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert needle in output, output[-3000:]
    assert "Traceback (most recent call last)" not in output
    assert not (folder / "results").exists()


# --- checkpoints ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_yaml(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("ckpt")
    with chdir(folder):
        config = tiny_config(folder)
    return folder / "config.yaml", config


def _evaluate_refuses(capsys, config: Path, model: Path, needles) -> None:
    out = model.parent / "eval.json"
    out.write_text('{"rank1": 50.0}\n')
    refused(
        capsys,
        "evaluate",
        "--config",
        config,
        "--task",
        "market",
        "--model",
        model,
        "--out",
        out,
        needles=(str(model), *needles),
    )
    assert out.read_text() == '{"rank1": 50.0}\n'


def test_corrupt_checkpoint(tmp_path: Path, tiny_yaml, capsys) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"PK\x03\x04 truncated")
    _evaluate_refuses(capsys, tiny_yaml[0], model, ("cannot be read", "delete it"))
    torch.save({"model": {"weight": torch.zeros(2)}}, model)
    _evaluate_refuses(capsys, tiny_yaml[0], model, ("lacks signature, spec",))
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "absent.pt")


class Payload:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_checkpoint_holding_a_pickled_object_is_refused_not_run(
    tmp_path: Path, tiny_yaml, capsys
) -> None:
    marker = tmp_path / "code-ran"
    model = tmp_path / "model.pt"
    torch.save({"model": {}, "signature": {}, "spec": {}, "extra": Payload(marker)}, model)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(model)
    assert not marker.exists()
    _evaluate_refuses(capsys, tiny_yaml[0], model, ("Unsupported global",))
    assert not marker.exists()


def _fake_model_pt(path: Path, backbone: str, num_classes: list[int], spec: dict) -> Path:
    from reid.engine.trainer import _without_download, model_config

    spec = json.loads(json.dumps(spec))
    spec["model"]["backbone"] = backbone
    model = MultiPipelineNet(_without_download(model_config(spec)))
    for classes in num_classes:
        model.add_pipeline(classes)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"model": model.state_dict(), "signature": model_signature(model), "spec": spec}, path
    )
    return path


def test_parent_checkpoint_of_another_backbone(tmp_path: Path, tiny_yaml, capsys) -> None:
    _, config = tiny_yaml
    phase1, phase2 = main_chain(config)
    parent = _fake_model_pt(
        tmp_path / "runs" / phase2["parent"] / "model.pt", "resnet34", [6], phase1
    )
    before = parent.read_bytes()
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(phase2))
    run_dir = tmp_path / "runs" / run_hash(phase2)
    refused(
        capsys,
        "train",
        "--spec",
        f"@{spec}",
        "--run-dir",
        run_dir,
        "--runs-root",
        tmp_path / "runs",
        "--device",
        "cpu",
        "--threads",
        "1",
        needles=(
            str(parent),
            "trained with another config",
            "backbone: checkpoint has 'resnet34', config gives 'resnet18'",
        ),
    )
    assert parent.read_bytes() == before
    for name in ("model.pt", "history.csv", "metrics.json", "state"):
        assert not (run_dir / name).exists(), name


def test_resume_checkpoint_of_another_class_count(tmp_path: Path, capsys) -> None:
    raw = yaml.safe_load(TINY.read_text())
    with chdir(tmp_path):
        config = tiny_config(tmp_path, tasks=raw["tasks"][:1])
        prepare_all(config)
    spec = main_chain(config)[0]
    run_dir = tmp_path / "results" / "runs" / run_hash(spec)
    last = _fake_model_pt(run_dir / "state" / "last.pt", "resnet18", [5], spec)
    # It claims to be this run's checkpoint (same spec, no parent): only then is it resumed.
    state = torch.load(last, weights_only=True)
    torch.save({**state, "identity": {"run": run_hash(spec), "parent": None}}, last)
    before = last.read_bytes()
    with chdir(tmp_path):
        refused(
            capsys,
            "train",
            "--config",
            tmp_path / "config.yaml",
            *TRAIN_BASE,
            needles=(
                str(Path("results/runs") / run_hash(spec) / "state" / "last.pt"),
                "num_classes: checkpoint has [5], config gives [6]",
                "delete the run folder",
            ),
        )
    assert last.read_bytes() == before
    for name in ("model.pt", "history.csv", "metrics.json"):
        assert not (run_dir / name).exists(), name


# --- tuning ---------------------------------------------------------------------------------


def test_unreachable_optuna_storage(tmp_path: Path, capsys) -> None:
    done = tmp_path / "created.json"
    line = refused(
        capsys,
        "tune",
        "create",
        "--study",
        "lambda",
        "--config",
        TINY,
        "--storage",
        "postgresql://u:pw@127.0.0.1:1/x",
        "--done",
        done,
        needles=(
            "cannot reach the Optuna storage",
            "postgresql://u:***@127.0.0.1:1/x",
            "optuna.storage",
            "journal file",
        ),
    )
    assert ":pw@" not in line
    assert not done.exists()
