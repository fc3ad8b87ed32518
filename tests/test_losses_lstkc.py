"""LSTKC: rectified affinity KL, fusion weight and state fusion against loop-based formulas."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from reid.losses.lstkc import (
    fuse_state_dicts,
    fusion_weight,
    ranking_attributes,
    rectified_affinity_kl,
    rectified_target,
    same_pid_matrix,
)

# --- loop-based references (Python floats, one row / pair at a time) ---


def _rows(x: torch.Tensor) -> list[list[float]]:
    return [[float(v) for v in row] for row in x.tolist()]


def _cos(a: list[float], b: list[float]) -> float:
    na = max(math.sqrt(sum(v * v for v in a)), 1e-12)
    nb = max(math.sqrt(sum(v * v for v in b)), 1e-12)
    return sum((u / na) * (v / nb) for u, v in zip(a, b, strict=True))


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def ref_affinity(x: torch.Tensor, factor: float) -> list[list[float]]:
    """Row i: softmax_j(cos(x_i, x_j) · factor)."""
    rows = _rows(x)
    return [_softmax([_cos(a, b) * factor for b in rows]) for a in rows]


def ref_attributes(aff: list[list[float]], pids: list[int]) -> list[dict]:
    """Per row: the hardest negative, the lowest other positive and each pair's class."""
    out = []
    for i, row in enumerate(aff):
        negatives = [row[j] for j in range(len(row)) if pids[j] != pids[i]]
        others = [row[j] for j in range(len(row)) if pids[j] == pids[i] and j != i]
        hardest = max(negatives, default=0.0)
        # no other positive: threshold above every affinity (the code lifts these entries by 1)
        lowest = min(others) if others else 1.0 + min([row[i], *negatives])
        kind = {}
        for j, a in enumerate(row):
            if j == i:
                kind[j] = "TP"
            elif pids[j] == pids[i]:
                kind[j] = "TP" if a > hardest else "FN"
            else:
                kind[j] = "FP" if a > lowest else "TN"
        out.append({"hn": hardest, "lp": lowest, "kind": kind})
    return out


def ref_target(
    new: list[list[float]], old: list[list[float]], pids: list[int]
) -> list[list[float]]:
    att_new, att_old = ref_attributes(new, pids), ref_attributes(old, pids)
    target = []
    for i in range(len(new)):
        row = []
        for j in range(len(new)):
            kn, ko = att_new[i]["kind"][j], att_old[i]["kind"][j]
            if ko in ("TP", "TN"):
                row.append(old[i][j])
            elif kn in ("TP", "TN"):
                row.append(new[i][j])
            elif kn == ko == "FN":
                row.append(max(att_new[i]["hn"], att_old[i]["hn"]))
            elif kn == ko == "FP":
                row.append(min(att_new[i]["lp"], att_old[i]["lp"]))
            else:
                raise AssertionError(
                    "a pair is a positive for one model and a negative for the other"
                )
        total = sum(row)
        target.append([v / total for v in row])
    return target


def ref_rectified_kl(new: torch.Tensor, old: torch.Tensor, pids: list[int], t: float) -> float:
    a_new, a_old = ref_affinity(new, 1 / t), ref_affinity(old, 1 / t)
    target = ref_target(a_new, a_old, pids)
    total = 0.0
    for i, row in enumerate(target):
        for j, p in enumerate(row):
            if p > 0:
                total += p * (math.log(p) - math.log(a_new[i][j]))
    return total / len(target)


def case_counts(new: torch.Tensor, old: torch.Tensor, pids: list[int], t: float) -> dict[str, int]:
    att_new = ref_attributes(ref_affinity(new, 1 / t), pids)
    att_old = ref_attributes(ref_affinity(old, 1 / t), pids)
    counts = {"old right": 0, "only new right": 0, "both FN": 0, "both FP": 0}
    for i in range(len(pids)):
        for j in range(len(pids)):
            kn, ko = att_new[i]["kind"][j], att_old[i]["kind"][j]
            if ko in ("TP", "TN"):
                counts["old right"] += 1
            elif kn in ("TP", "TN"):
                counts["only new right"] += 1
            else:
                counts[f"both {kn}"] += 1
    return counts


def pk_pids(p: int, k: int) -> torch.Tensor:
    return torch.arange(p).repeat_interleave(k)


# --- rectified affinity KL ---


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_rectified_kl_equals_loop_formula_on_random_features(seed: int, temperature: float) -> None:
    gen = torch.Generator().manual_seed(seed)
    pids = pk_pids(5, 3)[torch.randperm(15, generator=gen)]
    new = torch.randn(15, 6, generator=gen, dtype=torch.float64)
    old = torch.randn(15, 6, generator=gen, dtype=torch.float64)
    counts = case_counts(new, old, pids.tolist(), temperature)
    assert all(v > 0 for v in counts.values()), counts  # every case of the target is exercised
    got = rectified_affinity_kl(new, old, pids, temperature=temperature)
    want = ref_rectified_kl(new, old, pids.tolist(), temperature)
    assert got.dtype == torch.float64
    assert got.item() == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_rectified_kl_float32_matches_reference() -> None:
    gen = torch.Generator().manual_seed(5)
    pids = pk_pids(4, 4)
    new, old = torch.randn(16, 32, generator=gen), torch.randn(16, 32, generator=gen)
    got = rectified_affinity_kl(new, old, pids)
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref_rectified_kl(new, old, pids.tolist(), 0.1), rel=1e-4)


def tie_features() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """±1 vectors of length 16: every cosine is a multiple of 1/16 (exact), so ties are exact.

    Row 0 (pid 0): its positive 1 is a copy of negative 2, the hardest negative -> a tie between
    the positive and the hardest negative (FN) and between that negative and the lowest positive
    (TN). Image 6 (pid 9) is a singleton: no other positive.
    """
    gen = torch.Generator().manual_seed(11)
    x = torch.where(torch.rand(7, 16, generator=gen) < 0.5, -1.0, 1.0)
    x[1] = x[0].clone()
    x[1, :6] *= -1  # cos(x0, x1) = 4/16
    x[2] = x[1]
    x[3] = x[0].clone()
    x[3, :4] *= -1  # cos(x0, x3) = 8/16, second positive of pid 0
    for j in (4, 5):  # other negatives further from x0 than x2
        x[j] = x[0].clone()
        x[j, : 8 + j] *= -1
    pids = torch.tensor([0, 0, 1, 0, 2, 2, 9])
    old = torch.where(torch.rand(7, 16, generator=gen) < 0.5, -1.0, 1.0)
    return x.double(), old.double(), pids


def test_ties_are_neither_tp_nor_fp() -> None:
    x, _, pids = tie_features()
    aff = torch.softmax(
        torch.nn.functional.normalize(x) @ torch.nn.functional.normalize(x).t() / 0.1, 1
    )
    assert aff[0, 1] == aff[0, 2]  # an exact tie
    att = ranking_attributes(aff, same_pid_matrix(pids, aff.dtype))
    assert att.hardest_negative[0, 0] == aff[0, 2] and att.lowest_positive[0, 0] == aff[0, 1]
    assert att.fn[0, 1] == 1 and att.tp[0, 1] == 0  # positive tied with the hardest negative
    assert att.tn[0, 2] == 1 and att.fp[0, 2] == 0  # negative tied with the lowest positive
    assert att.tp[0, 0] == 1 and att.fn[0, 0] == 0  # the diagonal is always TP
    # the singleton's threshold exceeds every affinity: all its negatives are TN
    assert att.lowest_positive[6, 0] > 1 and att.fp[6].sum() == 0 and att.tn[6].sum() == 6
    ref = ref_attributes(_rows(aff), pids.tolist())
    masks = {"TP": att.tp, "FN": att.fn, "FP": att.fp, "TN": att.tn}
    for i, row in enumerate(ref):
        for j, kind in row["kind"].items():
            assert masks[kind][i, j] == 1, (i, j, kind)
            assert sum(float(m[i, j]) for m in masks.values()) == 1


def test_rectified_kl_with_ties_and_singleton_equals_loop_formula() -> None:
    x, old, pids = tie_features()
    for dtype, rel in [(torch.float64, 1e-10), (torch.float32, 1e-4)]:
        got = rectified_affinity_kl(x.to(dtype), old.to(dtype), pids)
        assert got.item() == pytest.approx(ref_rectified_kl(x, old, pids.tolist(), 0.1), rel=rel)


def test_target_hand_worked() -> None:
    # two ids, two images each; rows are affinities (already row-normalised)
    pids = torch.tensor([0, 0, 1, 1])
    old = torch.tensor(
        [
            # row 0: positive 0.1 below the hardest negative 0.3 -> FN; 0.3, 0.2 > 0.1 -> FP
            [0.4, 0.1, 0.3, 0.2],
            [0.3, 0.5, 0.1, 0.1],  # all right
            [0.2, 0.1, 0.4, 0.3],  # all right
            [0.1, 0.2, 0.3, 0.4],  # all right
        ],
        dtype=torch.float64,
    )
    new = torch.tensor(
        [
            # row 0: FN (0.15 < 0.25); negative 0.25 > 0.15 -> FP, 0.1 -> TN
            [0.5, 0.15, 0.25, 0.1],
            [0.2, 0.4, 0.2, 0.2],
            [0.1, 0.1, 0.5, 0.3],
            [0.1, 0.1, 0.4, 0.4],
        ],
        dtype=torch.float64,
    )
    target = rectified_target(new, old, pids)
    # row 0: diagonal old 0.4; (0,1) both FN -> max(0.25, 0.3) = 0.3; (0,2) both FP ->
    # min(0.15, 0.1) = 0.1; (0,3) old FP, new TN -> new 0.1
    row0 = torch.tensor([0.4, 0.3, 0.1, 0.1], dtype=torch.float64)
    assert torch.allclose(target[0], row0 / row0.sum())
    assert torch.allclose(target[1:], old[1:])


def test_rectified_kl_zero_when_both_models_agree_and_are_right() -> None:
    pids = pk_pids(3, 2)
    x = torch.eye(6, dtype=torch.float64)[[0, 0, 2, 2, 4, 4]] + 0.01 * torch.arange(6.0).reshape(
        6, 1
    )
    assert rectified_affinity_kl(x, x.clone(), pids).item() == pytest.approx(0.0, abs=1e-12)


def test_rectified_kl_validates_inputs() -> None:
    with pytest.raises(ValueError, match="equal"):
        rectified_affinity_kl(torch.randn(4, 3), torch.randn(4, 2), torch.arange(4))
    with pytest.raises(ValueError, match="pids"):
        rectified_affinity_kl(torch.randn(4, 3), torch.randn(4, 3), torch.arange(3))


def test_rectified_kl_same_under_bf16_autocast() -> None:
    gen = torch.Generator().manual_seed(3)
    pids = pk_pids(8, 4)
    new, old = torch.randn(32, 256, generator=gen), torch.randn(32, 256, generator=gen)
    fp32 = rectified_affinity_kl(new, old, pids)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = rectified_affinity_kl(new, old, pids)
        # the same formula on autocast's bf16 matrix products is visibly off: the test can fail
        naive_cos = torch.nn.functional.normalize(new) @ torch.nn.functional.normalize(new).t()
    assert naive_cos.dtype == torch.bfloat16
    assert amp.dtype == torch.float32
    assert amp.item() == pytest.approx(fp32.item(), rel=1e-6)
    exact = torch.nn.functional.normalize(new) @ torch.nn.functional.normalize(new).t()
    assert (naive_cos.float() - exact).abs().max() > 1e-4  # what the fp32 region protects against


def test_gradient_flows_to_new_only_and_through_the_target() -> None:
    gen = torch.Generator().manual_seed(7)
    pids = pk_pids(4, 3)
    base_new = torch.randn(12, 8, generator=gen, dtype=torch.float64)
    old = torch.randn(12, 8, generator=gen, dtype=torch.float64, requires_grad=True)

    new = base_new.clone().requires_grad_(True)
    rectified_affinity_kl(new, old, pids).backward()
    assert old.grad is None
    assert new.grad is not None and new.grad.abs().sum() > 0
    faithful = new.grad.clone()

    new_d = base_new.clone().requires_grad_(True)
    rectified_affinity_kl(new_d, old, pids, detach_target=True).backward()
    # detached reading = KL with the target recomputed from constants
    new_c = base_new.clone().requires_grad_(True)
    norm = torch.nn.functional.normalize
    logits = norm(new_c) @ norm(new_c).t() / 0.1
    with torch.no_grad():
        a_old = torch.softmax(norm(old) @ norm(old).t() / 0.1, 1)
        target = rectified_target(torch.softmax(logits, 1), a_old, pids)
    torch.nn.functional.kl_div(
        torch.log_softmax(logits, 1), target, reduction="batchmean"
    ).backward()
    assert torch.allclose(new_d.grad, new_c.grad, rtol=1e-10, atol=1e-14)
    assert not torch.allclose(faithful, new_d.grad, rtol=1e-3)  # the target's own gradient counts


# --- fusion weight ---


def ref_fusion_weight(new: torch.Tensor, old: torch.Tensor, scale: float) -> float:
    a_new, a_old = ref_affinity(new, scale), ref_affinity(old, scale)
    per_image = [
        sum(abs(p - q) for p, q in zip(rn, ro, strict=True))
        for rn, ro in zip(a_new, a_old, strict=True)
    ]
    return 1 - sum(per_image) / len(per_image)


@pytest.mark.parametrize("scale", [100.0, 5.0])
@pytest.mark.parametrize("block_rows", [3, 4096])
def test_fusion_weight_equals_loop_formula(scale: float, block_rows: int) -> None:
    gen = torch.Generator().manual_seed(2)
    new = torch.randn(10, 5, generator=gen, dtype=torch.float64)
    old = new + 0.3 * torch.randn(10, 5, generator=gen, dtype=torch.float64)
    got = fusion_weight(new, old, scale=scale, block_rows=block_rows)
    assert isinstance(got, float)
    assert got == pytest.approx(ref_fusion_weight(new, old, scale), rel=1e-10)


def test_fusion_weight_extremes_and_clamp() -> None:
    x = torch.randn(6, 4)
    assert fusion_weight(x, x.clone()) == pytest.approx(1.0, abs=1e-6)
    # each image alone in one model (A ≈ I), all images identical in the other (A = 1/N):
    # Σ_j |ΔA| ≈ 2 (N − 1) / N, so α ≈ (2 − N) / N < 0 unclamped
    a, b = torch.eye(4), torch.ones(4, 4)
    alpha = fusion_weight(a, b)
    assert alpha == pytest.approx(-0.5, abs=1e-6)
    assert alpha == pytest.approx(ref_fusion_weight(a.double(), b.double(), 100.0), rel=1e-6)
    assert fusion_weight(a, b, clamp=True) == 0.0


def test_fusion_weight_same_under_bf16_autocast() -> None:
    # clustered features: cosines near 1, so scale 100 gives non-trivial affinities
    gen = torch.Generator().manual_seed(4)
    centres = torch.randn(8, 128, generator=gen)
    new = centres.repeat_interleave(8, 0) + 0.1 * torch.randn(64, 128, generator=gen)
    old = new + 0.05 * torch.randn(64, 128, generator=gen)
    fp32 = fusion_weight(new, old)
    assert 0.5 < fp32 < 0.99
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = fusion_weight(new, old)
    assert amp == pytest.approx(fp32, abs=1e-6)


def test_fusion_weight_validates() -> None:
    with pytest.raises(ValueError, match="differ"):
        fusion_weight(torch.randn(3, 2), torch.randn(4, 2))
    with pytest.raises(ValueError, match="at least one"):
        fusion_weight(torch.randn(0, 2), torch.randn(0, 2))


# --- weight-space fusion ---


class Toy(nn.Module):
    def __init__(self, classes: int) -> None:
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.classifier = nn.Linear(4, classes, bias=False)


def trained_toy(classes: int, seed: int, steps: int) -> Toy:
    torch.manual_seed(seed)
    toy = Toy(classes)
    with torch.no_grad():
        for p in toy.parameters():
            p.add_(torch.randn_like(p))
    for _ in range(steps):  # BN running statistics and counter
        toy.bn(toy.body(torch.randn(8, 3)))
    return toy


def test_fusion_equals_formula_and_keeps_new_classifier_rows() -> None:
    old, new = trained_toy(2, seed=0, steps=3), trained_toy(5, seed=1, steps=8)
    old_state = {k: v.clone() for k, v in old.state_dict().items()}
    new_state = {k: v.clone() for k, v in new.state_dict().items()}
    alpha = 0.3
    fused = fuse_state_dicts(new.state_dict(), old.state_dict(), alpha)
    assert set(fused) == set(new_state)
    for key, value in fused.items():
        n, o = new_state[key], old_state[key]
        if not value.is_floating_point():
            assert value.dtype == n.dtype
            assert int(value) == int(alpha * int(n) + (1 - alpha) * int(o))
            continue
        rows = o.shape[0] if o.dim() else 1
        fused_rows, new_rows = value.reshape(-1 if o.dim() else 1), n.reshape(-1 if o.dim() else 1)
        old_flat = o.reshape(-1)
        cut = old_flat.numel()  # the first `rows` rows hold the old entries, row-major
        for idx in range(fused_rows.numel()):
            if idx < cut:
                want = alpha * float(new_rows[idx]) + (1 - alpha) * float(old_flat[idx])
                assert float(fused_rows[idx]) == pytest.approx(want, rel=1e-6, abs=1e-7)
            else:  # new classifier rows untouched
                assert float(fused_rows[idx]) == float(new_rows[idx])
        assert rows <= (value.shape[0] if value.dim() else 1)
    assert torch.equal(fused["classifier.weight"][2:], new_state["classifier.weight"][2:])
    assert int(fused["bn.num_batches_tracked"]) == int(0.3 * 8 + 0.7 * 3)  # 4.5 -> 4
    # inputs untouched, and the result loads strictly into the grown model
    for key, value in new.state_dict().items():
        assert torch.equal(value, new_state[key])
    Toy(5).load_state_dict(fused, strict=True)


def test_fusion_integer_option_and_errors() -> None:
    old, new = trained_toy(2, seed=0, steps=3), trained_toy(5, seed=1, steps=8)
    kept = fuse_state_dicts(new.state_dict(), old.state_dict(), 0.5, integers="new")
    assert int(kept["bn.num_batches_tracked"]) == 8
    with pytest.raises(ValueError, match="missing"):
        fuse_state_dicts(new.state_dict(), {}, 0.5)
    bad = dict(old.state_dict())
    bad["body.weight"] = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="body.weight"):
        fuse_state_dicts(new.state_dict(), bad, 0.5)
    shrunk = dict(old.state_dict())
    shrunk["classifier.weight"] = torch.zeros(7, 4)
    with pytest.raises(ValueError, match="classifier.weight"):
        fuse_state_dicts(new.state_dict(), shrunk, 0.5)
    with pytest.raises(ValueError, match="integers"):
        fuse_state_dicts(new.state_dict(), old.state_dict(), 0.5, integers="mean")  # type: ignore[arg-type]


def test_rectified_kl_runs_on_the_meta_device() -> None:
    new, old = torch.randn(8, 4, device="meta"), torch.randn(8, 4, device="meta")
    loss = rectified_affinity_kl(new, old, torch.arange(8, device="meta") // 2)
    assert loss.device.type == "meta" and loss.shape == ()
