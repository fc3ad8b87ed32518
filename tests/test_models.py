"""Backbone + pipelines: shapes, residual, freezing, signature, offline weights."""

from __future__ import annotations

import subprocess
import sys
import urllib.error

import pytest
import torch
import torchvision

from reid.errors import CheckpointError, ConfigError
from reid.models import ModelConfig, MultiPipelineNet, Pipeline, build_backbone, model_signature

SMALL = (64, 32)


def _net(**kw) -> MultiPipelineNet:
    torch.manual_seed(0)
    return MultiPipelineNet(ModelConfig(**kw))


@pytest.mark.parametrize(("backbone", "channels"), [("resnet18", 512), ("resnet50", 2048)])
@pytest.mark.parametrize("classifier_input", ["pooled", "flatten"])
def test_block_shapes_at_256x128(backbone: str, channels: int, classifier_input: str) -> None:
    net = _net(backbone=backbone, classifier_input=classifier_input)
    assert net.out_channels == channels
    assert net.feature_hw == (8, 4)
    idx = net.add_pipeline(7)
    head = net.pipelines[idx]
    assert head.block1[0].out_channels == channels // 2
    assert head.block1[0].kernel_size == (1, 1)
    assert head.block2[0].kernel_size == (3, 3)
    assert head.block2[0].out_channels == channels
    expected_in = channels * 8 * 4 if classifier_input == "flatten" else channels
    assert head.classifier.in_features == expected_in
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 256, 128))
    assert out.base.shape == (2, channels, 8, 4)
    assert head.block1(out.base).shape == (2, channels // 2, 8, 4)
    assert out.block2[0].shape == (2, channels, 8, 4)
    assert out.logits[0].shape == (2, 7)
    assert out.embeddings[0].shape == (2, channels)
    assert torch.allclose(out.embeddings[0], out.block2[0].mean(dim=(2, 3)))


def test_logits_embedding_and_forward_order() -> None:
    net = _net(input_size=SMALL, embedding="logits")
    net.add_pipeline(5)
    net.add_pipeline(3)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, *SMALL), pipelines=[1, 0])
    assert [t.shape[1] for t in out.logits] == [3, 5]
    assert torch.equal(out.embeddings[0], out.logits[0])
    with torch.no_grad():
        none = net(torch.randn(2, 3, *SMALL), pipelines=[])
    assert none.logits == [] and none.base.shape == (2, 512, 2, 1)


@pytest.mark.parametrize("residual", [False, True])
def test_residual_connection(residual: bool) -> None:
    torch.manual_seed(0)
    head = Pipeline(16, 4, feature_hw=(4, 2), residual=residual, leaky_slope=0.2).eval()
    x = torch.randn(3, 16, 4, 2)
    with torch.no_grad():
        res = head(x)
        plain = head.block2(head.block1(x))
    expected = plain + x if residual else plain
    assert torch.allclose(res.block2, expected)
    assert head.block1[2].negative_slope == 0.2


def test_last_stride_one_doubles_the_map() -> None:
    net = _net(input_size=(256, 128), last_stride=1)
    assert net.feature_hw == (16, 8)
    trunk, channels = build_backbone(ModelConfig(backbone="resnet50", last_stride=1))
    with torch.no_grad():
        assert trunk.eval()(torch.zeros(1, 3, 256, 128)).shape == (1, channels, 16, 8)


def test_freeze_keeps_params_and_bn_stats() -> None:
    net = _net(input_size=SMALL)
    net.add_pipeline(4)
    net.freeze_pipelines([0])
    net.add_pipeline(4)
    net.train()
    assert not net.pipelines[0].training and net.pipelines[1].training
    frozen_before = {k: v.clone() for k, v in net.pipelines[0].state_dict().items()}
    base_before = [p.detach().clone() for p in net.base.parameters()]
    head_before = [p.detach().clone() for p in net.pipelines[1].parameters()]
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        x = torch.randn(4, 3, *SMALL, generator=gen)
        y = torch.tensor([0, 1, 2, 3])
        out = net(x, pipelines=[0, 1])
        loss = sum(torch.nn.functional.cross_entropy(lg, y) for lg in out.logits)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.train()
    assert not net.pipelines[0].training
    for k, v in net.pipelines[0].state_dict().items():
        assert torch.equal(v, frozen_before[k]), k
    assert all(not p.requires_grad for p in net.pipelines[0].parameters())
    assert any(
        not torch.equal(a, b) for a, b in zip(base_before, net.base.parameters(), strict=True)
    )
    assert any(
        not torch.equal(a, b)
        for a, b in zip(head_before, net.pipelines[1].parameters(), strict=True)
    )
    assert net.frozen == {0}
    with pytest.raises(IndexError):
        net.freeze_pipelines([5])


def test_freeze_base_keeps_backbone_fixed() -> None:
    net = _net(input_size=SMALL)
    net.add_pipeline(4)
    net.freeze_base()
    net.train()
    assert not net.base.training and net.pipelines[0].training and net.base_frozen
    before = {k: v.clone() for k, v in net.base.state_dict().items()}
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    out = net(torch.randn(4, 3, *SMALL), pipelines=[0])
    torch.nn.functional.cross_entropy(out.logits[0], torch.tensor([0, 1, 2, 3])).backward()
    opt.step()
    assert all(torch.equal(v, before[k]) for k, v in net.base.state_dict().items())


def test_model_signature() -> None:
    net = _net(input_size=SMALL, classifier_input="flatten", residual=True)
    net.add_pipeline(6)
    net.add_pipeline(9)
    sig = model_signature(net)
    assert sig == {
        "backbone": "resnet18",
        "num_classes": [6, 9],
        "classifier_input": "flatten",
        "embedding": "pooled",
        "residual": True,
        "feature_hw": [2, 1],
        "last_stride": 2,
    }


def test_bad_config_values() -> None:
    with pytest.raises(ConfigError):
        ModelConfig(backbone="vgg16")
    with pytest.raises(ConfigError):
        ModelConfig(embedding="gap")
    with pytest.raises(ConfigError):
        ModelConfig(last_stride=3)


def test_offline_imagenet_weights_name_the_file(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", no_network)
    with pytest.raises(CheckpointError) as err:
        build_backbone(ModelConfig(backbone="resnet18", weights="imagenet"))
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert str(expected) in str(err.value)
    with pytest.raises(ConfigError):
        build_backbone(ModelConfig(backbone="resnet18", weights="IMAGENET9K"))


def test_tiny_resnet_is_a_small_resnet_trunk_without_torchvision() -> None:
    """The demo backbone: torchvision's trunk layout with fewer channels; seeded; no weights to
    download; building it imports no torchvision (a job's start-up is shorter)."""
    torch.manual_seed(0)
    net = MultiPipelineNet(ModelConfig(backbone="tiny_resnet", input_size=(64, 32), last_stride=1))
    torch.manual_seed(0)
    again = MultiPipelineNet(
        ModelConfig(backbone="tiny_resnet", input_size=(64, 32), last_stride=1)
    )
    assert net.out_channels == 256 and net.feature_hw == (4, 2)
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True)
    )
    assert net.base(torch.zeros(2, 3, 64, 32)).shape == (2, 256, 4, 2)
    with pytest.raises(ConfigError, match="no pretrained weights"):
        MultiPipelineNet(ModelConfig(backbone="tiny_resnet", weights="imagenet"))
    code = (
        "import sys; from reid.models import ModelConfig, MultiPipelineNet; "
        "MultiPipelineNet(ModelConfig(backbone='tiny_resnet', input_size=(64, 32))); "
        "print('torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
