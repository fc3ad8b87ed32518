"""`reid generate`, `reid prepare`, `reid summary`: dataset acquisition and inspection."""

from __future__ import annotations

import argparse
from pathlib import Path

from reid.commands.base import add_config_args, command, json_arg, load_cli_config


def _prepare_args(parser: argparse.ArgumentParser) -> None:
    add_config_args(parser)
    parser.add_argument("--task", help="task name from the config (default: every task)")
    parser.add_argument("--task-json", type=json_arg, help="a task entry as JSON (used by rules)")
    parser.add_argument("--data-json", type=json_arg, help="the config's data section as JSON")
    parser.add_argument("--dest", type=Path, help="destination folder (with --task-json)")


@command("prepare", "download/extract or generate each task's dataset and check it", _prepare_args)
def prepare(args: argparse.Namespace) -> int:
    from reid.data.prepare import prepare_task
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
    from reid.data import DATASETS

    parser.add_argument("dataset", choices=DATASETS.names(), help="the adapter's name")
    parser.add_argument("root", type=Path, help="the extracted dataset folder")
    parser.add_argument("--verify-counts", action="store_true")
    parser.add_argument("--split-file", type=Path, help="a split file (VIPeR, PRID, GRID, ...)")
    parser.add_argument("--out", type=Path, help="write the summary table as CSV")


@command("summary", "print the ids / images per split of a dataset folder", _summary_args)
def summary(args: argparse.Namespace) -> int:
    from reid.data import format_summary, load_dataset, write_summary

    splits = load_dataset(
        args.dataset, args.root, verify_counts=args.verify_counts, split_file=args.split_file
    )
    print(format_summary(splits))
    if args.out:
        write_summary(splits, args.out)
    return 0
