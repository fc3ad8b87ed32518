"""The `reid` command line: sub-commands the Snakemake rules call (users can run them too).

`reid`, `python -m reid` and `python -m reid.cli` all run `main`; the sub-commands register
themselves in `reid.commands.base.COMMANDS` when `reid.commands` is imported.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import reid.commands  # noqa: F401 - registers the sub-commands
from reid.commands.base import COMMANDS
from reid.errors import ReidError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="reid", description="Incremental person re-identification experiment suite."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, configure, handler) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        configure(child)
        child.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line and exit 2, without a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.handler(args) or 0)
    except ReidError as exc:
        # One line, whatever the message holds (a quoted library error may span several).
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"reid {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
