"""Training of one phase (or of the joint upper bound), with per-epoch checkpoints and resume.

The trainer knows no method: it builds the model and the sources, then calls the strategy's
hooks (`reid.strategies.base`); history columns are whatever loss terms the strategy returns.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from reid.data.transforms import TrainTransform
from reid.engine.checkpoint import save_checkpoint
from reid.engine.growing import add_task
from reid.engine.models import _without_download, build_model, load_model, model_config
from reid.engine.optim import build_optimizer, build_scheduler, steps_per_iteration
from reid.engine.resume import restore, resumable, run_identity, training_state
from reid.engine.runtime import Runtime
from reid.engine.sources import TrainSource, epoch_batches, gather, load_bank, train_sources
from reid.engine.stepper import Stepper
from reid.errors import CheckpointError
from reid.io import write_csv, write_json
from reid.models import model_signature
from reid.runs import RUNS_ROOT, is_complete, run_hash, run_lock
from reid.strategies import (
    STRATEGY_STATE,
    Batch,
    LossParts,
    PhaseContext,
    Strategy,
    make_strategy,
)

log = logging.getLogger(__name__)
EpochCallback = Callable[[int, nn.Module, dict[str, Any]], None]
__all__ = ["load_bank", "load_model", "model_config", "run_phase", "_without_download"]


@dataclass
class Phase:
    """Everything one phase trains with."""

    spec: dict[str, Any]
    run_dir: Path
    ctx: PhaseContext
    strategy: Strategy
    sources: list[TrainSource]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    stepper: Stepper
    transform: TrainTransform
    identity: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    start_epoch: int = 0

    @property
    def model(self) -> nn.Module:
        return self.ctx.model

    @property
    def state_path(self) -> Path:
        return self.run_dir / "state" / "last.pt"


def run_phase(
    spec: dict[str, Any],
    run_dir: Path,
    runtime: Runtime | None = None,
    epoch_callback: EpochCallback | None = None,
    run_root: Path = RUNS_ROOT,
) -> dict[str, Any]:
    """Train one phase described by `spec` into `run_dir`, resuming an interrupted run of it."""
    runtime = (runtime or Runtime()).for_spec(spec)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "spec.json", spec)
    torch.manual_seed(spec["seed"])
    phase = open_phase(spec, run_dir, runtime, Path(run_root))
    for epoch in range(phase.start_epoch, spec["train"]["epochs"]):
        row = train_epoch(phase, epoch)
        save_epoch(phase, row)
        if epoch_callback is not None:
            epoch_callback(epoch + 1, phase.model, row)
    phase.strategy.after_phase(phase.ctx)
    fused = phase.strategy.fuse_weights(phase.ctx)
    if fused is not None:
        phase.model.load_state_dict(fused)
    return finish(phase)


def ensure_run(
    spec: dict[str, Any],
    runtime: Runtime | None = None,
    epoch_callback: EpochCallback | None = None,
    run_root: Path = RUNS_ROOT,
) -> Path:
    """The run folder of `spec`, trained unless a finished run with the same hash exists (then
    reused); a lock keeps two processes from training it at once, the second waits and reuses."""
    directory = Path(run_root) / run_hash(spec)
    with run_lock(directory):
        if not is_complete(directory):
            run_phase(spec, directory, runtime, epoch_callback, run_root)
    return directory


def open_phase(spec: dict[str, Any], run_dir: Path, runtime: Runtime, run_root: Path) -> Phase:
    """Model, sources and strategy of a phase, on the runtime's device, resumed if interrupted."""
    device = runtime.device()
    model, sources = phase_model(spec, run_root, runtime.cache_images, device)
    first_new = sources[0].pipeline
    model.to(device)
    if runtime.channels_last:
        model.to(memory_format=torch.channels_last)
    identity = run_identity(spec, run_root)
    resumed = resumable(run_dir / "state" / "last.pt", identity)
    ctx = PhaseContext(
        spec=spec,
        model=model,
        new_index=first_new,
        device=device,
        run_dir=run_dir,
        parent_dir=None if spec["parent"] is None else run_root / spec["parent"],
        load_bank=lambda task: load_bank(task, "train", spec["data"], runtime.cache_images),
        resumed=resumed.get("strategy") if resumed else None,
        train_transform=train_transform(spec["train"]),
    )
    strategy = make_strategy(spec["method"], spec["train"]["label_smoothing"], spec["train"])
    strategy.setup(ctx)
    if resumed:
        load_owned(strategy, resumed.get("owned") or {}, run_dir / "state" / "last.pt")
    strategy.before_phase(ctx)
    strategy.to(device)
    return _assemble(spec, run_dir, runtime, ctx, strategy, sources, identity, resumed)


def train_transform(train: dict[str, Any]) -> TrainTransform:
    """The batched augmentation of a phase's training section."""
    augment = train["augment"]
    return TrainTransform(
        flip_p=0.5 if augment["flip"] else 0.0,
        pad=augment["pad"],
        random_erasing_p=augment["random_erasing"],
        upscale_crop_p=augment.get("upscale_crop", 0.0),
    )


def owned_states(strategy: Strategy) -> dict[str, dict[str, torch.Tensor]]:
    """Weights of the modules the strategy owns, by name."""
    return {name: owned.module.state_dict() for name, owned in strategy.owned_modules().items()}


def load_owned(strategy: Strategy, states: dict[str, Any], path: Path) -> None:
    """Put saved weights back into the strategy's owned modules (strictly: same names)."""
    owned = strategy.owned_modules()
    if set(states) != set(owned):
        raise CheckpointError(
            f"checkpoint {path} holds modules {sorted(states)} but the strategy owns "
            f"{sorted(owned)}; delete {path} to train this phase afresh"
        )
    for name, state in states.items():
        owned[name].module.load_state_dict(state)


def phase_model(
    spec: dict[str, Any],
    run_root: Path,
    cache_images: bool = True,
    device: torch.device | None = None,
) -> tuple[nn.Module, list[TrainSource]]:
    """The model a phase starts from, before its first step, and its training sources: a fresh
    model (phase 1, joint) or the parent's, plus one new task per source (a head, or rows of a
    growing classifier; labels offset), every new weight drawn from the run's seed, on `device`
    when given. The benchmark's untrained reference (forward transfer's b_j) is
    built here too, so it equals phase 1's model before training."""
    torch.manual_seed(spec["seed"])
    model = build_model(spec, run_root)
    sources = train_sources(spec, model.num_tasks, cache_images)
    if device is not None:
        model.to(device)
    for source in sources:
        # A growing classifier's new rows start at the class means of a later step's images.
        bank = source.bank if spec["parent"] is not None else None
        add_task(model, source.num_classes, bank, device)
        source.label_offset = model.label_offset(source.pipeline)
    return model, sources


def _assemble(spec, run_dir, runtime, ctx, strategy, sources, identity, resumed) -> Phase:
    train = spec["train"]
    groups = [{"params": [p for p in ctx.model.parameters() if p.requires_grad]}]
    for owned in strategy.owned_modules().values():
        params = [p for p in owned.module.parameters() if p.requires_grad]
        groups.append({"params": params, "lr_factor": owned.lr_factor})
    optimizer = build_optimizer(groups, train)
    plan_len = len(epoch_batches(sources, 0, train.get("max_batches_per_epoch")))
    scheduler = build_scheduler(optimizer, train, plan_len)
    transform = ctx.train_transform
    stepper = Stepper.build(ctx.model, strategy, optimizer, runtime, ctx.device)
    phase = Phase(
        spec, run_dir, ctx, strategy, sources, optimizer, scheduler, stepper, transform, identity
    )
    if resumed is not None:
        phase.start_epoch, phase.history = restore(
            phase.state_path, resumed, ctx.model, optimizer, scheduler
        )
        log.info("resuming %s at epoch %d", run_dir, phase.start_epoch + 1)
    return phase


def _batch(source: TrainSource, indices, device, epoch: int, step: int) -> Batch:
    index = torch.as_tensor(indices)
    bank = source.bank
    pids = gather(bank.pids, index, device)
    if source.label_offset:
        pids = pids + source.label_offset
    return Batch(
        images=gather(bank.images, index, device),
        pids=pids,
        camids=gather(bank.camids, index, device),
        tasks=torch.full_like(pids, source.pipeline),
        pipeline=source.pipeline,
        epoch=epoch,
        step=step,
    )


def train_epoch(phase: Phase, epoch: int) -> dict[str, Any]:
    """One pass over the epoch's batches; returns its history row."""
    spec, strategy, device = phase.spec, phase.strategy, phase.ctx.device
    phase.model.train()
    generator = torch.Generator(device="cpu").manual_seed(spec["seed"] * 100_003 + epoch)
    plan = epoch_batches(phase.sources, epoch, spec["train"].get("max_batches_per_epoch"))
    per_iteration = steps_per_iteration(spec["train"])
    totals = Totals(epoch + 1, phase.optimizer.param_groups[0]["lr"])
    for step, (source, indices) in enumerate(plan):
        batch = strategy.before_step(_batch(source, indices, device, epoch, step))
        batch.images = phase.transform(batch.images, generator)
        if phase.stepper.runtime.channels_last:
            batch.images = batch.images.contiguous(memory_format=torch.channels_last)
        parts = phase.stepper.step(batch)
        strategy.after_step(batch, parts)
        totals.add(parts, len(batch.pids))
        if per_iteration and phase.scheduler is not None:
            phase.scheduler.step()
    if not per_iteration and phase.scheduler is not None:
        phase.scheduler.step()
    row = totals.row(len(plan))
    if not math.isfinite(row["total"]):
        raise FloatingPointError(
            f"loss became {row['total']} at epoch {epoch + 1} in {phase.run_dir}"
        )
    return row


@dataclass
class Totals:
    """Sums of an epoch's loss terms, in the order the strategy first returned them."""

    epoch: int
    lr: float
    sums: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    couples: int = 0
    images: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, parts: LossParts, images: int) -> None:
        for key, value in parts.parts.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
        self.total += float(parts.total.detach())
        self.couples += parts.couples
        self.images += images

    def row(self, steps: int) -> dict[str, Any]:
        steps = max(1, steps)
        terms = {key: value / steps for key, value in self.sums.items()}
        return {
            "epoch": self.epoch,
            "lr": self.lr,
            **terms,
            "total": self.total / steps,
            "couples": self.couples,
            "images": self.images,
            "seconds": round(time.perf_counter() - self.started, 4),
        }


def save_epoch(phase: Phase, row: dict[str, Any]) -> None:
    """Append the epoch's row and write state/last.pt (live history stays under state/)."""
    phase.history.append(row)
    state = training_state(
        phase.model,
        phase.optimizer,
        phase.scheduler,
        phase.strategy,
        row["epoch"],
        phase.history,
        phase.identity,
    )
    save_checkpoint(phase.state_path, state)
    # The declared outputs appear only when the run is done.
    write_csv(phase.run_dir / "state" / "history.csv", pd.DataFrame(phase.history))
    log.info("epoch %d/%d %s", row["epoch"], phase.spec["train"]["epochs"], _fmt(row))


def finish(phase: Phase) -> dict[str, Any]:
    """Write the run's outputs (strategy state first, model.pt, history, metrics)."""
    run_dir, model, history = phase.run_dir, phase.model, phase.history
    strategy_state, owned = phase.strategy.state_dict(), owned_states(phase.strategy)
    if strategy_state or owned:
        saved = {"state": strategy_state, "owned": owned, "run": phase.identity["run"]}
        save_checkpoint(run_dir / STRATEGY_STATE, saved)
    final = {"model": model.state_dict(), "signature": model_signature(model), "spec": phase.spec}
    save_checkpoint(run_dir / "model.pt", final)
    write_csv(run_dir / "history.csv", pd.DataFrame(history))
    seconds = sum(row["seconds"] for row in history)
    images = sum(row["images"] for row in history)
    last = history[-1] if history else {}
    metrics = {
        "run": phase.identity["run"],
        "phase": phase.spec["phase"],
        "kind": phase.spec["kind"],
        "method": (phase.spec["method"] or {}).get("name"),
        "epochs": len(history),
        "train_seconds": round(seconds, 3),
        "images_per_second": round(images / seconds, 2) if seconds else None,
        **{f"final_{key}": last.get(key) for key in _terms(last)},
        "num_classes": model_signature(model)["num_classes"],
        "tasks": [source.name for source in phase.sources],
    }
    write_json(run_dir / "metrics.json", metrics)
    # A finished run is not resumed: a forced re-run (snakemake -f) trains from scratch.
    phase.state_path.unlink(missing_ok=True)
    return metrics


def _terms(row: dict[str, Any]) -> list[str]:
    fixed = {"epoch", "lr", "total", "couples", "images", "seconds"}
    return [key for key in row if key not in fixed]


def _fmt(row: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
