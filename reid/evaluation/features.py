"""Feature extraction for retrieval: from one pipeline, the backbone, or an ensemble."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reid.errors import ConfigError

SourceKind = Literal["pipeline", "base", "concat", "mean"]


@dataclass(frozen=True)
class FeatureSource:
    """Which feature to retrieve with: "base" (GAP of the backbone map), one pipeline's
    embedding, or the concatenation / mean of several pipelines' embeddings (an ensemble may
    include the backbone's pooled feature as the member "base", e.g. "concat:base,1")."""

    kind: SourceKind
    pipelines: tuple[int, ...] = ()
    with_base: bool = False

    def __str__(self) -> str:
        if self.kind == "base":
            return "base"
        members = (["base"] if self.with_base else []) + [str(i) for i in self.pipelines]
        return f"{self.kind}:{','.join(members)}"


def parse_feature_source(text: str) -> FeatureSource:
    """Parse "base", "pipeline:0", "concat:0,1" or "mean:0,1" (see `resolve_source` for the
    task-free "last", "concat:all" and "mean:all")."""
    raw = str(text).strip()
    kind, _, rest = raw.partition(":")
    kind = kind.strip()
    if kind == "base" and not rest.strip():
        return FeatureSource("base")
    if kind not in ("pipeline", "concat", "mean"):
        raise ConfigError(
            f"feature source {raw!r}: use 'base', 'pipeline:I', 'concat:I,J' or 'mean:I,J'"
        )
    members = [part.strip() for part in rest.split(",") if part.strip()]
    with_base = kind != "pipeline" and "base" in members
    try:
        indices = tuple(int(part) for part in members if not (with_base and part == "base"))
    except ValueError:
        raise ConfigError(f"feature source {raw!r}: pipeline indices must be integers") from None
    if (not indices and not with_base) or any(i < 0 for i in indices):
        raise ConfigError(f"feature source {raw!r}: give non-negative pipeline indices")
    if kind == "pipeline" and len(indices) != 1:
        raise ConfigError(f"feature source {raw!r}: 'pipeline' takes exactly one index")
    return FeatureSource(kind, indices, with_base)  # type: ignore[arg-type]


TASK_FREE = ("last", "base", "concat:all", "mean:all")


def resolve_source(text: str, task_index: int | None, num_pipelines: int) -> str:
    """A concrete feature source for a model with `num_pipelines` pipelines.

    `task` is the task's own pipeline (needs a task id); the task-free choices need none:
    `last` (the newest pipeline), `concat:all` / `mean:all` (every pipeline, each member
    L2-normalised first) and `base` (the backbone). A model without pipelines (the initial,
    untrained one) falls back to `base` for every task-free choice."""
    raw = str(text).strip()
    if raw == "task":
        if task_index is None:
            raise ConfigError(
                "feature source 'task' needs a task id, and this set has none (an unseen set); "
                f"use a task-free source: {', '.join(TASK_FREE)}"
            )
        return f"pipeline:{task_index}"
    if raw in ("last", "concat:all", "mean:all") and num_pipelines == 0:
        return "base"
    if raw == "last":
        return f"pipeline:{num_pipelines - 1}"
    if raw in ("concat:all", "mean:all"):
        members = ",".join(str(i) for i in range(num_pipelines))
        return f"{raw.partition(':')[0]}:{members}"
    return raw


def _features(model: nn.Module, x: Tensor, source: FeatureSource) -> Tensor:
    """Un-normalised feature of one batch; ensemble members are L2-normalised first."""
    if source.kind == "base":
        return model(x, pipelines=[]).base.mean(dim=(2, 3))
    out = model(x, pipelines=list(source.pipelines))
    embeddings = out.embeddings
    if source.kind == "pipeline":
        return embeddings[0]
    if source.with_base:
        embeddings = [out.base.mean(dim=(2, 3)), *embeddings]
    parts = [F.normalize(e, dim=1) for e in embeddings]
    if source.kind == "concat":
        return torch.cat(parts, dim=1)
    return torch.stack(parts, dim=0).mean(dim=0)


def extract_features(
    model: nn.Module,
    images_uint8: Tensor,
    source: FeatureSource | str,
    transform: Callable[[Tensor], Tensor],
    flip: bool = False,
    normalize: bool = True,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
) -> Tensor:
    """Features [N, D] (float32, CPU) of uint8 images [N, 3, H, W].

    The model runs in eval mode under inference_mode (its mode is restored afterwards).
    `transform` maps a uint8 batch to the model's float input. `flip` averages with the
    horizontally flipped images; `normalize` L2-normalises the final feature.
    """
    src = parse_feature_source(source) if isinstance(source, str) else source
    was_training = model.training
    model.eval()
    out: list[Tensor] = []
    try:
        with torch.inference_mode():
            for s in range(0, images_uint8.shape[0], max(1, batch_size)):
                batch = transform(images_uint8[s : s + batch_size].to(device))
                feat = _features(model, batch, src)
                if flip:
                    feat = (feat + _features(model, batch.flip(dims=[3]), src)) / 2
                if normalize:
                    feat = F.normalize(feat, dim=1)
                out.append(feat.float().cpu())
    finally:
        model.train(was_training)
    if not out:
        return torch.zeros(0, 0)
    return torch.cat(out, dim=0)
