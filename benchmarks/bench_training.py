"""Target 3: training-loop overhead of `reid.engine.run_phase` vs a bare loop on tensors.

Engine side: a generated Market-style domain (in a temp dir), the phase-1 spec of
tests/fixtures/tiny.yaml with 64x32 images, ResNet-18, P x K = 8 x 4, full epochs; images/s of
the epochs after the first, from the run's history.csv (columns images / seconds: the batch loop
only, checkpoints excluded). It includes ImageBank indexing, TrainTransform (flip, pad-crop,
erasing, normalisation), PKSampler, forward / backward / step and the scheduler.

Bare side: the same MultiPipelineNet, optimizer, loss, batch size and input size on a fixed
in-memory float batch, same number of steps, in the same process.
The two sides alternate epoch by epoch (the bare epoch runs in run_phase's epoch callback);
the best images/s of each after the first epoch is kept.

Target: engine images/s >= 0.9 x bare images/s.

Also (no target): CPU images/s of a bare ResNet-50 loop at 256x128, batch 32, a few steps (a
lower bound for the paper config; no GPU was available).

    .venv/bin/python benchmarks/bench_training.py [--epochs 6] [--r50-steps 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import ROOT, result_line  # benchmarks/ is on sys.path

TARGET_RATIO = 0.9
TINY = ROOT / "tests" / "fixtures" / "tiny.yaml"


def bench_config(workdir: Path, args: argparse.Namespace) -> dict:
    """tiny.yaml with a larger generated Market domain, 64x32 images and P x K batches."""
    from reid.config import load_config

    raw = yaml.safe_load(TINY.read_text())
    raw["data"] = {"height": args.height, "width": args.width, "root": str(workdir / "datasets")}
    raw["tasks"][0]["synthetic"].update(
        num_train_ids=args.ids,
        num_test_ids=4,
        images_per_id=args.images_per_id,
        height=args.height,
        width=args.width,
    )
    raw["model"] = {"backbone": "resnet18", "weights": "none"}
    raw["train"]["epochs"] = args.epochs
    raw["train"]["batch"] = {"p": args.p, "k": args.k}
    raw["train"]["scheduler"] = {
        "name": "clr",
        "max_lr": 0.05,
        "half_cycle_epochs": 2,
        "step": "iteration",
    }
    raw["train"]["augment"] = {"flip": True, "pad": 4, "random_erasing": 0.5}
    raw["train"].pop("max_batches_per_epoch", None)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_config([path])


class BareLoop:
    """forward / CE / backward / step of the same model on one fixed in-memory batch."""

    def __init__(self, spec: dict, num_classes: int, warmup: int = 2) -> None:
        import torch

        from reid.engine.optim import build_optimizer
        from reid.engine.trainer import model_config
        from reid.models import MultiPipelineNet

        torch.manual_seed(0)
        train = spec["train"]
        self.n = train["batch"]["p"] * train["batch"]["k"]
        self.model = MultiPipelineNet(model_config(spec))
        self.model.add_pipeline(num_classes)
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(params, train)
        self.loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=train["label_smoothing"])
        self.x = torch.randn(self.n, 3, spec["data"]["height"], spec["data"]["width"])
        self.y = torch.arange(self.n) % num_classes
        for _ in range(warmup):
            self.step()

    def step(self) -> None:
        out = self.model(self.x, pipelines=[0])
        loss = self.loss_fn(out.logits[-1], self.y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def images_per_second(self, steps: int) -> float:
        started = time.perf_counter()
        for _ in range(steps):
            self.step()
        return steps * self.n / (time.perf_counter() - started)


def interleaved(spec: dict, workdir: Path, num_classes: int) -> tuple[list[float], list[float]]:
    """run_phase epochs, each followed by a bare 'epoch' of as many steps (via the epoch
    callback, so load from elsewhere hits both sides alike). Returns images/s per epoch of the
    engine (from history.csv) and of the bare loop."""
    import pandas as pd

    from reid.engine import run_phase
    from reid.engine.runtime import Runtime

    bare = BareLoop(spec, num_classes)
    bare_rates: list[float] = []

    def after_epoch(epoch: int, model, row: dict) -> None:
        bare_rates.append(bare.images_per_second(max(1, int(row["images"]) // bare.n)))

    run_dir = workdir / "runs" / "phase1"
    run_phase(spec, run_dir, Runtime(device_name="cpu"), after_epoch, run_root=workdir / "runs")
    hist = pd.read_csv(run_dir / "history.csv")
    return list(hist["images"] / hist["seconds"]), bare_rates


def resnet50_cpu(steps: int, batch: int = 32) -> float:
    """images/s of a bare ResNet-50 MultiPipelineNet step at 256x128 on this CPU."""
    spec = {
        "model": {
            "backbone": "resnet50",
            "weights": "none",
            "classifier_input": "pooled",
            "embedding": "pooled",
            "residual": False,
            "last_stride": 2,
        },
        "data": {"height": 256, "width": 128},
        "train": {
            "batch": {"p": batch // 4, "k": 4},
            "optimizer": "sgd",
            "lr": 0.01,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "label_smoothing": 0.0,
        },
    }
    return BareLoop(spec, 751, warmup=1).images_per_second(steps)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--ids", type=int, default=32)
    parser.add_argument("--images-per-id", type=int, default=8)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--p", type=int, default=8)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--r50-steps", type=int, default=2, help="0 skips ResNet-50")
    args = parser.parse_args(argv)

    import torch

    from reid.data.prepare import prepare_task
    from reid.runs import dataset_dir, phase_spec

    with tempfile.TemporaryDirectory(prefix="reid-bench-") as tmp:
        workdir = Path(tmp)
        config = bench_config(workdir, args)
        task = config["tasks"][0]
        prepare_task(task, Path(dataset_dir(config, task)), config["data"])
        spec = phase_spec(config, 1, None)
        engine_rates, bare_rates = interleaved(spec, workdir, args.ids)
    # Epoch 1 warms up the engine (and the bare model was warmed before it): skip it.
    engine, bare = max(engine_rates[1:] or engine_rates), max(bare_rates[1:] or bare_rates)
    ratio = engine / bare
    print(
        f"ResNet-18 {args.height}x{args.width}, batch {args.p}x{args.k}, {args.epochs} epochs, "
        f"torch threads {torch.get_num_threads()}"
    )
    print("run_phase images/s per epoch: " + ", ".join(f"{r:.1f}" for r in engine_rates))
    print("bare loop images/s per epoch: " + ", ".join(f"{r:.1f}" for r in bare_rates))
    print(f"best after epoch 1: run_phase {engine:.1f} images/s, bare {bare:.1f} images/s")
    print(
        result_line("training_engine_over_bare", ratio, f">= {TARGET_RATIO}", ratio >= TARGET_RATIO)
    )
    if args.r50_steps > 0:
        r50 = resnet50_cpu(args.r50_steps)
        print(
            f"RESULT resnet50_256x128_b32_cpu_images_per_second = {r50:.2f} "
            f"(no target; CPU lower bound, {args.r50_steps} steps after 1 warm-up)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
