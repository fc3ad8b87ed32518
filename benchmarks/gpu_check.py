"""GPU check: the paper's model and the LReID recipe through the real trainer, on generated data.

    python benchmarks/gpu_check.py                 # one GPU, ResNet-50 at 256x128, <= 8 minutes
    python benchmarks/gpu_check.py --cpu --tiny    # CPU rehearsal at tiny size (the test suite)

It generates two small re-ID domains (Market- and Duke-style, in a temporary folder), then:

1. throughput: phase 1 of the paper's model (per-task pipelines, CE, CLR; config/paper.yaml)
   and of the field's recipe (BNNeck, growing classifier, CE + triplet, warm-up + step, the
   camera-preferring sampler; config/lreid_order1.yaml), each in fp32 and bf16 (CUDA only) and
   with channels_last off and on, a few hundred iterations each through `run_phase`. Per run:
   images/s of the batch loop (epochs after the first, from history.csv) against a bare
   forward/backward/step loop of the same model, precision and layout on one in-memory batch;
   peak GPU memory; and the time the GPU waited for data (on the GPU timeline, between the end
   of one optimiser step and the start of the next: batch gathering, augmentation, and any
   time the CPU was late; on the CPU, the wall time between steps);
2. strategies: a short phase 1 per head, then a few steps of phase 2 of every registered
   strategy with each head it accepts (joint: a few steps on both tasks); a strategy that
   brings its own model piece (DKP's head) runs with it over the recipe, after its own phase 1.

Every item that fails is recorded with its error, and the check goes on. The table is printed
and written, with the details, to `--out` (JSON and Markdown). ImageNet weights are not loaded
(the machine may be offline): the speed does not depend on them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import ROOT, peak_rss_mib  # benchmarks/ is on sys.path


@dataclass(frozen=True)
class Scale:
    """Sizes of one check: GPU (ResNet-50, 256x128) or the tiny CPU rehearsal."""

    backbone: str
    height: int
    width: int
    ids: int
    images_per_id: int
    paper_batch: tuple[int, int]
    recipe_batch: tuple[int, int]
    paper_epochs: int  # epochs of the throughput runs (the first is warm-up)
    recipe_epochs: int
    cap: int  # batches per epoch at most (throughput runs)
    strategy_steps: int


GPU = Scale("resnet50", 256, 128, 96, 16, (8, 4), (32, 4), 4, 11, 40, 3)
TINY = Scale("resnet18", 32, 16, 6, 4, (3, 2), (3, 2), 2, 2, 2, 1)


def check_config(root: Path, scale: Scale, which: str, amp: str) -> dict[str, Any]:
    """A validated config: the model and training of config/paper.yaml (`paper`) or
    config/lreid_order1.yaml (`recipe`), at `scale`, on two generated domains under `root`."""
    from reid.config import deep_merge, load_file_with_bases, validate_config

    source = ROOT / "config" / ("paper.yaml" if which == "paper" else "lreid_order1.yaml")
    base = load_file_with_bases(source)
    p, k = scale.paper_batch if which == "paper" else scale.recipe_batch
    domain = {"num_train_ids": scale.ids, "num_test_ids": 4, "images_per_id": scale.images_per_id}
    size = {"height": max(64, scale.height // 2), "width": max(32, scale.width // 2)}
    raw = {
        "device": "auto",
        "data": {"root": str(root / "datasets"), "height": scale.height, "width": scale.width},
        "tasks": [
            {
                "name": name,
                "dataset": dataset,
                "source": "synthetic",
                "synthetic": {"style": style, **domain, **size},
            }
            for name, dataset, style in (
                ("market", "market1501", "market"),
                ("duke", "dukemtmcreid", "duke"),
            )
        ],
        "model": deep_merge(base["model"], {"backbone": scale.backbone, "weights": "none"}),
        "train": deep_merge(base["train"], {"batch": {"p": p, "k": k}, "amp": amp}),
        "method": base.get("method", {"name": "finetune"}),
        "comparison": {"methods": ["finetune"]},
        "ablations": {"enabled": False},
    }
    raw["train"].pop("first_epochs", None)
    return validate_config(raw)


@contextlib.contextmanager
def step_timeline(device) -> Iterator[list[tuple[int, Any, Any]]]:
    """Record (epoch, start, end) marks around every optimiser step of the trainer: CUDA events
    on a GPU, perf_counter values elsewhere."""
    import torch

    from reid.engine import trainer

    marks: list[tuple[int, Any, Any]] = []
    original = trainer.Stepper.step

    def mark():
        if device.type != "cuda":
            return time.perf_counter()
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def timed(self, batch):
        start = mark()
        parts = original(self, batch)
        marks.append((batch.epoch, start, mark()))
        return parts

    trainer.Stepper.step = timed
    try:
        yield marks
    finally:
        trainer.Stepper.step = original


def data_wait_seconds(marks: list[tuple[int, Any, Any]], device) -> float:
    """Σ time from the end of a step to the start of the next one in the same epoch, after the
    first epoch (GPU timeline on CUDA)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
    total = 0.0
    for (epoch, _, end), (next_epoch, start, _) in zip(marks, marks[1:], strict=False):
        if epoch != next_epoch or epoch == marks[0][0]:
            continue
        total += end.elapsed_time(start) / 1000 if device.type == "cuda" else start - end
    return total


def bare_images_per_second(spec: dict, runtime, steps: int, classes: int) -> float:
    """forward / CE / backward / step of the same model, precision and layout on one batch."""
    import torch

    from reid.engine.models import model_config
    from reid.engine.optim import build_optimizer
    from reid.models import MultiPipelineNet

    device = runtime.device()
    model = MultiPipelineNet(model_config(spec))
    model.add_pipeline(classes)
    model.to(device).train()
    fmt = torch.channels_last if runtime.channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    optimizer = build_optimizer([p for p in model.parameters() if p.requires_grad], spec["train"])
    n = spec["train"]["batch"]["p"] * spec["train"]["batch"]["k"]
    x = torch.randn(n, 3, spec["data"]["height"], spec["data"]["width"], device=device)
    x = x.contiguous(memory_format=fmt)
    y = torch.arange(n, device=device) % classes

    def step() -> None:
        with runtime.autocast(device):
            loss = torch.nn.functional.cross_entropy(model(x, pipelines=[0]).logits[-1], y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * n / (time.perf_counter() - started)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _reset_peak(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_mib(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return peak_rss_mib()


def throughput(root: Path, scale: Scale, which: str, amp: str, layout: bool, cpu: bool) -> dict:
    """One throughput run (phase 1 through run_phase) and its bare-loop reference."""
    import pandas as pd

    from reid.engine import run_phase
    from reid.engine.runtime import Runtime
    from reid.runs import phase_spec, run_hash

    config = check_config(root, scale, which, amp)
    spec = phase_spec(config, 1, None)
    spec["train"]["epochs"] = scale.paper_epochs if which == "paper" else scale.recipe_epochs
    spec["train"]["max_batches_per_epoch"] = scale.cap
    runtime = Runtime(device_name="cpu" if cpu else "auto", channels_last=layout)
    device = runtime.for_spec(spec).device()
    run_dir = root / "runs" / f"{which}-{amp}-{int(layout)}-{run_hash(spec)}"
    _reset_peak(device)
    with step_timeline(device) as marks:
        run_phase(spec, run_dir, runtime, run_root=root / "runs")
    waited = data_wait_seconds(marks, device)
    peak = _peak_mib(device)
    hist = pd.read_csv(run_dir / "history.csv").iloc[1:]
    steps = sum(1 for epoch, _, _ in marks if epoch > marks[0][0])
    classes = scale.ids
    bare = bare_images_per_second(spec, runtime.for_spec(spec), max(2, steps), classes)
    engine = float(hist["images"].sum() / hist["seconds"].sum())
    return {
        "section": "throughput",
        "model": which,
        "precision": amp if amp != "off" else "fp32",
        "channels_last": layout,
        "iterations": len(marks),
        "images_per_second": round(engine, 1),
        "bare_images_per_second": round(bare, 1),
        "ratio": round(engine / bare, 3),
        "peak_memory_mib": round(peak, 1),
        "data_wait_seconds": round(waited, 3),
        "data_wait_share": round(waited / float(hist["seconds"].sum()), 3),
    }


def check_model(config: dict, which: str, cls) -> dict | None:
    """The model a strategy runs with in the check of `which`: the config's when the strategy
    accepts its head; on `recipe`, else the model piece the strategy brings (as a comparison
    trains it, `register_strategy(model=...)`); None: skipped here."""
    from reid.runs import method_model

    if cls.heads is None or config["model"]["head"] in cls.heads:
        return config["model"]
    if which == "recipe" and cls.model.get("head") in cls.heads:
        return method_model(config, cls.name)
    return None


def strategy_runs(root: Path, scale: Scale, which: str, amp: str, cpu: bool) -> list[dict]:
    """A short phase 1 of `which` (and of each strategy's own model piece), then a few phase-2
    steps of every strategy that runs on it (`check_model`)."""
    from reid.engine import run_phase
    from reid.engine.runtime import Runtime
    from reid.runs import joint_spec, main_chain, run_hash
    from reid.strategies import STRATEGIES

    config = check_config(root, scale, which, amp)
    runtime = Runtime(device_name="cpu" if cpu else "auto", channels_last=True)
    runs = root / "runs"
    rows = []
    for name, cls in STRATEGIES.items():
        model = check_model(config, which, cls)
        if model is None:
            continue
        first = main_chain(config, model=model)[0]
        _short(first, scale)
        if not (runs / run_hash(first) / "model.pt").is_file():
            run_phase(first, runs / run_hash(first), runtime, run_root=runs)
        method = {**config["method"], "name": name, **_quick_settings(config, name)}
        if cls.sequential:
            spec = main_chain(config, method=method, model=model)[1]
            spec["parent"] = run_hash(first)
        else:
            spec = joint_spec(config)
        _short(spec, scale)
        what = {"section": "strategy", "model": which, "precision": amp, "strategy": name}
        guarded(rows, what, lambda s=spec, n=name: _timed(n, which, amp, runtime, s, runs))
    return rows


def _quick_settings(config: dict, name: str) -> dict:
    """Fewer consolidation batches for ewc / mas (a check, not a measurement of them)."""
    section = dict(config["method"].get(name) or {})
    for key in ("fisher_batches", "omega_batches"):
        if key in section:
            section[key] = 1
    return {name: section} if section else {}


def _short(spec: dict, scale: Scale) -> None:
    spec["train"]["epochs"] = 1
    spec["train"]["max_batches_per_epoch"] = scale.strategy_steps


def _timed(name: str, which: str, amp: str, runtime, spec: dict, runs: Path) -> dict:
    from reid.engine import run_phase
    from reid.runs import run_hash

    started = time.perf_counter()
    metrics = run_phase(spec, runs / run_hash(spec), runtime, run_root=runs)
    terms = {
        k[6:]: round(v, 4) for k, v in metrics.items() if k.startswith("final_") and v is not None
    }
    return {
        "section": "strategy",
        "model": which,
        "precision": amp if amp != "off" else "fp32",
        "strategy": name,
        "seconds": round(time.perf_counter() - started, 2),
        "terms": terms,
    }


def guarded(results: list[dict], what: dict, job) -> None:
    """Run `job`; on failure record `what` with the error and go on."""
    try:
        found = job()
        results.extend(found if isinstance(found, list) else [found])
    except Exception as exc:  # noqa: BLE001 - a check reports every failure and goes on
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        results.append({**what, "failure": last})
        print(f"FAILED {what}: {last}", flush=True)


def run_check(root: Path, scale: Scale, cpu: bool) -> list[dict]:
    """Every throughput run and every strategy run; failures recorded, never raised."""
    import torch

    precisions = ["off"] if cpu or not torch.cuda.is_available() else ["off", "bf16"]
    results: list[dict] = []
    _prepare(root, scale)
    for which in ("paper", "recipe"):
        for amp in precisions:
            for layout in (False, True):
                what = {
                    "section": "throughput",
                    "model": which,
                    "precision": amp,
                    "channels_last": layout,
                }
                guarded(
                    results,
                    what,
                    lambda w=which, a=amp, c=layout: throughput(root, scale, w, a, c, cpu),
                )
                print(_line(results[-1]), flush=True)
    amp = precisions[-1]
    for which in ("paper", "recipe"):
        what = {"section": "strategy", "model": which, "precision": amp}
        guarded(results, what, lambda w=which: strategy_runs(root, scale, w, amp, cpu))
    return results


def _prepare(root: Path, scale: Scale) -> None:
    from reid.data.prepare import prepare_task
    from reid.runs import dataset_dir

    config = check_config(root, scale, "paper", "off")
    for task in config["tasks"]:
        prepare_task(task, Path(dataset_dir(config, task)), config["data"])


def _line(row: dict) -> str:
    return "  ".join(f"{k}={v}" for k, v in row.items() if k != "section")


def markdown(results: list[dict], header: str) -> str:
    """The results as two Markdown tables (throughput, strategies) and a failure list."""
    lines = [
        header,
        "",
        "| model | precision | channels_last | iterations | images/s | bare "
        "images/s | ratio | peak MiB | data wait s (share) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r["section"] == "throughput" and "failure" not in r:
            lines.append(
                f"| {r['model']} | {r['precision']} | {'on' if r['channels_last'] else 'off'} | "
                f"{r['iterations']} | {r['images_per_second']} | {r['bare_images_per_second']} |"
                f" {r['ratio']} | {r['peak_memory_mib']} | {r['data_wait_seconds']} "
                f"({r['data_wait_share']:.0%}) |"
            )
    lines += ["", "| model | strategy | seconds | final loss terms |", "|---|---|---|---|"]
    for r in results:
        if r["section"] == "strategy" and "failure" not in r:
            terms = ", ".join(f"{k} {v}" for k, v in r["terms"].items())
            lines.append(f"| {r['model']} | {r['strategy']} | {r['seconds']} | {terms} |")
    failures = [r for r in results if "failure" in r]
    lines += ["", f"Failures: {len(failures)}"]
    lines += [
        f"- {_line({k: v for k, v in r.items() if k != 'failure'})}: {r['failure']}"
        for r in failures
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (a rehearsal)")
    parser.add_argument("--tiny", action="store_true", help="ResNet-18, 64x32, a few steps")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "gpu_check")
    args = parser.parse_args(argv)

    import torch

    from reid.provenance import collect

    scale = TINY if args.tiny else GPU
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="reid-gpu-check-") as tmp:
        results = run_check(Path(tmp), scale, args.cpu)
    seconds = time.perf_counter() - started
    device = "cpu" if args.cpu or not torch.cuda.is_available() else torch.cuda.get_device_name()
    header = (
        f"gpu_check on {device}, {scale.backbone} {scale.height}x{scale.width}, torch "
        f"{torch.__version__}, {seconds:.0f} s"
    )
    text = markdown(results, header)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "device": device,
        "scale": scale.__dict__,
        "seconds": round(seconds, 1),
        "results": results,
        "provenance": collect({}, ROOT),
    }
    (args.out / "gpu_check.json").write_text(json.dumps(record, indent=2, default=str))
    (args.out / "gpu_check.md").write_text(text)
    return 1 if any("failure" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
