"""`reid config`: print the effective config (files, `_base_`, `--set`, defaults filled)."""

from __future__ import annotations

import argparse

import yaml

from reid.commands.base import add_config_args, command, load_cli_config


@command(
    "config",
    "print the validated config with every default filled (YAML), or the first error",
    add_config_args,
)
def show_config(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(load_cli_config(args), sort_keys=False, allow_unicode=True), end="")
    return 0
