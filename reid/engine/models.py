"""Building a phase's model: from its config, or from a trained run's `model.pt`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reid.engine.checkpoint import check_signature, load_checkpoint
from reid.errors import CheckpointError
from reid.models import ModelConfig, MultiPipelineNet, model_signature
from reid.models.heads import DEFAULT_HEAD, PER_TASK, head_settings


def model_config(spec: dict[str, Any]) -> ModelConfig:
    """The model config of a spec."""
    m = spec["model"]
    return ModelConfig(
        backbone=m["backbone"],
        weights=None if m["weights"] == "none" else m["weights"],
        classifier_input=m.get("classifier_input", "pooled"),
        embedding=m.get("embedding", "pooled"),
        residual=m.get("residual", False),
        last_stride=m["last_stride"],
        last_layer=m.get("last_layer", "layer4"),
        head_bn_momentum=m.get("head_bn_momentum", 0.1),
        input_size=(spec["data"]["height"], spec["data"]["width"]),
        head=m.get("head", DEFAULT_HEAD),
        head_options=head_settings(m),
        classifier=m.get("classifier", PER_TASK),
        classifier_init=m.get("classifier_init", "class_means"),
    )


def load_model(path: Path, spec: dict[str, Any] | None = None) -> tuple[MultiPipelineNet, dict]:
    """Rebuild a trained model from its `model.pt` (its spec is stored beside the weights)."""
    state = load_checkpoint(path)
    missing = [key for key in ("signature", *(() if spec else ("spec",))) if key not in state]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks {', '.join(missing)}: it is not a model.pt of this suite; "
            "delete it and re-run the rule that wrote it"
        )
    spec = spec or state["spec"]
    model = MultiPipelineNet(_without_download(model_config(spec)))
    for classes in state["signature"]["num_classes"]:
        model.add_pipeline(classes)
    check_signature(path, state["signature"], model_signature(model))
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {path} does not fit the model its signature describes ({reason}); "
            "delete it and re-run the rule that wrote it"
        ) from None
    return model, state


def _without_download(cfg: ModelConfig) -> ModelConfig:
    # Weights come from the parent checkpoint; no need for ImageNet weights.
    cfg.weights = None
    return cfg


def build_model(spec: dict[str, Any], run_root: Path) -> MultiPipelineNet:
    """A fresh model (phase 1, joint) or the parent run's trained model."""
    if spec["parent"] is None:
        return MultiPipelineNet(model_config(spec))
    model, _ = load_model(Path(run_root) / spec["parent"] / "model.pt", spec)
    return model
