"""Covariance loss, couple mask, covariance term variants, LwF."""

from __future__ import annotations

import math

import pytest
import torch

from reid.losses import (
    CovarianceTerm,
    covariance_loss,
    explicit_covariance_loss,
    lwf_loss,
    select_couples,
)


def _pooled(x: torch.Tensor) -> list[list[float]]:
    """[K, C] or [K, C, H, W] as K lists of C spatial means, with loops."""
    rows = []
    for item in x.tolist():
        if isinstance(item[0], list):
            item = [sum(sum(r) for r in ch) / (len(ch) * len(ch[0])) for ch in item]
        rows.append(item)
    return rows


def eq1_loop(pa, pb, na, nb, lam, alpha, beta, couples) -> float:
    """Eq. (1)–(2) with loops: d_k = (P'_k − P_k) − (N'_k − N_k); `summed`: A = λ(α Σ_k d_k − β),
    X = A Aᵀ, loss = Σ_ij X_ij; `separate`: the same per couple, summed over couples."""
    p, q, n, m = (_pooled(t) for t in (pa, pb, na, nb))
    channels = len(p[0])
    d = [
        [(q[k][i] - p[k][i]) - (m[k][i] - n[k][i]) for i in range(channels)] for k in range(len(p))
    ]
    groups = [[sum(row[i] for row in d) for i in range(channels)]] if couples == "summed" else d
    total = 0.0
    for diff in groups:
        a = [lam * (alpha * diff[i] - beta) for i in range(channels)]
        total += sum(a[i] * a[j] for i in range(channels) for j in range(channels))
    return total


@pytest.mark.parametrize("couples", ["summed", "separate"])
@pytest.mark.parametrize("k", [1, 3, 8])
@pytest.mark.parametrize("spatial", [False, True])
def test_loss_equals_eq1_with_loops_and_the_explicit_cxc_form(
    k: int, spatial: bool, couples: str
) -> None:
    gen = torch.Generator().manual_seed(k)
    shape = (k, 16, 4, 2) if spatial else (k, 16)
    args = [torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(4)]
    for lam, alpha, beta in [(1.0, 1e-9, 0.0), (0.7, 0.5, 0.1), (1.3, 2.0, -0.3)]:
        fast = covariance_loss(*args, lam=lam, alpha=alpha, beta=beta, couples=couples)
        slow = explicit_covariance_loss(*args, lam=lam, alpha=alpha, beta=beta, couples=couples)
        loop = eq1_loop(*args, lam, alpha, beta, couples)
        assert fast.shape == ()
        assert torch.allclose(fast, slow, rtol=1e-10, atol=1e-30)
        assert float(fast) == pytest.approx(loop, rel=1e-9, abs=1e-30)


def test_couples_are_summed_inside_a_before_squaring() -> None:
    """Two couples whose channel sums are +1 and −1: eq. (1) as printed (Σ inside A) gives 0;
    squaring each couple separately gives 2 λ² α²."""
    zero = torch.zeros(2, 2)
    pb = torch.tensor([[0.25, 0.75], [-0.5, -0.5]])  # d_1 sums to +1, d_2 to −1
    lam, alpha = 2.0, 3.0
    assert covariance_loss(zero, pb, zero, zero, lam, alpha).item() == 0.0
    separate = covariance_loss(zero, pb, zero, zero, lam, alpha, couples="separate").item()
    assert separate == pytest.approx(2 * lam**2 * alpha**2)
    # β is subtracted once per channel of A (not once per couple): (λ(α·0 − 2β))² with C = 2
    assert covariance_loss(zero, pb, zero, zero, lam, alpha, 0.5).item() == pytest.approx(4.0)


def test_loss_hand_computed() -> None:
    pa = torch.tensor([[1.0, 2.0]])
    pb = torch.tensor([[2.0, 4.0]])
    na = torch.tensor([[0.0, 0.0]])
    nb = torch.tensor([[1.0, 1.0]])
    # d = (pb - pa) - (nb - na) = [1, 2] - [1, 1] = [0, 1]
    # A = 2 * (3 * [0, 1] - 0.5) = [-1, 5]; sum of A Aᵀ = (-1 + 5)² = 16
    assert covariance_loss(pa, pb, na, nb, lam=2.0, alpha=3.0, beta=0.5).item() == pytest.approx(16)
    # defaults: A = 1e-9 * [0, 1]; loss = 1e-18
    assert covariance_loss(pa, pb, na, nb).item() == pytest.approx(1e-18, rel=1e-5)
    # [K, C, H, W] is pooled first: a 1×2 map whose mean is the vector above
    pa4 = torch.tensor([[[[0.0, 2.0]], [[1.0, 3.0]]]])
    assert covariance_loss(pa4, pb, na, nb, 2.0, 3.0, 0.5).item() == pytest.approx(16)


def test_empty_couples_give_zero_with_backward() -> None:
    feats = torch.randn(0, 8, requires_grad=True)
    loss = covariance_loss(feats, feats, feats, feats)
    assert loss.item() == 0.0
    loss.backward()
    assert feats.grad is not None and feats.grad.shape == (0, 8)


def _list(t: torch.Tensor) -> list[int]:
    return [int(v) for v in t.tolist()]


def test_select_couples_cross_camera_and_negatives() -> None:
    pids = torch.tensor([5, 5, 5, 7, 7, 9, 3, 3])
    cams = torch.tensor([1, 1, 2, 4, 4, 1, 2, 6])
    c = select_couples(pids, cams)
    # pid 5: anchor 0, first other-camera image 2; next pid 7 → negative 3
    # pid 7: anchor 3, no other camera → second image 4; next pid 9 → negative 5
    # pid 9: single image, skipped; pid 3: anchor 6, positive 7, next pid (cyclic) 5 → 0
    assert _list(c.pos_a) == [0, 3, 6]
    assert _list(c.pos_b) == [2, 4, 7]
    assert _list(c.neg_a) == [0, 3, 6]
    assert _list(c.neg_b) == [3, 5, 0]
    assert len(c) == 3 and c.pos_a.dtype == torch.int64
    assert all(int(pids[a]) == int(pids[b]) for a, b in zip(c.pos_a, c.pos_b, strict=True))
    assert all(int(pids[a]) != int(pids[b]) for a, b in zip(c.neg_a, c.neg_b, strict=True))


@pytest.mark.parametrize(
    ("pids", "cams"),
    [([1, 2, 3], [1, 1, 1]), ([4, 4, 4], [1, 2, 3]), ([], [])],
)
def test_select_couples_empty(pids: list[int], cams: list[int]) -> None:
    c = select_couples(torch.tensor(pids, dtype=torch.int64), torch.tensor(cams, dtype=torch.int64))
    assert len(c) == 0 and c.neg_b.shape == (0,)


def _maps(requires_grad: bool = True) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(6, 8, 2, 2, generator=gen, requires_grad=requires_grad) for _ in range(2)]


PIDS = torch.tensor([0, 0, 1, 1, 2, 2])
CAMS = torch.tensor([1, 2, 1, 3, 2, 2])


def test_term_sums_over_pipelines() -> None:
    maps = _maps()
    term = CovarianceTerm("paper", lam=1.0, alpha=0.1, beta=0.0)
    loss, k = term(maps, PIDS, CAMS)
    c = select_couples(PIDS, CAMS)
    expected = sum(
        covariance_loss(m[c.pos_a], m[c.pos_b], m[c.neg_a], m[c.neg_b], 1.0, 0.1, 0.0) for m in maps
    )
    assert k == 3
    assert torch.allclose(loss, expected)


def test_paper_variant_sends_gradient_detached_does_not() -> None:
    maps = _maps()
    loss, _ = CovarianceTerm("paper", alpha=0.1)(maps, PIDS, CAMS)
    loss.backward()
    assert all(m.grad is not None and m.grad.abs().sum() > 0 for m in maps)

    maps = _maps()
    loss_d, k = CovarianceTerm("detached", alpha=0.1)(maps, PIDS, CAMS)
    assert k == 3 and loss_d.item() == pytest.approx(loss.item())
    assert not loss_d.requires_grad
    ce = sum(m.sum() for m in maps) * 0.0
    (ce + loss_d).backward()
    assert all(torch.count_nonzero(m.grad) == 0 for m in maps)

    off, k_off = CovarianceTerm("off")(maps, PIDS, CAMS)
    assert off.item() == 0.0 and k_off == 0


def test_term_with_no_couples() -> None:
    maps = _maps()
    loss, k = CovarianceTerm("paper")(maps, torch.tensor([0, 1, 2, 3, 4, 5]), CAMS)
    assert k == 0 and loss.item() == 0.0


def test_lwf_hand_worked_two_classes() -> None:
    # old logits [ln 3, 0] at T = 2 → softmax([ln3 / 2, 0]) = [√3, 1] / (√3 + 1)
    # new logits [0, 0] → log-softmax = [ln ½, ln ½]; CE = −Σ p log q = ln 2
    old = torch.tensor([[math.log(3.0), 0.0]])
    new = torch.zeros(1, 2)
    assert lwf_loss(new, old, temperature=2.0).item() == pytest.approx(math.log(2.0))
    # second sample: new = old → CE = entropy of p
    s3 = math.sqrt(3.0)
    p = [s3 / (s3 + 1), 1 / (s3 + 1)]
    entropy = -(p[0] * math.log(p[0]) + p[1] * math.log(p[1]))
    both = lwf_loss(torch.cat([new, old]), torch.cat([old, old]), 2.0)
    assert both.item() == pytest.approx((math.log(2.0) + entropy) / 2)
    # KL·T² form: (CE − entropy) · T²
    kl = lwf_loss(new, old, 2.0, kl_scaled=True)
    assert kl.item() == pytest.approx((math.log(2.0) - entropy) * 4.0, rel=1e-5)


def test_lwf_gradient_goes_to_new_only() -> None:
    new = torch.randn(4, 5, requires_grad=True)
    old = torch.randn(4, 5, requires_grad=True)
    lwf_loss(new, old).backward()
    assert new.grad is not None and old.grad is None
