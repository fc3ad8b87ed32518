"""Training of one phase (or of the joint upper bound), with per-epoch checkpoints and resume."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from reid.data.images import ImageBank
from reid.data.sampler import PKSampler
from reid.data.select import load_task_splits, selection_tag
from reid.data.transforms import TrainTransform
from reid.engine.checkpoint import check_signature, load_checkpoint, save_checkpoint
from reid.engine.optim import build_optimizer, build_scheduler, steps_per_iteration
from reid.engine.runtime import Runtime
from reid.engine.strategies import LossParts, Strategy, make_strategy
from reid.errors import CheckpointError, DatasetError
from reid.io import write_csv, write_json
from reid.models import ModelConfig, MultiPipelineNet, model_signature
from reid.runs import RUNS_ROOT, run_hash

log = logging.getLogger(__name__)
EpochCallback = Callable[[int, nn.Module, dict[str, Any]], None]
HISTORY_COLUMNS = ["epoch", "lr", "ce", "cov", "lwf", "total", "couples", "images", "seconds"]


@dataclass
class TrainSource:
    """The training images of one task and the pipeline that learns them."""

    name: str
    pipeline: int
    bank: ImageBank
    sampler: PKSampler

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


def model_config(spec: dict[str, Any]) -> ModelConfig:
    """The model config of a spec."""
    m = spec["model"]
    return ModelConfig(
        backbone=m["backbone"],
        weights=None if m["weights"] == "none" else m["weights"],
        classifier_input=m["classifier_input"],
        embedding=m["embedding"],
        residual=m["residual"],
        last_stride=m["last_stride"],
        head_bn_momentum=m.get("head_bn_momentum", 0.1),
        input_size=(spec["data"]["height"], spec["data"]["width"]),
    )


def load_model(path: Path, spec: dict[str, Any] | None = None) -> tuple[MultiPipelineNet, dict]:
    """Rebuild a trained model from its `model.pt` (its spec is stored beside the weights)."""
    state = load_checkpoint(path)
    missing = [key for key in ("signature", *(() if spec else ("spec",))) if key not in state]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks {', '.join(missing)}: it is not a model.pt of this suite; "
            "delete it and re-run the rule that wrote it"
        )
    spec = spec or state["spec"]
    model = MultiPipelineNet(_without_download(model_config(spec)))
    for classes in state["signature"]["num_classes"]:
        model.add_pipeline(classes)
    check_signature(path, state["signature"], model_signature(model))
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {path} does not fit the model its signature describes ({reason}); "
            "delete it and re-run the rule that wrote it"
        ) from None
    return model, state


def _without_download(cfg: ModelConfig) -> ModelConfig:
    # Weights come from the parent checkpoint; no need for ImageNet weights.
    cfg.weights = None
    return cfg


def _build_model(spec: dict[str, Any], run_root: Path) -> MultiPipelineNet:
    if spec["parent"] is None:
        return MultiPipelineNet(model_config(spec))
    parent_path = run_root / spec["parent"] / "model.pt"
    model, _ = load_model(parent_path, spec)
    return model


def _sources(spec: dict[str, Any], first_pipeline: int, cache: bool) -> list[TrainSource]:
    tasks = spec["tasks"] if spec["kind"] == "joint" else [spec["task"]]
    batch = spec["train"]["batch"]
    sources = []
    for offset, task in enumerate(tasks):
        bank = load_bank(task, "train", spec["data"], cache)
        sampler = PKSampler(bank.pids.tolist(), batch["p"], batch["k"], spec["seed"] + offset)
        sources.append(TrainSource(task["name"], first_pipeline + offset, bank, sampler))
    return sources


def _epoch_batches(sources: list[TrainSource], epoch: int, cap: int | None):
    """Round-robin over the sources' batches (one source in a sequential phase)."""
    per_source = [source.sampler.batches(epoch) for source in sources]
    longest = max(len(batches) for batches in per_source)
    plan = []
    for step in range(longest):
        for source, batches in zip(sources, per_source, strict=True):
            if step < len(batches):
                plan.append((source, batches[step]))
    return plan[:cap] if cap else plan


def run_phase(
    spec: dict[str, Any],
    run_dir: Path,
    runtime: Runtime | None = None,
    epoch_callback: EpochCallback | None = None,
    run_root: Path = RUNS_ROOT,
) -> dict[str, Any]:
    """Train one phase described by `spec` into `run_dir`, resuming from its last checkpoint."""
    runtime = (runtime or Runtime()).for_spec(spec)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "spec.json", spec)
    device = runtime.device()
    torch.manual_seed(spec["seed"])
    train = spec["train"]

    model = _build_model(spec, Path(run_root))
    joint = spec["kind"] == "joint"
    first_new = len(model.pipelines)
    sources = _sources(spec, first_new, runtime.cache_images)
    for source in sources:
        model.add_pipeline(source.num_classes)
    strategy = make_strategy(None if joint else spec["method"], train["label_smoothing"])
    strategy.setup(model, first_new)
    model.to(device)
    if runtime.channels_last:
        model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(params, train)
    plan_len = len(_epoch_batches(sources, 0, train.get("max_batches_per_epoch")))
    scheduler = build_scheduler(optimizer, train, plan_len)
    per_iteration = steps_per_iteration(train)
    transform = TrainTransform(
        flip_p=0.5 if train["augment"]["flip"] else 0.0,
        pad=train["augment"]["pad"],
        random_erasing_p=train["augment"]["random_erasing"],
        upscale_crop_p=train["augment"].get("upscale_crop", 0.0),
    )

    state_path = run_dir / "state" / "last.pt"
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if state_path.is_file():
        start_epoch, history = _resume(state_path, model, optimizer, scheduler)
        log.info("resuming %s at epoch %d", run_dir, start_epoch + 1)

    scaler = torch.amp.GradScaler(enabled=runtime.amp_dtype(device) == torch.float16)
    forward = _forward_fn(model, runtime, device)
    stepper = Stepper(model, strategy, forward, joint, optimizer, scaler, runtime, device)
    for epoch in range(start_epoch, train["epochs"]):
        model.train()
        generator = torch.Generator(device="cpu").manual_seed(spec["seed"] * 100_003 + epoch)
        plan = _epoch_batches(sources, epoch, train.get("max_batches_per_epoch"))
        lr = optimizer.param_groups[0]["lr"]
        sums: dict[str, float] = {}
        couples = images_seen = 0
        started = time.perf_counter()
        for source, indices in plan:
            index = torch.as_tensor(indices)
            raw = _gather(source.bank.images, index, device)
            pids = _gather(source.bank.pids, index, device)
            camids = _gather(source.bank.camids, index, device)
            images = transform(raw, generator)
            if runtime.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            parts = stepper.step(source, images, pids, camids)
            for key, value in parts.parts.items():
                sums[key] = sums.get(key, 0.0) + value
            sums["total"] = sums.get("total", 0.0) + float(parts.total.detach())
            couples += parts.couples
            images_seen += len(indices)
            if per_iteration and scheduler is not None:
                scheduler.step()
        if not per_iteration and scheduler is not None:
            scheduler.step()
        seconds = time.perf_counter() - started
        steps = max(1, len(plan))
        row = {
            "epoch": epoch + 1,
            "lr": lr,
            "couples": couples,
            "images": images_seen,
            "seconds": round(seconds, 4),
        }
        for key in ("ce", "cov", "lwf", "total"):
            row[key] = sums[key] / steps if key in sums else 0.0
        if not math.isfinite(row["total"]):
            raise FloatingPointError(
                f"loss became {row['total']} at epoch {epoch + 1} in {run_dir}"
            )
        history.append(row)
        save_checkpoint(state_path, _state(model, optimizer, scheduler, epoch + 1, history))
        # Live history stays under state/: the declared outputs appear only when the run is done.
        write_csv(run_dir / "state" / "history.csv", _history_frame(history))
        log.info("epoch %d/%d %s", epoch + 1, train["epochs"], _fmt(row))
        if epoch_callback is not None:
            epoch_callback(epoch + 1, model, row)

    return _finish(spec, run_dir, model, history, sources)


def _gather(tensor: torch.Tensor, index: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows `index` of a CPU tensor on `device`. For CUDA they are gathered into page-locked
    memory first, so the non-blocking copy is truly asynchronous (from pageable memory it is
    not); the pinned block comes from torch's caching host allocator, which does not hand it out
    again before the copy has finished."""
    if device.type != "cuda" or tensor.device.type != "cpu":
        return tensor[index].to(device, non_blocking=True)
    staging = torch.empty((len(index), *tensor.shape[1:]), dtype=tensor.dtype, pin_memory=True)
    torch.index_select(tensor, 0, index, out=staging)
    return staging.to(device, non_blocking=True)


def _forward_fn(model: nn.Module, runtime: Runtime, device: torch.device):
    if runtime.compile and device.type == "cuda":
        return torch.compile(model)
    return model


@dataclass
class Stepper:
    """One optimisation step: forward under autocast, the strategy's loss, backward, update."""

    model: nn.Module
    strategy: Strategy
    forward: Callable[..., Any]
    joint: bool
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    runtime: Runtime
    device: torch.device

    def step(self, source: TrainSource, images, pids, camids) -> LossParts:
        """Train on one batch of `source`; returns the loss and its logged parts."""
        joint = self.joint
        pipelines = [source.pipeline] if joint else self.strategy.forward_pipelines(self.model)
        dtype = self.runtime.amp_dtype(self.device)
        enabled = dtype is not None
        with torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=enabled):
            out = self.forward(images, pipelines=pipelines)
            if joint:  # each task's pipeline learns its own task: plain cross-entropy
                ce = self.strategy.ce(out.logits[-1], pids)
                parts = LossParts(ce, {"ce": float(ce.detach())})
            else:
                parts = self.strategy.loss(self.model, out, images, pids, camids)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(parts.total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return parts


def _state(model, optimizer, scheduler, epoch: int, history: list[dict]) -> dict[str, Any]:
    return {
        "model": model.state_dict(),
        "signature": model_signature(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "epoch": epoch,
        "history": history,
    }


def _resume(path: Path, model, optimizer, scheduler) -> tuple[int, list[dict]]:
    state = load_checkpoint(path)
    check_signature(path, state["signature"], model_signature(model))
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"checkpoint {path} does not fit this run ({exc}); delete {path.parent} to retrain"
        ) from None
    return int(state["epoch"]), list(state["history"])


def _finish(spec, run_dir: Path, model, history, sources) -> dict[str, Any]:
    final = {
        "model": model.state_dict(),
        "signature": model_signature(model),
        "spec": spec,
    }
    save_checkpoint(run_dir / "model.pt", final)
    write_csv(run_dir / "history.csv", _history_frame(history))
    seconds = sum(row["seconds"] for row in history)
    images = sum(row["images"] for row in history)
    metrics = {
        "run": run_hash(spec),
        "phase": spec["phase"],
        "kind": spec["kind"],
        "epochs": len(history),
        "train_seconds": round(seconds, 3),
        "images_per_second": round(images / seconds, 2) if seconds else None,
        "final_ce": history[-1]["ce"] if history else None,
        "final_cov": history[-1]["cov"] if history else None,
        "num_classes": model_signature(model)["num_classes"],
        "tasks": [source.name for source in sources],
    }
    write_json(run_dir / "metrics.json", metrics)
    return metrics


def _history_frame(history: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(history, columns=HISTORY_COLUMNS)


def _fmt(row: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
