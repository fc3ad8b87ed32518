"""Images decoded once into a uint8 tensor bank, resized to the training size."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from reid import io
from reid.data.types import Sample
from reid.errors import DatasetError

log = logging.getLogger(__name__)
CACHE_FORMAT = 1


def decode(path: Path, height: int, width: int) -> np.ndarray:
    """uint8 [3, H, W] of one image, RGB, resized with PIL bilinear."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)


def _try_decode(path: Path, height: int, width: int) -> np.ndarray | Exception:
    try:
        return decode(path, height, width)
    except Exception as exc:  # PIL raises many exception types for broken files
        return exc


def cache_key(samples: Sequence[Sample], height: int, width: int, skip_corrupt: bool) -> str:
    """A digest of the sample list, file sizes and times, and the size: a stale cache misses."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}|{height}x{width}|{skip_corrupt}".encode())
    for s in samples:
        try:
            st = s.path.stat()
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        digest.update(f"\n{s.path}|{s.pid}|{s.camid}|{stamp}".encode())
    return digest.hexdigest()


@dataclass
class ImageBank:
    """Decoded images `[N, 3, H, W]` uint8 with their pids and camera ids (int64)."""

    images: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor
    skipped: int = 0
    paths: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @classmethod
    def from_samples(
        cls,
        samples: Sequence[Sample],
        height: int,
        width: int,
        skip_corrupt: bool = False,
        progress: bool = False,
        cache_path: Path | None = None,
    ) -> ImageBank:
        """Decode each image once (2 threads); corrupt ones raise, or are skipped and counted."""
        samples = list(samples)
        key = cache_key(samples, height, width, skip_corrupt) if cache_path else ""
        if cache_path is not None:
            cached = _load_cache(Path(cache_path), key)
            if cached is not None:
                _log_skipped(cached, len(samples))
                return cached
        bank = _decode_all(samples, height, width, skip_corrupt, progress)
        _log_skipped(bank, len(samples))
        if cache_path is not None:
            io.save_torch(
                cache_path,
                {
                    "key": key,
                    "images": bank.images,
                    "pids": bank.pids,
                    "camids": bank.camids,
                    "skipped": bank.skipped,
                    "paths": [str(p) for p in bank.paths],
                },
            )
        return bank


def _log_skipped(bank: ImageBank, total: int) -> None:
    if bank.skipped:
        log.warning(
            "skipped %d unreadable image(s) of %d (skip_corrupt is on)", bank.skipped, total
        )


def _decode_all(
    samples: list[Sample], height: int, width: int, skip_corrupt: bool, progress: bool
) -> ImageBank:
    images = np.empty((len(samples), 3, height, width), dtype=np.uint8)
    keep: list[int] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda s: _try_decode(s.path, height, width), samples, chunksize=64)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(samples), desc="decode", unit="img", leave=False)
        for index, (sample, result) in enumerate(zip(samples, results, strict=True)):
            if isinstance(result, Exception):
                if not skip_corrupt:
                    raise DatasetError(
                        f"image {sample.path} is corrupt or unreadable ({result}); replace it, "
                        "or set `skip_corrupt: true` to skip such images"
                    )
                log.warning("skipping unreadable image %s: %s", sample.path, result)
                continue
            images[len(keep)] = result
            keep.append(index)
    kept = [samples[i] for i in keep]
    return ImageBank(
        images=torch.from_numpy(images[: len(keep)]),
        pids=torch.tensor([s.pid for s in kept], dtype=torch.int64),
        camids=torch.tensor([s.camid for s in kept], dtype=torch.int64),
        skipped=len(samples) - len(keep),
        paths=[s.path for s in kept],
    )


def _load_cache(path: Path, key: str) -> ImageBank | None:
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # an unreadable cache is rebuilt, never trusted
        log.warning("ignoring unreadable image cache %s: %s", path, exc)
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        log.info("image cache %s is stale; decoding again", path)
        return None
    return ImageBank(
        images=data["images"],
        pids=data["pids"],
        camids=data["camids"],
        skipped=int(data["skipped"]),
        paths=[Path(p) for p in data["paths"]],
    )
