"""Every seeded choice of a strategy derives from the run's seed: over `comparison.seeds` each
seed draws its own exemplar memory, replay draws and Fisher / Ω images; the same seed draws the
same ones; the strategy's own `seed` key stays an offset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from strategy_helpers import fake_bank, tiny_model

from reid.seeding import derive_seed
from reid.strategies import STRATEGIES, Batch, PhaseContext, make_strategy

SETTINGS = {
    "replay": {"size": 6, "per_batch": 4},
    "ewc": {"fisher_batches": 1},
    "mas": {"omega_batches": 1},
}
KEPT = {"replay": "images", "ewc": "fisher", "mas": "omega"}


def _consolidated(tmp_path: Path, name: str, run_seed: int, offset: int = 0):
    parent = tmp_path / "parent"
    parent.mkdir(exist_ok=True)
    task = {"name": "market", "dataset": "market1501", "root": "nowhere"}
    (parent / "spec.json").write_text(json.dumps({"phase": 1, "method": None, "task": task}))
    defaults = {k: v["default"] for k, v in STRATEGIES.get(name).options["properties"].items()}
    settings = {**defaults, **SETTINGS[name], "seed": offset}
    method = {"name": name, "trainable": "base_second", name: settings}
    strategy = make_strategy(method, 0.0)
    ctx = PhaseContext(
        spec={"seed": run_seed, "train": {"batch": {"p": 2, "k": 4}}},
        model=tiny_model(2),
        new_index=1,
        device=torch.device("cpu"),
        run_dir=tmp_path / "run",
        parent_dir=parent,
        load_bank=lambda task: fake_bank(ids=6, per_id=4),
    )
    strategy.before_phase(ctx)
    return strategy


def _kept(strategy, name: str) -> torch.Tensor:
    value = strategy.per_task[0][KEPT[name]]
    if isinstance(value, dict):  # a tensor per backbone parameter: compare the first conv's
        return value["0.weight"]
    return value


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_two_run_seeds_draw_different_state_and_one_seed_the_same(tmp_path, name) -> None:
    seed0 = _kept(_consolidated(tmp_path, name, 0), name)
    again = _kept(_consolidated(tmp_path, name, 0), name)
    seed1 = _kept(_consolidated(tmp_path, name, 1), name)
    offset = _kept(_consolidated(tmp_path, name, 0, offset=5), name)
    assert torch.equal(seed0, again)
    assert not torch.equal(seed0, seed1)
    assert not torch.equal(seed0, offset)


def test_replay_draws_per_step_follow_the_run_seed(tmp_path: Path) -> None:
    bank = fake_bank(ids=2, per_id=4, seed=3)
    batch = Batch(bank.images, bank.pids, bank.camids, torch.ones_like(bank.pids), 1, 2, 7)
    drawn = {}
    for seed in (0, 1):
        strategy = _consolidated(tmp_path, "replay", seed)
        strategy.per_task = [_consolidated(tmp_path, "replay", 0).per_task[0]]  # same memory
        drawn[seed] = strategy.before_step(batch).images[len(bank.pids) :]
    assert not torch.equal(drawn[0], drawn[1])


def test_derived_seeds_depend_on_every_part_and_its_order() -> None:
    seeds = {derive_seed(0, 0), derive_seed(1, 0), derive_seed(0, 1), derive_seed(0, 0, 0)}
    assert len(seeds) == 4
    assert derive_seed(3, 4) == derive_seed(3, 4)
    assert 0 <= derive_seed(2**40, -1) < 2**63
