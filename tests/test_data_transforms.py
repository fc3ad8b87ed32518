"""Batched augmentation on uint8 tensors."""

from __future__ import annotations

import pytest
import torch

from reid.data.transforms import IMAGENET_MEAN, IMAGENET_STD, EvalTransform, TrainTransform


def _batch(n=4, h=16, w=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 255, (n, 3, h, w), generator=g, dtype=torch.uint8)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_eval_normalises():
    batch = _batch()
    out = EvalTransform()(batch)
    assert out.dtype == torch.float32 and out.shape == batch.shape
    expected = (batch[1, 2, 3, 4].item() / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2]
    assert out[1, 2, 3, 4].item() == pytest.approx(expected, abs=1e-6)


def test_no_augmentation_equals_eval():
    batch = _batch()
    out = TrainTransform(flip_p=0.0, pad=0, random_erasing_p=0.0)(batch, _gen())
    assert torch.equal(out, EvalTransform()(batch))


def test_flip_really_flips():
    batch = _batch()
    out = TrainTransform(flip_p=1.0, pad=0)(batch, _gen())
    assert torch.equal(out, EvalTransform()(batch.flip(-1)))
    assert not torch.equal(out, EvalTransform()(batch))


def test_flip_is_per_image():
    batch = _batch(n=64)
    out = TrainTransform(flip_p=0.5, pad=0)(batch, _gen(1))
    flipped = [torch.equal(out[i], EvalTransform()(batch.flip(-1))[i]) for i in range(64)]
    assert 10 < sum(flipped) < 54


def test_pad_crop_is_a_shift_of_the_zero_padded_image():
    batch, pad = _batch(n=6), 2
    out = TrainTransform(flip_p=0.0, pad=pad)(batch, _gen(3))
    padded = torch.nn.functional.pad(EvalTransform()(batch), (pad,) * 4)
    zero = EvalTransform()(torch.zeros(1, 3, 1, 1, dtype=torch.uint8))
    padded = torch.where(
        torch.nn.functional.pad(torch.ones_like(batch, dtype=torch.bool), (pad,) * 4),
        padded,
        zero,
    )
    offsets = []
    for i in range(6):
        found = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + 16, dx : dx + 8])
        ]
        assert found
        offsets.append(found[0])
    assert len(set(offsets)) > 1


def test_seeded_generator_is_deterministic():
    batch = _batch()
    transform = TrainTransform(pad=3, random_erasing_p=0.5)
    assert torch.equal(transform(batch, _gen(7)), transform(batch, _gen(7)))
    assert not torch.equal(transform(batch, _gen(7)), transform(batch, _gen(8)))


def test_random_erasing_zeroes_one_rectangle_per_image():
    batch = torch.full((8, 3, 32, 16), 200, dtype=torch.uint8)
    out = TrainTransform(flip_p=0.0, pad=0, random_erasing_p=1.0)(batch, _gen(2))
    for image in out:
        erased = (image == 0).all(dim=0)
        rows, cols = erased.any(dim=1).nonzero(), erased.any(dim=0).nonzero()
        assert erased.sum() > 0
        height = rows.max() - rows.min() + 1
        width = cols.max() - cols.min() + 1
        assert erased.sum() == height * width  # one full rectangle
        assert 0.01 <= erased.sum().item() / (32 * 16) <= 0.45


def test_erasing_off_leaves_no_zeros():
    batch = torch.full((8, 3, 32, 16), 200, dtype=torch.uint8)
    out = TrainTransform(flip_p=0.5, pad=0, random_erasing_p=0.0)(batch, _gen(2))
    assert not (out == 0).any()


def test_refuses_float_input():
    with pytest.raises(ValueError, match="uint8"):
        EvalTransform()(torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="uint8"):
        TrainTransform()(torch.zeros(1, 3, 4, 4), _gen())
