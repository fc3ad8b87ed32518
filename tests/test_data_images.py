"""ImageBank: decode once, resize, corrupt images, cache."""

from __future__ import annotations

import logging

import pytest
import torch
from data_fixtures import write_image

from reid.data import Sample
from reid.data import images as images_module
from reid.data.images import ImageBank
from reid.errors import DatasetError


@pytest.fixture
def samples(tmp_path):
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 250)]
    out = []
    for number, colour in enumerate(colours):
        path = write_image(tmp_path / "imgs" / f"{number:04d}_c1_f{number:07d}.jpg", colour)
        out.append(Sample(path, pid=number // 2, camid=number % 2 + 1))
    return out


def test_decodes_and_resizes(samples):
    bank = ImageBank.from_samples(samples, height=12, width=6)
    assert bank.images.shape == (4, 3, 12, 6) and bank.images.dtype == torch.uint8
    assert bank.pids.tolist() == [0, 0, 1, 1] and bank.pids.dtype == torch.int64
    assert bank.camids.tolist() == [1, 2, 1, 2] and bank.camids.dtype == torch.int64
    assert bank.skipped == 0 and len(bank) == 4
    mean_colour = bank.images.float().mean(dim=(2, 3))
    assert mean_colour.argmax(dim=1)[:3].tolist() == [0, 1, 2]  # red, green, blue in RGB order
    assert (mean_colour[3] > 235).all()


def test_corrupt_image_raises_naming_file(samples):
    samples[1].path.write_bytes(b"not a jpeg at all")
    with pytest.raises(DatasetError) as info:
        ImageBank.from_samples(samples, 12, 6)
    assert samples[1].path.name in str(info.value) and "skip_corrupt: true" in str(info.value)


def test_truncated_and_corrupt_images_are_skipped_and_counted(samples, caplog):
    samples[1].path.write_bytes(b"garbage")
    data = samples[2].path.read_bytes()
    samples[2].path.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="reid.data.images"):
        bank = ImageBank.from_samples(samples, 12, 6, skip_corrupt=True)
    assert bank.skipped == 2 and len(bank) == 2
    assert bank.pids.tolist() == [0, 1] and bank.paths == [samples[0].path, samples[3].path]
    assert samples[1].path.name in caplog.text


def test_cache_is_used_and_a_stale_cache_is_not(samples, tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "bank.pt"
    first = ImageBank.from_samples(samples, 12, 6, cache_path=cache)
    assert cache.is_file()

    def fail(*args, **kwargs):
        raise AssertionError("decoded again although the cache is fresh")

    with monkeypatch.context() as patch:
        patch.setattr(images_module, "_decode_all", fail)
        cached = ImageBank.from_samples(samples, 12, 6, cache_path=cache)
    assert torch.equal(cached.images, first.images) and torch.equal(cached.pids, first.pids)
    other_size = ImageBank.from_samples(samples, 8, 4, cache_path=cache)
    assert other_size.images.shape == (4, 3, 8, 4)
    fewer = ImageBank.from_samples(samples[:2], 8, 4, cache_path=cache)
    assert len(fewer) == 2


def test_unreadable_cache_is_rebuilt(samples, tmp_path):
    cache = tmp_path / "bank.pt"
    cache.write_bytes(b"broken")
    bank = ImageBank.from_samples(samples, 12, 6, cache_path=cache)
    assert len(bank) == 4
