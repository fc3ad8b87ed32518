"""DKP's uncertainty head and PatchKD's patch sampler against their definitions."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import MultivariateNormal

from reid.models.patch import PatchSampler, gather_patches, hard_gumbel_softmax
from reid.models.uncertainty import (
    UncertaintyHead,
    classify_merged,
    gem_pool,
    soft_l2_normalise,
)

# --- DKP: GeM, normalisation, uncertainty head ---


def test_gem_pool_equals_loop_formula() -> None:
    x = torch.randn(2, 3, 4, 2, dtype=torch.float64)
    got = gem_pool(x, p=3.0)
    for b in range(2):
        for c in range(3):
            values = [max(float(v), 1e-6) ** 3 for v in x[b, c].reshape(-1)]
            assert float(got[b, c]) == pytest.approx((sum(values) / 8) ** (1 / 3), rel=1e-12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        amp = gem_pool(x.float())
    assert amp.dtype == torch.float32 and torch.allclose(amp.double(), got, rtol=1e-6)


def test_soft_l2_normalise_adds_eps_to_the_norm() -> None:
    x = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    assert torch.allclose(soft_l2_normalise(x), x / 5.0001)


def small_head(samples: int = 4) -> UncertaintyHead:
    torch.manual_seed(0)
    return UncertaintyHead(in_channels=6, out_dim=5, num_samples=samples, var_kernel=(3, 2))


def test_head_branches_equal_their_formula() -> None:
    head = small_head().double()
    fmap = torch.randn(3, 6, 5, 4, dtype=torch.float64)
    out = head(fmap, generator=torch.Generator().manual_seed(1))
    raw_mean = head.mean_fc(gem_pool(fmap))
    mean = raw_mean / (raw_mean.norm(dim=1, keepdim=True) + 1e-4)
    raw_std = head.var_fc(gem_pool(head.var_conv(fmap)) + 1e-4)
    std = F.relu(raw_std / (raw_std.norm(dim=1, keepdim=True) + 1e-4)) + 1e-4
    assert torch.allclose(out.mean, mean) and torch.allclose(out.std, std)
    assert bool((out.std >= 1e-4).all())
    eps = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for s in range(4):
        for b in range(3):
            draw = mean[b] + std[b] * eps[s, b]
            assert torch.allclose(out.samples[b, s], draw / (draw.norm() + 1e-4))
    assert out.merged.shape == (3, 5, 5)
    assert torch.equal(out.merged[:, 0], out.mean) and torch.equal(out.merged[:, 1:], out.samples)


def test_head_sampling_is_seeded_and_matches_the_authors_stream() -> None:
    head = small_head()
    fmap = torch.randn(2, 6, 4, 4)
    a = head(fmap, generator=torch.Generator().manual_seed(5)).samples
    b = head(fmap, generator=torch.Generator().manual_seed(5)).samples
    c = head(fmap, generator=torch.Generator().manual_seed(6)).samples
    assert torch.equal(a, b) and not torch.equal(a, c)
    # no generator: the global stream, the same draws as the authors' MultivariateNormal.rsample
    mean, std = head.distribution(fmap)
    torch.manual_seed(3)
    ours = head(fmap).samples
    torch.manual_seed(3)
    theirs = MultivariateNormal(loc=mean, scale_tril=torch.diag_embed(std)).rsample((4,))
    assert torch.allclose(ours, soft_l2_normalise(theirs).permute(1, 0, 2), atol=1e-6)


def test_head_eval_mode_does_not_sample() -> None:
    head = small_head().eval()
    out = head(torch.randn(2, 6, 4, 4))
    assert out.samples.shape == (2, 0, 5) and out.merged.shape == (2, 1, 5)
    assert head(torch.randn(2, 6, 4, 4), sample=True).samples.shape == (2, 4, 5)


def test_head_gradients_reach_both_branches_through_samples() -> None:
    head = small_head()
    out = head(torch.randn(4, 6, 4, 4), generator=torch.Generator().manual_seed(0))
    out.samples.sum().backward()  # only the samples: the variance branch learns through them
    assert head.mean_fc.weight.grad.abs().sum() > 0
    assert head.var_fc.weight.grad.abs().sum() > 0 and head.var_conv.weight.grad.abs().sum() > 0


def test_head_defaults_bf16_and_small_maps() -> None:
    head = UncertaintyHead()
    assert head.mean_fc.in_features == 1024 and head.mean_fc.out_features == 2048
    assert head.var_conv.kernel_size == (8, 8) and head.var_conv.bias is None
    assert head.num_samples == 6
    small = small_head()
    fmap = torch.randn(2, 6, 4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = small(fmap, generator=torch.Generator().manual_seed(0))
    assert out.mean.dtype == torch.float32 and out.merged.dtype == torch.float32
    with pytest.raises(ValueError, match="smaller than the variance kernel"):
        small(torch.randn(2, 6, 2, 4))


def test_classify_merged_runs_one_bn_over_means_and_samples() -> None:
    torch.manual_seed(0)
    merged = torch.randn(3, 4, 5)
    neck, classifier = nn.BatchNorm1d(5), nn.Linear(5, 7, bias=False)
    logits = classify_merged(merged, neck, classifier)
    flat = merged.reshape(12, 5)
    normed = (flat - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + 1e-5)
    assert logits.shape == (3, 4, 7)
    assert torch.allclose(logits, (normed @ classifier.weight.t()).reshape(3, 4, 7), atol=1e-5)


# --- PatchKD: hard Gumbel-softmax, sampler, patch vectors ---


def test_hard_gumbel_matches_torch_under_the_same_seed() -> None:
    logits = torch.randn(4, 3, 10)
    torch.manual_seed(8)
    theirs = F.gumbel_softmax(logits, tau=1.0, hard=True)
    torch.manual_seed(8)
    ours = hard_gumbel_softmax(logits)
    assert torch.equal(ours, theirs)


def test_hard_gumbel_is_one_hot_with_soft_gradient_and_seeded() -> None:
    logits = torch.randn(5, 3, 12, requires_grad=True)
    y = hard_gumbel_softmax(logits, generator=torch.Generator().manual_seed(2))
    assert set(y.detach().unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(y.detach().sum(-1), torch.ones(5, 3))
    again = hard_gumbel_softmax(logits, generator=torch.Generator().manual_seed(2))
    assert torch.equal(y, again)
    weights = torch.randn(5, 3, 12)
    (y * weights).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    # with strongly peaked logits the noise cannot move the choice
    peaked = torch.full((2, 1, 6), -50.0)
    peaked[:, :, 4] = 50.0
    assert int(hard_gumbel_softmax(peaked).argmax(-1).unique()) == 4


def test_patch_sampler_architecture_and_selection() -> None:
    sampler = PatchSampler()
    convs = [m for m in sampler.scorer if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (2048, 4096, (1, 1)),
        (4096, 3, (1, 1)),
    ]
    assert isinstance(sampler.scorer[1], nn.BatchNorm2d) and isinstance(sampler.scorer[2], nn.ReLU)
    torch.manual_seed(0)
    small = PatchSampler(in_channels=8, hidden_channels=16, num_patches=3)
    fmap = torch.randn(2, 8, 4, 3)
    sel = small(fmap, generator=torch.Generator().manual_seed(1))
    assert sel.weights.shape == sel.scores.shape == (2, 3, 4, 3)
    assert torch.equal(sel.weights.detach().sum(dim=(2, 3)), torch.ones(2, 3))
    sel.weights.sum(dim=(2, 3)).mul(torch.arange(3.0)).sum().backward()
    assert all(p.grad is not None for p in small.parameters())


def test_gather_patches_picks_the_selected_vectors() -> None:
    torch.manual_seed(1)
    small = PatchSampler(in_channels=8, hidden_channels=16, num_patches=3)
    fmap = torch.randn(2, 8, 4, 3)
    sel = small(fmap, generator=torch.Generator().manual_seed(4))
    patches = gather_patches(fmap, sel.weights)
    assert patches.shape == (2, 3, 8)
    for b in range(2):
        for k in range(3):
            pos = int(sel.weights[b, k].reshape(-1).argmax())
            h, w = divmod(pos, 3)
            for c in range(8):
                assert math.isclose(
                    float(patches.detach()[b, k, c]), float(fmap[b, c, h, w]), rel_tol=1e-6
                )
    # the authors' broadcast-and-sum form gives the same values and gradients
    x = fmap.clone().requires_grad_(True)
    wts = sel.weights.detach().clone().requires_grad_(True)
    gather_patches(x, wts).pow(2).sum().backward()
    x2 = fmap.clone().requires_grad_(True)
    wts2 = sel.weights.detach().clone().requires_grad_(True)
    (x2[:, None] * wts2[:, :, None]).sum(dim=(3, 4)).pow(2).sum().backward()
    assert torch.allclose(x.grad, x2.grad) and torch.allclose(wts.grad, wts2.grad, rtol=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        gather_patches(fmap, sel.weights[:, :, :2])


def test_patch_sampler_under_bf16_autocast_stays_one_hot() -> None:
    torch.manual_seed(2)
    small = PatchSampler(in_channels=8, hidden_channels=16, num_patches=2)
    fmap = torch.randn(3, 8, 4, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        sel = small(fmap, generator=torch.Generator().manual_seed(0))
        patches = gather_patches(fmap, sel.weights)
    assert sel.weights.dtype == torch.float32 and patches.dtype == torch.float32
    assert torch.equal(sel.weights.detach().sum(dim=(2, 3)), torch.ones(3, 2))
    exact = gather_patches(fmap, sel.weights.detach())
    assert torch.equal(patches.detach(), exact)  # the picked vectors keep full precision


def test_parts_run_on_the_meta_device() -> None:
    head = UncertaintyHead(in_channels=6, out_dim=5, num_samples=2, var_kernel=(2, 2)).to("meta")
    out = head(torch.randn(2, 6, 4, 4, device="meta"))
    assert out.merged.device.type == "meta" and out.merged.shape == (2, 3, 5)
    sampler = PatchSampler(in_channels=8, hidden_channels=16, num_patches=3).to("meta")
    fmap = torch.randn(2, 8, 4, 3, device="meta")
    patches = gather_patches(fmap, sampler(fmap).weights)
    assert patches.device.type == "meta" and patches.shape == (2, 3, 8)
