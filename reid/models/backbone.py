"""Model configuration and the ResNet backbone (torchvision) with avgpool and fc removed."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

import torch
from torch import nn

from reid.errors import CheckpointError, ConfigError
from reid.models.tiny_resnet import WIDTHS as TINY_WIDTHS
from reid.models.tiny_resnet import tiny_resnet

RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
# Every backbone `model.backbone` accepts: torchvision's ResNets and the small demo ResNet.
BACKBONES = RESNETS + tuple(TINY_WIDTHS)
ClassifierInput = Literal["pooled", "flatten"]
Embedding = Literal["pooled", "logits"]
LAST_LAYERS = ("layer4", "layer3")


@dataclass
class ModelConfig:
    """Everything that shapes the network.

    `weights`: None (random init), "imagenet" (torchvision's DEFAULT weights) or an explicit
    torchvision weight name such as "IMAGENET1K_V1". `classifier_input`: "pooled" (Linear on the
    GAP vector) or "flatten" (Linear on the flattened block-2 map, the authors' code).
    `embedding`: retrieval feature, "pooled" (GAP of block 2) or "logits" (the authors' code).
    `head_bn_momentum`: momentum of the pipelines' BatchNorm layers (torch's 0.1; the authors'
    code uses 0.01). `last_layer`: the trunk ends after `layer4` (torchvision's ResNet) or after
    `layer3` (DKP's ResNet-50 cut: half the channels, twice the map; `last_stride` then has no
    effect). `head`: a registered head (`reid.models.heads.HEADS`; the paper's
    `pipeline` by default) with its `head_options` (`model.<head>`); `classifier`: `per_task`
    (one head per task) or `growing` (one head whose classifier grows at each task, new rows
    from `classifier_init`: `class_means` or `random`).
    """

    backbone: str = "resnet18"
    weights: str | None = None
    classifier_input: ClassifierInput = "pooled"
    embedding: Embedding = "pooled"
    residual: bool = False
    leaky_slope: float = 0.1
    head_bn_momentum: float = 0.1
    input_size: tuple[int, int] = field(default=(256, 128))
    last_stride: int = 2
    last_layer: str = "layer4"
    head: str = "pipeline"
    head_options: dict[str, Any] = field(default_factory=dict)
    classifier: str = "per_task"
    classifier_init: str = "class_means"

    def __post_init__(self) -> None:
        self.input_size = (int(self.input_size[0]), int(self.input_size[1]))
        if self.backbone not in BACKBONES:
            raise ConfigError(f"model.backbone: {self.backbone!r} is not one of {BACKBONES}")
        if self.classifier_input not in ("pooled", "flatten"):
            raise ConfigError(
                f"model.classifier_input: {self.classifier_input!r}, use 'pooled' or 'flatten'"
            )
        if self.embedding not in ("pooled", "logits"):
            raise ConfigError(f"model.embedding: {self.embedding!r}, use 'pooled' or 'logits'")
        if self.last_stride not in (1, 2):
            raise ConfigError(f"model.last_stride: {self.last_stride!r}, use 1 or 2")
        if self.last_layer not in LAST_LAYERS:
            raise ConfigError(
                f"model.last_layer: {self.last_layer!r}, use {' or '.join(map(repr, LAST_LAYERS))}"
            )
        if min(self.input_size) < 1:
            raise ConfigError(f"model.input_size: {self.input_size} must be positive")
        if self.classifier not in ("per_task", "growing"):
            raise ConfigError(f"model.classifier: {self.classifier!r}, use 'per_task' or 'growing'")
        if self.classifier_init not in ("class_means", "random"):
            raise ConfigError(
                f"model.classifier_init: {self.classifier_init!r}, use 'class_means' or 'random'"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (tuples become lists)."""
        out = asdict(self)
        out["input_size"] = list(self.input_size)
        return out


def _weights_enum(name: str, weights: str) -> Any:
    """Resolve "imagenet" or a torchvision weight name to the weights enum member."""
    import torchvision  # imported here: the small demo ResNet needs none of it

    enum = torchvision.models.get_model_weights(name)
    if weights.lower() in ("imagenet", "default"):
        return enum.DEFAULT
    try:
        return enum[weights]
    except KeyError:
        choices = ["imagenet", *enum.__members__]
        raise ConfigError(f"model.weights: {weights!r} is not one of {choices}") from None


def checkpoint_path_for(weights_enum: Any) -> str:
    """Where torch.hub looks for the weights file: $TORCH_HOME/hub/checkpoints/<file>."""
    filename = os.path.basename(urlparse(weights_enum.url).path)
    return os.path.join(torch.hub.get_dir(), "checkpoints", filename)


def _load_resnet(name: str, weights: str | None) -> nn.Module:
    if name in TINY_WIDTHS:
        if weights is not None:
            raise ConfigError(
                f"model.weights: {weights!r}, but {name} has no pretrained weights; use "
                "weights: none, or a torchvision ResNet"
            )
        return tiny_resnet(name)
    import torchvision

    if weights is None:
        return getattr(torchvision.models, name)(weights=None)
    enum = _weights_enum(name, weights)
    try:
        return getattr(torchvision.models, name)(weights=enum)
    except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError
        path = checkpoint_path_for(enum)
        raise CheckpointError(
            f"could not load {name} {enum} weights ({type(exc).__name__}: {exc}); "
            f"offline, download {enum.url} and place it at {path}"
        ) from exc


def _set_last_stride(layer4: nn.Module, stride: int) -> None:
    """Set the stride of layer4's first block (its strided conv and its downsample)."""
    for module in layer4[0].modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (stride, stride)


def _out_channels(layer: nn.Module) -> int:
    """Channels a ResNet stage outputs: those of its last block's last BatchNorm."""
    norms = [m for m in layer[-1].modules() if isinstance(m, nn.BatchNorm2d)]
    return int(norms[-1].num_features)


def build_backbone(cfg: ModelConfig) -> tuple[nn.Module, int]:
    """The ResNet trunk (conv1 … `cfg.last_layer`) as a Sequential, and its number of output
    channels (layer4: `fc.in_features`; layer3: half of it, 1024 on ResNet-50)."""
    net = _load_resnet(cfg.backbone, cfg.weights)
    if cfg.last_stride != 2:
        _set_last_stride(net.layer4, cfg.last_stride)
    stages = [net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3]
    if cfg.last_layer == "layer3":
        return nn.Sequential(*stages), _out_channels(net.layer3)
    return nn.Sequential(*stages, net.layer4), _out_channels(net.layer4)
