"""Experience replay: a fixed-size exemplar memory of every earlier task, mixed into each batch.

The memory of a task is chosen from its training images when the next phase starts, and the
exemplars mixed into each batch are drawn, both seeded from the run's `seed` (plus
`method.replay.seed` as an offset, the pipeline, the epoch and the step);
each exemplar keeps its identity label and is trained through its own task's pipeline (the
pipelines of earlier tasks stay frozen under `method.trainable: base_second`, so the replayed
loss keeps the shared backbone fit for them). The memory is saved with the run
(`strategy.pt`, and `state/last.pt` while training), so a resumed run and the next phase use
the very same exemplars.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from reid.losses import batch_hard_triplet
from reid.strategies import base
from reid.strategies.base import register_strategy

TASK_LABEL_STRIDE = 1 << 20  # keeps (task, identity) labels apart in the mixed batch


def select_exemplars(pids: torch.Tensor, size: int, selection: str, seed: int) -> torch.Tensor:
    """Indices of `size` exemplars: `random` images, or `per_identity` (round robin over the
    identities in a seeded order, so as many identities as possible are kept)."""
    g = torch.Generator().manual_seed(seed)
    size = min(size, len(pids))
    if selection == "random":
        return torch.randperm(len(pids), generator=g)[:size].sort().values
    order = torch.randperm(len(pids), generator=g)
    by_pid: dict[int, list[int]] = {}
    for index in order.tolist():
        by_pid.setdefault(int(pids[index]), []).append(index)
    queues = list(by_pid.values())
    chosen: list[int] = []
    while len(chosen) < size:
        for queue in queues:
            if queue and len(chosen) < size:
                chosen.append(queue.pop(0))
    return torch.tensor(sorted(chosen), dtype=torch.long)


def mixed_triplet(out: Any, batch: base.Batch, losses: Any) -> torch.Tensor:
    """The batch-hard triplet over the mixed batch: each row's metric feature from its own
    task's head, identities of different tasks kept apart."""
    rows = torch.arange(len(batch.tasks), device=batch.tasks.device)
    features = torch.stack(out.features)[batch.tasks, rows]
    labels = batch.tasks * TASK_LABEL_STRIDE + batch.pids
    return batch_hard_triplet(features, labels, losses.margin, losses.normalize)


# `method.replay`: its settings, as JSON schema with defaults.
OPTIONS = {
    "size": {"type": "integer", "minimum": 1, "default": 32},
    "per_batch": {"type": "integer", "minimum": 1, "default": 8},
    "selection": {
        "type": "string",
        "enum": ["per_identity", "random"],
        "default": "per_identity",
    },
    # An offset to the run's seed (every draw derives from both).
    "seed": {"type": "integer", "default": 0},
}


@register_strategy("replay", "experience replay", order=60, options=OPTIONS, revision=2)
class ReplayStrategy(base.ConsolidatingStrategy):
    """Cross-entropy on the new task + cross-entropy of replayed exemplars on their pipelines."""

    def consolidate(self, ctx: base.PhaseContext, task: dict, pipeline: int, bank: Any) -> dict:
        opts = self.settings
        index = select_exemplars(
            bank.pids, opts["size"], opts["selection"], self.seed_for(pipeline)
        )
        return {
            "images": bank.images[index].to(ctx.device),
            "pids": (bank.pids[index] + ctx.model.label_offset(pipeline)).to(ctx.device),
            "camids": bank.camids[index].to(ctx.device),
            "task": torch.full((len(index),), pipeline, dtype=torch.long, device=ctx.device),
        }

    def forward_pipelines(self, batch: base.Batch) -> list[int]:
        return list(range(self.new_index + 1))

    def _memory(self, key: str) -> torch.Tensor:
        return torch.cat([entry[key] for entry in self.per_task])

    def before_step(self, batch: base.Batch) -> base.Batch:
        if not self.per_task:
            return batch
        tasks = self._memory("task")
        g = torch.Generator().manual_seed(self.seed_for(self.new_index, batch.epoch, batch.step))
        count = self.settings["per_batch"]
        pick = torch.randint(len(tasks), (count,), generator=g).to(tasks.device)
        images, pids, camids = (self._memory(k)[pick] for k in ("images", "pids", "camids"))
        return batch.with_rows(images, pids, camids, tasks[pick])

    def loss(self, model: Any, out: Any, batch: base.Batch) -> base.LossParts:
        new = batch.tasks == batch.pipeline
        smoothing = self.ce.label_smoothing
        per_row = torch.zeros(len(batch.pids), device=batch.pids.device)
        for pipeline, logits in enumerate(out.logits):
            rows = batch.tasks == pipeline
            labels = torch.where(rows, batch.pids, torch.zeros_like(batch.pids))
            ce = F.cross_entropy(logits, labels, reduction="none", label_smoothing=smoothing)
            per_row = per_row + torch.where(rows, ce, torch.zeros_like(ce))
        count_new = new.sum().clamp(min=1)
        count_old = (~new).sum().clamp(min=1)
        ce_new = (per_row * new).sum() / count_new
        replayed = (per_row * ~new).sum() / count_old
        total = per_row.mean()  # the mixed batch: every row on its own task's pipeline
        parts = {"ce": ce_new.detach(), "replay": replayed.detach()}
        if self.losses.plain:
            return base.LossParts(total, parts)
        total = self.losses.ce * total
        if self.losses.triplet:
            tri = mixed_triplet(out, batch, self.losses)
            total = total + self.losses.triplet * tri
            parts = {"ce": parts["ce"], "triplet": tri.detach(), "replay": parts["replay"]}
        return base.LossParts(total, parts)
