"""PatchKD: logit, patch-logit, confidence, relation and diversity terms vs loop-based formulas."""

from __future__ import annotations

import math

import pytest
import torch

from reid.losses import lwf_loss
from reid.losses.patchkd import (
    logit_distillation,
    pairwise_distances,
    patch_confidence,
    patch_diversity,
    patch_logit_distillation,
    patch_relation_distillation,
    relation_distillation,
)

# --- loop-based references ---


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def ref_logit_kd(new: torch.Tensor, old: torch.Tensor, t: float, over: str) -> float:
    total = 0.0
    for b in range(new.shape[0]):
        width = old.shape[1]
        z = [float(v) / t for v in new[b]]
        if over == "old":
            z = z[:width]
        q = _softmax(z)
        p = _softmax([float(v) / t for v in old[b]]) + [0.0] * (len(z) - width)
        total += -sum(pc * math.log(qc) for pc, qc in zip(p, q, strict=True))
    return total / new.shape[0] * t * t


def ref_entropy(z: torch.Tensor, t: float) -> float:
    total = 0.0
    for row in z:
        p = _softmax([float(v) / t for v in row])
        total += -sum(pc * math.log(pc) for pc in p)
    return total / z.shape[0] * t * t


def ref_distances(group: torch.Tensor) -> list[list[float]]:
    rows = [[float(v) for v in r] for r in group]
    out = []
    for i, a in enumerate(rows):
        line = []
        for j, b in enumerate(rows):
            d2 = sum((u - v) ** 2 for u, v in zip(a, b, strict=True))
            line.append(0.0 if i == j else math.sqrt(max(d2, 1e-12)))
        out.append(line)
    return out


def ref_relation(student: torch.Tensor, teacher: torch.Tensor) -> float:
    d_s = [ref_distances(g) for g in student]
    d_t = [ref_distances(g) for g in teacher]

    def positive_mean(ds: list[list[list[float]]]) -> float:
        values = [v for m in ds for line in m for v in line if v > 0]
        return sum(values) / len(values)

    ms, mt = positive_mean(d_s), positive_mean(d_t)
    total, count = 0.0, 0
    for gs, gt in zip(d_s, d_t, strict=True):
        for ls, lt in zip(gs, gt, strict=True):
            for vs, vt in zip(ls, lt, strict=True):
                x = abs(vs / ms - vt / mt)
                total += 0.5 * x * x if x < 1 else x - 0.5
                count += 1
    return total / count


def ref_diversity(patches: torch.Tensor) -> float:
    """Mean cosine between two different patches of an image, averaged over images."""
    per_image = []
    for img in patches:
        rows = [[float(v) for v in r] for r in img]
        k = len(rows)
        total = 0.0
        for j in range(k):
            for m in range(k):
                if j != m:
                    dot = sum(u * v for u, v in zip(rows[j], rows[m], strict=True))
                    nj = math.sqrt(sum(u * u for u in rows[j]))
                    nm = math.sqrt(sum(v * v for v in rows[m]))
                    total += dot / (nj * nm)
        per_image.append(total / (k * (k - 1)))
    return sum(per_image) / len(per_image)


# --- logit and patch-logit distillation ---


@pytest.mark.parametrize("over", ["all", "old"])
@pytest.mark.parametrize("t", [2.0, 1.0])
def test_logit_distillation_equals_loop_formula(over: str, t: float) -> None:
    gen = torch.Generator().manual_seed(0)
    new = torch.randn(6, 9, generator=gen, dtype=torch.float64) * 3
    old = torch.randn(6, 5, generator=gen, dtype=torch.float64) * 3
    got = logit_distillation(new, old, t, softmax_over=over)  # type: ignore[arg-type]
    assert got.item() == pytest.approx(ref_logit_kd(new, old, t, over), rel=1e-12)
    assert patch_logit_distillation(new, old, t, over).item() == got.item()  # type: ignore[arg-type]


def test_logit_distillation_new_head_changes_the_faithful_value_only() -> None:
    gen = torch.Generator().manual_seed(1)
    new = torch.randn(4, 8, generator=gen, dtype=torch.float64)
    old = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    bumped = new.clone()
    bumped[:, 5:] += 4.0  # only the new step's logits move
    assert logit_distillation(bumped, old).item() > logit_distillation(new, old).item() + 0.1
    assert logit_distillation(bumped, old, softmax_over="old").item() == pytest.approx(
        logit_distillation(new, old, softmax_over="old").item(), rel=1e-12
    )
    # equal widths: T² × the suite's LwF cross-entropy
    assert logit_distillation(new[:, :5], old).item() == pytest.approx(
        4.0 * lwf_loss(new[:, :5], old, 2.0).item(), rel=1e-12
    )


def test_logit_distillation_gradient_to_new_only_and_bf16() -> None:
    new = torch.randn(8, 12, requires_grad=True)
    old = torch.randn(8, 7, requires_grad=True)
    logit_distillation(new, old).backward()
    assert new.grad is not None and new.grad.abs().sum() > 0 and old.grad is None
    fp32 = logit_distillation(new.detach(), old.detach())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = logit_distillation(new.detach(), old.detach())
    assert amp.item() == pytest.approx(fp32.item(), rel=1e-6)


def test_logit_distillation_validates() -> None:
    with pytest.raises(ValueError, match="columns"):
        logit_distillation(torch.randn(2, 3), torch.randn(2, 4))
    with pytest.raises(ValueError, match="\\[B, C\\]"):
        logit_distillation(torch.randn(2, 3), torch.randn(3, 3))
    with pytest.raises(ValueError, match="softmax_over"):
        logit_distillation(torch.randn(2, 3), torch.randn(2, 3), softmax_over="new")  # type: ignore[arg-type]


# --- confidence ---


def test_patch_confidence_equals_entropy_loop_and_has_gradient() -> None:
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(9, 6, generator=gen, dtype=torch.float64) * 2
    assert patch_confidence(z).item() == pytest.approx(ref_entropy(z, 2.0), rel=1e-12)
    assert patch_confidence(torch.zeros(3, 10)).item() == pytest.approx(4 * math.log(10), rel=1e-6)
    x = z.clone().requires_grad_(True)
    patch_confidence(x).backward()
    # d/dz of T²·H(softmax(z/T)) = −T p ⊙ (log p + H): the entropy's own gradient
    p = torch.softmax(z / 2, 1)
    h = -(p * p.log()).sum(1, keepdim=True)
    want = -2.0 * p * (p.log() + h) / 9
    assert torch.allclose(x.grad, want, rtol=1e-10, atol=1e-14)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = patch_confidence(z.float())
    assert amp.item() == pytest.approx(ref_entropy(z, 2.0), rel=1e-6)


# --- relation distillation ---


def test_pairwise_distances_equal_loops() -> None:
    e = torch.randn(3, 5, 4, dtype=torch.float64)
    d = pairwise_distances(e)
    for g in range(3):
        ref = ref_distances(e[g])
        for i in range(5):
            for j in range(5):
                assert float(d[g, i, j]) == pytest.approx(ref[i][j], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_relation_distillation_equals_loop_formula(scale: float) -> None:
    gen = torch.Generator().manual_seed(3)
    student = torch.randn(4, 3, 6, generator=gen, dtype=torch.float64)
    teacher = torch.randn(4, 3, 6, generator=gen, dtype=torch.float64) * scale
    got = relation_distillation(student, teacher)
    assert got.item() == pytest.approx(ref_relation(student, teacher), rel=1e-9)
    # a rescaled teacher gives the same loss: the distances are mean-normalised
    assert relation_distillation(student, teacher * 7).item() == pytest.approx(got.item(), rel=1e-9)


def test_patch_relation_is_within_plus_across_images() -> None:
    gen = torch.Generator().manual_seed(4)
    patches = torch.randn(5, 3, 8, generator=gen, dtype=torch.float64)
    old = torch.randn(5, 3, 8, generator=gen, dtype=torch.float64)
    want = ref_relation(patches, old) + ref_relation(patches.transpose(0, 1), old.transpose(0, 1))
    assert patch_relation_distillation(patches, old).item() == pytest.approx(want, rel=1e-9)


def test_relation_gradients_reach_both_sides_and_bf16() -> None:
    gen = torch.Generator().manual_seed(5)
    s = torch.randn(16, 3, 64, generator=gen, requires_grad=True)
    t = torch.randn(16, 3, 64, generator=gen, requires_grad=True)
    patch_relation_distillation(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad.abs().sum() > 0
    fp32 = patch_relation_distillation(s.detach(), t.detach())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = patch_relation_distillation(s.detach(), t.detach())
    assert amp.item() == pytest.approx(fp32.item(), rel=1e-5)
    with pytest.raises(ValueError, match="G, N, C"):
        relation_distillation(torch.randn(2, 3, 4), torch.randn(2, 4, 4))


# --- diversity ---


def test_patch_diversity_is_mean_cosine_between_patches() -> None:
    gen = torch.Generator().manual_seed(6)
    patches = torch.randn(4, 3, 5, generator=gen, dtype=torch.float64)
    want = ref_diversity(patches)
    assert patch_diversity(patches, 3).item() == pytest.approx(want, rel=1e-10)
    flat = patches.reshape(12, 5)  # image-major [B·K, C], as the authors flatten
    assert patch_diversity(flat, 3).item() == pytest.approx(want, rel=1e-10)
    same = patches[:, :1].expand(4, 3, 5)
    assert patch_diversity(same, 3).item() == pytest.approx(1.0, rel=1e-10)


def test_patch_diversity_gradient_bf16_and_validation() -> None:
    x = torch.randn(24, 64, requires_grad=True)
    patch_diversity(x, 3).backward()
    assert x.grad.abs().sum() > 0
    fp32 = patch_diversity(x.detach(), 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = patch_diversity(x.detach(), 3)
    assert amp.item() == pytest.approx(fp32.item(), rel=1e-5, abs=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        patch_diversity(x.detach(), 1)


def test_terms_run_on_the_meta_device() -> None:
    def meta(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, device="meta")

    outs = [
        logit_distillation(meta(8, 6), meta(8, 4)),
        patch_confidence(meta(8, 6)),
        patch_relation_distillation(meta(4, 3, 5), meta(4, 3, 5)),
        patch_diversity(meta(12, 5), 3),
    ]
    assert all(o.device.type == "meta" and o.shape == () for o in outs)
