"""The strategy interface: what one continual method does around a training phase.

A strategy is one class in one module of this package, registered under its name (Avalanche's
plugins, fast-reid's registries). The trainer only calls its hooks:

    setup(ctx)               build what needs the model (owned modules, model-shaped state)
    before_phase(ctx)        freeze modules, build a teacher, consolidate the parent's task
    freeze_earlier(ctx)      (called by before_phase) stop earlier tasks' heads from learning
    forward_pipelines(batch) pipelines the model runs on a batch
    before_step(batch)       change the raw (uint8) batch, e.g. mix in exemplars
    loss(model, out, batch)  total loss and its named, logged terms
    after_backward(step)     gradients ready (unscaled), before the optimiser step
    after_step(batch, parts) bookkeeping after the optimiser step
    after_phase(ctx)         last words before the run's outputs are written
    fuse_weights(ctx)        weights to write instead of the trained ones (weight averaging)
    state_dict() / load_state_dict(state)   what lives across phases (saved in the run folder)
    owned_modules()          trainable modules of the strategy's own (optimised, saved, resumed)

Phase 1 is shared by every strategy (plain cross-entropy, `Strategy` itself), so a strategy that
keeps state about a task (an exemplar memory, a Fisher matrix) consolidates its *parent's* task
when the next phase starts: from the parent's weights, which are the weights at the end of that
phase (`ConsolidatingStrategy`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from reid.errors import ReidError
from reid.losses.task import TaskLoss
from reid.registry import Registry
from reid.seeding import derive_seed

STRATEGY_STATE = "strategy.pt"
STRATEGIES: Registry[type[Strategy]] = Registry("method")


class StrategyStateError(ReidError):
    """A strategy needs state (a memory, a Fisher matrix) that its parent run did not save."""


@dataclass
class LossParts:
    """The loss of one batch and its logged terms (detached tensors, read after the step)."""

    total: torch.Tensor
    parts: dict[str, torch.Tensor] = field(default_factory=dict)
    couples: int = 0


@dataclass
class Batch:
    """One training batch: uint8 images before `before_step`, float images after it.

    `tasks[i]` is the pipeline whose labels row i carries (the task it belongs to);
    `pipeline` is the pipeline of the source the batch was drawn from.
    """

    images: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor
    tasks: torch.Tensor
    pipeline: int
    epoch: int = 0
    step: int = 0

    def with_rows(self, images, pids, camids, tasks) -> Batch:
        """This batch with extra rows appended."""
        return replace(
            self,
            images=torch.cat([self.images, images]),
            pids=torch.cat([self.pids, pids]),
            camids=torch.cat([self.camids, camids]),
            tasks=torch.cat([self.tasks, tasks]),
        )


@dataclass
class OwnedModule:
    """A trainable module a strategy owns (a projector, a patch network): the trainer optimises
    it with the model at `lr_factor` × the learning rate, clears its gradients with the model's,
    saves its weights with the run's state (`state/last.pt`, `strategy.pt`; never `model.pt`)
    and restores them on resume."""

    module: nn.Module
    lr_factor: float = 1.0


@dataclass
class StepContext:
    """What `after_backward` sees: gradients are in `p.grad`, unscaled (also under fp16)."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    batch: Batch
    parts: LossParts


@dataclass
class PhaseContext:
    """What a strategy may read when a phase starts or ends. `train_transform(uint8 batch,
    generator)` is the trainer's augmentation (for memory batches a strategy draws itself)."""

    spec: dict[str, Any]
    model: nn.Module
    new_index: int
    device: torch.device
    run_dir: Path
    parent_dir: Path | None
    load_bank: Callable[[dict[str, Any]], Any]
    resumed: dict[str, Any] | None = None
    train_transform: Callable[..., torch.Tensor] | None = None

    def parent_spec(self) -> dict[str, Any] | None:
        """The spec the parent run was trained from (None in phase 1)."""
        if self.parent_dir is None:
            return None
        return json.loads((self.parent_dir / "spec.json").read_text(encoding="utf-8"))

    def parent_state(self) -> dict[str, Any] | None:
        """The strategy state the parent run saved, or None when it saved none."""
        if self.parent_dir is None or not (self.parent_dir / STRATEGY_STATE).is_file():
            return None
        from reid.engine.checkpoint import load_checkpoint

        return load_checkpoint(self.parent_dir / STRATEGY_STATE, require="state")["state"]

    def parent_owned(self) -> dict[str, Any]:
        """Weights of the modules the parent run's strategy owned, by name ({} for none)."""
        if self.parent_dir is None or not (self.parent_dir / STRATEGY_STATE).is_file():
            return {}
        from reid.engine.checkpoint import load_checkpoint

        saved = load_checkpoint(self.parent_dir / STRATEGY_STATE, require="state")
        return saved.get("owned") or {}


class Strategy:
    """Cross-entropy on the pipeline of the task being learnt (phase 1 of every method)."""

    name: ClassVar[str] = "plain"
    label: ClassVar[str] = "plain cross-entropy"
    # Keys of `method` this strategy reads: only these enter a phase's run hash.
    reads: ClassVar[tuple[str, ...]] = ("trainable",)
    # JSON schema of `method.<name>` (with defaults), merged into the config schema.
    options: ClassVar[dict[str, Any] | None] = None
    # Comparison-only variants: name -> (label, overrides of the `method` section).
    variants: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = {}
    # False for a method trained on all tasks at once (joint): comparison only, no phases.
    sequential: ClassVar[bool] = True
    order: ClassVar[int] = 100  # position in the comparison's default list and tables
    # Heads (`model.head`) the strategy can train with; None: every registered head.
    heads: ClassVar[tuple[str, ...] | None] = None
    # The model piece a comparison trains this method with (a partial `model` section, e.g.
    # {"head": "bnneck", "classifier": "growing"}), under `comparison.model_overrides`.
    model: ClassVar[dict[str, Any]] = {}
    # Bumped when a fix changes what the strategy trains with unchanged settings: a revision
    # above 1 enters the run hash (`hashed_section`), so runs of the old code are not reused.
    revision: ClassVar[int] = 1

    def __init__(self, method: dict[str, Any] | None, label_smoothing: float = 0.0) -> None:
        self.method = method or {}
        self.ce = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.losses = TaskLoss(label_smoothing=label_smoothing)
        self.new_index = 0
        self.run_seed = 0

    @property
    def settings(self) -> dict[str, Any]:
        """This strategy's own section `method.<name>` ({} when it has none)."""
        return self.method.get(self.name, {})

    def seed_for(self, *parts: int) -> int:
        """A seed for one random choice of this phase, derived from the run's `seed`, the
        strategy's own `seed` setting (an offset, 0 when it has none) and `parts` (the pipeline,
        the epoch and step, ...): another run seed draws another memory, batches, images."""
        return derive_seed(self.run_seed, int(self.settings.get("seed", 0)), *parts)

    def setup(self, ctx: PhaseContext) -> None:
        """Build what needs the model: owned modules, state shaped like the model's weights.
        Called before `before_phase`, before any saved state is restored (so a resume finds the
        modules and state in place and only fills them)."""

    def owned_modules(self) -> dict[str, OwnedModule]:
        """Trainable modules this strategy owns, by name (built in `setup`); {} for none."""
        return {}

    def before_phase(self, ctx: PhaseContext) -> None:
        """Freeze what must not learn in this phase; on resume, restore the saved state."""
        self.new_index = ctx.new_index
        self.run_seed = int(ctx.spec.get("seed", 0))
        if ctx.resumed:
            self.load_state_dict(ctx.resumed)
        self.freeze_earlier(ctx)

    def freeze_earlier(self, ctx: PhaseContext) -> None:
        """Stop the earlier tasks' heads from learning (their gradients and BN statistics);
        `method.trainable: both` keeps the earlier pipelines' blocks learning, their classifiers
        frozen. Override to let old heads learn (PatchKD's distillation trains them)."""
        earlier = list(range(ctx.new_index))
        if not earlier:
            return
        if self.method.get("trainable") == "both":
            # The ensembling ablation's "both pipelines": earlier pipelines' blocks keep learning
            # (through the shared loss terms); their classifiers have no labels for this task.
            for index in earlier:
                for param in ctx.model.task_head(index).classifier.parameters():
                    param.requires_grad_(False)
        else:
            ctx.model.freeze_pipelines(earlier)

    def forward_pipelines(self, batch: Batch) -> list[int]:
        """Pipelines whose outputs this strategy needs; the batch's own pipeline comes last."""
        return [batch.pipeline]

    def before_step(self, batch: Batch) -> Batch:
        """The raw batch the step trains on."""
        return batch

    def task_loss(self, out: Any, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The supervised loss of the task being learnt (`train.loss`: cross-entropy, plus a
        weighted batch-hard triplet on the metric features) on the batch's own task, the last
        of `out`; and its logged terms (`ce`, `triplet`). A head with a loss of its own
        (`HeadOutput.supervised_loss`, e.g. DKP's) gives it instead, with the same weights."""
        heads = getattr(out, "heads", None)
        own = heads[-1].supervised_loss(batch.pids, self.losses) if heads else None
        if own is not None:
            return own
        if self.losses.plain:
            ce = self.ce(out.logits[-1], batch.pids)
            return ce, {"ce": ce.detach()}
        return self.losses(out.logits[-1], out.features[-1], batch.pids)

    def loss(self, model: nn.Module, out: Any, batch: Batch) -> LossParts:
        """Loss of one batch; `out` lists the pipelines of `forward_pipelines` in order."""
        total, terms = self.task_loss(out, batch)
        return LossParts(total, terms)

    def after_backward(self, step: StepContext) -> None:
        """Called after backward and before the optimiser step, gradients unscaled: edit
        `p.grad` (a projection, a clip) or read `step.optimizer`."""

    def after_step(self, batch: Batch, parts: LossParts) -> None:
        """Called after each optimiser step."""

    def after_phase(self, ctx: PhaseContext) -> None:
        """Called after the last epoch, before the run's outputs are written."""

    def fuse_weights(self, ctx: PhaseContext) -> dict[str, torch.Tensor] | None:
        """The model's weights to write instead of the trained ones (weight-space fusion with
        the parent, e.g. θ = α θ_new + (1 − α) θ_old), or None. Called after `after_phase`,
        before `model.pt` is written; a full state dict of `ctx.model`, loaded strictly."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """State that lives across phases (tensors, lists, dicts, numbers); {} for none."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` (from the parent run, or from state/last.pt on resume)."""

    def to(self, device: torch.device) -> Strategy:
        """Move every module and tensor this strategy holds to `device`; a tensor or module
        reachable from several attributes stays one object there."""
        moved: dict[int, Any] = {}
        for key, value in vars(self).items():
            setattr(self, key, _to_device(value, device, moved))
        return self


def _to_device(value: Any, device: torch.device, moved: dict[int, Any]) -> Any:
    if isinstance(value, nn.Module | torch.Tensor):
        if id(value) not in moved:  # the original is kept alive so its id is not reused
            moved[id(value)] = (value, value.to(device))
        return moved[id(value)][1]
    if isinstance(value, dict):
        return {k: _to_device(v, device, moved) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_device(v, device, moved) for v in value)
    return value


class ConsolidatingStrategy(Strategy):
    """A strategy that keeps something per earlier task (an exemplar memory, a Fisher matrix).

    When phase t starts, the parent's weights are the weights at the end of phase t-1: the
    parent's task is consolidated then (`consolidate`); the tasks before it come from the state
    the parent run saved (or, on resume, from state/last.pt). `per_task[j]` holds what
    `consolidate` returned for the task of pipeline j; it is the strategy's saved state.
    """

    def __init__(self, method: dict[str, Any] | None, label_smoothing: float = 0.0) -> None:
        super().__init__(method, label_smoothing)
        self.consolidated: list[str] = []
        self.per_task: list[dict[str, Any]] = []

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)  # restores state/last.pt on resume
        if not ctx.resumed:
            self._inherit(ctx)
        parent = ctx.parent_spec()
        if parent is not None and len(self.consolidated) < ctx.new_index:
            task = parent["task"]
            found = self.consolidate(ctx, task, ctx.new_index - 1, ctx.load_bank(task))
            self.consolidated.append(task["name"])
            self.per_task.append(found)

    def _inherit(self, ctx: PhaseContext) -> None:
        parent = ctx.parent_spec()
        if parent is None or parent["phase"] == 1:
            return
        state = ctx.parent_state()
        if state is None:
            used = (parent.get("method") or {}).get("name")
            raise StrategyStateError(
                f"run {ctx.parent_dir} saved no {self.name} state (it was trained with method "
                f"{used!r}); train every phase after the first with method.name={self.name} "
                f"(a {self.name} chain), or delete {ctx.parent_dir} and re-run the workflow"
            )
        self.load_state_dict(state)

    def consolidate(self, ctx: PhaseContext, task: dict, pipeline: int, bank: Any) -> dict:
        """What this strategy keeps of `task` (learnt by `pipeline`; `bank` = its train images)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"tasks": list(self.consolidated), "per_task": self.per_task}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.consolidated = list(state["tasks"])
        self.per_task = list(state["per_task"])


def options_section(**properties: dict[str, Any]) -> dict[str, Any]:
    """A strategy's `options`: the JSON schema of `method.<name>` with these properties."""
    return {
        "type": "object",
        "additionalProperties": False,
        "default": {},
        "properties": properties,
    }


def register_strategy(
    name: str,
    label: str,
    *,
    order: int = 100,
    options: dict[str, dict[str, Any]] | None = None,
    reads: tuple[str, ...] | None = None,
    variants: dict[str, tuple[str, dict[str, Any]]] | None = None,
    sequential: bool = True,
    heads: tuple[str, ...] | None = None,
    model: dict[str, Any] | None = None,
    revision: int = 1,
) -> Callable[[type[Strategy]], type[Strategy]]:
    """Class decorator: register a strategy as `name` with its report `label`.

    `options`: the properties (JSON schema, with defaults) of its section `method.<name>`;
    `reads`: the keys of `method` it reads (default `trainable`, plus its section if it has one);
    `heads`: the heads it can train with (default every head; refused at validation otherwise);
    `model`: the model piece a comparison trains it with (a partial `model` section applied
    over the config's, under `comparison.model_overrides.<name>`);
    `revision`: bump it when a fix changes training under unchanged settings (new run hashes).
    """

    def add(cls: type[Strategy]) -> type[Strategy]:
        cls.name, cls.label, cls.order, cls.sequential = name, label, order, sequential
        cls.heads = heads
        cls.model = dict(model or {})
        cls.revision = revision
        cls.options = None if options is None else options_section(**options)
        own = (name,) if options is not None else ()
        cls.reads = reads if reads is not None else ("trainable", *own)
        cls.variants = variants or {}
        STRATEGIES.add(name, cls)
        return cls

    return add


def make_strategy(
    method: dict[str, Any] | None, label_smoothing: float, train: dict[str, Any] | None = None
) -> Strategy:
    """The strategy of a phase (`None` = phase 1: the task loss alone), with the task loss of
    the spec's `train` section."""
    strategy = (
        Strategy(None, label_smoothing)
        if method is None
        else STRATEGIES.get(method["name"])(method, label_smoothing)
    )
    if train is not None:
        strategy.losses = TaskLoss.from_train(train)
    return strategy
