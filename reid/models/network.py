"""The shared backbone with a registered head per task (or one growing head for every task),
and its checkpoint signature.

Tasks are what strategies and evaluation address (`forward(x, pipelines=[task, ...])`, the
name kept from the paper's one pipeline per task); `.pipelines` holds the heads. With
`classifier: per_task` head t serves task t; with `growing` one head serves every task, its
classifier holding every task's classes (task t's labels offset by `label_offset(t)`), and the
outputs of every task are that head's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from reid.errors import ConfigError
from reid.models.backbone import ModelConfig, build_backbone
from reid.models.heads import GROWING, HEADS, HeadOutput


@dataclass
class ModelOutput:
    """Backbone map and, per requested task (in request order), its head's outputs: logits,
    retrieval embeddings, metric features (`features`), the pipeline's block-2 maps (only
    heads that have one) and each whole `HeadOutput` (`heads`)."""

    base: Tensor
    block2: list[Tensor] = field(default_factory=list)
    logits: list[Tensor] = field(default_factory=list)
    embeddings: list[Tensor] = field(default_factory=list)
    features: list[Tensor] = field(default_factory=list)
    heads: list[HeadOutput] = field(default_factory=list)

    def add(self, res: HeadOutput) -> None:
        """Append one task's head outputs."""
        if res.block2 is not None:
            self.block2.append(res.block2)
        self.logits.append(res.logits)
        self.embeddings.append(res.embedding)
        self.features.append(res.metric)
        self.heads.append(res)


class MultiPipelineNet(nn.Module):
    """ResNet trunk (`.base`) followed by the heads (`.pipelines`) that serve the tasks."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.head_spec = HEADS.get(cfg.head)
        if cfg.classifier == GROWING and not self.head_spec.growable:
            growable = [name for name, spec in HEADS.items() if spec.growable]
            raise ConfigError(
                f"config keys 'model.classifier' (growing) and 'model.head' ({cfg.head!r}) "
                f"disagree: head {cfg.head!r} has one classifier per task; use model.head "
                f"{' or '.join(map(repr, growable))} or model.classifier 'per_task'"
            )
        self.base, self.out_channels = build_backbone(cfg)
        self.feature_hw = self._probe_feature_hw()
        self.pipelines = nn.ModuleList()
        self.task_classes: list[int] = []
        self.frozen: set[int] = set()
        self.base_frozen = False

    @property
    def growing(self) -> bool:
        """Whether one head with a growing classifier serves every task."""
        return self.cfg.classifier == GROWING

    @property
    def num_tasks(self) -> int:
        """How many tasks the model has heads (or classifier rows) for."""
        return len(self.task_classes)

    def _task(self, task: int) -> int:
        if not 0 <= task < self.num_tasks:
            raise IndexError(f"no pipeline {task}; the model has {self.num_tasks} tasks")
        return task

    def head_index(self, task: int) -> int:
        """Index in `.pipelines` of the head that serves `task`."""
        task = self._task(task)
        return 0 if self.growing else task

    def task_head(self, task: int) -> nn.Module:
        """The head that serves `task`."""
        return self.pipelines[self.head_index(task)]

    def known_classes(self, task: int) -> int:
        """Classifier rows of `task`'s head once `task` was added (its own classes with
        per-task heads, every class up to its own with a growing classifier)."""
        return self.label_offset(task) + self.task_classes[task]

    def label_offset(self, task: int) -> int:
        """Where task `task`'s labels start in its head's classifier (0 with per-task heads)."""
        return sum(self.task_classes[:task]) if self.growing else 0

    def _probe_feature_hw(self) -> tuple[int, int]:
        was_training = self.base.training
        self.base.eval()
        try:
            with torch.no_grad():
                fmap = self.base(torch.zeros(1, 3, *self.cfg.input_size))
        except RuntimeError as exc:
            raise ConfigError(
                f"model.input_size: {self.cfg.input_size} is too small for {self.cfg.backbone}"
            ) from exc
        finally:
            self.base.train(was_training)
        return int(fmap.shape[2]), int(fmap.shape[3])

    def add_pipeline(self, num_classes: int, rows: Tensor | None = None) -> int:
        """Add a task of `num_classes` identities (a new head, or new rows of the growing
        classifier, set to `rows` when given); return the task's index."""
        if self.growing and len(self.pipelines):
            self.pipelines[0].grow(num_classes, rows)
        else:
            head = self.head_spec.cls.from_config(
                self.out_channels, num_classes, self.feature_hw, self.cfg
            )
            param = next(self.base.parameters())
            head.to(device=param.device)
            head.train(self.training)
            self.pipelines.append(head)
        self.task_classes.append(int(num_classes))
        return self.num_tasks - 1

    def freeze_pipelines(self, indices: Iterable[int]) -> None:
        """Stop gradients and keep BN statistics fixed for the heads of these tasks (even under
        .train()); a head that also serves another task (the growing one) keeps learning."""
        tasks = {self._task(i) for i in indices}
        serving = {self.head_index(t) for t in range(self.num_tasks) if t not in tasks}
        for head in sorted({self.head_index(t) for t in tasks} - serving):
            for p in self.pipelines[head].parameters():
                p.requires_grad_(False)
            self.pipelines[head].eval()
            self.frozen.add(head)

    def freeze_base(self) -> None:
        """Stop gradients and keep BN statistics fixed for the backbone (even under .train())."""
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.base.eval()
        self.base_frozen = True

    def train(self, mode: bool = True) -> MultiPipelineNet:
        """Like nn.Module.train, but frozen pipelines (and a frozen base) stay in eval mode."""
        super().train(mode)
        if self.base_frozen:
            self.base.eval()
        for i in self.frozen:
            self.pipelines[i].eval()
        return self

    def forward(self, x: Tensor, pipelines: Sequence[int] | None = None) -> ModelOutput:
        """Backbone once, then the head of each requested task (default: every task); a head
        that serves several requested tasks runs once."""
        fmap = self.base(x)
        out = ModelOutput(base=fmap)
        tasks = range(self.num_tasks) if pipelines is None else pipelines
        done: dict[int, HeadOutput] = {}
        for task in tasks:
            head = self.head_index(task)
            if head not in done:
                done[head] = self.pipelines[head](fmap)
            out.add(done[head])
        return out


def model_signature(model: MultiPipelineNet) -> dict[str, Any]:
    """What a checkpoint must match to be loaded into `model` (plain JSON values)."""
    cfg = model.cfg
    signature = {
        "backbone": cfg.backbone,
        "num_classes": list(model.task_classes),
        "classifier_input": cfg.classifier_input,
        "embedding": cfg.embedding,
        "residual": bool(cfg.residual),
        "feature_hw": list(model.feature_hw),
        "last_stride": int(cfg.last_stride),
    }
    if cfg.last_layer != "layer4":  # a trunk cut earlier (DKP); others keep their signature
        signature["last_layer"] = cfg.last_layer
    if cfg.head != "pipeline":  # the paper's model keeps the signature it always had
        signature.update(head=cfg.head, head_options=dict(sorted(cfg.head_options.items())))
    if model.growing:
        signature["classifier"] = cfg.classifier
    return signature
