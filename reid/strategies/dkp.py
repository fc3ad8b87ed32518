"""DKP: distribution-aware knowledge prototyping (Xu, Zou, Peng & Zhou, CVPR'24), as the authors'
code (zhoujiahuan1991/CVPR2024-DKP) computes it.

The model piece is the `dkp` head (`reid/models/dkp_head.py`: mean and std branches, samples,
CE over mean and samples + set triplet, in every phase) on ResNet cut after layer3. From the
second phase on:

1. **Prototypes** of the previous domain, when the phase starts, from the parent's weights
   (`continual_train.py: obtain_old_types`, `reid/utils/feature_tools.py:
   extract_features_uncertain`): every training image of the parent's task, evaluation
   transform, batches of 128 (its `init_loader`), through the head: mean m_i and std s_i; per
   identity μ_p = mean m, σ_p = sqrt(mean s² + mean m² − μ_p²) (`identity_statistics`). Only
   the last domain is kept (the authors' `proto_type` holds step t−1 alone), in the strategy's
   state (saved for resume and in `strategy.pt`).
2. **Prototype-relation distillation** every batch (`reid/trainer.py: Trainer.train`): one noisy
   prototype per old identity, q_p = normalize(μ_p + ε_p ⊙ σ_p); with f the batch's means,
   loss = KL(A_r ‖ A_f), A_f = softmax(cos(f, f)/λ₂), A_r = softmax(cos(r, r)/λ₂),
   r = softmax(cos(f, q)/λ₁) (`reid.losses.dkp.prototype_affinity_kl`), added with weight
   `AF_weight`.
3. **Weight averaging** after the phase (`continual_train.py: main_worker,
   linear_combination`): θ = α θ_trained + (1 − α) θ_parent, α = 0.5, over the whole state
   (BN buffers and counters too), the classifier's old rows fused and its new rows kept
   (`reid.losses.lstkc.fuse_state_dicts`); the head's noise buffers keep the trained values.

Quirks of their code, each an option (default: the authors'; the other: corrected):
- `prototype_mode: train` — they extract with the model in train mode. Here too: every
  BatchNorm (backbone and the head's neck) normalises each batch of 128 with its own statistics
  and updates its running mean and variance (momentum 0.1) and counter with the old domain's
  images; the head draws its samples (its noise counter advances by one per batch). The phase
  then trains from these statistics, and, as they grow the classifier after the extraction,
  the new rows are recomputed as the class means of the model with the updated statistics
  (when `model.classifier_init: class_means`). The fusion's θ_parent is the parent's
  `model.pt`, untouched (their `model_old` is copied before the extraction). Every step is
  deterministic (no global generator), so a rerun or a resume gives the same model.
  `eval`: running statistics, no side effect on the model, rows left as the phase built them.
- `kl_target: gradient` — A_r keeps its gradient (both sides depend on f); `detached`: A_r a
  constant target.
- `prototype_noise: global` — ε from the global CPU generator, as their `torch.randn` (ours
  is seeded with the run's seed when the run starts; its state is saved every epoch and
  restored on resume); `seeded`: ε from a generator seeded per batch with
  `seed_for(epoch, step)`.
Their MSMT17-only milestones [20, 30] are a recipe key (`train.scheduler.milestones`), not
here; their unused frozen old model is not built.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from reid.data.transforms import EvalTransform
from reid.errors import ConfigError
from reid.losses.dkp import (
    IdentityStatistics,
    identity_statistics,
    prototype_affinity_kl,
    sample_prototypes,
)
from reid.losses.lstkc import fuse_state_dicts
from reid.models.dkp_head import NOISE_BUFFERS
from reid.strategies.base import Batch, LossParts, PhaseContext, Strategy, register_strategy

EXTRACT_BATCH = 128  # `get_data_loaders.py`: the init_loader's batch size (test transform)

# `method.dkp`: its settings, as JSON schema with the authors' defaults.
OPTIONS = {
    "weight": {
        "type": "number",
        "minimum": 0,
        "default": 0.1,
        "description": "weight of the prototype-relation KL (continual_train.py --AF_weight)",
    },
    "relation_temperature": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 0.1,
        "description": "λ₁ of softmax(cos(f, q) / λ₁) (continual_train.py --lambda_1)",
    },
    "affinity_temperature": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 0.1,
        "description": "λ₂ of both affinity softmaxes (continual_train.py --lambda_2)",
    },
    "alpha": {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "default": 0.5,
        "description": "θ = α θ_trained + (1 − α) θ_parent after each phase "
        "(continual_train.py main_worker: linear_combination(..., 0.5))",
    },
    "prototype_mode": {
        "type": "string",
        "enum": ["train", "eval"],
        "default": "train",
        "description": "model mode while extracting the prototypes: train (the authors: batch "
        "statistics, running statistics updated, new classifier rows recomputed after) or eval",
    },
    "kl_target": {
        "type": "string",
        "enum": ["gradient", "detached"],
        "default": "gradient",
        "description": "the relation affinity A_r keeps its gradient (the authors) or is detached",
    },
    "prototype_noise": {
        "type": "string",
        "enum": ["global", "seeded"],
        "default": "global",
        "description": "prototype noise from the global CPU generator (the authors' torch.randn) "
        "or from a generator seeded per batch from the run's seed",
    },
}


@torch.no_grad()
def image_distributions(
    model: nn.Module, images: Tensor, task: int, device: torch.device, train_mode: bool
) -> tuple[Tensor, Tensor]:
    """Mean and std features [N, D] of every image through `task`'s head (evaluation
    transform, batches of 128), the model in train mode (batch statistics; running statistics
    updated) or eval mode; its mode is restored after."""
    was_training = model.training
    model.train(train_mode)
    transform = EvalTransform()
    means, stds = [], []
    try:
        for start in range(0, len(images), EXTRACT_BATCH):
            batch = transform(images[start : start + EXTRACT_BATCH].to(device))
            head = model(batch, pipelines=[task]).heads[0]
            means.append(head.embedding.float())
            stds.append(head.maps["std"].float())
    finally:
        model.train(was_training)
    if not means:
        raise ValueError("DKP prototypes of an empty set of images")
    return torch.cat(means), torch.cat(stds)


def prototype_statistics(means: Tensor, stds: Tensor, pids: Tensor) -> IdentityStatistics:
    """Per-identity μ_p, σ_p (`identity_statistics`); on the `meta` device (no values) the
    shapes alone, one row per distinct pid."""
    if means.device.type == "meta":
        labels = torch.unique(pids.cpu(), sorted=True)
        shape = (len(labels), means.shape[1])
        empty = torch.empty(shape, device=means.device)
        return IdentityStatistics(pids=labels, means=empty, stds=empty.clone())
    return identity_statistics(means, stds, pids.to(means.device))


def fused_with_parent(
    trained: dict[str, Tensor], parent: dict[str, Tensor], alpha: float
) -> dict[str, Tensor]:
    """α θ_trained + (1 − α) θ_parent over every entry (old classifier rows fused, new kept;
    integer counters fused and truncated, as the authors); the head's noise buffers keep the
    trained values (a generator state, not weights)."""
    old = {key: value.to(trained[key].device) for key, value in parent.items() if key in trained}
    fused = fuse_state_dicts(trained, old, alpha)
    for key in fused:
        if key.rpartition(".")[2] in NOISE_BUFFERS:
            fused[key] = trained[key].clone()
    return fused


@register_strategy(
    "dkp",
    "DKP (CVPR'24)",
    order=90,
    options=OPTIONS,
    heads=("dkp",),
    model={"head": "dkp", "classifier": "growing", "last_layer": "layer3"},
)
class DkpStrategy(Strategy):
    """DKP's task loss (the head's) + AF_weight · prototype-relation KL to the previous domain's
    distribution prototypes; weights averaged with the parent's after the phase."""

    def __init__(self, method: dict[str, Any] | None, label_smoothing: float = 0.0) -> None:
        super().__init__(method, label_smoothing)
        # The previous domain's prototypes: `pids` [P], `means` [P, D], `stds` [P, D].
        self.prototypes: dict[str, Tensor] | None = None
        self.prototype_task: str | None = None
        self.pending_rng: Tensor | None = None

    def before_phase(self, ctx: PhaseContext) -> None:
        if ctx.model.cfg.head not in self.heads:
            raise ConfigError(
                f"method dkp trains DKP's model: model.head is {ctx.model.cfg.head!r}; use "
                "model.head dkp (comparison.model_overrides.dkp gives it in a comparison)"
            )
        super().before_phase(ctx)  # on resume: prototypes (and RNG state) from state/last.pt
        self.device = ctx.device
        parent = ctx.parent_spec()
        if ctx.resumed or parent is None:
            return
        found = self.extract(ctx, parent["task"])
        self.prototypes = {"pids": found.pids, "means": found.means, "stds": found.stds}
        self.prototype_task = parent["task"]["name"]

    def extract(self, ctx: PhaseContext, task: dict[str, Any]) -> IdentityStatistics:
        """The previous domain's prototypes from the parent's weights (see the module's
        docstring for what `prototype_mode: train` does to the model)."""
        train_mode = self.settings["prototype_mode"] == "train"
        bank = ctx.load_bank(task)
        means, stds = image_distributions(
            ctx.model, bank.images, ctx.new_index - 1, ctx.device, train_mode
        )
        if train_mode:
            self.recompute_new_rows(ctx)
        return prototype_statistics(means, stds, bank.pids)

    def recompute_new_rows(self, ctx: PhaseContext) -> None:
        """The authors grow the classifier after the extraction: the new rows are the class
        means of the model whose running statistics the extraction updated."""
        from reid.engine.growing import class_means

        model = ctx.model
        if not model.growing or model.cfg.classifier_init != "class_means":
            return
        bank = ctx.load_bank(ctx.spec["task"])
        rows = class_means(model, bank.images, bank.pids, ctx.new_index, ctx.device)
        offset = model.label_offset(ctx.new_index)
        weight = model.task_head(ctx.new_index).classifier.weight
        with torch.no_grad():
            weight[offset : offset + len(rows)].copy_(rows)

    def before_step(self, batch: Batch) -> Batch:
        if self.pending_rng is not None:  # resumed: the global stream where the epoch ended
            torch.set_rng_state(self.pending_rng.cpu())
            self.pending_rng = None
        return batch

    def noise_generator(self, batch: Batch) -> torch.Generator | None:
        """None (the global CPU generator, the authors') or one seeded for this batch."""
        if self.settings["prototype_noise"] == "global" or self.device.type == "meta":
            return None
        device = self.device if self.device.type == "cuda" else torch.device("cpu")
        seed = self.seed_for(batch.epoch, batch.step)
        return torch.Generator(device=device).manual_seed(seed)

    def loss(self, model: Any, out: Any, batch: Batch) -> LossParts:
        total, terms = self.task_loss(out, batch)
        if self.prototypes is None:
            return LossParts(total, terms)
        queries = sample_prototypes(
            self.prototypes["means"], self.prototypes["stds"], self.noise_generator(batch)
        )
        distil = prototype_affinity_kl(
            out.embeddings[-1],
            queries,
            self.settings["relation_temperature"],
            self.settings["affinity_temperature"],
            detach_target=self.settings["kl_target"] == "detached",
        )
        total = total + self.settings["weight"] * distil
        return LossParts(total, {**terms, "prototype_kl": distil.detach()})

    def fuse_weights(self, ctx: PhaseContext) -> dict[str, Tensor] | None:
        from reid.engine.checkpoint import load_checkpoint

        parent = load_checkpoint(ctx.parent_dir / "model.pt")["model"]
        return fused_with_parent(ctx.model.state_dict(), parent, self.settings["alpha"])

    def state_dict(self) -> dict[str, Any]:
        if self.prototypes is None:
            return {}
        state = {"task": self.prototype_task, **self.prototypes}
        if self.settings["prototype_noise"] == "global":
            state["cpu_rng"] = torch.get_rng_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.prototypes = {key: state[key] for key in ("pids", "means", "stds")}
        self.prototype_task = state["task"]
        self.pending_rng = state.get("cpu_rng")
