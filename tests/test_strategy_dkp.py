"""DKP: the `dkp` head (outputs, samples, own task loss), the layer3 trunk and its hash
neutrality, the strategy's prototypes (faithful train-mode and corrected eval-mode extraction),
its phase on the tiny recipe, resume, and the α = 0.5 weight averaging."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from engine_helpers import TINY, chdir
from strategy_helpers import RUNS, RUNTIME, phase_one, phase_two, states_equal

from reid.config import validate_config
from reid.data.transforms import EvalTransform
from reid.engine import load_model, run_phase
from reid.engine.checkpoint import load_checkpoint
from reid.engine.growing import class_means
from reid.engine.sources import load_bank
from reid.engine.trainer import open_phase
from reid.errors import ConfigError
from reid.losses.dkp import set_triplet_loss
from reid.losses.task import TaskLoss
from reid.models import ModelConfig, MultiPipelineNet, model_signature
from reid.models.dkp_head import DkpHead, variance_kernel
from reid.runs import comparison_plan, main_chain, run_hash
from reid.seeding import derive_seed
from reid.strategies import STRATEGIES, STRATEGY_STATE, Batch, PhaseContext, method_labels
from reid.strategies.dkp import fused_with_parent

CPU = torch.device("cpu")
# The tiny recipe with DKP's model piece, at the demo's 64×32 (layer3 map 4×2, kernel 2×2).
DKP_MODEL = {
    "backbone": "resnet18",
    "weights": "none",
    "head": "dkp",
    "classifier": "growing",
    "last_layer": "layer3",
}
RECIPE = {
    "model": DKP_MODEL,
    "method": {"name": "dkp"},
    "comparison": {"methods": ["finetune", "dkp"]},
    "data": {"height": 64, "width": 32},
    "train": {
        "epochs": 2,
        "batch": {"p": 3, "k": 2, "sampler": "cross_camera"},
        "lr": 0.01,
        "scheduler": {"name": "step", "milestones": [1], "warmup": {"epochs": 1}},
        "augment": {"flip": True, "pad": 1},
        "max_batches_per_epoch": 2,
    },
}


def _net(**kw) -> MultiPipelineNet:
    torch.manual_seed(0)
    cfg = {"backbone": "resnet18", "input_size": (64, 32), "last_layer": "layer3"}
    cfg.update({"head": "dkp", "classifier": "growing", **kw})
    return MultiPipelineNet(ModelConfig(**cfg))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dkp")
    raw = yaml.safe_load(TINY.read_text())
    phase_one(path, **{key: {**raw.get(key, {}), **value} for key, value in RECIPE.items()})
    return path


def _config(workdir: Path) -> dict:
    from engine_helpers import tiny_config

    raw = yaml.safe_load(TINY.read_text())
    return tiny_config(workdir, **{k: {**raw.get(k, {}), **v} for k, v in RECIPE.items()})


# --- the head ---


def test_head_outputs_means_samples_and_their_logits() -> None:
    net = _net(head_options={"out_dim": 16, "samples": 3})
    net.add_pipeline(5)
    head = net.pipelines[0]
    assert net.out_channels == 256 and net.feature_hw == (4, 2)
    assert head.uncertainty.var_kernel == (2, 2)
    net.train()
    images = torch.randn(4, 3, 64, 32)
    draws = int(head.noise_draws)
    expected_noise = torch.randn(
        3, 4, 16, generator=torch.Generator().manual_seed(derive_seed(int(head.noise_seed), draws))
    )
    out = net(images)
    res = out.heads[0]
    assert int(head.noise_draws) == draws + 1
    assert res.logits.shape == (4, 5) and res.embedding.shape == (4, 16)
    assert res.maps["std"].shape == (4, 16) and res.maps["samples"].shape == (4, 3, 16)
    merged, logits = res.maps["merged"], res.maps["sample_logits"]
    assert merged.shape == (4, 4, 16) and logits.shape == (4, 4, 5)
    assert torch.equal(res.metric, res.embedding) and torch.equal(merged[:, 0], res.embedding)
    assert torch.equal(logits[:, 0], res.logits)
    mean, std = res.embedding, res.maps["std"]
    for s in range(3):
        draw = mean + std * expected_noise[s]
        assert torch.allclose(merged[:, 1 + s], draw / (draw.norm(dim=1, keepdim=True) + 1e-4))
    # One BatchNorm over the 4·(1+3) means and samples together (batch statistics), then W.
    flat = merged.reshape(16, 16)
    normed = (flat - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + 1e-5)
    expected = (normed @ head.classifier.weight.t()).reshape(4, 4, 5)
    assert torch.allclose(logits, expected, atol=1e-5)
    assert head.classifier.bias is None and not head.neck.bias.requires_grad
    net.eval()
    with torch.no_grad():
        res = net(images).heads[0]
    assert res.maps["merged"].shape == (4, 1, 16) and int(head.noise_draws) == draws + 1


def test_head_samples_repeat_after_a_reload_and_differ_with_the_run_seed() -> None:
    net = _net(head_options={"out_dim": 8, "samples": 2})
    net.add_pipeline(3)
    net.train()
    images = torch.randn(2, 3, 64, 32)
    net(images)
    saved = copy.deepcopy(net.state_dict())
    after = net(images).heads[0].maps["samples"]
    again = _net(head_options={"out_dim": 8, "samples": 2})
    again.add_pipeline(3)
    again.load_state_dict(saved)
    again.train()
    assert torch.equal(again(images).heads[0].maps["samples"], after)
    torch.manual_seed(1)
    other = DkpHead(256, 3, (4, 2), out_dim=8, samples=2)
    assert int(other.noise_seed) != int(net.pipelines[0].noise_seed)


def test_head_task_loss_is_the_mean_ce_over_draws_plus_the_weighted_set_triplet() -> None:
    net = _net(head_options={"out_dim": 8, "samples": 2, "set_triplet_weight": 0.7})
    net.add_pipeline(3)
    net.train()
    pids = torch.tensor([0, 0, 1, 1, 2, 2])
    res = net(torch.randn(6, 3, 64, 32)).heads[0]
    losses = TaskLoss(ce=2.0, triplet=5.0, label_smoothing=0.1)
    total, terms = res.supervised_loss(pids, losses)
    logits = res.maps["sample_logits"]
    with torch.no_grad():
        ce = sum(F.cross_entropy(logits[:, s], pids, label_smoothing=0.1) for s in range(3)) / 3
        triplet = set_triplet_loss(res.maps["merged"], pids)
    assert set(terms) == {"ce", "set_triplet"}
    assert float(terms["ce"]) == pytest.approx(float(ce), rel=1e-6)
    assert float(total.detach()) == pytest.approx(float(2.0 * ce + 0.7 * triplet), rel=1e-6)
    strategy = STRATEGIES.get("finetune")(None)
    strategy.losses = losses
    batch = Batch(torch.zeros(6), pids, pids, pids, 0)
    out = type("Out", (), {"heads": [res]})()
    assert float(strategy.task_loss(out, batch)[0].detach()) == pytest.approx(
        float(total.detach()), rel=1e-6
    )


def test_head_grows_its_classifier_and_the_kernel_adapts_or_is_refused() -> None:
    net = _net(head_options={"out_dim": 8, "samples": 1})
    net.add_pipeline(3)
    old = net.pipelines[0].classifier.weight.detach().clone()
    rows = F.normalize(torch.randn(2, 8), dim=1)
    net.add_pipeline(2, rows)
    weight = net.pipelines[0].classifier.weight
    assert torch.equal(weight[:3], old) and torch.equal(weight[3:], rows)
    assert net.label_offset(1) == 3
    assert variance_kernel((16, 8)) == (8, 8) and variance_kernel((4, 2)) == (2, 2)
    assert variance_kernel((1, 1)) == (1, 1) and variance_kernel((16, 8), [3, 5]) == (3, 5)
    with pytest.raises(ConfigError, match="model.dkp.var_kernel"):
        _net(head_options={"var_kernel": [8, 8]}).add_pipeline(3)


def test_layer3_trunk_of_resnet50_is_the_authors_map() -> None:
    net = MultiPipelineNet(
        ModelConfig(backbone="resnet50", input_size=(256, 128), last_layer="layer3", head="dkp")
    )
    net.add_pipeline(4)
    assert net.out_channels == 1024 and net.feature_hw == (16, 8)
    assert net.pipelines[0].uncertainty.var_kernel == (8, 8)
    assert model_signature(net)["last_layer"] == "layer3"


def test_last_layer_enters_a_spec_only_when_layer3() -> None:
    raw = yaml.safe_load(TINY.read_text())
    plain = validate_config(copy.deepcopy(raw))
    explicit = validate_config({**raw, "model": {**raw["model"], "last_layer": "layer4"}})
    cut = validate_config({**raw, "model": {**raw["model"], "last_layer": "layer3"}})
    assert plain["model"]["last_layer"] == "layer4"
    for a, b in zip(main_chain(plain), main_chain(explicit), strict=True):
        assert a == b and run_hash(a) == run_hash(b)
    assert "last_layer" not in main_chain(plain)[0]["model"]
    assert main_chain(cut)[0]["model"]["last_layer"] == "layer3"
    assert run_hash(main_chain(cut)[0]) != run_hash(main_chain(plain)[0])
    assert "last_layer" not in model_signature(
        _net(last_layer="layer4", head="pipeline", classifier="per_task")
    )


# --- registration and the comparison ---


def test_dkp_brings_its_model_piece_and_needs_its_head() -> None:
    cls = STRATEGIES.get("dkp")
    assert method_labels()["dkp"] == "DKP (CVPR'24)" and cls.order > STRATEGIES.get("spd").order
    raw = yaml.safe_load(TINY.read_text())
    with pytest.raises(ConfigError, match="model.head"):
        validate_config({**raw, "method": {"name": "dkp"}})
    config = validate_config({**raw, "comparison": {"methods": ["finetune", "dkp"]}})
    models = {e["method"]: e["specs"][-1]["model"] for e in comparison_plan(config)}
    assert models["dkp"]["head"] == "dkp" and models["dkp"]["last_layer"] == "layer3"
    assert models["dkp"]["classifier"] == "growing" and "head" not in models["finetune"]
    defaults = config["method"]["dkp"]
    assert defaults == {
        "weight": 0.1,
        "relation_temperature": 0.1,
        "affinity_temperature": 0.1,
        "alpha": 0.5,
        "prototype_mode": "train",
        "kl_target": "gradient",
        "prototype_noise": "global",
    }
    assert config["model"]["dkp"]["samples"] == 6
    assert config["model"]["dkp"]["set_triplet_weight"] == 1.5
    # A spec that bypassed validation: one line naming the key, before anything is trained.
    model = _net(head="pipeline", classifier="per_task")
    ctx = PhaseContext({}, model, 1, CPU, Path("."), None, lambda task: None)
    with pytest.raises(ConfigError, match="model.head dkp"):
        cls(config["method"]).before_phase(ctx)


# --- prototypes ---


def _parent_features(workdir: Path, spec: dict, train_mode: bool):
    """The parent model (a copy), its per-image mean and std features of the previous domain
    through the head (one batch: the tiny domain has < 128 images), and the copy after it."""
    with chdir(workdir):
        parent, _ = load_model(RUNS / spec["parent"] / "model.pt")
        first = main_chain(_config(workdir))[0]
        bank = load_bank(first["task"], "train", first["data"])
    parent.train(train_mode)
    with torch.no_grad():
        res = parent(EvalTransform()(bank.images), pipelines=[0]).heads[0]
    return parent, res.embedding, res.maps["std"], bank.pids


def _loop_statistics(means, stds, pids):
    out = {}
    for pid in sorted(set(pids.tolist())):
        rows = [i for i in range(len(pids)) if int(pids[i]) == pid]
        m = torch.stack([means[i] for i in rows]).double()
        s = torch.stack([stds[i] for i in rows]).double()
        mu = m.mean(0)
        out[pid] = (mu, torch.sqrt((s**2).mean(0) + (m**2).mean(0) - mu**2))
    return out


def _bn_buffers(model) -> dict:
    return {k: v.clone() for k, v in model.base.state_dict().items() if "running" in k}


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_prototypes_are_the_statistics_of_the_parent_features(workdir: Path, mode: str) -> None:
    config = _config(workdir)
    with chdir(workdir):
        spec = phase_two(config, "dkp", prototype_mode=mode)
        phase = open_phase(spec, Path("results/dkp-open") / mode, RUNTIME, RUNS)
        new_bank = load_bank(spec["task"], "train", spec["data"])
    parent, means, stds, pids = _parent_features(workdir, spec, train_mode=mode == "train")
    found = phase.strategy.prototypes
    expected = _loop_statistics(means, stds, pids)
    assert found["pids"].tolist() == sorted(expected)
    for row, pid in enumerate(found["pids"].tolist()):
        assert torch.allclose(found["means"][row].double(), expected[pid][0], atol=1e-6)
        assert torch.allclose(found["stds"][row].double(), expected[pid][1], atol=1e-6)
    model, offset = phase.model, phase.model.label_offset(1)
    rows = phase.model.pipelines[0].classifier.weight.detach()[offset:]
    untouched = _parent_features(workdir, spec, train_mode=False)[0]
    if mode == "train":  # the extraction's batch statistics went into the model it trains
        assert states_equal(_bn_buffers(model), _bn_buffers(parent))
        assert not states_equal(_bn_buffers(model), _bn_buffers(untouched))
        assert int(model.pipelines[0].noise_draws) == int(untouched.pipelines[0].noise_draws) + 1
        expected_rows = class_means(parent, new_bank.images, new_bank.pids, 0, CPU)
    else:  # no side effect: the parent's statistics and its class means
        assert states_equal(_bn_buffers(model), _bn_buffers(untouched))
        expected_rows = class_means(untouched, new_bank.images, new_bank.pids, 0, CPU)
    assert torch.allclose(rows, expected_rows, atol=1e-6)


def test_prototype_noise_is_global_or_seeded_per_batch(workdir: Path) -> None:
    config = _config(workdir)
    with chdir(workdir):
        seeded = open_phase(
            phase_two(config, "dkp", prototype_noise="seeded"), Path("results/n1"), RUNTIME, RUNS
        ).strategy
        plain = open_phase(phase_two(config, "dkp"), Path("results/n2"), RUNTIME, RUNS).strategy
    batch = Batch(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1), 1, epoch=1)
    assert plain.noise_generator(batch) is None
    draws = [torch.randn(3, generator=seeded.noise_generator(batch)) for _ in range(2)]
    assert torch.equal(*draws)
    expected = torch.Generator().manual_seed(derive_seed(0, 0, 1, 0))
    assert torch.equal(draws[0], torch.randn(3, generator=expected))
    batch.step = 1
    assert not torch.equal(draws[0], torch.randn(3, generator=seeded.noise_generator(batch)))


# --- training, resume, fusion ---


def test_a_dkp_phase_trains_logs_its_terms_and_averages_with_its_parent(workdir: Path) -> None:
    config = _config(workdir)
    trained = {}

    def keep(epoch, model, row):
        trained.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    with chdir(workdir):
        first, _ = main_chain(config)
        spec = phase_two(config, "dkp")
        run_dir = RUNS / run_hash(spec)
        metrics = run_phase(spec, run_dir, RUNTIME, epoch_callback=keep)
        history = (run_dir / "history.csv").read_text().splitlines()[0].split(",")
        first_history = (RUNS / run_hash(first) / "history.csv").read_text().splitlines()[0]
        fused = load_checkpoint(run_dir / "model.pt")["model"]
        parent = load_checkpoint(RUNS / spec["parent"] / "model.pt")["model"]
        state = load_checkpoint(run_dir / STRATEGY_STATE, require="state")["state"]
    assert history[2:5] == ["ce", "set_triplet", "prototype_kl"]
    assert first_history.split(",")[2:4] == ["ce", "set_triplet"]  # phase 1: the head's loss
    assert metrics["num_classes"] == [6, 6] and state["means"].shape == (6, 2048)
    key = "pipelines.0.classifier.weight"
    assert fused[key].shape[0] == 12 and parent[key].shape[0] == 6
    assert torch.equal(fused[key][6:], trained[key][6:])  # new rows: untouched
    for name, value in fused.items():
        if name.endswith(("noise_seed", "noise_draws")):
            assert torch.equal(value, trained[name])
        elif value.is_floating_point():
            old = parent[name]
            expected = 0.5 * trained[name][: len(old)] + 0.5 * old
            assert torch.allclose(value[: len(old)], expected, atol=1e-6), name
        else:  # BatchNorm counters, fused and truncated as the authors
            assert int(value) == int(0.5 * int(trained[name]) + 0.5 * int(parent[name])), name
    assert not torch.equal(fused["base.0.weight"], trained["base.0.weight"])


def test_fusion_weight_alpha_and_new_rows() -> None:
    trained = {
        "w": torch.tensor([1.0, 3.0]),
        "c.weight": torch.tensor([[2.0], [4.0], [9.0]]),
        "bn.num_batches_tracked": torch.tensor(7),
        "h.noise_draws": torch.tensor(11),
    }
    parent = {
        "w": torch.tensor([5.0, -1.0]),
        "c.weight": torch.tensor([[0.0], [8.0]]),
        "bn.num_batches_tracked": torch.tensor(2),
        "h.noise_draws": torch.tensor(3),
    }
    fused = fused_with_parent(trained, parent, 0.25)
    assert torch.allclose(fused["w"], torch.tensor([4.0, 0.0]))
    assert torch.allclose(fused["c.weight"], torch.tensor([[0.5], [7.0], [9.0]]))
    assert int(fused["bn.num_batches_tracked"]) == 3 and int(fused["h.noise_draws"]) == 11


@pytest.mark.parametrize("noise", ["global", "seeded"])
def test_interrupted_and_resumed_equals_uninterrupted(workdir: Path, noise: str) -> None:
    config = _config(workdir)

    class Interrupt(Exception):
        pass

    def stop(epoch, model, row):
        if epoch == 2:
            raise Interrupt

    with chdir(workdir):
        spec = phase_two(config, "dkp", prototype_noise=noise)
        spec["train"]["epochs"] = 3
        straight, stopped = RUNS / f"dkp-straight-{noise}", RUNS / f"dkp-stopped-{noise}"
        run_phase(copy.deepcopy(spec), straight, RUNTIME)
        with pytest.raises(Interrupt):
            run_phase(copy.deepcopy(spec), stopped, RUNTIME, epoch_callback=stop)
        assert (stopped / "state" / "last.pt").is_file()
        run_phase(copy.deepcopy(spec), stopped, RUNTIME)
        a, b = (load_checkpoint(d / "model.pt")["model"] for d in (straight, stopped))
        rows = [(d / "history.csv").read_text().splitlines() for d in (straight, stopped)]
    assert states_equal(a, b)
    strip = [[line.rsplit(",", 1)[0] for line in r] for r in rows]  # without `seconds`
    assert strip[0] == strip[1]


def test_kl_target_detached_changes_the_gradient_not_the_value(workdir: Path) -> None:
    config = _config(workdir)
    grads, values = {}, {}
    images = torch.rand(6, 3, 64, 32, generator=torch.Generator().manual_seed(0))
    for target in ("gradient", "detached"):
        with chdir(workdir):
            spec = phase_two(config, "dkp", kl_target=target, prototype_noise="seeded")
            phase = open_phase(spec, Path("results/kl") / target, RUNTIME, RUNS)
        batch = Batch(images, torch.arange(6), torch.zeros(6), torch.ones(6), 1)
        phase.model.train()  # same parent, same extraction: both forwards draw the same samples
        out = phase.model(batch.images, pipelines=[1])
        parts = phase.strategy.loss(phase.model, out, batch)
        values[target] = float(parts.parts["prototype_kl"])
        grads[target] = torch.autograd.grad(parts.total, out.embeddings[-1])[0]
    assert values["gradient"] == pytest.approx(values["detached"], rel=1e-6)
    assert not torch.allclose(grads["gradient"], grads["detached"])
