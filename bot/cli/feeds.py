"""`feedwatch feeds`: the feeds with their health; `feeds import FILE` adds the feeds of an OPML
file for every chat, each checked to be a feed first; `feeds export` writes every feed as OPML."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.cli.common import EXIT_ERROR, EXIT_OK, Handler, handled_by
from bot.core.domain import FeedState
from bot.core.errors import FeedwatchError
from bot.ops.config import PollingSettings, Settings
from bot.sources.opml import OpmlEntry, OpmlError, read_opml, write_opml

if TYPE_CHECKING:
    from bot.cli.common import Subcommands

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


@dataclass(frozen=True, slots=True)
class Checked:
    """What fetching and parsing an entry's URL found: the feed's title, or why it is no feed."""

    title: str | None = None
    problem: str | None = None


def _import(args: argparse.Namespace, settings: Settings) -> int:
    """Check every feed of the OPML file, add the good ones for every chat, report the rest."""
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
        present = repo.shared_feed_urls()
        to_check = [e for e in entries if e.problem is None and e.url not in present]
        checked = asyncio.run(check_feeds(to_check, settings.polling))
        good = [
            (e.url, e.title or checked[e.url].title)
            for e in to_check
            if checked[e.url].problem is None
        ]
        stored = repo.import_feeds(good, datetime.now(UTC))
    finally:
        repo.close()
    refused = 0
    for entry in entries:
        problem = entry.problem or (checked[entry.url].problem if entry.url in checked else None)
        if problem is not None:
            refused += 1
            named = f' ("{entry.title}")' if entry.title else ""
            print(f"{entry.url}: {problem}{named}", file=sys.stderr)
    added = sum(1 for outcome in stored.values() if outcome == "added")
    already = len(entries) - refused - added
    print(f"{path}: {_count(added, 'feed')} imported, {refused} refused, {already} already present")
    return EXIT_ERROR if refused else EXIT_OK


async def check_feeds(entries: Sequence[OpmlEntry], polling: PollingSettings) -> dict[str, Checked]:
    """Fetch and parse each entry's URL as the poller would, a few at once (and at most
    `per_host` on one server), with a progress bar on a terminal's stderr."""
    from tqdm import tqdm

    from bot.sources.fetch import Fetcher
    from bot.sources.parsing import parse_feed

    overall = asyncio.Semaphore(max(1, min(polling.concurrency, IMPORT_CONCURRENCY)))
    hosts: dict[str, asyncio.Semaphore] = {}
    results: dict[str, Checked] = {}
    # disable=None: a bar on a terminal only, never in a log or a pipe.
    with tqdm(
        total=len(entries), desc="checking feeds", unit="feed", file=sys.stderr, disable=None
    ) as bar:
        async with Fetcher.configured(polling) as fetcher:

            async def check(entry: OpmlEntry) -> None:
                host = (urlsplit(entry.url).hostname or "").lower()
                per_host = hosts.setdefault(host, asyncio.Semaphore(max(1, polling.per_host)))
                # The server's turn first: waiting for it must not hold one of the overall turns.
                async with per_host, overall:
                    try:
                        fetched = await fetcher.fetch(entry.url)
                        feed = await asyncio.to_thread(
                            parse_feed, fetched.content, source=entry.url, headers=fetched.headers
                        )
                        results[entry.url] = Checked(title=feed.title)
                    except FeedwatchError as error:
                        results[entry.url] = Checked(problem=_reason(error))
                bar.update(1)

            await asyncio.gather(*(check(entry) for entry in entries))
    return results


def _reason(error: FeedwatchError) -> str:
    """The reason alone: fetch and parse errors name the URL, which the report names already."""
    reason = getattr(error, "reason", None)
    return reason if isinstance(reason, str) else str(error)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _export(args: argparse.Namespace, settings: Settings) -> int:
    """Every enabled feed, configured, imported and chats' own, as OPML 2.0 on stdout."""
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
