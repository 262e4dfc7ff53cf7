"""What every `feedwatch` subcommand shares: exit statuses, the --config option and the
signature of a handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from bot.config import Settings

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, Settings], int]
"""A subcommand that works on the configured database: called with the parsed arguments and the
loaded settings, after logging is set up; returns the exit status."""

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What `add_subparsers` returns: each command module adds its subcommands to it."""


def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give a subcommand the --config option."""
    sub.add_argument(
        "--config",
        type=Path,
        help="config file (default: $FEEDWATCH_CONFIG or config/feedwatch.toml)",
    )
    return sub


def handled_by(sub: argparse.ArgumentParser, handler: Handler) -> argparse.ArgumentParser:
    """Make `handler` run the subcommand `sub` (with --config): see `Handler`."""
    with_config(sub)
    sub.set_defaults(handler=handler)
    return sub
