"""`reid generate`, `reid prepare`, `reid summary`: dataset acquisition and inspection."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reid.cli import add_config_args, command, json_arg, load_cli_config


def prepare_task(task: dict[str, Any], dest: Path, data: dict[str, Any]) -> dict[str, Any]:
    """Generate or acquire one task's dataset into `dest`, then write `dest/READY.json`."""
    import pandas as pd

    from reid.data import format_summary, load_dataset
    from reid.data.acquire import prepare_dataset
    from reid.data.synthetic import generate_domain
    from reid.io import write_csv, write_json

    dest = Path(dest)
    if task["source"] == "synthetic":
        params = dict(task["synthetic"])
        style = params.pop("style")
        root = generate_domain(dest / "data", style, **params)
    else:
        root = prepare_dataset(
            task["dataset"],
            dest / "data",
            url=task.get("url"),
            md5=task.get("md5"),
            archive=Path(task["archive"]) if task.get("archive") else None,
            folder=Path(task["folder"]) if task.get("folder") else None,
        )
    splits = load_dataset(
        task["dataset"],
        root,
        verify_counts=data.get("verify_counts", False) and task["source"] != "synthetic",
    )
    print(format_summary(splits))
    rows = splits.summary_rows()
    write_csv(dest / "summary.csv", pd.DataFrame(rows))
    ready = {
        "task": task["name"],
        "dataset": task["dataset"],
        "root": str(Path(root)),
        "num_train_pids": splits.num_train_pids,
        "summary": rows,
        "notes": splits.notes,
    }
    write_json(dest / "READY.json", ready)
    return ready


def _prepare_args(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser)
    parser.add_argument("--task", help="task name from the config (default: every task)")
    parser.add_argument("--task-json", type=json_arg, help="a task entry as JSON (used by rules)")
    parser.add_argument("--data-json", type=json_arg, help="the config's data section as JSON")
    parser.add_argument("--dest", type=Path, help="destination folder (with --task-json)")


@command("prepare", "download/extract or generate each task's dataset and check it", _prepare_args)
def prepare(args: argparse.Namespace) -> int:
    from reid.runs import dataset_dir

    if args.task_json is not None:
        if args.dest is None:
            raise SystemExit("reid prepare: --task-json needs --dest")
        prepare_task(args.task_json, args.dest, args.data_json or {})
        return 0
    config = load_cli_config(args)
    for task in config["tasks"]:
        if args.task is None or task["name"] == args.task:
            prepare_task(task, Path(dataset_dir(config, task)), config["data"])
    return 0


def _generate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--style", required=True, help="a registered generated style (market, duke, msmt, ...)"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--num-train-ids", type=int, default=48)
    parser.add_argument("--num-test-ids", type=int, default=48)
    parser.add_argument("--images-per-id", type=int, default=8)
    parser.add_argument("--num-distractors", type=int, default=0)
    parser.add_argument("--num-junk", type=int, default=0)
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)


@command("generate", "write one generated re-ID domain in its real folder layout", _generate_args)
def generate(args: argparse.Namespace) -> int:
    from reid.data.synthetic import generate_domain

    root = generate_domain(
        args.out,
        args.style,
        num_train_ids=args.num_train_ids,
        num_test_ids=args.num_test_ids,
        images_per_id=args.images_per_id,
        num_distractors=args.num_distractors,
        num_junk=args.num_junk,
        height=args.height,
        width=args.width,
        seed=args.seed,
    )
    print(root)
    return 0


def _summary_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="a registered dataset adapter (market1501, msmt17, ...)")
    parser.add_argument("root", type=Path, help="the extracted dataset folder")
    parser.add_argument("--verify-counts", action="store_true")
    parser.add_argument("--out", type=Path, help="write the summary table as CSV")


@command("summary", "print the ids / images per split of a dataset folder", _summary_args)
def summary(args: argparse.Namespace) -> int:
    from reid.data import format_summary, load_dataset, write_summary

    splits = load_dataset(args.dataset, args.root, verify_counts=args.verify_counts)
    print(format_summary(splits))
    if args.out:
        write_summary(splits, args.out)
    return 0
