"""Backbone + task pipelines (paper §3.1–3.2)."""

from reid.models.backbone import RESNETS, ModelConfig, build_backbone, checkpoint_path_for
from reid.models.network import ModelOutput, MultiPipelineNet, model_signature
from reid.models.pipeline import Pipeline, PipelineOutput

__all__ = [
    "RESNETS",
    "ModelConfig",
    "ModelOutput",
    "MultiPipelineNet",
    "Pipeline",
    "PipelineOutput",
    "build_backbone",
    "checkpoint_path_for",
    "model_signature",
]
