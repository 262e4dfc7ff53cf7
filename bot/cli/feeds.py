"""`feedwatch feeds`: the feeds with their health."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_OK, handled_by
from bot.config import Settings
from bot.domain import FeedState

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def add_commands(commands: Subcommands) -> None:
    handled_by(commands.add_parser("feeds", help="the feeds, with their health"), _feeds)


def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    """A table of the stored feeds with their health, without starting the bot."""
    from bot.storage.repository import Repository

    repo = Repository.open(settings.database.url)
    try:
        repo.sync_config(settings.feeds, settings.watchlists, datetime.now(UTC))
        feeds = repo.feeds()
    finally:
        repo.close()
    print(feeds_table(feeds))
    return EXIT_OK


def feeds_table(feeds: Sequence[FeedState]) -> str:
    """Feeds as aligned columns: name, state, last read, failures, items, last error."""
    rows = [("feed", "state", "last read (UTC)", "failures", "items", "last error")]
    for feed in feeds:
        state = "failing" if feed.last_error else "ok" if feed.last_success_at else "new"
        read = f"{feed.last_success_at:%Y-%m-%d %H:%M}" if feed.last_success_at else "never"
        rows.append(
            (
                feed.display_name[:40],
                state,
                read,
                str(feed.consecutive_failures),
                str(feed.item_count),
                (feed.last_error or "")[:80],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    ).rstrip()
