"""Heads: the registry, the BNNeck head, the growing classifier and its class-mean rows."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reid.engine.growing import add_task, class_means
from reid.errors import ConfigError
from reid.models import (
    HEADS,
    HeadOutput,
    ModelConfig,
    MultiPipelineNet,
    model_signature,
    neutral_model,
    register_head,
)
from reid.models.bnneck import BNNeck, gem_pool

SMALL = (64, 32)


def _net(**kw) -> MultiPipelineNet:
    torch.manual_seed(0)
    return MultiPipelineNet(ModelConfig(backbone="resnet18", input_size=SMALL, **kw))


def test_registry_lists_the_paper_pipeline_first_and_bnneck() -> None:
    assert HEADS.names()[:2] == ["pipeline", "bnneck"]
    assert not HEADS.get("pipeline").growable and HEADS.get("bnneck").growable


def test_bnneck_bias_is_frozen_and_the_classifier_has_no_bias() -> None:
    head = BNNeck(16, 5)
    assert isinstance(head.bn, nn.BatchNorm1d)
    assert not head.bn.bias.requires_grad and torch.equal(head.bn.bias, torch.zeros(16))
    assert head.bn.weight.requires_grad and torch.equal(head.bn.weight, torch.ones(16))
    assert head.classifier.bias is None
    trainable = {name for name, p in head.named_parameters() if p.requires_grad}
    assert trainable == {"bn.weight", "classifier.weight"}
    opt = torch.optim.SGD([p for p in head.parameters() if p.requires_grad], lr=1.0)
    out = head(torch.randn(8, 16, 4, 2))
    F.cross_entropy(out.logits, torch.arange(8) % 5).backward()
    opt.step()
    assert torch.equal(head.bn.bias, torch.zeros(16))


def test_gem_is_the_power_mean_and_avg_the_mean() -> None:
    fmap = torch.rand(3, 4, 5, 2) + 0.1
    expected = (fmap**3).mean(dim=(2, 3)) ** (1 / 3)
    assert torch.allclose(gem_pool(fmap, 3.0), expected, atol=1e-6)
    gem = BNNeck(4, 2, pooling="gem", gem_p=3.0).eval()
    avg = BNNeck(4, 2, pooling="avg").eval()
    assert torch.allclose(gem(fmap).metric, expected, atol=1e-6)
    assert torch.allclose(avg(fmap).metric, fmap.mean(dim=(2, 3)))
    # GeM clamps at 1e-6: negative activations count as 1e-6.
    assert torch.allclose(gem_pool(-torch.ones(1, 1, 2, 2), 3.0), torch.tensor([[1e-6]]))


def test_retrieval_feature_is_the_normalised_pooled_or_the_bn_feature() -> None:
    torch.manual_seed(1)
    fmap = torch.rand(6, 8, 3, 2)
    pre = BNNeck(8, 3, feature="pre_bn")
    post = BNNeck(8, 3, feature="post_bn")
    post.load_state_dict(pre.state_dict())
    for head in (pre, post):
        head.train()
        head(fmap)  # move the running statistics
        head.eval()
    a, b = pre(fmap), post(fmap)
    assert torch.allclose(a.embedding, F.normalize(a.metric, dim=1))
    assert torch.allclose(b.embedding, post.bn(b.metric))
    assert torch.allclose(a.logits, pre.classifier(pre.bn(a.metric)))
    assert torch.equal(a.metric, b.metric)


def test_the_paper_pipeline_is_unchanged_and_gives_its_pooled_block2_as_metric() -> None:
    net = _net()
    net.add_pipeline(4)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, *SMALL))
    assert torch.equal(out.features[0], out.block2[0].mean(dim=(2, 3)))
    assert isinstance(out.heads[0], HeadOutput)
    # The signature of the paper's model has exactly its old keys.
    assert set(model_signature(net)) == {
        "backbone",
        "num_classes",
        "classifier_input",
        "embedding",
        "residual",
        "feature_hw",
        "last_stride",
    }


def test_per_task_bnneck_heads_are_frozen_like_pipelines() -> None:
    net = _net(head="bnneck", head_options={"pooling": "avg"})
    net.add_pipeline(3)
    net.add_pipeline(4)
    net.freeze_pipelines([0])
    net.train()
    assert len(net.pipelines) == 2 and net.frozen == {0}
    assert not net.pipelines[0].training and net.pipelines[1].training
    assert [net.label_offset(t) for t in range(2)] == [0, 0]
    with torch.no_grad():
        out = net(torch.randn(2, 3, *SMALL), pipelines=[0, 1])
    assert [t.shape[1] for t in out.logits] == [3, 4]
    assert out.block2 == []


def test_growing_classifier_serves_every_task_with_offset_labels() -> None:
    net = _net(head="bnneck", classifier="growing", classifier_init="random")
    assert add_task(net, 3) == 0
    old = net.pipelines[0].classifier.weight.detach().clone()
    assert add_task(net, 4) == 1
    assert len(net.pipelines) == 1 and net.num_tasks == 2
    assert [net.label_offset(t) for t in range(2)] == [0, 3]
    weight = net.pipelines[0].classifier.weight
    assert weight.shape == (7, 512) and torch.equal(weight[:3], old)
    net.freeze_pipelines([0])  # the shared head also serves task 1: it keeps learning
    assert net.frozen == set() and all(
        p.requires_grad for p in net.pipelines[0].classifier.parameters()
    )
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, *SMALL), pipelines=[0, 1])
    assert [t.shape[1] for t in out.logits] == [7, 7]
    assert out.logits[0] is out.logits[1]
    assert model_signature(net)["num_classes"] == [3, 4]
    assert model_signature(net)["classifier"] == "growing"


def test_new_rows_are_the_normalised_class_means_and_old_rows_stay() -> None:
    net = _net(head="bnneck", classifier="growing")
    add_task(net, 3)
    net.train()
    g = torch.Generator().manual_seed(2)
    images = torch.randint(0, 256, (10, 3, *SMALL), generator=g, dtype=torch.uint8)
    pids = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 3, 0])
    old = net.pipelines[0].classifier.weight.detach().clone()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    add_task(net, 4, SimpleNamespace(images=images, pids=pids))
    # By hand: eval-mode embeddings (the normalised pre-BN feature), mean per label, normalise.
    reference = MultiPipelineNet(net.cfg)
    reference.add_pipeline(3)
    reference.load_state_dict(state)
    reference.eval()
    from reid.data.transforms import EvalTransform

    with torch.no_grad():
        feats = reference(EvalTransform()(images), pipelines=[0]).embeddings[0]
    expected = torch.stack([F.normalize(feats[pids == c].mean(0), dim=0) for c in range(4)])
    weight = net.pipelines[0].classifier.weight
    assert torch.allclose(weight[3:], expected, atol=1e-5)
    assert torch.equal(weight[:3], old)
    assert net.training  # the mode is restored
    assert torch.allclose(class_means(reference, images, pids, 0, torch.device("cpu")), expected)


def test_growing_needs_a_growable_head_and_says_which_keys_disagree() -> None:
    with pytest.raises(ConfigError) as info:
        _net(classifier="growing")
    message = str(info.value)
    assert "model.classifier" in message and "model.head" in message and "\n" not in message


def test_neutral_model_drops_every_key_the_paper_model_does_not_use() -> None:
    paper = {
        "backbone": "resnet50",
        "weights": "imagenet",
        "classifier_input": "pooled",
        "embedding": "pooled",
        "residual": False,
        "last_stride": 2,
        "head_bn_momentum": 0.1,
    }
    filled = {
        **paper,
        "head": "pipeline",
        "bnneck": {"pooling": "gem", "gem_p": 3, "feature": "pre_bn"},
        "classifier": "per_task",
        "classifier_init": "class_means",
    }
    assert neutral_model(filled) == paper
    recipe = {**filled, "head": "bnneck", "classifier": "growing"}
    assert neutral_model(recipe) == {
        "backbone": "resnet50",
        "weights": "imagenet",
        "last_stride": 2,
        "head": "bnneck",
        "bnneck": {"pooling": "gem", "gem_p": 3, "feature": "pre_bn"},
        "classifier": "growing",
        "classifier_init": "class_means",
    }


def test_a_new_head_is_one_registration() -> None:
    @register_head("toy_head_for_test", options={"width": {"type": "integer", "default": 4}})
    class Toy(nn.Module):
        def __init__(self, channels: int, classes: int, width: int) -> None:
            super().__init__()
            self.reduce = nn.Linear(channels, width)
            self.classifier = nn.Linear(width, classes)

        @classmethod
        def from_config(cls, channels, classes, feature_hw, cfg):
            return cls(channels, classes, **cfg.head_options)

        def forward(self, fmap):
            feature = self.reduce(fmap.mean(dim=(2, 3)))
            return HeadOutput(self.classifier(feature), feature, feature)

    try:
        net = _net(head="toy_head_for_test", head_options={"width": 6})
        net.add_pipeline(3)
        out = net(torch.randn(2, 3, *SMALL))
        assert out.embeddings[0].shape == (2, 6) and out.logits[0].shape == (2, 3)
    finally:
        HEADS._items.pop("toy_head_for_test")


def test_the_schema_takes_head_names_and_options_from_the_registry() -> None:
    import yaml

    from reid.config import SCHEMA_PATH, load_schema

    raw = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))["properties"]["model"]
    model = load_schema()["properties"]["model"]["properties"]
    assert model["head"]["enum"] == HEADS.names()
    assert "enum" not in raw["properties"]["head"]
    for name, spec in HEADS.items():
        if spec.options is not None:
            assert model[name] == spec.options
