"""LSTKC: Long Short-Term Knowledge Consolidation (Xu, Zou & Zhou, AAAI'24), as its authors'
code (zhoujiahuan1991/AAAI2024-LSTKC) trains a step t ≥ 2 of the lifelong chain.

Short term, every iteration: the rectified affinity distillation against the frozen step-start
model (the parent), added with `weight` to the task loss (CE + triplet):

    A = softmax_row(cos(f_i, f_j) / temperature) of the learner, A° of the frozen parent,
    T = A°(TP° + TN°) + A(TP + TN)(FN° + FP°) + FN·FN°·max(hn, hn°) + FP·FP°·min(lp, lp°),
    rows renormalised;  L_short = KL(T ‖ A), batchmean      (`rectified_affinity_kl`)

on the pooled pre-BN feature f (the cosine normalises it: the authors' L2-normalised feature).

Long term, after the step: the trained weights are fused with the parent's,

    θ = α θ_new + (1 − α) θ_old,   α = 1 − (1/N) Σ_i Σ_j |A_new,ij − A_old,ij|,
    A = softmax_row(alpha_scale · cos(F, F)) over the N training images of the new domain,

F from each model in eval mode with the evaluation transform (`fusion_weight`); every state
entry is fused, BatchNorm buffers included; the rows a growing classifier gained in this step
(and a new task's own head) keep their trained values (`fuse_state_dicts`), and an entry the
step left unchanged (a frozen head) keeps its exact value.

Defaults (authors' code, commit c63a3af): weight 1.0 (`continual_train.py`, `--AF_weight`);
temperature 0.1 (`reid/trainer.py`, `get_normal_affinity(Norm=0.1)`); alpha_scale 100
(`continual_train.py`, `get_normal_affinity(Norm=100)` in `get_adaptive_alpha`); target not
detached (`reid/trainer.py`, `cal_KL`); α not clamped (`continual_train.py`,
`get_adaptive_alpha`); `num_batches_tracked` fused and truncated (`continual_train.py`,
`linear_combination`). LSTKC draws nothing at random: it needs no seed of its own.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch
from torch import Tensor, nn

from reid.data.transforms import EvalTransform
from reid.losses.lstkc import fuse_state_dicts, fusion_weight, rectified_affinity_kl
from reid.strategies.anchoring import evaluating
from reid.strategies.base import Batch, LossParts, PhaseContext, Strategy, register_strategy

log = logging.getLogger(__name__)

FEATURE_BATCH = 128  # images per forward pass for α (the authors' `init_loader` batch size)

# `method.lstkc`: its settings, as JSON schema with defaults (see the module docstring).
OPTIONS = {
    "weight": {
        "type": "number",
        "minimum": 0,
        "default": 1.0,
        "description": "weight of the short-term distillation (continual_train.py --AF_weight)",
    },
    "temperature": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 0.1,
        "description": "batch affinities softmax(cos / temperature) (reid/trainer.py)",
    },
    "alpha_scale": {
        "type": "number",
        "exclusiveMinimum": 0,
        "default": 100.0,
        "description": "α's affinities softmax(alpha_scale · cos) (continual_train.py)",
    },
    "detach_target": {
        "type": "boolean",
        "default": False,
        "description": "false: gradient also through the rectified target (authors' code); "
        "true: the target is a constant (corrected reading)",
    },
    "clamp_alpha": {
        "type": "boolean",
        "default": False,
        "description": "false: α unclamped, in [-1, 1] (authors' code); true: α clamped to [0, 1]",
    },
    "integer_buffers": {
        "type": "string",
        "enum": ["fuse", "new"],
        "default": "fuse",
        "description": "BatchNorm num_batches_tracked: fused and truncated (authors' code) "
        "or the trained model's value",
    },
}


@torch.no_grad()
def domain_features(model: nn.Module, images: Tensor, task: int, device: torch.device) -> Tensor:
    """[N, D] pooled pre-BN features (`ModelOutput.features`) of uint8 `images` through
    `task`'s head: eval mode (restored after), the evaluation transform, float32."""
    transform = EvalTransform()
    chunks = []
    with evaluating(model):
        for start in range(0, len(images), FEATURE_BATCH):
            batch = transform(images[start : start + FEATURE_BATCH].to(device))
            chunks.append(model(batch, pipelines=[task]).features[0].float())
    if not chunks:
        raise ValueError("LSTKC's fusion weight needs the new domain's training images; none")
    return torch.cat(chunks)


def changed_entries(
    trained: dict[str, Tensor], parent: dict[str, Tensor]
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(entries to fuse, entries kept as trained): kept are those the parent lacks (a new
    task's own head) and those the step left unchanged (a frozen head), bit for bit, where
    α x + (1 − α) x would round (and a fused integer counter could truncate to x − 1)."""
    fuse, keep = {}, {}
    for key, value in trained.items():
        old = parent.get(key)
        unchanged = old is not None and old.shape == value.shape and torch.equal(old, value)
        (keep if old is None or unchanged else fuse)[key] = value
    return fuse, keep


@register_strategy(
    "lstkc",
    "LSTKC (AAAI'24)",
    order=90,
    options=OPTIONS,
    heads=("bnneck",),
    model={"head": "bnneck", "classifier": "growing"},
)
class LstkcStrategy(Strategy):
    """Task loss + weight · KL(rectified target ‖ learner's batch affinities) against the frozen
    parent; after the phase, θ = α θ_new + (1 − α) θ_parent with α from the affinity
    discrepancy over the new domain's training images."""

    def __init__(self, method: dict[str, Any] | None, label_smoothing: float = 0.0) -> None:
        super().__init__(method, label_smoothing)
        self.alphas: list[float] = []  # α of every earlier lstkc step of the chain, then this

    def before_phase(self, ctx: PhaseContext) -> None:
        super().before_phase(ctx)  # on resume: the state saved in state/last.pt
        if not ctx.resumed:
            self.alphas = list((ctx.parent_state() or {}).get("alphas", []))
        # The step-start model (the fused parent with this step's rows): frozen, eval mode.
        self.teacher = copy.deepcopy(ctx.model).eval()
        for param in self.teacher.parameters():
            param.requires_grad_(False)

    def loss(self, model: Any, out: Any, batch: Batch) -> LossParts:
        task, terms = self.task_loss(out, batch)
        with torch.no_grad():
            old = self.teacher(batch.images, pipelines=[self.new_index - 1]).features[-1]
        settings = self.settings
        distil = rectified_affinity_kl(
            out.features[-1],
            old,
            batch.pids,
            temperature=settings["temperature"],
            detach_target=settings["detach_target"],
        )
        total = task + settings["weight"] * distil
        return LossParts(total, {**terms, "affinity_kl": distil.detach()})

    def fusion_alpha(self, ctx: PhaseContext) -> float:
        """α over the new domain's training images, trained model vs step-start model."""
        images = ctx.load_bank(ctx.spec["task"]).images
        new = domain_features(ctx.model, images, self.new_index, ctx.device)
        old = domain_features(self.teacher, images, self.new_index - 1, ctx.device)
        settings = self.settings
        return fusion_weight(new, old, settings["alpha_scale"], clamp=settings["clamp_alpha"])

    def fuse_weights(self, ctx: PhaseContext) -> dict[str, Tensor] | None:
        """θ = α θ_new + (1 − α) θ_parent over every entry the parent has (a grown classifier:
        its old rows); entries and rows new in this step keep their trained values, entries
        the step did not change (frozen) their exact value."""
        from reid.engine.checkpoint import load_checkpoint  # reid.engine imports this package

        if ctx.parent_dir is None:
            return None
        alpha = self.fusion_alpha(ctx)
        parent = load_checkpoint(ctx.parent_dir / "model.pt", map_location=ctx.device)["model"]
        changed, kept = changed_entries(ctx.model.state_dict(), parent)
        fused = fuse_state_dicts(changed, parent, alpha, self.settings["integer_buffers"])
        self.alphas.append(alpha)
        log.info("lstkc: fusion weight α = %.6f (%s)", alpha, ctx.run_dir)
        return {**fused, **kept}

    def state_dict(self) -> dict[str, Any]:
        return {"alphas": list(self.alphas)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.alphas = [float(a) for a in state.get("alphas", [])]
