"""DKP: prototype-relation KL, prototypes, identity statistics, uncertainty losses vs loops."""

from __future__ import annotations

import math

import pytest
import torch

from reid.losses.dkp import (
    identity_statistics,
    prototype_affinity_kl,
    sample_prototypes,
    set_triplet_loss,
    uncertainty_cross_entropy,
)

# --- loop-based references ---


def _rows(x: torch.Tensor) -> list[list[float]]:
    return [[float(v) for v in row] for row in x.tolist()]


def _cos(a: list[float], b: list[float]) -> float:
    na = max(math.sqrt(sum(v * v for v in a)), 1e-12)
    nb = max(math.sqrt(sum(v * v for v in b)), 1e-12)
    return sum((u / na) * (v / nb) for u, v in zip(a, b, strict=True))


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def ref_prototype_kl(f: torch.Tensor, q: torch.Tensor, t_rel: float, t_aff: float) -> float:
    fr, qr = _rows(f), _rows(q)
    relation = [_softmax([_cos(a, b) / t_rel for b in qr]) for a in fr]
    a_f = [_softmax([_cos(a, b) / t_aff for b in fr]) for a in fr]
    a_r = [_softmax([_cos(a, b) / t_aff for b in relation]) for a in relation]
    total = 0.0
    for i in range(len(fr)):
        for j in range(len(fr)):
            total += a_r[i][j] * (math.log(a_r[i][j]) - math.log(a_f[i][j]))
    return total / len(fr)


def ref_set_triplet(merged: torch.Tensor, labels: list[int], margin: float | None) -> float:
    batch, draws = merged.shape[0], merged.shape[1] - 1
    means = [_rows(merged[b, :1])[0] for b in range(batch)]
    losses = []
    for b in range(batch):
        for s in range(1, draws + 1):
            anchor = _rows(merged[b, s : s + 1])[0]
            dists = [
                math.sqrt(max(sum((u - v) ** 2 for u, v in zip(anchor, m, strict=True)), 1e-12))
                for m in means
            ]
            d_ap = max(d for d, y in zip(dists, labels, strict=True) if y == labels[b])
            d_an = min(d for d, y in zip(dists, labels, strict=True) if y != labels[b])
            x = d_ap - d_an
            losses.append(math.log1p(math.exp(x)) if margin is None else max(0.0, x + margin))
    return sum(losses) / len(losses)


# --- prototype-relation KL ---


@pytest.mark.parametrize(("t_rel", "t_aff"), [(0.1, 0.1), (0.5, 0.2), (0.05, 1.0)])
def test_prototype_kl_equals_loop_formula(t_rel: float, t_aff: float) -> None:
    gen = torch.Generator().manual_seed(int(t_rel * 100 + t_aff * 10))
    f = torch.randn(9, 6, generator=gen, dtype=torch.float64)
    q = torch.nn.functional.normalize(torch.randn(7, 6, generator=gen, dtype=torch.float64))
    got = prototype_affinity_kl(f, q, t_rel, t_aff)
    assert got.item() == pytest.approx(ref_prototype_kl(f, q, t_rel, t_aff), rel=1e-10)


def test_prototype_kl_order_is_relation_target() -> None:
    # the reversed order (features' affinity as the target) gives another value
    gen = torch.Generator().manual_seed(1)
    f = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    q = torch.nn.functional.normalize(torch.randn(4, 5, generator=gen, dtype=torch.float64))
    got = prototype_affinity_kl(f, q)
    norm = torch.nn.functional.normalize
    r = torch.softmax(norm(f) @ q.t() / 0.1, 1)
    a_f = torch.softmax(norm(f) @ norm(f).t() / 0.1, 1)
    a_r = torch.softmax(norm(r) @ norm(r).t() / 0.1, 1)
    forward = (a_r * (a_r.log() - a_f.log())).sum() / 6
    reverse = (a_f * (a_f.log() - a_r.log())).sum() / 6
    assert got.item() == pytest.approx(forward.item(), rel=1e-10)
    assert abs(forward.item() - reverse.item()) > 1e-3


def test_prototype_kl_same_under_bf16_autocast() -> None:
    gen = torch.Generator().manual_seed(2)
    f = torch.randn(32, 256, generator=gen)
    q = torch.nn.functional.normalize(torch.randn(50, 256, generator=gen))
    fp32 = prototype_affinity_kl(f, q)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = prototype_affinity_kl(f, q)
        amp_bf16_inputs = prototype_affinity_kl(f.bfloat16(), q.bfloat16())
    assert amp.dtype == torch.float32
    assert amp.item() == pytest.approx(fp32.item(), rel=1e-6)
    # inputs already rounded to bf16 (a bf16 model's output): only the input rounding remains
    assert amp_bf16_inputs.item() == pytest.approx(fp32.item(), rel=5e-2)


def test_prototype_kl_gradients_flow_through_both_sides() -> None:
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(8, 6, generator=gen, dtype=torch.float64)
    q = torch.nn.functional.normalize(torch.randn(5, 6, generator=gen, dtype=torch.float64))
    q.requires_grad_(True)
    f = base.clone().requires_grad_(True)
    prototype_affinity_kl(f, q).backward()
    assert f.grad is not None and f.grad.abs().sum() > 0
    faithful = f.grad.clone()
    f_d = base.clone().requires_grad_(True)
    prototype_affinity_kl(f_d, q.detach(), detach_target=True).backward()
    norm = torch.nn.functional.normalize
    f_c = base.clone().requires_grad_(True)
    with torch.no_grad():
        r = torch.softmax(norm(base) @ q.t() / 0.1, 1)
        a_r = torch.softmax(norm(r) @ norm(r).t() / 0.1, 1)
    log_a_f = torch.log_softmax(norm(f_c) @ norm(f_c).t() / 0.1, 1)
    torch.nn.functional.kl_div(log_a_f, a_r, reduction="batchmean").backward()
    assert torch.allclose(f_d.grad, f_c.grad, rtol=1e-10, atol=1e-14)
    assert not torch.allclose(faithful, f_d.grad, rtol=1e-3)


def test_prototype_kl_validates_shapes() -> None:
    with pytest.raises(ValueError, match="prototypes"):
        prototype_affinity_kl(torch.randn(4, 3), torch.randn(5, 2))


# --- prototypes and identity statistics ---


def test_sample_prototypes_formula_and_seed() -> None:
    means, stds = torch.randn(6, 5), torch.rand(6, 5)
    got = sample_prototypes(means, stds, torch.Generator().manual_seed(9))
    noise = torch.randn(6, 5, generator=torch.Generator().manual_seed(9))
    for p in range(6):
        row = [float(means[p, d] + noise[p, d] * stds[p, d]) for d in range(5)]
        norm = math.sqrt(sum(v * v for v in row))
        for d in range(5):
            assert float(got[p, d]) == pytest.approx(row[d] / norm, rel=1e-5, abs=1e-7)
    again = sample_prototypes(means, stds, torch.Generator().manual_seed(9))
    other = sample_prototypes(means, stds, torch.Generator().manual_seed(10))
    assert torch.equal(got, again) and not torch.equal(got, other)
    # no generator: the global CPU generator, like the authors' torch.randn
    torch.manual_seed(4)
    from_global = sample_prototypes(means, stds)
    torch.manual_seed(4)
    direct = torch.nn.functional.normalize(torch.randn(6, 5) * stds + means, dim=1)
    assert torch.allclose(from_global, direct)


def test_sample_prototypes_zero_std_is_the_normalised_mean() -> None:
    means = torch.randn(3, 4)
    got = sample_prototypes(means, torch.zeros(3, 4), torch.Generator().manual_seed(0))
    assert torch.allclose(got, torch.nn.functional.normalize(means, dim=1))
    with pytest.raises(ValueError, match="equal"):
        sample_prototypes(torch.randn(3, 4), torch.rand(2, 4))


def test_identity_statistics_equal_loop_formula() -> None:
    gen = torch.Generator().manual_seed(5)
    pids = torch.tensor([7, 3, 7, 7, 3, 11, 3, 7])  # unsorted, one singleton (11)
    m = torch.randn(8, 4, generator=gen, dtype=torch.float64)
    s = torch.rand(8, 4, generator=gen, dtype=torch.float64)
    stats = identity_statistics(m, s, pids)
    assert stats.pids.tolist() == [3, 7, 11]
    for row, pid in enumerate([3, 7, 11]):
        members = [i for i in range(8) if int(pids[i]) == pid]
        n = len(members)
        for d in range(4):
            mu = sum(float(m[i, d]) for i in members) / n
            var = (
                sum(float(s[i, d]) ** 2 for i in members) / n
                + sum(float(m[i, d]) ** 2 for i in members) / n
                - mu**2
            )
            assert float(stats.means[row, d]) == pytest.approx(mu, rel=1e-12)
            assert float(stats.stds[row, d]) == pytest.approx(math.sqrt(var), rel=1e-10)
    assert torch.allclose(stats.stds[2], s[5])  # a singleton keeps its own predicted std


def test_identity_statistics_same_under_bf16_autocast_and_validates() -> None:
    m, s, pids = torch.randn(20, 16), torch.rand(20, 16), torch.arange(20) % 4
    fp32 = identity_statistics(m, s, pids)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = identity_statistics(m, s, pids)
    assert torch.allclose(amp.means, fp32.means) and torch.allclose(amp.stds, fp32.stds)
    with pytest.raises(ValueError, match="pids"):
        identity_statistics(m, s, pids[:5])


# --- uncertainty losses ---


def test_uncertainty_cross_entropy_equals_loop_formula() -> None:
    gen = torch.Generator().manual_seed(6)
    logits = torch.randn(5, 4, 7, generator=gen, dtype=torch.float64)
    y = torch.tensor([0, 3, 6, 3, 1])
    total = 0.0
    for s in range(4):
        for b in range(5):
            row = [float(v) for v in logits[b, s]]
            top = max(row)
            log_z = top + math.log(sum(math.exp(v - top) for v in row))
            total += (log_z - row[int(y[b])]) / 5
    got = uncertainty_cross_entropy(logits, y)
    assert got.item() == pytest.approx(total / 4, rel=1e-12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = uncertainty_cross_entropy(logits.float(), y)
    assert amp.item() == pytest.approx(total / 4, rel=1e-6)
    with pytest.raises(ValueError, match="1\\+n"):
        uncertainty_cross_entropy(logits[:, 0], y)


@pytest.mark.parametrize("margin", [None, 0.3])
def test_set_triplet_equals_loop_formula(margin: float | None) -> None:
    gen = torch.Generator().manual_seed(8)
    labels = [0, 0, 1, 1, 2, 2]
    merged = torch.randn(6, 4, 5, generator=gen, dtype=torch.float64) * 0.5
    got = set_triplet_loss(merged, torch.tensor(labels), margin=margin)
    assert got.item() == pytest.approx(ref_set_triplet(merged, labels, margin), rel=1e-10)


def test_set_triplet_same_under_bf16_autocast_gradients_and_validation() -> None:
    gen = torch.Generator().manual_seed(9)
    merged = torch.nn.functional.normalize(torch.randn(16, 7, 128, generator=gen), dim=2)
    y = torch.arange(16) // 4
    fp32 = set_triplet_loss(merged, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = set_triplet_loss(merged, y)
    assert amp.item() == pytest.approx(fp32.item(), rel=1e-6)
    x = merged.clone().requires_grad_(True)
    set_triplet_loss(x, y).backward()
    assert x.grad[:, 0].abs().sum() > 0 and x.grad[:, 1:].abs().sum() > 0  # means and samples
    with pytest.raises(ValueError, match="two identities"):
        set_triplet_loss(merged, torch.zeros(16, dtype=torch.int64))
    with pytest.raises(ValueError, match="n ≥ 1"):
        set_triplet_loss(merged[:, :1], y)


def test_per_iteration_terms_run_on_the_meta_device() -> None:
    def meta(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, device="meta")

    y = torch.arange(8, device="meta") // 2
    outs = [
        prototype_affinity_kl(meta(8, 4), sample_prototypes(meta(5, 4), meta(5, 4))),
        uncertainty_cross_entropy(meta(8, 3, 6), y),
        set_triplet_loss(meta(8, 3, 4), y),
    ]
    assert all(o.device.type == "meta" and o.shape == () for o in outs)
