"""Batched augmentation of uint8 image tensors on their own device (CPU or CUDA)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ERASE_AREA = (0.02, 0.4)  # fraction of the image, as torchreid's RandomErasing
ERASE_ASPECT_MIN = 0.3  # aspect ratio drawn in [0.3, 1 / 0.3]
ERASE_ATTEMPTS = 10
UPSCALE = 1.125  # the authors' Random2DTranslation: enlarge by 1/8, then crop back


def _check(batch: torch.Tensor) -> None:
    if batch.dtype != torch.uint8 or batch.dim() != 4 or batch.shape[1] != 3:
        shape = tuple(batch.shape)
        raise ValueError(f"expected a uint8 batch [N, 3, H, W], got {batch.dtype} {shape}")


def _normalise(batch: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    _check(batch)
    m = torch.tensor(mean, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=batch.device).view(1, 3, 1, 1)
    return (batch.float() / 255.0 - m) / s


def _rand(generator: torch.Generator, *size: int, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) drawn on the generator's device, moved to `device`."""
    return torch.rand(*size, generator=generator, device=generator.device).to(device)


def flip(batch: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mirror the images where `mask` [N] is true."""
    return torch.where(mask.view(-1, 1, 1, 1), batch.flip(-1), batch)


def pad_crop(batch: torch.Tensor, pad: int, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Zero-pad by `pad` and crop back to size at per-image offsets `dy`, `dx` in [0, 2*pad]."""
    if pad <= 0:
        return batch
    n, c, h, w = batch.shape
    padded = F.pad(batch, (pad, pad, pad, pad))
    rows = (dy.view(n, 1) + torch.arange(h, device=batch.device)).view(n, 1, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w, device=batch.device)).view(n, 1, 1, w)
    index_n = torch.arange(n, device=batch.device).view(n, 1, 1, 1)
    index_c = torch.arange(c, device=batch.device).view(1, c, 1, 1)
    return padded[index_n, index_c, rows, cols]


def erase_boxes(
    n: int, h: int, w: int, generator: torch.Generator, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per image (y0, x0, height, width, valid) of a random-erasing box, first valid attempt."""
    u = _rand(generator, 4, n, ERASE_ATTEMPTS, device=device)
    area = (ERASE_AREA[0] + u[0] * (ERASE_AREA[1] - ERASE_AREA[0])) * h * w
    aspect = ERASE_ASPECT_MIN + u[1] * (1.0 / ERASE_ASPECT_MIN - ERASE_ASPECT_MIN)
    bh = torch.sqrt(area * aspect).round().long()
    bw = torch.sqrt(area / aspect).round().long()
    ok = (bh < h) & (bw < w) & (bh > 0) & (bw > 0)
    first = torch.argmax(ok.int(), dim=1, keepdim=True)
    bh, bw = bh.gather(1, first).squeeze(1), bw.gather(1, first).squeeze(1)
    y0 = (u[2].gather(1, first).squeeze(1) * (h - bh + 1).float()).long()
    x0 = (u[3].gather(1, first).squeeze(1) * (w - bw + 1).float()).long()
    return y0, x0, bh, bw, ok.any(dim=1)


def upscale_crop(batch: torch.Tensor, mask: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The authors' `Random2DTranslation`: where `mask` [N] is true, enlarge the image by 1/8
    (bilinear) and crop back to size at offsets `u` [2, N] in [0, 1) of the spare margin."""
    n, _, h, w = batch.shape
    big_h, big_w = int(round(h * UPSCALE)), int(round(w * UPSCALE))
    if not bool(mask.any()) or (big_h == h and big_w == w):
        return batch
    big = F.interpolate(batch.float(), size=(big_h, big_w), mode="bilinear", align_corners=False)
    big = big.round_().clamp_(0, 255).to(batch.dtype)
    dy = (u[0] * (big_h - h + 1)).long().clamp_(max=big_h - h)
    dx = (u[1] * (big_w - w + 1)).long().clamp_(max=big_w - w)
    rows = (dy.view(n, 1) + torch.arange(h, device=batch.device)).view(n, 1, h, 1)
    cols = (dx.view(n, 1) + torch.arange(w, device=batch.device)).view(n, 1, 1, w)
    index_n = torch.arange(n, device=batch.device).view(n, 1, 1, 1)
    index_c = torch.arange(3, device=batch.device).view(1, 3, 1, 1)
    cropped = big[index_n, index_c, rows, cols]
    return torch.where(mask.view(-1, 1, 1, 1), cropped, batch)


class TrainTransform:
    """Optional upscale-and-crop (authors' code), random flip, pad + random crop, random erasing,
    then /255 and normalisation."""

    def __init__(
        self,
        flip_p: float = 0.5,
        pad: int = 10,
        random_erasing_p: float = 0.0,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        upscale_crop_p: float = 0.0,
    ) -> None:
        self.flip_p, self.pad, self.erasing_p = float(flip_p), int(pad), float(random_erasing_p)
        self.mean, self.std = tuple(mean), tuple(std)
        self.upscale_p = float(upscale_crop_p)

    def __call__(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        _check(batch)
        n, _, h, w = batch.shape
        device = batch.device
        draws = _rand(generator, 4, n, device=device)
        if self.upscale_p > 0:  # drawn only when on, so other settings keep their streams
            u = _rand(generator, 3, n, device=device)
            batch = upscale_crop(batch, u[0] < self.upscale_p, u[1:])
        x = flip(batch, draws[0] < self.flip_p)
        span = 2 * self.pad + 1
        dy = (draws[1] * span).long().clamp_(max=span - 1)
        dx = (draws[2] * span).long().clamp_(max=span - 1)
        out = _normalise(pad_crop(x, self.pad, dy, dx), self.mean, self.std)
        y0, x0, bh, bw, valid = erase_boxes(n, h, w, generator, device)
        erase = valid & (draws[3] < self.erasing_p)
        yy = torch.arange(h, device=device).view(1, h, 1)
        xx = torch.arange(w, device=device).view(1, 1, w)
        box = (
            (yy >= y0.view(n, 1, 1))
            & (yy < (y0 + bh).view(n, 1, 1))
            & (xx >= x0.view(n, 1, 1))
            & (xx < (x0 + bw).view(n, 1, 1))
            & erase.view(n, 1, 1)
        )
        return out.masked_fill(box.unsqueeze(1), 0.0)  # 0 = the mean colour after normalising


class EvalTransform:
    """/255 and normalisation only."""

    def __init__(
        self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
    ) -> None:
        self.mean, self.std = tuple(mean), tuple(std)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return _normalise(batch, self.mean, self.std)
