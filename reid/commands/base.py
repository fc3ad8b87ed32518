"""The seam between the `reid` CLI and its sub-commands: the command registry and the argument
helpers every sub-command shares. Sub-commands import this module, never `reid.cli`, so there is
no import cycle and `reid`, `python -m reid` and `python -m reid.cli` see the same commands."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reid.errors import ConfigError

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a sub-command: its help, its arguments and its handler."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = (help_text, configure, handler)
        return handler

    return register


def json_arg(value: str) -> Any:
    """A JSON value given inline, or `@path` to a JSON file."""
    try:
        if value.startswith("@"):
            return json.loads(Path(value[1:]).read_text(encoding="utf-8"))
        return json.loads(value)
    except (OSError, json.JSONDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` (repeatable, later wins) and `--set key.path=value` overrides."""
    parser.add_argument(
        "--config",
        action="append",
        type=Path,
        default=None,
        help="config YAML (repeatable; default config/config.yaml)",
    )
    parser.add_argument(
        "--config-json",
        type=json_arg,
        default=None,
        help="a whole config as JSON or @file (rules pass Snakemake's config)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one key, e.g. --set train.epochs=2 (value parsed as YAML)",
    )


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    """Device, threads and speed options (they do not change what is learnt)."""
    parser.add_argument("--device", default=None, help="auto, cpu or cuda (default: config)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--amp", choices=["off", "bf16", "fp16"], default=None)
    parser.add_argument("--channels-last", action="store_true", default=None)
    parser.add_argument("--compile", action="store_true", default=None)
    parser.add_argument(
        "--no-cache-decoded",
        action="store_true",
        default=None,
        help="do not keep decoded images in a .pt cache (default: config data.cache_decoded)",
    )


def load_cli_config(args: argparse.Namespace) -> dict[str, Any]:
    """The validated config from `--config` files and `--set` overrides."""
    import yaml

    from reid.config import deep_merge, load_config

    overrides: dict[str, Any] = {}
    for item in args.set:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. train.epochs=2")
        key, value = item.split("=", 1)
        node: dict[str, Any] = {}
        cursor = node
        parts = key.split(".")
        for part in parts[:-1]:
            cursor[part] = {}
            cursor = cursor[part]
        cursor[parts[-1]] = yaml.safe_load(value)
        overrides = deep_merge(overrides, node)
    if getattr(args, "config_json", None) is not None:
        from reid.config import validate_config

        return validate_config(deep_merge(args.config_json, overrides))
    return load_config(args.config or [Path("config/config.yaml")], overrides)


def config_task(config: dict[str, Any], name: str, command: str) -> tuple[int, dict[str, Any]]:
    """The index and resolved entry of the config's task `name` (`--task`), or one clear error."""
    from reid.runs import task_entry

    names = [t["name"] for t in config["tasks"]]
    if name not in names:
        raise ConfigError(
            f"reid {command}: --task {name!r} is not a task of the config; use one of {names}"
        )
    index = names.index(name)
    return index, task_entry(config, config["tasks"][index])


def runtime_from(args: argparse.Namespace, config: dict[str, Any] | None = None):
    """A `Runtime` from CLI flags, falling back to the config."""
    from reid.engine import Runtime

    config = config or {}
    train = config.get("train", {})
    return Runtime(
        device_name=args.device or config.get("device", "auto"),
        threads=args.threads or config.get("threads"),
        amp=args.amp or train.get("amp", "off"),
        channels_last=bool(
            args.channels_last
            if args.channels_last is not None
            else train.get("channels_last", False)
        ),
        compile=bool(args.compile if args.compile is not None else train.get("compile", False)),
        cache_images=not args.no_cache_decoded
        and bool(config.get("data", {}).get("cache_decoded", True)),
    )
