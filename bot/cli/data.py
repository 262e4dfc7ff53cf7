"""`feedwatch` subcommands that read and rewrite stored data: hits export, stats, backfill and
the database schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def add_commands(commands: Subcommands) -> None:
    """None yet."""
