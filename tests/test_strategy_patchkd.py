"""PatchKD through the trainer (reid/strategies/patchkd.py): a three-step chain on the tiny
recipe with its own model piece (per-task BNNeck heads, average pooling, BN feature). Every term
is logged; the patch network and patch heads learn, live in strategy.pt and never in model.pt,
and the next step starts from them; a resumed run equals an uninterrupted one; each term sends
gradient where the authors' code does; the faithful scheduler trains later steps at 1 %."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from engine_helpers import TINY, chdir, prepare_all, tiny_config
from strategy_helpers import RUNS, RUNTIME, states_equal
from torch.optim.optimizer import register_optimizer_step_pre_hook

from reid.config import deep_merge, validate_config
from reid.engine import run_phase
from reid.engine.checkpoint import load_checkpoint
from reid.engine.sources import epoch_batches
from reid.engine.trainer import _batch, open_phase
from reid.errors import ConfigError
from reid.losses.patchkd import logit_distillation
from reid.models import ModelConfig, MultiPipelineNet
from reid.runs import main_chain, method_model, run_hash
from reid.strategies import STRATEGIES, STRATEGY_STATE, PhaseContext, make_strategy
from reid.strategies.patchkd import build_patch_heads, side_by_side

TERMS = ["kd", "pd", "rd", "div", "conf"]
THIRD = {
    "name": "msmt",
    "dataset": "msmt17",
    "source": "synthetic",
    "synthetic": {
        "style": "msmt",
        "num_train_ids": 6,
        "num_test_ids": 6,
        "images_per_id": 4,
        "height": 64,
        "width": 32,
    },
}
# Phase 1: 3 epochs at 1, 0.1, 0.01 × lr (milestones 1, 2); later phases 2 epochs.
TRAIN = {
    "first_epochs": 3,
    "epochs": 2,
    "optimizer": "adam",
    "lr": 3.5e-4,
    "weight_decay": 5e-4,
    "scheduler": {"name": "step", "milestones": [1, 2], "gamma": 0.1},
    "loss": {"triplet": 1.0, "triplet_margin": 0.3},
}


def chain_config(path: Path, **patchkd) -> dict:
    """Three tiny domains at 64×32, last stride 1 (a 4×2 map), PatchKD's own model piece."""
    raw = yaml.safe_load(TINY.read_text())
    model = deep_merge(raw["model"], {"last_stride": 1, **STRATEGIES.get("patchkd").model})
    return tiny_config(
        path,
        tasks=[*raw["tasks"], THIRD],
        data={"height": 64, "width": 32, "root": str(path / "resources" / "datasets")},
        model=model,
        method={"name": "patchkd", "patchkd": patchkd},
        train=deep_merge(raw["train"], TRAIN),
        comparison={"methods": ["finetune", "patchkd"], "seeds": [0]},
    )


class LearningRates:
    """The rate of every parameter group at each optimiser step (read inside the step)."""

    def __enter__(self) -> list[list[float]]:
        self.seen: list[list[float]] = []
        self.handle = register_optimizer_step_pre_hook(
            lambda opt, args, kwargs: self.seen.append([g["lr"] for g in opt.param_groups])
        )
        return self.seen

    def __exit__(self, *exc: object) -> None:
        self.handle.remove()


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict:
    """The chain trained straight through; the rates each later phase stepped with."""
    path = tmp_path_factory.mktemp("patchkd")
    with chdir(path):
        config = chain_config(path)
        prepare_all(config)
        specs = main_chain(config)
        rates = []
        for spec in specs:
            with LearningRates() as seen:
                run_phase(spec, RUNS / run_hash(spec), RUNTIME)
            rates.append(seen)
    return {"workdir": path, "config": config, "specs": specs, "rates": rates}


def _dir(chain: dict, phase: int) -> Path:
    return chain["workdir"] / RUNS / run_hash(chain["specs"][phase - 1])


def _open(chain: dict, spec: dict, name: str):
    with chdir(chain["workdir"]):
        return open_phase(spec, RUNS / name, RUNTIME, RUNS)


def _first_batch(phase):
    source, indices = epoch_batches(phase.sources, 0, None)[0]
    batch = phase.strategy.before_step(_batch(source, indices, torch.device("cpu"), 0, 0))
    batch.images = phase.transform(batch.images, torch.Generator().manual_seed(0))
    return batch


def test_a_phase_logs_every_term_and_keeps_the_patch_network_out_of_model_pt(chain) -> None:
    run = _dir(chain, 2)
    history = (run / "history.csv").read_text().splitlines()
    header = history[0].split(",")
    assert header[header.index("lr") + 1 :][:7] == ["ce", "triplet", *TERMS]
    for row in history[1:]:
        values = dict(zip(header, row.split(","), strict=True))
        assert all(float(values[k]) != 0 and abs(float(values[k])) < 1e4 for k in TERMS)
    saved = load_checkpoint(run / STRATEGY_STATE, require="state")
    model = load_checkpoint(run / "model.pt")["model"]
    fresh = _open(chain, chain["specs"][1], "fresh-2")
    assert set(saved["owned"]) == {"patch_net", "patch_heads"}
    assert set(model) == set(fresh.model.state_dict())  # the model's own weights only
    assert not any("scorer" in key for key in model)
    # Both owned modules were optimised (they start from the run's seed).
    assert not states_equal(fresh.strategy.patch_net.state_dict(), saved["owned"]["patch_net"])
    heads = saved["owned"]["patch_heads"]
    assert not states_equal(fresh.strategy.patch_heads.state_dict(), heads)
    assert len(fresh.strategy.patch_heads) == 2 and "1.classifier.weight" in heads
    # The old head learns (the authors' optimiser holds every head); the teacher does not.
    parent = load_checkpoint(_dir(chain, 1) / "model.pt")["model"]
    key = "pipelines.0.classifier.weight"
    assert not torch.equal(model[key], parent[key])
    assert torch.equal(fresh.strategy.teacher.state_dict()[key], parent[key])
    assert all(p.requires_grad for p in fresh.model.pipelines[0].classifier.parameters())


def test_the_next_phase_starts_from_the_parents_patch_network_and_model(chain) -> None:
    saved = load_checkpoint(_dir(chain, 2) / STRATEGY_STATE, require="state")["owned"]
    parent = load_checkpoint(_dir(chain, 2) / "model.pt")["model"]
    phase = _open(chain, chain["specs"][2], "open-3")
    strategy = phase.strategy
    assert states_equal(strategy.patch_net.state_dict(), saved["patch_net"])
    assert len(strategy.patch_heads) == 3
    assert states_equal(strategy.patch_heads[:2].state_dict(), saved["patch_heads"])
    teacher = strategy.teacher.state_dict()
    assert all(torch.equal(teacher[key], value) for key, value in parent.items())
    # The teacher: backbone in eval, its old heads' BN on batch statistics (authors).
    assert not strategy.teacher.base.training
    assert [strategy.teacher.pipelines[i].training for i in range(2)] == [True, True]
    assert not any(p.requires_grad for p in strategy.teacher.parameters())


class Interrupt(Exception):
    pass


def test_interrupted_and_resumed_equals_uninterrupted(chain) -> None:
    spec = chain["specs"][2]

    def stop(epoch, model, row):
        if epoch == 1:
            raise Interrupt

    with chdir(chain["workdir"]):
        stopped = chain["workdir"] / RUNS / "patchkd-resumed"
        with pytest.raises(Interrupt):
            run_phase(spec, stopped, RUNTIME, epoch_callback=stop)
        halfway = load_checkpoint(stopped / "state" / "last.pt")["owned"]["patch_net"]
        run_phase(spec, stopped, RUNTIME)
    straight = _dir(chain, 3)
    final = {d: load_checkpoint(d / "model.pt")["model"] for d in (straight, stopped)}
    owned = {
        d: load_checkpoint(d / STRATEGY_STATE, require="state")["owned"]
        for d in (straight, stopped)
    }
    assert states_equal(final[stopped], final[straight])
    for name in ("patch_net", "patch_heads"):
        assert states_equal(owned[stopped][name], owned[straight][name])
    assert not states_equal(halfway, owned[straight]["patch_net"])


def test_the_faithful_scheduler_trains_later_phases_at_one_percent(chain) -> None:
    lr = TRAIN["lr"]
    # Groups: the model, the patch network, the patch heads; 2 steps per epoch, 2 epochs.
    phase_two, phase_three = (
        [[round(r / lr, 6) for r in step] for step in seen] for seen in chain["rates"][1:]
    )
    # Task network: global epoch 3 + e is past both milestones; the patch network's schedule
    # starts at step 1 (its milestones are the task network's + one step's epochs).
    assert phase_two == [[0.01, 1.0, 0.01]] * 2 + [[0.01, 0.1, 0.01]] * 2
    assert phase_three == [[0.01, 0.01, 0.01]] * 4
    config = chain_config(chain["workdir"], scheduler="per_step")
    with chdir(chain["workdir"]), LearningRates() as seen:
        run_phase(main_chain(config)[1], RUNS / "per-step", RUNTIME)
    assert [[round(r / lr, 6) for r in step] for step in seen] == [[1.0] * 3] * 2 + [[0.1] * 3] * 2
    # The trainer's own schedule is untouched: checkpoints and history keep its rates.
    history = (_dir(chain, 2) / "history.csv").read_text().splitlines()[1:]
    assert [float(row.split(",")[1]) for row in history] == pytest.approx([lr, lr * 0.1])


def test_each_term_sends_gradient_where_the_authors_code_does(chain) -> None:
    phase = _open(chain, chain["specs"][1], "gradients")
    batch = _first_batch(phase)
    phase.model.train()
    out = phase.model(batch.images, pipelines=phase.strategy.forward_pipelines(batch))
    terms = phase.strategy.patch_terms(phase.model, out, batch)
    modules = {
        "patch_net": phase.strategy.patch_net,
        "backbone": phase.model.base,
        "patch_heads": phase.strategy.patch_heads,
    }
    groups = {k: [p for p in m.parameters() if p.requires_grad] for k, m in modules.items()}
    reached = {}
    for name, term in terms.items():
        for group, params in groups.items():
            grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
            reached[name, group] = any(g is not None and g.abs().sum() > 0 for g in grads)
    # θ learns from conf, rd's teacher side and div; pd and rd's student use θ detached.
    assert {n for n in TERMS if reached[n, "patch_net"]} == {"conf", "rd", "div"}
    assert {n for n in TERMS if reached[n, "backbone"]} == {"kd", "pd", "rd", "div"}
    assert {n for n in TERMS if reached[n, "patch_heads"]} == {"pd", "div"}


def _bn_logits(head, pooled: torch.Tensor, batch_stats: bool) -> torch.Tensor:
    bn = head.bn
    mean, var = (None, None) if batch_stats else (bn.running_mean, bn.running_var)
    normed = F.batch_norm(pooled, mean, var, bn.weight, bn.bias, batch_stats, 0.0, bn.eps)
    return head.classifier(normed)


@pytest.mark.parametrize(("bn", "over"), [("train", "all"), ("eval", "old")])
def test_kd_is_the_distillation_of_the_teachers_old_head(chain, bn: str, over: str) -> None:
    config = chain_config(chain["workdir"], old_head_bn=bn, softmax_over=over)
    phase = _open(chain, main_chain(config)[1], f"kd-{bn}")
    batch = _first_batch(phase)
    phase.model.train()
    with torch.no_grad():
        out = phase.model(batch.images, pipelines=[0, 1])
        head = copy.deepcopy(phase.strategy.teacher.pipelines[0])
        pooled = phase.strategy.teacher(batch.images, pipelines=[0]).features[0]
        terms = phase.strategy.patch_terms(phase.model, out, batch)
        old = _bn_logits(head, pooled, batch_stats=bn == "train")
    new = torch.cat(out.logits, dim=1)
    expected = logit_distillation(new, old, 2.0, over)
    assert float(terms["kd"]) == pytest.approx(float(expected), rel=1e-5)
    other = logit_distillation(new, old, 2.0, "old" if over == "all" else "all")
    assert float(terms["kd"]) != pytest.approx(float(other), rel=1e-3)


def _model(classifier: str) -> MultiPipelineNet:
    cfg = ModelConfig(input_size=(32, 16), head="bnneck", classifier=classifier)
    model = MultiPipelineNet(cfg)
    for classes in (4, 5):
        model.add_pipeline(classes)
    return model


@pytest.mark.parametrize("classifier", ["per_task", "growing"])
def test_patch_heads_follow_the_classifier_and_keep_the_parents_rows(classifier: str) -> None:
    model = _model(classifier)
    fresh = build_patch_heads(model, None)
    assert [h.num_classes for h in fresh] == ([9] if classifier == "growing" else [4, 5])
    parent = build_patch_heads(_model(classifier).requires_grad_(False), None)
    if classifier == "growing":  # the parent knew the first task only
        parent[0].classifier = torch.nn.Linear(512, 4, bias=False)
    else:
        parent = parent[:1]
    grown = build_patch_heads(model, parent.state_dict())
    assert sum(h.num_classes for h in grown) == 9
    assert torch.equal(grown[0].classifier.weight[:4], parent[0].classifier.weight[:4])
    logits = [torch.randn(3, 9 if classifier == "growing" else n) for n in (4, 5)]
    joined = side_by_side(model, logits, 1)
    assert joined.shape == (3, 4)
    assert torch.equal(joined, logits[0][:, :4])


def test_patchkd_needs_bnneck_and_brings_its_model_to_the_comparison() -> None:
    with pytest.raises(ConfigError) as info:
        validate_config({"method": {"name": "patchkd"}})
    assert "method.name" in str(info.value) and "model.head" in str(info.value)
    config = validate_config({"method": {"name": "finetune"}})
    assert method_model(config, "patchkd")["head"] == "bnneck"
    assert method_model(config, "patchkd")["classifier"] == "per_task"
    assert method_model(config, "patchkd")["bnneck"] == {
        "pooling": "avg",
        "feature": "post_bn",
        "gem_p": 3.0,
    }
    defaults = config["method"]["patchkd"]
    assert {k: defaults[f"{k}_weight"] for k in TERMS} == {
        "kd": 1.0,
        "pd": 0.1,
        "rd": 100.0,
        "div": 0.5,
        "conf": 1.0,
    }
    assert (defaults["temperature"], defaults["patches"], defaults["scheduler"]) == (
        2.0,
        3,
        "global",
    )


def _set_up(seed: int, offset: int = 0):
    method = validate_config({"method": {"name": "finetune"}})["method"]
    method = {**method, "name": "patchkd", "patchkd": {**method["patchkd"], "seed": offset}}
    strategy = make_strategy(method, 0.0)
    model = _model("per_task")
    ctx = PhaseContext(
        spec={"seed": seed},
        model=model,
        new_index=1,
        device=torch.device("cpu"),
        run_dir=Path("unused"),
        parent_dir=None,
        load_bank=lambda task: None,
    )
    strategy.setup(ctx)
    initial = copy.deepcopy(strategy.patch_net.state_dict())
    fmap = torch.rand(2, model.out_channels, 4, 2, generator=torch.Generator().manual_seed(0))
    generator = torch.Generator().manual_seed(strategy.seed_for(0, 0))
    return initial, strategy.patch_net(fmap, generator).weights


def test_the_patch_network_and_its_draws_derive_from_the_run_seed() -> None:
    torch.manual_seed(0)
    first, picks = _set_up(0)
    torch.manual_seed(1)  # the global generator plays no part
    again, picks_again = _set_up(0)
    other, _ = _set_up(1)
    shifted, _ = _set_up(0, offset=5)
    assert states_equal(first, again) and torch.equal(picks, picks_again)
    assert not states_equal(first, other) and not states_equal(first, shifted)
    assert picks.sum(dim=(2, 3)).eq(1).all()  # one position per patch map
