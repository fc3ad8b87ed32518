"""The training images of a phase: prepared datasets, decoded banks, P×K batches."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from reid.data.images import ImageBank
from reid.data.sampler import CrossCameraPKSampler, PKSampler, batch_stream
from reid.data.select import load_task_splits, selection_tag
from reid.errors import DatasetError


@dataclass
class TrainSource:
    """The training images of one task, the task index (`pipeline`) that learns them, where its
    labels start in its head's classifier (a growing one), and the batches of an epoch (None:
    one sampler pass)."""

    name: str
    pipeline: int
    bank: ImageBank
    sampler: PKSampler | CrossCameraPKSampler
    label_offset: int = 0
    batches_per_epoch: int | None = None

    @property
    def num_classes(self) -> int:
        return int(self.bank.pids.max()) + 1


def prepared_root(dataset_dir: str | Path) -> Path:
    """Dataset root recorded by `reid prepare` in `<dataset_dir>/READY.json`."""
    ready = Path(dataset_dir) / "READY.json"
    if not ready.is_file():
        raise DatasetError(
            f"dataset folder {dataset_dir} is not prepared ({ready} missing); "
            "run `reid prepare` (or the Snakemake rule `prepare_dataset`) first"
        )
    return Path(json.loads(ready.read_text(encoding="utf-8"))["root"])


def load_bank(
    task: dict[str, Any], split: str, data: dict[str, Any], cache: bool = True
) -> ImageBank:
    """Decoded uint8 images of one split of a prepared task."""
    root = prepared_root(task["root"])
    splits = load_task_splits(task, root)
    samples = getattr(splits, split)
    cache_path = None
    if cache:
        name = f"{split}{selection_tag(task, split)}_{data['height']}x{data['width']}.pt"
        cache_path = Path(task["root"]) / "cache" / name
    return ImageBank.from_samples(
        samples,
        data["height"],
        data["width"],
        skip_corrupt=data.get("skip_corrupt", False),
        cache_path=cache_path,
    )


def train_sources(spec: dict[str, Any], first_pipeline: int, cache: bool) -> list[TrainSource]:
    """One source per task the spec trains (its `task`, or every task of `tasks`)."""
    tasks = spec.get("tasks") or [spec["task"]]
    sources = []
    for offset, task in enumerate(tasks):
        bank = load_bank(task, "train", spec["data"], cache)
        sampler = make_sampler(bank, spec["train"], spec["seed"] + offset)
        source = TrainSource(task["name"], first_pipeline + offset, bank, sampler)
        if spec["train"].get("epoch_length", "sampler") == "images":
            batch = spec["train"]["batch"]
            source.batches_per_epoch = max(1, len(bank.pids) // (batch["p"] * batch["k"]))
        sources.append(source)
    return sources


def make_sampler(bank: ImageBank, train: dict[str, Any], seed: int):
    """The P×K sampler of `train.batch.sampler` over a bank's identities (and cameras)."""
    batch = train["batch"]
    pids = bank.pids.tolist()
    if batch.get("sampler", "pk") == "cross_camera":
        return CrossCameraPKSampler(pids, bank.camids.tolist(), batch["p"], batch["k"], seed)
    return PKSampler(pids, batch["p"], batch["k"], seed)


def epoch_batches(sources: list[TrainSource], epoch: int, cap: int | None):
    """Round-robin over the sources' batches (one source in a sequential phase)."""
    per_source = [
        batch_stream(source.sampler, epoch, source.batches_per_epoch) for source in sources
    ]
    longest = max(len(batches) for batches in per_source)
    plan = []
    for step in range(longest):
        for source, batches in zip(sources, per_source, strict=True):
            if step < len(batches):
                plan.append((source, batches[step]))
    return plan[:cap] if cap else plan


def gather(tensor: torch.Tensor, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows `index` of a CPU tensor on `device`. For CUDA they are gathered into page-locked
    memory first, so the non-blocking copy is truly asynchronous (from pageable memory it is
    not); the pinned block comes from torch's caching host allocator, which does not hand it out
    again before the copy has finished."""
    if device.type != "cuda" or tensor.device.type != "cpu":
        return tensor[index].to(device, non_blocking=True)
    staging = torch.empty((len(index), *tensor.shape[1:]), dtype=tensor.dtype, pin_memory=True)
    torch.index_select(tensor, 0, index, out=staging)
    return staging.to(device, non_blocking=True)
