"""PatchKD (Sun & Mu, ACM MM'22): patch-based knowledge distillation, as its authors' code
trains it (feifeiobama/PatchKD; read at e6b050a).

At step t ≥ 1, with the frozen model of step t − 1 as teacher and the learner's layer-4 map F:

- a patch network the strategy owns (Conv1×1 C→2C, BN, ReLU, Conv1×1 2C→K) scores the positions
  of the *detached* map F; each of its K maps picks one position with a hard Gumbel-softmax
  (θ [B, K, h, w], one-hot forward, straight-through gradient; `reid.models.patch`);
- patches P = Σ_hw F θ.detach() (learner), P° = Σ_hw F° θ (teacher's map, gradient to θ only);
- kd   = T² · CE(softmax(z°/T) zero-padded, log_softmax(z/T)), z = the learner's heads 0..t side
  by side, z° = the teacher's heads 0..t−1 (`logit_distillation`);
- pd   = the same between the learner's *patch* heads 0..t on P and the teacher's global heads
  0..t−1 on P° (target detached; `patch_logit_distillation`);
- conf = T² · mean entropy of softmax(z°(P°)/T) (gradient to θ only; `patch_confidence`);
- rd   = smooth-L1 between mean-normalised distance matrices of P and P°, among an image's K
  patches and among the batch's images per patch slot (`patch_relation_distillation`);
- div  = mean cosine between an image's K patches after the current patch head's BN in eval
  mode, on patches picked with θ not detached (`patch_diversity`);
- total = task loss (CE + triplet, `train.loss`) + 1·kd + 0.1·pd + 100·rd + 0.5·div + 1·conf.

Sources: `pkd/operation/train_p_s.py` (`train_p_s_an_epoch`: the terms, what is detached, the BN
modes), `pkd/losses/kd_loss.py` (`loss_fn_kd`, `loss_fn_rd`, `loss_fn_div`),
`pkd/models/patch_net.py` (`PatchNet`), `pkd/models/lwf_net.py` (per-step heads
`classifier_dict` and the second set `classifier_dict_patch`), `pkd/core/base_patch_kd.py`
(one Adam for all the task network's parameters, old heads included; a second for the patch
network), `train_test.py` (weights, T = 2, K = 3, milestones, global-epoch scheduler).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from reid.losses.patchkd import (
    logit_distillation,
    patch_confidence,
    patch_diversity,
    patch_logit_distillation,
    patch_relation_distillation,
)
from reid.models.bnneck import BNNeck
from reid.models.patch import PatchSampler, gather_patches
from reid.strategies.base import (
    Batch,
    LossParts,
    OwnedModule,
    PhaseContext,
    StepContext,
    Strategy,
    StrategyStateError,
    register_strategy,
)

TERMS = ("kd", "pd", "rd", "div", "conf")
# The patch network's hidden width is twice its input's (`pkd/models/patch_net.py`: 2048 → 4096).
HIDDEN_RATIO = 2

# `method.patchkd`: its settings, as JSON schema with defaults (`train_test.py` argparse).
OPTIONS = {
    "kd_weight": {"type": "number", "minimum": 0, "default": 1.0, "description": "weight_kd"},
    "pd_weight": {"type": "number", "minimum": 0, "default": 0.1, "description": "weight_pd"},
    "rd_weight": {"type": "number", "minimum": 0, "default": 100.0, "description": "weight_rd"},
    "div_weight": {"type": "number", "minimum": 0, "default": 0.5, "description": "weight_div"},
    "conf_weight": {"type": "number", "minimum": 0, "default": 1.0, "description": "weight_conf"},
    "temperature": {"type": "number", "exclusiveMinimum": 0, "default": 2.0, "description": "kd_T"},
    "patches": {"type": "integer", "minimum": 2, "default": 3, "description": "K"},
    "tau": {"type": "number", "exclusiveMinimum": 0, "default": 1.0, "description": "Gumbel τ"},
    "lr_factor": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 1.0,
        "description": "patch network's lr / train.lr (new_module_learning_rate 3.5e-4)",
    },
    "scheduler": {
        "type": "string",
        "enum": ["global", "per_step"],
        "default": "global",
        "description": "global: the schedule runs on across steps (authors; later steps at 1 %); "
        "per_step: a fresh schedule each step",
    },
    "softmax_over": {
        "type": "string",
        "enum": ["all", "old"],
        "default": "all",
        "description": "kd/pd softmax over old + new heads (authors) or the old heads only",
    },
    "old_head_bn": {
        "type": "string",
        "enum": ["train", "eval"],
        "default": "train",
        "description": "teacher's head BatchNorm: batch statistics (authors) or running ones",
    },
    "seed": {"type": "integer", "default": 0, "description": "offset to the run's seed"},
}


def side_by_side(model: nn.Module, logits: Sequence[Tensor], tasks: int) -> Tensor:
    """Logits of tasks 0..tasks−1 as one [B, Σ classes] tensor, task order: per-task heads
    concatenated; a growing classifier's shared output once, cut to those tasks' rows."""
    rows = sum(model.task_classes[:tasks])
    parts = list(logits[:1]) if model.growing else list(logits[:tasks])
    return torch.cat(parts, dim=1)[:, :rows]


def heads_on_vectors(heads: Sequence[nn.Module], vectors: Tensor, rows: int) -> Tensor:
    """BN + classifier of each BNNeck head on [N, C] vectors (the authors' `classify_latent_codes`
    on patch features), side by side, cut to `rows` columns."""
    logits = [head.classifier(head.bn(vectors)) for head in heads]
    return torch.cat(logits, dim=1)[:, :rows]


def serving_heads(model: nn.Module, tasks: int) -> list[nn.Module]:
    """The model's heads that serve tasks 0..tasks−1 (each once)."""
    return [model.pipelines[i] for i in sorted({model.head_index(t) for t in range(tasks)})]


def build_patch_heads(model: nn.Module, saved: dict[str, Tensor] | None) -> nn.ModuleList:
    """The second set of BNNeck heads PatchKD classifies patches with (`classifier_dict_patch`):
    one per task (or one growing classifier), fresh or the parent's then one more task."""

    def head(classes: int) -> BNNeck:
        return BNNeck(model.out_channels, classes, pooling="avg", feature="post_bn")

    classes = list(model.task_classes)
    if saved is None:
        return nn.ModuleList([head(sum(classes))] if model.growing else map(head, classes))
    if model.growing:
        heads = nn.ModuleList([head(sum(classes[:-1]))])
        heads.load_state_dict(saved)
        heads[0].grow(classes[-1])
        return heads
    heads = nn.ModuleList([head(n) for n in classes[:-1]])
    heads.load_state_dict(saved)
    heads.append(head(classes[-1]))
    return heads


def epochs_before(ctx: PhaseContext) -> tuple[int, int]:
    """(epochs of every earlier phase, epochs of the earlier phases after the first): where the
    authors' global-epoch scheduler stands when this phase starts, for the task network and for
    the patch network (which trains from step 1 on)."""
    total = later = 0
    spec = ctx.parent_spec()
    while spec is not None:
        epochs = int(spec["train"]["epochs"])
        total += epochs
        later += epochs if int(spec["phase"]) > 1 else 0
        parent = spec.get("parent")
        path = Path(ctx.parent_dir).parent / str(parent) / "spec.json"
        spec = json.loads(path.read_text(encoding="utf-8")) if parent else None
    return total, later


def schedule_factor(train: dict[str, Any], epoch: float) -> float:
    """The phase schedule's rate factor (`train.scheduler`, per epoch) at position `epoch`."""
    from reid.engine.schedule import lr_factor  # a leaf module; lazy: reid.engine imports us

    per_epoch = {**train, "scheduler": {**train["scheduler"], "step": "epoch"}}
    return lr_factor(int(epoch), per_epoch, 1)


@register_strategy(
    "patchkd",
    "PatchKD (MM'22)",
    order=85,
    options=OPTIONS,
    reads=("patchkd",),
    heads=("bnneck",),
    # `pkd/models/lwf_net.py`, `bnneck.py`, `test_p_s.py`: average pooling, one BNNeck head per
    # step on local labels, tested on the current head's BN feature.
    model={
        "head": "bnneck",
        "classifier": "per_task",
        "bnneck": {"pooling": "avg", "feature": "post_bn"},
    },
)
class PatchKdStrategy(Strategy):
    """The task loss + PatchKD's logit, patch, relation, diversity and confidence terms against
    the frozen parent, with a patch network and patch heads of the strategy's own."""

    def setup(self, ctx: PhaseContext) -> None:
        """The patch network (width from the backbone) and the patch heads: the parent's when it
        trained PatchKD (the authors keep one patch network across steps), else fresh."""
        self.run_seed = int(ctx.spec.get("seed", 0))
        saved = ctx.parent_owned()
        parent = ctx.parent_spec()
        if parent is not None and int(parent["phase"]) > 1 and "patch_net" not in saved:
            raise StrategyStateError(
                f"run {ctx.parent_dir} saved no patchkd patch network (it was trained with "
                f"method {(parent.get('method') or {}).get('name')!r}); train every phase after "
                "the first with method.name=patchkd, or delete it and re-run the workflow"
            )
        width = ctx.model.out_channels
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed_for(-1))  # fresh weights drawn from the run's seed
            self.patch_net = PatchSampler(
                width, HIDDEN_RATIO * width, self.settings["patches"], self.settings["tau"]
            )
            self.patch_heads = build_patch_heads(ctx.model, saved.get("patch_heads"))
        if "patch_net" in saved:
            self.patch_net.load_state_dict(saved["patch_net"])

    def owned_modules(self) -> dict[str, OwnedModule]:
        # The patch heads belong to the authors' task network (its optimiser and schedule).
        return {
            "patch_net": OwnedModule(self.patch_net, self.settings["lr_factor"]),
            "patch_heads": OwnedModule(self.patch_heads, 1.0),
        }

    def freeze_earlier(self, ctx: PhaseContext) -> None:
        """Nothing is frozen: the authors' Adam holds every head, and kd trains the old ones."""

    def before_phase(self, ctx: PhaseContext) -> None:
        """The frozen teacher (the parent's model; its heads' BN in train mode, as the authors'
        `set_bn_to_train(old_model.classifier_dict)`, unless `old_head_bn: eval`), and where the
        global-epoch scheduler stands."""
        super().before_phase(ctx)
        self.teacher = copy.deepcopy(ctx.model).eval().requires_grad_(False)
        if self.settings["old_head_bn"] == "train":
            for head in serving_heads(self.teacher, self.new_index):
                head.train()
        self.train_section = ctx.spec["train"]
        self.task_offset, self.patch_offset = epochs_before(ctx)
        self.rescaled: list[tuple[dict[str, Any], float]] = []

    def forward_pipelines(self, batch: Batch) -> list[int]:
        return list(range(self.new_index + 1))

    def loss(self, model: nn.Module, out: Any, batch: Batch) -> LossParts:
        task, terms = self.task_loss(out, batch)
        if self.new_index == 0:
            return LossParts(task, terms)
        patch = self.patch_terms(model, out, batch)
        total = task + sum(self.settings[f"{k}_weight"] * patch[k] for k in TERMS)
        return LossParts(total, {**terms, **{k: v.detach() for k, v in patch.items()}})

    def patch_terms(self, model: nn.Module, out: Any, batch: Batch) -> dict[str, Tensor]:
        """kd, pd, rd, div and conf of one batch (`train_p_s_an_epoch`, same order: the patch
        heads' train-mode pass updates their BN statistics before div reads them in eval)."""
        t, settings = self.new_index, self.settings
        temperature, over = settings["temperature"], settings["softmax_over"]
        generator = torch.Generator().manual_seed(self.seed_for(batch.epoch, batch.step))
        theta = self.patch_net(out.base.detach(), generator).weights
        with torch.no_grad():
            old = self.teacher(batch.images, pipelines=list(range(t)))
        old_rows, new_rows = sum(model.task_classes[:t]), sum(model.task_classes[: t + 1])
        old_patches = gather_patches(old.base, theta)  # gradient to θ only
        old_patch_logits = heads_on_vectors(
            serving_heads(self.teacher, t), old_patches.flatten(0, 1), old_rows
        )
        patches = gather_patches(out.base, theta.detach())
        patch_logits = heads_on_vectors(self.patch_heads, patches.flatten(0, 1), new_rows)
        new_logits = side_by_side(model, out.logits, t + 1)
        old_logits = side_by_side(self.teacher, old.logits, t)
        return {
            "kd": logit_distillation(new_logits, old_logits, temperature, over),
            "pd": patch_logit_distillation(
                patch_logits, old_patch_logits.detach(), temperature, over
            ),
            "rd": patch_relation_distillation(patches, old_patches),
            "div": patch_diversity(self.current_patch_bn(out.base, theta), settings["patches"]),
            "conf": patch_confidence(old_patch_logits, temperature),
        }

    def current_patch_bn(self, fmap: Tensor, theta: Tensor) -> Tensor:
        """The current patch head's BN (eval mode: running statistics) on patches picked with θ
        not detached, [B·K, C] (the authors' `bned_patch_features`)."""
        bn = self.patch_heads[-1].bn
        was_training = bn.training
        bn.eval()
        try:
            return bn(gather_patches(fmap, theta).flatten(0, 1))
        finally:
            bn.train(was_training)

    def after_backward(self, step: StepContext) -> None:
        """`scheduler: global`: the optimiser steps at the rate the authors' scheduler gives at the
        global epoch (earlier phases' epochs + this one's; the patch network's counted from step
        1 on, its milestones being the task network's + one step's epochs); put back after the
        step, so the trainer's own schedule and checkpoints are untouched."""
        self.restore_rates()
        if self.settings["scheduler"] != "global":
            return
        patch_params = {id(p) for p in self.patch_net.parameters()}
        for group in step.optimizer.param_groups:
            patch = any(id(p) in patch_params for p in group["params"])
            offset = self.patch_offset if patch else self.task_offset
            base = group.get("initial_lr", group["lr"])
            self.rescaled.append((group, group["lr"]))
            group["lr"] = base * schedule_factor(self.train_section, offset + step.batch.epoch)

    def after_step(self, batch: Batch, parts: LossParts) -> None:
        self.restore_rates()

    def restore_rates(self) -> None:
        """Put back the rates `after_backward` replaced."""
        while self.rescaled:
            group, lr = self.rescaled.pop()
            group["lr"] = lr
