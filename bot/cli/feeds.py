"""`feedwatch feeds`: the feeds with their health; `feeds import FILE` adds the feeds of an OPML
file for every chat, each checked to be a feed first; `feeds export` writes every feed as OPML."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_ERROR, EXIT_OK, Handler, handled_by
from bot.core.domain import FeedState
from bot.ops.config import PollingSettings, Settings

# OPML (listparser) is imported by the two actions that read or write it, not by every command
# that builds the parser (start-up, issue 19).
if TYPE_CHECKING:
    from bot.cli.common import Subcommands
    from bot.services.feed_import import ImportReport, Kept
    from bot.sources.opml import OpmlEntry
    from bot.storage.repository import Repository

# Feeds an import checks at once, at most (and at most [polling] per_host of them on one server).
IMPORT_CONCURRENCY = 8


def add_commands(commands: Subcommands) -> None:
    feeds = handled_by(
        commands.add_parser(
            "feeds",
            help="the feeds, with their health; OPML import and export",
            description="Without an ACTION: a table of the feeds with their health.",
        ),
        _feeds,
    )
    actions = feeds.add_subparsers(dest="feeds_action", metavar="ACTION")
    opml_in = _action(
        actions.add_parser(
            "import", help="add the feeds of an OPML file for every chat, each checked first"
        ),
        _import,
    )
    opml_in.add_argument("file", type=Path, help="an OPML file, as feed readers export them")
    _action(actions.add_parser("export", help="every feed as OPML 2.0 on stdout"), _export)


def _action(sub: argparse.ArgumentParser, handler: Handler) -> argparse.ArgumentParser:
    """`handled_by` for an action of `feeds`. Its --config has no default of its own: argparse
    would let that default overwrite a --config given before the action (`feeds --config X
    import F`)."""
    sub.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="config file (default: $FEEDWATCH_CONFIG or config/feedwatch.toml)",
    )
    sub.set_defaults(handler=handler)
    return sub


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


# --- OPML -----------------------------------------------------------------------------------


def _import(args: argparse.Namespace, settings: Settings) -> int:
    """Check every feed of the OPML file, add the good ones for every chat, report the rest."""
    from bot.sources.opml import OpmlError, read_opml
    from bot.storage.repository import Repository

    path: Path = args.file
    try:
        entries = read_opml(path.read_bytes())
    except OSError as error:
        print(f"feedwatch: {path}: cannot read the file ({error.strerror})", file=sys.stderr)
        return EXIT_ERROR
    except OpmlError as error:
        print(f"feedwatch: {path}: {error}", file=sys.stderr)
        return EXIT_ERROR
    repo = Repository.open(settings.database.url)
    try:
        repo.sync_config(settings.feeds, settings.watchlists, datetime.now(UTC))
        report = asyncio.run(_check_and_keep(entries, repo, settings.polling))
    finally:
        repo.close()
    for refused in report.refused:
        named = f' ("{refused.entry.title}")' if refused.entry.title else ""
        print(f"{refused.entry.url}: {refused.reason}{named}", file=sys.stderr)
    added, refused_count = len(report.added), len(report.refused)
    already = len(entries) - refused_count - added
    print(
        f"{path}: {_count(added, 'feed')} imported, {refused_count} refused, "
        f"{already} already present"
    )
    return EXIT_ERROR if refused_count else EXIT_OK


async def _check_and_keep(
    entries: Sequence[OpmlEntry], repo: Repository, polling: PollingSettings
) -> ImportReport:
    """The import, each feed checked as the poller would read it, a few at once (and at most
    `per_host` on one server), with a progress bar on a terminal's stderr."""
    from tqdm import tqdm

    from bot.services.feed_check import FeedChecker
    from bot.services.feed_import import import_feeds
    from bot.sources.fetch import Fetcher
    from bot.storage.asynchronous import AsyncStorage

    storage = AsyncStorage(repo)
    present = await storage.shared_feed_urls()

    async def keep(url: str, name: str | None) -> Kept:
        stored = await storage.import_feeds([(url, name)], datetime.now(UTC))
        return "added" if stored[url] == "added" else "already"

    # disable=None: a bar on a terminal only, never in a log or a pipe.
    with tqdm(desc="checking feeds", unit="feed", file=sys.stderr, disable=None) as bar:

        async def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        async with Fetcher.configured(polling) as fetcher:
            checker = FeedChecker(
                fetcher,
                at_once=min(polling.concurrency, IMPORT_CONCURRENCY),
                per_host=polling.per_host,
            )
            return await import_feeds(entries, checker, keep, present=present, progress=progress)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _export(args: argparse.Namespace, settings: Settings) -> int:
    """Every enabled feed, configured, imported and chats' own, as OPML 2.0 on stdout."""
    from bot.sources.opml import write_opml
    from bot.storage.repository import Repository

    repo = Repository.open(settings.database.url)
    try:
        now = datetime.now(UTC)
        repo.sync_config(settings.feeds, settings.watchlists, now)
        feeds = repo.feeds()
    finally:
        repo.close()
    document = write_opml(
        ((feed.display_name, feed.url) for feed in feeds), title="feedwatch feeds", created=now
    )
    sys.stdout.flush()
    # Bytes as written: the document says it is UTF-8, whatever the terminal's encoding.
    sys.stdout.buffer.write(document)
    sys.stdout.buffer.flush()
    return EXIT_OK
