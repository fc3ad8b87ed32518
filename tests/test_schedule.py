"""Learning-rate schedules: warm-up + step decay at chosen epochs, warm-up over CLR, and the
paper's CLR unchanged without warm-up."""

from __future__ import annotations

import pytest
import torch

from reid.engine.optim import build_scheduler, steps_per_iteration

LSTKC = {
    "lr": 0.008,
    "scheduler": {
        "name": "step",
        "milestones": [30],
        "gamma": 0.1,
        "warmup": {"epochs": 10, "start_factor": 0.01},
        "step": "epoch",
    },
}


def _rates(train: dict, steps: int, batches_per_epoch: int = 5) -> list[float]:
    """The rate in force at each scheduler step 0..steps-1."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=train["lr"], momentum=0.9)
    scheduler = build_scheduler(optimizer, train, batches_per_epoch)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return rates


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [
        (0, 0.008 * 0.01),
        (1, 0.008 * (0.01 * 0.9 + 0.1)),
        (5, 0.008 * (0.01 * 0.5 + 0.5)),
        (9, 0.008 * (0.01 * 0.1 + 0.9)),
        (10, 0.008),
        (29, 0.008),
        (30, 0.0008),
        (79, 0.0008),
    ],
)
def test_warmup_then_step_decay_at_chosen_epochs(epoch: int, expected: float) -> None:
    # Expected values written from the codes' WarmupMultiStepLR: factor = s·(1 − α) + α with
    # α = epoch / 10 during warm-up, times 0.1 from epoch 30 on.
    assert _rates(LSTKC, 80)[epoch] == pytest.approx(expected, rel=1e-12)


def test_two_milestones_and_gamma() -> None:
    train = {"lr": 3.5e-4, "scheduler": {"name": "step", "milestones": [25, 35], "gamma": 0.5}}
    rates = _rates({**train, "scheduler": {**train["scheduler"], "step": "epoch"}}, 40)
    assert rates[24] == pytest.approx(3.5e-4)
    assert rates[25] == pytest.approx(1.75e-4)
    assert rates[35] == pytest.approx(0.875e-4)


def test_iteration_steps_warm_up_within_the_epoch() -> None:
    train = {"lr": 0.008, "scheduler": {**LSTKC["scheduler"], "step": "iteration"}}
    assert steps_per_iteration(train)
    rates = _rates(train, 60, batches_per_epoch=4)
    # Iteration 2 of epoch 0 is position 0.5 epochs of the 10-epoch warm-up.
    assert rates[2] == pytest.approx(0.008 * (0.01 + 0.99 * 0.05))
    assert rates[40] == pytest.approx(0.008)


def test_clr_without_warmup_is_torch_cycliclr_and_with_warmup_is_scaled() -> None:
    clr = {
        "lr": 0.001,
        "scheduler": {"name": "clr", "max_lr": 0.006, "half_cycle_epochs": 4, "step": "epoch"},
    }
    param = torch.nn.Parameter(torch.zeros(1))
    plain = build_scheduler(torch.optim.SGD([param], lr=0.001), clr, 7)
    assert isinstance(plain, torch.optim.lr_scheduler.CyclicLR)
    bare = _rates(clr, 12)
    warmed = {
        **clr,
        "scheduler": {**clr["scheduler"], "warmup": {"epochs": 2, "start_factor": 0.1}},
    }
    rates = _rates(warmed, 12)
    assert rates[0] == pytest.approx(bare[0] * 0.1)
    assert rates[1] == pytest.approx(bare[1] * (0.1 + 0.9 * 0.5))
    assert rates[2:] == pytest.approx(bare[2:])


def test_warmup_alone_over_a_constant_rate() -> None:
    train = {
        "lr": 0.01,
        "scheduler": {"name": "none", "step": "epoch", "warmup": {"epochs": 4, "start_factor": 0}},
    }
    assert _rates(train, 6) == pytest.approx([0.0, 0.0025, 0.005, 0.0075, 0.01, 0.01])
    no_warmup = {"lr": 0.01, "scheduler": {"name": "none", "step": "epoch"}}
    assert (
        build_scheduler(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]), no_warmup, 3) is None
    )
