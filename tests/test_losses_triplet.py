"""Batch-hard triplet against a brute-force loop over every triplet; the task loss's weights."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reid.losses import TaskLoss, batch_hard_triplet


def _distance(a: torch.Tensor, b: torch.Tensor) -> float:
    return math.sqrt(max(float(((a - b) ** 2).sum()), 1e-12))


def brute_force(features, pids, margin, normalize) -> float:
    """Loop over every (anchor, positive, negative) triplet; per anchor keep the triplet with
    the largest d_ap − d_an (its hardest positive and hardest negative), then average."""
    x = features.double()
    if normalize:
        x = x / x.norm(dim=1, keepdim=True)
    n = len(pids)
    losses = []
    for a in range(n):
        worst = None
        for p in range(n):
            if pids[p] != pids[a]:
                continue
            for q in range(n):
                if pids[q] == pids[a]:
                    continue
                gap = _distance(x[a], x[p]) - _distance(x[a], x[q])
                worst = gap if worst is None else max(worst, gap)
        if worst is None:
            losses.append(0.0)
        elif margin is None:
            losses.append(math.log1p(math.exp(worst)))
        else:
            losses.append(max(0.0, worst + margin))
    return sum(losses) / n


def _batch(seed: int = 0, ids: int = 5, per_id: int = 3, dim: int = 8):
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(ids * per_id, dim, generator=g)
    pids = torch.arange(ids).repeat_interleave(per_id)
    order = torch.randperm(len(pids), generator=g)
    return features[order], pids[order]


@pytest.mark.parametrize("margin", [0.3, 1.5, None])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_hard_triplet_equals_the_brute_force_loop(margin, normalize, seed) -> None:
    features, pids = _batch(seed)
    loss = batch_hard_triplet(features, pids, margin=margin, normalize=normalize)
    assert loss.item() == pytest.approx(brute_force(features, pids, margin, normalize), rel=1e-5)


def test_defaults_are_a_hinge_with_margin_03_on_raw_features() -> None:
    features, pids = _batch(3)
    expected = brute_force(features, pids, 0.3, False)
    assert batch_hard_triplet(features, pids).item() == pytest.approx(expected, rel=1e-5)


def test_anchor_without_negative_adds_zero_and_alone_uses_itself_as_positive() -> None:
    features = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    pids = torch.tensor([0, 0, 1])
    # anchor 0: d_ap = 3, d_an = 1; anchor 1: d_ap = 3, d_an = √10; anchor 2 (alone): d_ap ≈ 0
    # (itself), d_an = 1.
    expected = (max(0, 3 - 1 + 0.3) + max(0, 3 - math.sqrt(10) + 0.3) + max(0, 1e-6 - 1 + 0.3)) / 3
    assert batch_hard_triplet(features, pids).item() == pytest.approx(expected, rel=1e-5)
    single = batch_hard_triplet(features[:2], pids[:2])
    assert single.item() == 0.0


def test_gradient_reaches_the_hardest_pairs_only() -> None:
    features, pids = _batch(4)
    features.requires_grad_(True)
    batch_hard_triplet(features, pids, margin=10.0).backward()
    assert torch.isfinite(features.grad).all() and features.grad.abs().sum() > 0


@pytest.mark.parametrize("margin", [0.3, None])
def test_bf16_autocast_gives_the_fp32_value(margin) -> None:
    features, pids = _batch(5, ids=8, per_id=4, dim=64)
    fp32 = batch_hard_triplet(features, pids, margin=margin, normalize=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = batch_hard_triplet(features, pids, margin=margin, normalize=True)
        # What an unguarded bf16 matrix product would give: visibly off.
        rounded = (features.bfloat16() @ features.bfloat16().t()).float()
    assert mixed.dtype == torch.float32
    assert mixed.item() == pytest.approx(fp32.item(), rel=1e-6)
    assert not torch.allclose(rounded, features @ features.t(), rtol=1e-4)


def test_task_loss_weights_and_logged_terms() -> None:
    features, pids = _batch(6)
    logits = torch.randn(len(pids), 5, generator=torch.Generator().manual_seed(1))
    plain_total, plain_parts = TaskLoss()(logits, features, pids)
    assert torch.equal(plain_total, F.cross_entropy(logits, pids))
    assert list(plain_parts) == ["ce"]
    loss = TaskLoss(ce=0.5, triplet=2.0, margin=None, normalize=True, label_smoothing=0.1)
    total, parts = loss(logits, features, pids)
    ce = F.cross_entropy(logits, pids, label_smoothing=0.1)
    tri = brute_force(features, pids, None, True)
    assert list(parts) == ["ce", "triplet"]
    assert parts["ce"].item() == pytest.approx(ce.item())
    assert parts["triplet"].item() == pytest.approx(tri, rel=1e-5)
    assert total.item() == pytest.approx(0.5 * ce.item() + 2.0 * tri, rel=1e-5)


def test_task_loss_reads_the_train_section() -> None:
    train = {
        "label_smoothing": 0.1,
        "loss": {"ce": 1.0, "triplet": 1.0, "triplet_margin": None, "triplet_normalize": True},
    }
    assert TaskLoss.from_train(train) == TaskLoss(1.0, 1.0, None, True, 0.1)
    assert TaskLoss.from_train({"label_smoothing": 0.0}).plain
