"""The authors' code differs from the paper in ways that change results: each is a config key
(BN momentum of the heads, upscale-and-crop augmentation), and `data.cache_decoded` is read."""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from engine_helpers import tiny_config

from reid.data.transforms import TrainTransform, upscale_crop
from reid.engine.trainer import model_config
from reid.models import MultiPipelineNet
from reid.runs import main_chain, run_hash


def test_head_bn_momentum_reaches_every_pipeline_bn_and_the_hash(tmp_path):
    config = tiny_config(tmp_path)
    faithful = tiny_config(tmp_path, model=dict(config["model"], head_bn_momentum=0.01))
    assert run_hash(main_chain(faithful)[0]) != run_hash(main_chain(config)[0])
    for cfg, momentum in ((config, 0.1), (faithful, 0.01)):
        model = MultiPipelineNet(model_config(main_chain(cfg)[0]))
        model.add_pipeline(5)
        norms = [m for m in model.pipelines.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert len(norms) == 2 and all(m.momentum == momentum for m in norms)
        # The backbone keeps torch's default.
        assert all(
            m.momentum == 0.1 for m in model.base.modules() if isinstance(m, torch.nn.BatchNorm2d)
        )


def _batch(n: int = 6, h: int = 32, w: int = 16) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (n, 3, h, w), generator=gen, dtype=torch.uint8)


def test_upscale_crop_is_a_crop_of_the_enlarged_image():
    batch = _batch()
    mask = torch.tensor([True, False, True, True, False, True])
    u = torch.tensor([[0.0, 0.5, 0.999, 0.3, 0.2, 0.6], [0.0, 0.5, 0.999, 0.7, 0.1, 0.4]])
    out = upscale_crop(batch, mask, u)
    big = F.interpolate(batch.float(), size=(36, 18), mode="bilinear", align_corners=False)
    big = big.round().clamp(0, 255).to(torch.uint8)
    assert torch.equal(out[0], big[0, :, 0:32, 0:16])  # u = 0: top-left corner
    assert torch.equal(out[2], big[2, :, 4:36, 2:18])  # u → 1: bottom-right corner
    assert torch.equal(out[1], batch[1]) and torch.equal(out[4], batch[4])  # not drawn
    assert out.shape == batch.shape and out.dtype == torch.uint8


def test_upscale_crop_probability_zero_keeps_the_old_augmentation_stream():
    batch = _batch()
    old = TrainTransform(flip_p=0.5, pad=2)(batch, torch.Generator().manual_seed(3))
    off = TrainTransform(flip_p=0.5, pad=2, upscale_crop_p=0.0)(
        batch, torch.Generator().manual_seed(3)
    )
    on = TrainTransform(flip_p=0.5, pad=2, upscale_crop_p=1.0)(
        batch, torch.Generator().manual_seed(3)
    )
    assert torch.equal(old, off)
    assert not torch.equal(old, on)


def test_upscale_crop_is_in_the_run_hash(tmp_path):
    config = tiny_config(tmp_path)
    train = dict(config["train"], augment=dict(config["train"]["augment"], upscale_crop=0.5))
    assert run_hash(main_chain(tiny_config(tmp_path, train=train))[0]) != run_hash(
        main_chain(config)[0]
    )


def test_cache_decoded_is_read_from_the_config_and_the_flag(tmp_path):
    from reid.commands.base import runtime_from

    args = argparse.Namespace(device=None, threads=None, amp=None, channels_last=None, compile=None)
    config = tiny_config(tmp_path)
    on = runtime_from(argparse.Namespace(**vars(args), no_cache_decoded=None), config)
    assert on.cache_images is True
    off_config = tiny_config(tmp_path, data=dict(config["data"], cache_decoded=False))
    off = runtime_from(argparse.Namespace(**vars(args), no_cache_decoded=None), off_config)
    assert off.cache_images is False
    flag = runtime_from(argparse.Namespace(**vars(args), no_cache_decoded=True), config)
    assert flag.cache_images is False
    # Speed only: the run's name does not change.
    assert run_hash(main_chain(off_config)[0]) == run_hash(main_chain(config)[0])
