"""Paper-scale rehearsal on CPU: Market-1501 / DukeMTMC-reID-sized archives through paper.yaml.

Steps (each one failing stops the script with exit status 1):

1. generate a Market-style and a Duke-style domain (`reid.data.synthetic.generate_domain`,
   128x64 JPEGs) large enough for the published counts;
2. pack them as the real archives: `Market-1501-v15.09.15.zip` holding
   `Market-1501-v15.09.15/{bounding_box_train,query,bounding_box_test}/` and `DukeMTMC-reID.zip`
   holding `DukeMTMC-reID/...`, choosing files so the adapters count exactly the published ids
   and images (Market: 2,793 distractors of pid 0000 and 3,819 junk images of pid -1 in the
   gallery, which the adapter drops; Duke: 408 gallery-only identities); md5 of each zip;
3. write an override of `config/paper.yaml` (`_base_`) whose tasks point at the zips and their
   md5 (Market by a file:// url, Duke by `archive`);
4. `snakemake -n` with the paper config and the override plans the whole DAG;
5. `reid prepare` extracts both archives, checks the md5 and the published counts
   (`data.verify_counts: true`), and `snakemake -n` then plans no `prepare_dataset` job;
6. in child processes (own peak RSS): decoding the train split, then query + gallery, into an
   ImageBank at 256x128 (no cache),
   a torchvision ResNet-50 forward pass at 256x128 (batch 32, 2 threads) and `evaluate_features`
   on each test split with 2,048-d features.

Everything is written under a temporary folder (removed at the end unless --keep or --workdir;
a --workdir run reuses the domains generated there). Full scale takes 5-15 minutes on 2 cores,
most of it generating ~80,000 images; `--quick` runs 5 % of the counts (what `make bench` runs;
the published-count check is then done by this script against the scaled counts).

    .venv/bin/python benchmarks/bench_paper_scale.py [--quick | --fraction F] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, peak_rss_mib  # benchmarks/ is on sys.path

from reid.data.acquire import KNOWN_ARCHIVES, md5sum
from reid.data.datasets import FOLDER_LAYOUT, get_spec
from reid.errors import ReidError

PAPER = ROOT / "config" / "paper.yaml"
QUICK_FRACTION = 0.05
ZIP_DATE = (2015, 9, 15, 0, 0, 0)
GEN_SIZE = (128, 64)  # Market-1501's own crop size; Duke's crops vary (larger on average)


class StepFailed(RuntimeError):
    """A rehearsal step did not do what it should; the message says which and why."""


@dataclass(frozen=True)
class Source:
    """One real dataset the rehearsal imitates: its task in paper.yaml and its extra images."""

    task: str
    dataset: str
    style: str
    distractors: int  # market: images of pid 0000; duke: gallery-only ids (one image each)
    junk: int  # market gallery images of pid -1 (dropped by the adapter)


SOURCES = (
    Source("market", "market1501", "market", distractors=2793, junk=3819),
    Source("duke", "dukemtmcreid", "duke", distractors=408, junk=0),
)


@dataclass(frozen=True)
class Plan:
    """How many ids and images each split of the packed archive gets."""

    n_train: int
    train_images: int
    n_test: int
    query_images: int
    gallery_test_images: int  # gallery images of the test ids (distractors and junk apart)
    distractor_images: int
    distractor_ids: int
    junk: int

    def counts(self) -> dict[str, tuple[int, int]]:
        """The (ids, images) per split that `load_dataset` reports for the packed archive."""
        gallery = self.gallery_test_images + self.distractor_images
        return {
            "train": (self.n_train, self.train_images),
            "query": (self.n_test, self.query_images),
            "gallery": (self.n_test + self.distractor_ids, gallery),
        }

    def per_test_id(self) -> list[tuple[int, int]]:
        """(query, gallery) images of each test id: extras to the first ids, resp. the last."""
        qb, qe = divmod(self.query_images, self.n_test)
        gb, ge = divmod(self.gallery_test_images, self.n_test)
        return [(qb + (i < qe), gb + (i >= self.n_test - ge)) for i in range(self.n_test)]

    def images_per_id(self) -> int:
        """What `generate_domain` must draw per identity so every split can be filled."""
        test = max(q + g for q, g in self.per_test_id())
        return max(4, math.ceil(self.train_images / self.n_train), test)


def make_plan(source: Source, fraction: float) -> Plan:
    """The plan reproducing the published counts (scaled by `fraction`)."""
    published = get_spec(source.dataset).counts
    assert published is not None

    def scaled(value: int, low: int) -> int:
        return max(low, round(value * fraction))

    n_train = scaled(published["train"][0], 2)
    n_test = scaled(published["query"][0], 2)
    market = source.style == "market"
    dis_images = scaled(source.distractors, 1)
    dis_ids = 1 if market else dis_images
    gallery = scaled(published["gallery"][1], n_test + dis_images)
    return Plan(
        n_train=n_train,
        train_images=scaled(published["train"][1], 2 * n_train),
        n_test=n_test,
        query_images=scaled(published["query"][1], n_test),
        gallery_test_images=gallery - dis_images,
        distractor_images=dis_images,
        distractor_ids=dis_ids,
        junk=round(source.junk * fraction),
    )


def generate(source: Source, plan: Plan, folder: Path) -> Path:
    """A generated domain with at least the plan's images (reused when already there)."""
    from reid.data.synthetic import generate_domain

    return generate_domain(
        folder,
        source.style,
        num_train_ids=plan.n_train,
        num_test_ids=plan.n_test,
        images_per_id=plan.images_per_id(),
        num_distractors=plan.distractor_images,
        num_junk=plan.junk,
        height=GEN_SIZE[0],
        width=GEN_SIZE[1],
        seed=0,
    )


def _by_pid(source: Source, folder: Path) -> dict[int, list[Path]]:
    parser = get_spec(source.dataset).parser
    groups: dict[int, list[Path]] = {}
    for path in sorted(folder.glob("*.jpg")):
        groups.setdefault(parser(path.name, str(folder))[0], []).append(path)
    return groups


def _round_robin(groups: dict[int, list[Path]], total: int) -> list[Path]:
    order = [groups[pid] for pid in sorted(groups)]
    picked: list[Path] = []
    for rank in range(max(len(files) for files in order)):
        picked += [files[rank] for files in order if rank < len(files)]
    if len(picked) < total:
        raise StepFailed(f"generated train split has {len(picked)} images, need {total}")
    return picked[:total]


def select_members(source: Source, plan: Plan, root: Path) -> dict[str, list[Path]]:
    """Files of the generated domain per archive folder, meeting the plan's counts exactly."""
    train = _by_pid(source, root / FOLDER_LAYOUT["train"])
    query = _by_pid(source, root / FOLDER_LAYOUT["query"])
    gallery = _by_pid(source, root / FOLDER_LAYOUT["gallery"])
    test_pids = sorted(query)
    if len(test_pids) != plan.n_test:
        raise StepFailed(f"generated {len(test_pids)} test ids, the plan needs {plan.n_test}")
    out: dict[str, list[Path]] = {
        "train": _round_robin(train, plan.train_images),
        "query": [],
        "gallery": [],
    }
    for pid, (q, g) in zip(test_pids, plan.per_test_id(), strict=True):
        pool = query[pid] + gallery.get(pid, [])  # a gallery file may go to query/: new split
        if q + g > len(pool):
            raise StepFailed(f"test id {pid} has {len(pool)} generated images, need {q + g}")
        out["query"] += pool[:q]
        out["gallery"] += pool[len(pool) - g :]
    out["gallery"] += [p for pid, files in gallery.items() if pid not in query for p in files]
    return out


def pack(top: str, members: dict[str, list[Path]], archive: Path) -> None:
    """A deflated zip holding `top/<split folder>/<file>` for every selected file.

    Entries carry a fixed date, so the same generated files always give the same md5."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for split, files in members.items():
            folder = f"{top}/{FOLDER_LAYOUT[split]}/"
            zf.writestr(zipfile.ZipInfo(folder, ZIP_DATE), b"")
            for path in files:
                info = zipfile.ZipInfo(folder + path.name, ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    partial.replace(archive)


def write_override(workdir: Path, archives: dict[str, tuple[Path, str]], verify: bool) -> Path:
    """`_base_: config/paper.yaml` with the tasks pointing at the generated zips and md5s."""
    import yaml

    market, duke = archives["market"], archives["duke"]
    override = {
        "_base_": str(PAPER),
        "tasks": [
            {
                "name": "market",
                "dataset": "market1501",
                "source": "download",
                "url": market[0].resolve().as_uri(),
                "md5": market[1],
            },
            {
                "name": "duke",
                "dataset": "dukemtmcreid",
                "source": "local",
                "archive": str(duke[0].resolve()),
                "md5": duke[1],
            },
        ],
    }
    if not verify:
        override["data"] = {"verify_counts": False}
    path = workdir / "paper_scale.yaml"
    path.write_text(yaml.safe_dump(override, sort_keys=False), encoding="utf-8")
    return path


def run_command(cmd: list[str], workdir: Path, step: str) -> subprocess.CompletedProcess:
    """Run `cmd` in `workdir`; the finished process, or StepFailed with the tail of its output."""
    env = dict(os.environ)  # this checkout's `reid` wins over an installed one
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise StepFailed(f"{step}: `{' '.join(cmd)}` exited {proc.returncode}\n{tail}")
    return proc


def dry_run(workdir: Path, override: Path) -> dict[str, int]:
    """`snakemake -n` with the paper config and the override; jobs planned per rule."""
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake) if snakemake.exists() else "snakemake", "-n", "--snakefile"]
    cmd += [str(ROOT / "Snakefile"), "--configfile", str(PAPER), str(override)]
    proc = run_command(cmd, workdir, "snakemake -n")
    out = proc.stdout + proc.stderr
    table = out[out.rindex("Job stats:") :].split("Reasons:")[0]
    jobs = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}
    if not jobs.get("total"):
        raise StepFailed(f"snakemake -n planned no jobs:\n{out[-2000:]}")
    return jobs


def prepare(workdir: Path, override: Path) -> dict[str, dict]:
    """`reid prepare --config override` in `workdir`; READY.json of each task."""
    run_command(
        [sys.executable, "-m", "reid", "prepare", "--config", str(override)], workdir, "prepare"
    )
    ready = {}
    for path in sorted((workdir / "resources" / "datasets").glob("*/READY.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["root"] = str(workdir / data["root"])  # no-op when already absolute
        ready[data["task"]] = data
    return {s.task: ready[s.task] for s in SOURCES if s.task in ready} | ready


def check_counts(ready: dict, plans: dict[str, Plan]) -> None:
    """The prepared splits hold exactly the planned ids and images."""
    for task, plan in plans.items():
        if task not in ready:
            raise StepFailed(f"reid prepare wrote no READY.json for task {task}")
        found = {r["split"]: (r["ids"], r["images"]) for r in ready[task]["summary"]}
        if found != plan.counts():
            raise StepFailed(f"{task}: prepared counts {found}, expected {plan.counts()}")


def _rss_now_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def child_decode(job: dict) -> dict:
    """Decode the given splits of a prepared dataset into one ImageBank at 256x128."""
    from reid.data import load_dataset
    from reid.data.images import ImageBank

    splits = load_dataset(job["dataset"], Path(job["root"]))
    samples = [s for split in job["splits"] for s in getattr(splits, split)]
    before = _rss_now_mib()
    started = time.perf_counter()
    bank = ImageBank.from_samples(samples, job["height"], job["width"])
    seconds = time.perf_counter() - started
    return {
        "images": len(bank),
        "seconds": seconds,
        "bank_mib": bank.images.numel() / 2**20,
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib(),
    }


def child_resnet50(job: dict) -> dict:
    """Images/s of a torchvision ResNet-50 forward pass (eval, no_grad) on random input."""
    import torch
    from torchvision.models import resnet50

    torch.set_num_threads(job["threads"])
    model = resnet50(weights=None).eval()
    batch = torch.randn(job["batch"], 3, job["height"], job["width"])
    with torch.no_grad():
        model(batch)  # warm-up
        started = time.perf_counter()
        for _ in range(job["batches"]):
            model(batch)
    seconds = time.perf_counter() - started
    return {
        "images_per_s": job["batch"] * job["batches"] / seconds,
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "threads": torch.get_num_threads(),
    }


def child_evaluate(job: dict) -> dict:
    """`evaluate_features` on a prepared test split's labels with random 2,048-d features."""
    import numpy as np
    import torch

    from reid.data import load_dataset
    from reid.evaluation import evaluate_features

    torch.set_num_threads(job["threads"])
    splits = load_dataset(job["dataset"], Path(job["root"]))
    q_pids = np.array([s.pid for s in splits.query])
    g_pids = np.array([s.pid for s in splits.gallery])
    ids, index = np.unique(np.concatenate([q_pids, g_pids]), return_inverse=True)
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(len(ids), job["dim"], generator=gen)
    feats = centres[torch.from_numpy(index)] + 4.0 * torch.randn(
        len(index), job["dim"], generator=gen
    )
    feats = torch.nn.functional.normalize(feats, dim=1)
    qf, gf = feats[: len(q_pids)].clone(), feats[len(q_pids) :].clone()
    del feats
    before = _rss_now_mib()
    started = time.perf_counter()
    res = evaluate_features(
        qf, gf, q_pids, g_pids, [s.camid for s in splits.query], [s.camid for s in splits.gallery]
    )
    return {
        "queries": len(q_pids),
        "gallery": len(g_pids),
        "seconds": time.perf_counter() - started,
        "rss_before_mib": before,
        "peak_rss_mib": peak_rss_mib(),
        "mAP": float(res["mAP"]),
    }


CHILDREN = {"decode": child_decode, "resnet50": child_resnet50, "evaluate": child_evaluate}


def in_child(job: dict) -> dict:
    """Run one measurement in a fresh interpreter (this script with --child) and read its JSON."""
    cmd = [sys.executable, __file__, "--child", json.dumps(job)]
    proc = run_command(cmd, ROOT, f"child {job['kind']}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Report:
    """Prints each figure with its unit as a `RESULT` line (collected by run_all.py)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def figure(self, name: str, value: float, unit: str, note: str = "") -> None:
        extra = f" ({note})" if note else ""
        print(f"RESULT {self.prefix}_{name} = {value:.2f} {unit}{extra}", flush=True)

    def say(self, text: str) -> None:
        print(text, flush=True)


def build_archives(workdir: Path, plans: dict[str, Plan], out: Report) -> dict:
    """Generate, select and pack each dataset; {task: (zip path, md5)}."""
    archives = {}
    for source in SOURCES:
        plan = plans[source.task]
        started = time.perf_counter()
        root = generate(source, plan, workdir / "generated" / source.style)
        out.figure(f"{source.task}_generate", time.perf_counter() - started, "s", str(root))
        started = time.perf_counter()
        members = select_members(source, plan, root)
        known = KNOWN_ARCHIVES[source.dataset]
        archive = workdir / "archives" / known.file_name
        pack(get_spec(source.dataset).folders[0], members, archive)
        md5 = md5sum(archive)
        files = sum(len(v) for v in members.values())
        out.figure(f"{source.task}_pack", time.perf_counter() - started, "s", f"{files} files")
        out.say(f"  {archive.name}: {archive.stat().st_size / 2**20:.0f} MiB, md5 {md5}")
        archives[source.task] = (archive, md5)
    return archives


def check_workflow(workdir: Path, plans: dict[str, Plan], fraction: float, out: Report) -> dict:
    """Override, `snakemake -n`, `reid prepare` with the count check, `snakemake -n` again."""
    archives = build_archives(workdir, plans, out)
    override = write_override(workdir, archives, verify=fraction == 1.0)
    jobs = dry_run(workdir, override)
    out.say(
        f"snakemake -n: {jobs['total']} jobs planned ({jobs.get('prepare_dataset', 0)} prepare)"
    )
    if jobs.get("prepare_dataset") != len(SOURCES):
        raise StepFailed(f"snakemake -n planned {jobs} before prepare: expected 2 prepare jobs")
    started = time.perf_counter()
    ready = prepare(workdir, override)
    out.figure("prepare", time.perf_counter() - started, "s", "md5, extract, count check")
    check_counts(ready, plans)
    for task, data in ready.items():
        rows = ", ".join(f"{r['split']} {r['ids']}/{r['images']}" for r in data["summary"])
        out.say(f"  {task}: {rows} (ids/images; notes {data['notes']})")
    after = dry_run(workdir, override)
    if after.get("prepare_dataset"):
        raise StepFailed(f"snakemake -n still plans prepare_dataset after reid prepare: {after}")
    out.say(f"snakemake -n after prepare: {after['total']} jobs, no prepare_dataset")
    return ready


def measure(ready: dict, out: Report, threads: int, r50_batches: int) -> None:
    """Decode, ResNet-50 and evaluate_features figures, each in its own child process."""
    height, width = 256, 128
    for task, data in ready.items():
        for name, splits in (("train", ["train"]), ("test", ["query", "gallery"])):
            job = {"kind": "decode", "dataset": data["dataset"], "root": data["root"]}
            rep = in_child(job | {"splits": splits, "height": height, "width": width})
            note = f"{rep['images']} images in {rep['seconds']:.1f} s"
            out.figure(f"{task}_decode_{name}", rep["images"] / rep["seconds"], "images/s", note)
            out.figure(f"{task}_bank_{name}", rep["bank_mib"], "MiB", "uint8 256x128")
            before = f"child process; {rep['rss_before_mib']:.0f} MiB before decoding"
            out.figure(f"{task}_bank_{name}_peak_rss", rep["peak_rss_mib"], "MiB", before)
    rep = in_child(
        {"kind": "resnet50", "threads": threads, "batch": 32, "batches": r50_batches}
        | {"height": height, "width": width}
    )
    note = f"batch 32, {rep['threads']} threads, {r50_batches} batch(es) after 1 warm-up"
    out.figure("resnet50_inference", rep["images_per_s"], "images/s", note)
    out.figure("resnet50_peak_rss", rep["peak_rss_mib"], "MiB")
    for task, data in ready.items():
        job = {"kind": "evaluate", "dataset": data["dataset"], "root": data["root"]}
        rep = in_child(job | {"dim": 2048, "threads": threads})
        note = f"{rep['queries']} x {rep['gallery']}, 2048-d, mAP {rep['mAP']:.3f}"
        out.figure(f"{task}_evaluate_features", rep["seconds"], "s", note)
        before = f"child process; {rep['rss_before_mib']:.0f} MiB before the call"
        out.figure(f"{task}_evaluate_features_peak_rss", rep["peak_rss_mib"], "MiB", before)


def rehearse(workdir: Path, fraction: float, threads: int, r50_batches: int) -> None:
    """All steps in `workdir`; raises StepFailed on the first one that fails."""
    prefix = "paper_scale" if fraction == 1.0 else f"paper_scale_x{fraction:g}"
    out = Report(prefix)
    plans = {s.task: make_plan(s, fraction) for s in SOURCES}
    for source in SOURCES:
        published = get_spec(source.dataset).counts
        if fraction == 1.0 and plans[source.task].counts() != published:
            raise StepFailed(f"plan {plans[source.task]} misses the published {published}")
        out.say(f"{source.task}: target (ids, images) {plans[source.task].counts()}")
    started = time.perf_counter()
    ready = check_workflow(workdir, plans, fraction, out)
    measure(ready, out, threads, r50_batches)
    out.figure("total", time.perf_counter() - started, "s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--fraction", type=float, default=1.0, help="of the published counts")
    parser.add_argument(
        "--quick", action="store_true", help=f"--fraction {QUICK_FRACTION} --r50-batches 1"
    )
    parser.add_argument("--r50-batches", type=int, default=3, help="timed after a warm-up")
    parser.add_argument("--threads", type=int, default=2, help="torch threads in the children")
    parser.add_argument("--workdir", type=Path, help="keep everything here (reused if there)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.child:
        job = json.loads(args.child)
        print(json.dumps(CHILDREN[job["kind"]](job)))
        return 0
    fraction = QUICK_FRACTION if args.quick else args.fraction
    if not 0.0 < fraction <= 1.0:
        parser.error("--fraction must be in (0, 1]")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="reid-paper-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"paper-scale rehearsal at {fraction:g} x the published counts in {workdir}")
    try:
        rehearse(workdir.resolve(), fraction, args.threads, 1 if args.quick else args.r50_batches)
    except (StepFailed, ReidError) as exc:  # ReidError: generating or reading a dataset
        print(f"FAILED {exc}", file=sys.stderr)
        return 1
    finally:
        if args.workdir is None and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
