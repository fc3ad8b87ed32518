"""Backbone + registered heads: the paper's task pipelines (§3.1–3.2) and the field's BNNeck.

Every module of this package is imported here, so a new head is one new module that registers
itself with `reid.models.heads.register_head` (docs/extending.md).
"""

import importlib
import pkgutil

from reid.models.backbone import RESNETS, ModelConfig, build_backbone, checkpoint_path_for
from reid.models.heads import HEADS, HeadOutput, neutral_model, register_head
from reid.models.network import ModelOutput, MultiPipelineNet, model_signature
from reid.models.pipeline import Pipeline, PipelineOutput  # the paper's head, registered first

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "HEADS",
    "HeadOutput",
    "RESNETS",
    "ModelConfig",
    "ModelOutput",
    "MultiPipelineNet",
    "Pipeline",
    "PipelineOutput",
    "build_backbone",
    "checkpoint_path_for",
    "model_signature",
    "neutral_model",
    "register_head",
]
