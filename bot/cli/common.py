"""What every `feedwatch` subcommand shares: exit statuses, the --config option and the
signature of a handler."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

from bot.core.errors import FeedwatchError
from bot.ops.config import Settings

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


class JsonLines:
    """The JSON objects of a file (or stdin), one a line: a line that is not one is told on stderr
    with its number and skipped, and counted in `bad`."""

    def __init__(self, file: Path | None) -> None:
        self.file = file
        self.bad = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            source = self.file.open("rb") if self.file else _stdin()
        except OSError as error:
            raise FeedwatchError(f"{self.file}: cannot read the file ({error.strerror})") from error
        with source:
            for number, raw in enumerate(source, start=1):
                try:
                    line = raw.decode("utf-8")
                    if not line.strip():
                        continue
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise ValueError("a line must be a JSON object")
                except ValueError as error:  # UnicodeDecodeError and JSONDecodeError included
                    print(
                        f"feedwatch: line {number}: not a valid JSON object ({error})",
                        file=sys.stderr,
                    )
                    self.bad += 1
                    continue
                yield record


def _stdin() -> BinaryIO:
    # Bytes, so that one line of bad UTF-8 is reported rather than ending the run; closing the
    # wrapper leaves the real stdin open.
    return open(sys.stdin.fileno(), "rb", closefd=False)
