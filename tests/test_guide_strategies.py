"""docs/extending.md's worked strategies, run exactly as the guide writes them: its
`# reid/strategies/<name>.py` code blocks are executed as modules, then each example's seam is
checked: an owned module is optimised, saved outside model.pt and restored on resume; the
after-backward hook projects the gradient; fused weights are what model.pt gets."""

from __future__ import annotations

import copy
import re
import types
from pathlib import Path

import pytest
import torch
import yaml
from engine_helpers import TINY, chdir, tiny_config
from strategy_helpers import RUNS, RUNTIME, phase_one, states_equal

from reid.config import validate_config
from reid.engine import load_model, run_phase
from reid.engine.checkpoint import load_checkpoint
from reid.engine.trainer import open_phase
from reid.runs import main_chain, run_hash
from reid.strategies import STRATEGIES, STRATEGY_STATE, StepContext

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
BLOCK = re.compile(r"```python\n(# reid/strategies/(\w+)\.py\n.*?)```", re.S)


def guide_blocks() -> dict[str, str]:
    """The guide's strategy modules, by file stem."""
    return {stem: code for code, stem in BLOCK.findall(GUIDE.read_text(encoding="utf-8"))}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("guide")
    phase_one(path)
    return path


@pytest.fixture
def guide(monkeypatch) -> dict[str, type]:
    """Every guide strategy registered (for this test only), by its registered name."""
    monkeypatch.setattr(STRATEGIES, "_items", dict(STRATEGIES._items))
    before = set(STRATEGIES.names())
    for stem, code in guide_blocks().items():
        module = types.ModuleType(f"guide_{stem}")
        exec(compile(code, f"docs/extending.md:{stem}", "exec"), module.__dict__)
    return {name: STRATEGIES.get(name) for name in set(STRATEGIES.names()) - before}


def _config(workdir: Path, name: str, **settings) -> dict:
    raw = yaml.safe_load(TINY.read_text())
    raw["data"] = tiny_config(workdir)["data"]
    raw["method"] = {"name": name, name: settings}
    return validate_config(raw)


def _phase_two(workdir: Path, name: str, **settings) -> dict:
    return main_chain(_config(workdir, name, **settings))[1]


class Interrupt(Exception):
    pass


def test_guide_holds_the_three_seam_examples(guide) -> None:
    assert {"projected", "agem", "averaged"} <= set(guide)


def test_owned_module_is_optimised_saved_apart_and_restored(workdir: Path, guide) -> None:
    spec = _phase_two(workdir, "projected")
    spec["train"]["epochs"] = 3
    with chdir(workdir):
        straight = RUNS / "projected-straight"
        run_phase(spec, straight, RUNTIME)
        stopped = RUNS / "projected-resumed"

        def stop(epoch, model, row):
            if epoch == 2:
                raise Interrupt

        with pytest.raises(Interrupt):
            run_phase(spec, stopped, RUNTIME, epoch_callback=stop)
        halfway = load_checkpoint(stopped / "state" / "last.pt")["owned"]["projector"]
        run_phase(spec, stopped, RUNTIME)
        phase = open_phase(spec, RUNS / "projected-fresh", RUNTIME, RUNS)
        saved = {
            d: load_checkpoint(d / STRATEGY_STATE, require="state") for d in (straight, stopped)
        }
        model = load_checkpoint(straight / "model.pt")["model"]
    lrs = [group["lr"] for group in phase.optimizer.param_groups]
    assert lrs[1] == pytest.approx(10 * lrs[0])
    initial = phase.strategy.projector.state_dict()
    final = saved[straight]["owned"]["projector"]
    assert not states_equal(initial, final) and not states_equal(halfway, final)
    assert states_equal(saved[stopped]["owned"]["projector"], final)
    assert not any("projector" in key for key in model)


def test_after_backward_projects_a_gradient_that_raises_the_memory_loss(
    workdir: Path, guide
) -> None:
    spec = _phase_two(workdir, "agem", size=4)
    with chdir(workdir):
        run_phase(copy.deepcopy(spec), RUNS / "agem", RUNTIME)  # trains end to end
        phase = open_phase(spec, RUNS / "agem-step", RUNTIME, RUNS)
    model, strategy = phase.model, phase.strategy
    params = [p for p in model.parameters() if p.requires_grad]
    ref = torch.autograd.grad(strategy.memory_loss(model, 0, 0), params, allow_unused=True)
    ref = [torch.zeros_like(p) if r is None else r for p, r in zip(params, ref, strict=True)]
    for p, r in zip(params, ref, strict=True):
        p.grad = -r + 0.01 * torch.randn_like(r)  # against the memory's gradient
    strategy.after_backward(StepContext(model, phase.optimizer, _batch(0, 0), None))
    dot = sum((p.grad * r).sum() for p, r in zip(params, ref, strict=True))
    assert abs(float(dot)) < 1e-4 * float(sum(r.pow(2).sum() for r in ref))


def _batch(epoch: int, step: int):
    return types.SimpleNamespace(epoch=epoch, step=step)


def test_fused_weights_are_what_model_pt_gets(workdir: Path, guide) -> None:
    spec = _phase_two(workdir, "averaged", alpha=0.25)
    last: dict[str, torch.Tensor] = {}

    def keep(epoch, model, row):
        last.update({k: v.detach().clone() for k, v in model.state_dict().items()})

    with chdir(workdir):
        run_phase(spec, RUNS / run_hash(spec), RUNTIME, epoch_callback=keep)
        parent = load_model(RUNS / spec["parent"] / "model.pt")[0].state_dict()
        written = load_model(RUNS / run_hash(spec) / "model.pt")[0].state_dict()
    conv = "base.0.weight"
    torch.testing.assert_close(written[conv], 0.25 * last[conv] + 0.75 * parent[conv])
    new = [key for key in written if key not in parent]
    assert new and all(torch.equal(written[key], last[key]) for key in new)
