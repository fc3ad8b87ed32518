"""The recipe's config keys enter a run's spec only where they change training."""

from __future__ import annotations

import copy

import yaml
from engine_helpers import TINY

from reid.config import validate_config
from reid.runs import main_chain, neutral_train, run_hash


def _tiny(**sections) -> dict:
    raw = yaml.safe_load(TINY.read_text())
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return validate_config(raw)


def test_every_new_key_at_its_no_op_value_leaves_the_specs_as_they_were() -> None:
    plain = _tiny()
    explicit = _tiny(
        model={"head": "pipeline", "classifier": "per_task", "classifier_init": "random"},
        train={
            "first_epochs": None,
            "epoch_length": "sampler",
            "batch": {"p": 4, "k": 2, "sampler": "pk"},
            "loss": {"ce": 1.0, "triplet": 0.0, "triplet_margin": None},
            "scheduler": {
                **plain["train"]["scheduler"],
                "milestones": [1, 2],
                "gamma": 0.5,
                "warmup": {"epochs": 0, "start_factor": 0.2},
            },
        },
    )
    for a, b in zip(main_chain(plain), main_chain(explicit), strict=True):
        assert a == b and run_hash(a) == run_hash(b)
    spec = main_chain(plain)[0]
    for key in ("head", "bnneck", "classifier", "classifier_init"):
        assert key not in spec["model"]
    for key in ("first_epochs", "epoch_length", "loss"):
        assert key not in spec["train"]
    assert "sampler" not in spec["train"]["batch"]
    assert not {"milestones", "gamma", "warmup"} & set(spec["train"]["scheduler"])


def test_recipe_keys_enter_and_first_epochs_becomes_phase_one_epochs() -> None:
    config = _tiny(
        model={"head": "bnneck", "classifier": "growing"},
        method={"name": "finetune"},
        comparison={"methods": ["finetune"]},
        train={
            "first_epochs": 5,
            "epochs": 3,
            "loss": {"triplet": 1.0},
            "scheduler": {"name": "step", "warmup": {"epochs": 1}},
        },
    )
    first, second = main_chain(config)
    assert (first["train"]["epochs"], second["train"]["epochs"]) == (5, 3)
    assert "first_epochs" not in first["train"]
    assert first["model"]["head"] == "bnneck" and "classifier_input" not in first["model"]
    assert first["model"]["bnneck"] == {"pooling": "gem", "gem_p": 3.0, "feature": "pre_bn"}
    sched = first["train"]["scheduler"]
    assert sched["warmup"]["epochs"] == 1 and sched["milestones"] == [30]
    assert "max_lr" not in sched and "half_cycle_epochs" not in sched
    assert first["train"]["loss"]["triplet"] == 1.0
    changed = copy.deepcopy(config)
    changed["model"]["bnneck"]["pooling"] = "avg"
    assert run_hash(main_chain(changed)[0]) != run_hash(first)


def test_neutral_train_keeps_the_runtime_keys_out() -> None:
    train = _tiny()["train"]
    assert not {"channels_last", "compile"} & set(neutral_train(train))
