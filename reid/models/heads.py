"""Heads: what the network puts on top of the backbone map, one registered module each.

A head turns the backbone map [B, C, h, w] into a `HeadOutput`: the classifier's `logits`
(cross-entropy), the `metric` feature (what metric losses such as the triplet see) and the
retrieval `embedding` (what evaluation ranks with), plus any named tensor a method needs
(`maps`; the paper's pipeline gives its block-2 map there and as `block2`). The head decides all
three, so a later method's model piece (a mean and variance branch, a patch network on the
backbone map) is one more module that registers itself:

    @register_head("mine", options={"width": {"type": "integer", "default": 512}})
    class MyHead(nn.Module):
        @classmethod
        def from_config(cls, in_channels, num_classes, feature_hw, cfg): ...
        def forward(self, fmap) -> HeadOutput: ...

`options` is the JSON schema of the config section `model.<name>` (with defaults), merged into
the config schema by `reid.extensions`; `reads` names the top-level `model` keys the head reads
(the paper's pipeline reads `classifier_input`, `embedding`, `residual`, `head_bn_momentum`);
`growable` heads can serve every task with one classifier that grows (`grow(rows)`). A head
whose model trains with a supervised loss of its own (DKP's) returns a subclass of `HeadOutput`
that overrides `supervised_loss`; every strategy's task loss, phase 1's included, is then that.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from reid.registry import Registry

DEFAULT_HEAD = "pipeline"
PER_TASK = "per_task"
GROWING = "growing"
# `model` keys of the backbone that enter a run's spec only away from their default (no-op).
NEUTRAL_DEFAULTS = {"last_layer": "layer4"}
# Keys of `model` that only matter with a growing classifier.
CLASSIFIER_KEYS = ("classifier", "classifier_init")


@dataclass
class HeadOutput:
    """One head's outputs for a batch: logits [B, classes], retrieval embedding [B, D], metric
    feature [B, D'] for metric losses, the paper pipeline's block-2 map (else None) and any
    further named tensors of a method."""

    logits: Tensor
    embedding: Tensor
    metric: Tensor
    block2: Tensor | None = None
    maps: dict[str, Tensor] = field(default_factory=dict)

    def supervised_loss(self, pids: Tensor, losses: Any) -> tuple[Tensor, dict[str, Tensor]] | None:
        """The head's own loss of the task being learnt, (total, logged terms), when its model
        defines one (DKP's CE over the mean and samples + set triplet: a subclass of this
        output); None: the generic `train.loss` on `logits` and `metric` (`losses`, a
        `reid.losses.task.TaskLoss`, gives the weights and label smoothing)."""
        return None


@dataclass(frozen=True)
class HeadSpec:
    """A registered head: its class, config options, the `model` keys it reads, whether its
    classifier can grow across tasks."""

    name: str
    cls: type[nn.Module]
    options: dict[str, Any] | None
    reads: tuple[str, ...]
    growable: bool


HEADS: Registry[HeadSpec] = Registry("model.head")


def register_head(
    name: str,
    *,
    options: dict[str, dict[str, Any]] | None = None,
    reads: tuple[str, ...] = (),
    growable: bool = False,
) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: register a head as `name` (`options`: properties of `model.<name>`)."""

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        section = None
        if options is not None:
            section = {
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "properties": options,
            }
        HEADS.add(name, HeadSpec(name, cls, section, tuple(reads), growable))
        return cls

    return add


def head_settings(model: dict[str, Any]) -> dict[str, Any]:
    """The head's own section `model.<head>` ({} when it has none)."""
    return dict(model.get(model.get("head", DEFAULT_HEAD)) or {})


def neutral_model(model: dict[str, Any]) -> dict[str, Any]:
    """The `model` section as a run's spec records it: only the keys that shape the network.

    Another head's section never enters; `head` only when it is not the paper's pipeline (whose
    own keys then leave); the classifier keys only for a growing classifier; `last_layer` only
    when not `layer4`. A config that does not use the new keys therefore records exactly what
    it recorded before they existed.
    """
    out = copy.deepcopy(dict(model))
    for key, default in NEUTRAL_DEFAULTS.items():
        if out.get(key, default) == default:
            out.pop(key, None)
    head = out.get("head", DEFAULT_HEAD)
    for name in HEADS:
        if name != head:
            out.pop(name, None)
    if head == DEFAULT_HEAD:
        out.pop("head", None)
    else:
        for key in HEADS.get(DEFAULT_HEAD).reads:
            out.pop(key, None)
    if out.get("classifier", PER_TASK) == PER_TASK:
        for key in CLASSIFIER_KEYS:
            out.pop(key, None)
    return out
