"""Extension points: registries agree with the schema, CLI and report; a toy strategy defined
here trains a phase with no other change; hashes hold only what a strategy reads; strategy
state follows the model's device; a checkpoint is resumed only by the run that wrote it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
import yaml
from engine_helpers import TINY, chdir, tiny_config
from strategy_helpers import RUNS, RUNTIME, phase_one, phase_two

from reid.cli import main
from reid.config import SCHEMA_PATH, load_schema, validate_config
from reid.data.datasets import DATASETS
from reid.data.synthetic import STYLES
from reid.engine import run_phase
from reid.engine.checkpoint import load_checkpoint, save_checkpoint
from reid.engine.trainer import open_phase
from reid.errors import ConfigError
from reid.plans.report import default_settings
from reid.report_tables import REPORT_TABLES, page_order
from reid.report_tables.comparison import METHOD_LABELS
from reid.runs import comparison_plan, main_chain, run_hash
from reid.strategies import (
    STRATEGIES,
    STRATEGY_STATE,
    Strategy,
    comparison_methods,
    method_labels,
    sequential_methods,
)
from reid.tuning.studies import STUDIES


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extension")
    phase_one(path)
    return path


def _config(workdir: Path) -> dict:
    return tiny_config(workdir)


def test_schema_names_are_the_registries() -> None:
    raw = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))["properties"]
    schema = load_schema()["properties"]
    method = schema["method"]["properties"]
    task = schema["tasks"]["items"]["properties"]
    methods = schema["comparison"]["properties"]["methods"]
    assert method["name"]["enum"] == sequential_methods()
    assert set(sequential_methods()) | {"joint"} == set(STRATEGIES.names())
    assert methods["items"]["enum"] == methods["default"] == comparison_methods()
    assert task["dataset"]["enum"] == DATASETS.names()
    assert task["synthetic"]["properties"]["style"]["enum"] == STYLES.names()
    # The YAML file lists no names: they cannot drift from the registries.
    assert "enum" not in raw["method"]["properties"]["name"]
    assert "enum" not in raw["comparison"]["properties"]["methods"]["items"]
    assert "enum" not in raw["tasks"]["items"]["properties"]["dataset"]
    for name, cls in STRATEGIES.items():
        if cls.options is not None:
            assert method[name] == cls.options
        assert set(cls.reads) <= set(method), f"{name} reads keys the schema does not have"


def test_report_and_study_labels_are_the_registries() -> None:
    assert list(method_labels()) == comparison_methods()
    assert method_labels() == METHOD_LABELS
    settings = default_settings({})
    assert [s["name"] for s in settings["studies"]] == STUDIES.names()
    assert [s["heading"] for s in settings["studies"]] == [s.heading for _, s in STUDIES.items()]
    assert [b["name"] for b in settings["blocks"]] == [t.name for t in page_order()]
    assert sorted(b["name"] for b in settings["blocks"]) == sorted(REPORT_TABLES.names())
    # every table a study feeds is registered, and fed by one study only
    fed = [table for _, study in STUDIES.items() for table in study.tables]
    assert set(fed) <= set(REPORT_TABLES.names()) and len(fed) == len(set(fed))


def test_unknown_method_is_refused_in_one_line_listing_every_method(capsys) -> None:
    code = main(["train", "--config", str(TINY), "--set", "method.name=nope", "--phase", "2"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1
    assert "method.name" in err and "'nope'" in err
    for name in sequential_methods():
        assert name in err


@pytest.mark.parametrize("registry", [STRATEGIES, STUDIES, DATASETS, STYLES])
def test_unknown_names_are_refused_in_one_line_listing_the_registered_ones(registry) -> None:
    with pytest.raises(ConfigError) as info:
        registry.get("nope")
    message = str(info.value)
    assert "\n" not in message and "'nope'" in message
    assert all(name in message for name in registry.names())


def test_joint_is_a_strategy_but_not_a_phase_method() -> None:
    assert STRATEGIES.get("joint").sequential is False
    with pytest.raises(ConfigError, match="method.name"):
        validate_config({"method": {"name": "joint"}})
    config = validate_config({"comparison": {"methods": ["joint"]}})
    (entry,) = comparison_plan(config)
    assert [spec["method"] for spec in entry["specs"]] == [{"name": "joint"}]


def test_style_that_does_not_fit_its_dataset_is_refused_naming_both_keys() -> None:
    task = {"name": "a", "dataset": "market1501", "synthetic": {"style": "duke"}}
    with pytest.raises(ConfigError) as info:
        validate_config({"tasks": [task]})
    message = str(info.value)
    assert "tasks[0].synthetic.style" in message and "tasks[0].dataset" in message
    assert "\n" not in message


def test_phase_hash_holds_only_the_settings_its_strategy_reads() -> None:
    base = validate_config(yaml.safe_load(TINY.read_text()))
    changed = copy.deepcopy(base)
    changed["method"]["covariance"]["lam"] = 0.5
    for name in sequential_methods():
        a = main_chain(base, method={**base["method"], "name": name})[1]
        b = main_chain(changed, method={**changed["method"], "name": name})[1]
        reads_covariance = "covariance" in STRATEGIES.get(name).reads
        assert (run_hash(a) != run_hash(b)) == reads_covariance, name


class ToyStrategy(Strategy):
    """Cross-entropy plus a tiny logit penalty; counts its hooks; keeps a step counter."""

    name = "toy"
    label = "toy"
    reads = ("trainable", "toy")
    options = {
        "type": "object",
        "additionalProperties": False,
        "default": {},
        "properties": {"weight": {"type": "number", "default": 0.001}},
    }
    calls: dict[str, int] = {}

    def _count(self, hook: str) -> None:
        ToyStrategy.calls[hook] = ToyStrategy.calls.get(hook, 0) + 1

    def before_phase(self, ctx) -> None:
        super().before_phase(ctx)
        self.steps = torch.zeros((), dtype=torch.long, device=ctx.device)
        self._count("before_phase")

    def before_step(self, batch):
        self._count("before_step")
        return batch

    def loss(self, model: Any, out: Any, batch):
        parts = super().loss(model, out, batch)
        toy = out.logits[-1].pow(2).mean()
        parts.total = parts.total + self.settings["weight"] * toy
        parts.parts["toy"] = toy.detach()
        return parts

    def after_step(self, batch, parts) -> None:
        self.steps += 1
        self._count("after_step")

    def after_phase(self, ctx) -> None:
        self._count("after_phase")

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps}


def test_toy_strategy_trains_a_phase_with_no_other_change(workdir: Path, monkeypatch) -> None:
    monkeypatch.setitem(STRATEGIES._items, "toy", ToyStrategy)
    config = _config(workdir)
    raw = yaml.safe_load(TINY.read_text())
    raw["method"] = {"name": "toy", "toy": {"weight": 0.01}}
    config = validate_config({**raw, "data": config["data"]})
    assert config["method"]["toy"] == {"weight": 0.01}
    ToyStrategy.calls.clear()
    with chdir(workdir):
        spec = phase_two(config, "toy")
        assert spec["method"] == {
            "name": "toy",
            "trainable": "base_second",
            "toy": {"weight": 0.01},
        }
        run_dir = RUNS / run_hash(spec)
        run_phase(spec, run_dir, RUNTIME)
        history = pd.read_csv(run_dir / "history.csv")
        state = load_checkpoint(run_dir / STRATEGY_STATE, require="state")["state"]
    steps = config["train"]["epochs"] * config["train"]["max_batches_per_epoch"]
    assert list(history.columns[:4]) == ["epoch", "lr", "ce", "toy"]
    assert (history["toy"] > 0).all()
    assert ToyStrategy.calls == {
        "before_phase": 1,
        "before_step": steps,
        "after_step": steps,
        "after_phase": 1,
    }
    assert int(state["steps"]) == steps


def _held_tensors(value: Any, seen: set[int] | None = None):
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, torch.nn.Module):
        yield from value.parameters()
        yield from value.buffers()
    elif isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _held_tensors(item, seen)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _held_tensors(item, seen)
    elif isinstance(value, Strategy):
        yield from _held_tensors(vars(value), seen)


@pytest.mark.parametrize("name", sequential_methods())
def test_strategy_state_follows_the_model_device(workdir: Path, name: str) -> None:
    """Every module and tensor a strategy holds sits on the model's device (here `meta`)."""
    config = _config(workdir)
    with chdir(workdir):
        spec = phase_two(config, name)
        meta = type(RUNTIME)(device_name="meta", threads=1)
        phase = open_phase(spec, Path("results/meta") / name, meta, RUNS)
    held = list(_held_tensors(phase.strategy))
    assert all(t.device.type == "meta" for t in held), name
    assert all(p.device.type == "meta" for p in phase.model.parameters())


def test_forced_rerun_of_a_finished_run_trains_from_scratch(workdir: Path) -> None:
    config = _config(workdir)
    with chdir(workdir):
        spec = phase_two(config, "finetune")
        run_dir = Path("results/forced")
        run_phase(spec, run_dir, RUNTIME)
        for name in ("model.pt", "history.csv", "metrics.json"):  # what `snakemake -f` removes
            (run_dir / name).unlink()
        epochs = _epochs_trained(spec, run_dir)
    assert epochs == list(range(1, config["train"]["epochs"] + 1))


class Interrupt(Exception):
    pass


def _stop_at(epoch_to_stop: int):
    def callback(epoch, model, row):
        if epoch == epoch_to_stop:
            raise Interrupt

    return callback


def _interrupted(workdir: Path, run_dir: Path) -> dict:
    """A 3-epoch finetune phase 2 stopped after epoch 2 (run inside `workdir`)."""
    spec = phase_two(_config(workdir), "finetune")
    spec["train"]["epochs"] = 3
    with pytest.raises(Interrupt):
        run_phase(spec, run_dir, RUNTIME, epoch_callback=_stop_at(2))
    return spec


def _epochs_trained(spec: dict, run_dir: Path) -> list[int]:
    epochs: list[int] = []
    run_phase(spec, run_dir, RUNTIME, epoch_callback=lambda e, m, r: epochs.append(e))
    return epochs


def test_checkpoint_of_other_parent_weights_is_not_resumed(workdir: Path) -> None:
    with chdir(workdir):
        run_dir = Path("results/other_parent")
        spec = _interrupted(workdir, run_dir)
        parent = RUNS / spec["parent"] / "model.pt"
        original = parent.read_bytes()
        state = load_checkpoint(parent)
        state["model"] = {
            k: v + 0.01 if v.is_floating_point() else v for k, v in state["model"].items()
        }
        save_checkpoint(parent, state)
        try:
            epochs = _epochs_trained(spec, run_dir)
        finally:
            parent.write_bytes(original)
    assert epochs == [1, 2, 3]


def test_checkpoint_of_the_same_run_is_resumed(workdir: Path) -> None:
    with chdir(workdir):
        run_dir = Path("results/same_parent")
        spec = _interrupted(workdir, run_dir)
        saved = load_checkpoint(run_dir / "state" / "last.pt")
        epochs = _epochs_trained(spec, run_dir)
        assert not (run_dir / "state" / "last.pt").exists()
        metrics = json.loads((run_dir / "metrics.json").read_text())
    assert saved["identity"]["run"] == run_hash(spec)
    assert epochs == [3]
    assert metrics["epochs"] == 3


class CountingStrategy(Strategy):
    """A plain (non-consolidating) strategy whose state is a step counter set in __init__."""

    name = "counting"
    reads = ("trainable",)

    def __init__(self, method, label_smoothing: float = 0.0) -> None:
        super().__init__(method, label_smoothing)
        self.steps = torch.zeros((), dtype=torch.long)

    def after_step(self, batch, parts) -> None:
        self.steps += 1

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = state["steps"].clone()


def test_a_plain_strategy_gets_its_state_back_on_resume(workdir: Path, monkeypatch) -> None:
    """The trainer restores `state/last.pt` through the base `before_phase`, so a resumed run
    ends with the state of an uninterrupted one (here: every step counted once)."""
    monkeypatch.setitem(STRATEGIES._items, "counting", CountingStrategy)
    with chdir(workdir):
        spec = phase_two(_config(workdir), "finetune")
        spec["method"]["name"] = "counting"
        spec["train"]["epochs"] = 3
        run_dir = Path("results/counting")
        with pytest.raises(Interrupt):
            run_phase(spec, run_dir, RUNTIME, epoch_callback=_stop_at(2))
        assert _epochs_trained(spec, run_dir) == [3]
        state = load_checkpoint(run_dir / STRATEGY_STATE, require="state")["state"]
    assert int(state["steps"]) == 3 * spec["train"]["max_batches_per_epoch"]


def test_strategy_to_keeps_a_shared_tensor_shared() -> None:
    """A tensor reachable from two attributes is one tensor after `to` (moved once)."""
    strategy = Strategy(None)
    shared = torch.ones(2, dtype=torch.float64)
    strategy.anchor = shared
    strategy.per_task = [{"anchor": shared}]
    strategy.to(torch.device("meta"))
    assert strategy.anchor.device.type == "meta"
    assert strategy.per_task[0]["anchor"] is strategy.anchor


class ModelPieceStrategy(Strategy):
    """A strategy that trains with its own model piece in a comparison."""

    name = "piece"
    reads = ("trainable",)
    model = {"head": "bnneck", "classifier": "growing"}


def test_a_strategy_brings_its_model_piece_to_the_comparison(monkeypatch) -> None:
    """`register_strategy(model=...)`: the comparison trains the method with it, under
    `comparison.model_overrides`; the other methods keep the config's model."""
    from reid.runs import method_model

    monkeypatch.setitem(STRATEGIES._items, "piece", ModelPieceStrategy)
    raw = yaml.safe_load(TINY.read_text())
    config = validate_config(raw)
    assert method_model(config, "piece")["head"] == "bnneck"
    assert method_model(config, "piece")["classifier"] == "growing"
    assert method_model(config, "finetune")["head"] == config["model"]["head"] == "pipeline"
    config["comparison"]["model_overrides"] = {"piece": {"classifier": "per_task"}}
    assert method_model(config, "piece")["classifier"] == "per_task"
