"""The `feedwatch` command: run, demo, poll, digest, feeds, match, suggest, same-story, parse,
check-config.

Each subcommand turns feedwatch's errors into one line on stderr and an exit status; no traceback
reaches a user for a problem with their input.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.cli import data as data_commands
from bot.cli import feeds as feeds_commands
from bot.cli import stories as story_commands
from bot.cli import suggest as suggest_commands
from bot.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, Handler, JsonLines, with_config
from bot.core.errors import ConfigError, FeedwatchError
from bot.ops.config import Settings, check_config, load_settings, summary
from bot.sources import feedparser_tuning

if TYPE_CHECKING:
    from bot.ops.logs import LogFormat


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="feedwatch",
        description="Watch news feeds for names and deliver digests of the mentions to Telegram.",
    )
    parser.add_argument("--version", action="version", version=f"feedwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text (default) or as one JSON object per line",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    with_config(
        commands.add_parser("run", help="run the bot: poll feeds, send digests, answer chats")
    )
    demo = commands.add_parser(
        "demo", help="run the pipeline once on the bundled demo feeds and print the digest"
    )
    demo.add_argument(
        "--keep",
        type=Path,
        metavar="FILE",
        help="keep the demo's SQLite database in FILE, for stats, hits export and feeds",
    )
    poll = with_config(commands.add_parser("poll", help="poll the feeds that are due, once"))
    poll.add_argument("--once", action="store_true", help="one round, then exit (required)")
    poll.add_argument("--all", action="store_true", help="poll every feed, not only the due ones")
    feeds_commands.add_commands(commands)
    data_commands.add_commands(commands)
    digest = with_config(commands.add_parser("digest", help="send the digests that are due, once"))
    digest.add_argument("--once", action="store_true", help="one round, then exit (required)")
    match = commands.add_parser(
        "match", help="match JSON lines {id, title, summary} against watchlists"
    )
    match.add_argument(
        "--watchlists", type=Path, required=True, help="TOML file with [[watchlist]] tables"
    )
    match.add_argument("--explain", action="store_true", help="add which term matched which words")
    source = match.add_mutually_exclusive_group()
    source.add_argument("file", nargs="?", type=Path, help="JSON lines to read (default: stdin)")
    source.add_argument(
        "--text",
        help="a sentence to try instead, answered in words, a line per list (exit 1: no match)",
    )
    suggest_commands.add_commands(commands)
    story_commands.add_commands(commands)
    parse = commands.add_parser("parse", help="parse a feed file or URL into JSON lines")
    parse.add_argument("source", help="a file path or an http(s) URL")
    parse.add_argument(
        "--allow-private-addresses",
        action="store_true",
        help="let the URL reach loopback and private addresses (the address guard refuses them)",
    )
    check = commands.add_parser("check-config", help="check a config file and report every problem")
    check.add_argument("path", nargs="?", type=Path, help="config file (default as for run)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _no_collections_at_exit()
    args = _parser().parse_args(argv)
    # The command line is a composition root too: `parse`, `feeds import` and the rest parse in
    # this process, with feedparser tuned as the bot's workers have it.
    feedparser_tuning.install()
    try:
        return _dispatch(args)
    except ConfigError as error:
        for problem in error.problems:
            print(f"feedwatch: {problem}", file=sys.stderr)
        return EXIT_ERROR
    except FeedwatchError as error:
        print(f"feedwatch: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `feedwatch feeds export | head`: the reader has what it wanted. Python would report
        # the pipe again when it flushes stdout on exit; point stdout at nothing first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


@cache  # once a process
def _no_collections_at_exit() -> None:
    """At exit, CPython's last garbage collections go over every object the imports made, only to
    find cycles that the end of the process reclaims anyway: 0.1-0.3 s of a `poll --once` on these
    machines (start-up, issue 19). Frozen by an exit handler, the objects are passed over by those
    collections; what is not in a cycle is still released as before, and the other exit handlers
    (logging's flush among them) still run."""
    atexit.register(gc.freeze)


def _dispatch(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "check-config":
        return _check_config(args.path)
    if command == "match":
        if args.text is not None:
            return _match_text(args.watchlists, args.text)
        return _match(args.watchlists, args.file, explain=args.explain)
    run_without_config: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run_without_config is not None:
        return run_without_config(args)
    if command == "parse":
        return _parse(args.source, allow_private=args.allow_private_addresses)
    if command == "demo":
        from bot.cli.demo import run_demo

        _logging(args.verbose, quiet=True, fmt=args.log_format)
        return run_demo(sys.stdout, keep=args.keep)
    if command in ("poll", "digest") and not args.once:
        print(
            f"feedwatch: {command} does one round and needs --once; `feedwatch run` keeps going",
            file=sys.stderr,
        )
        return EXIT_USAGE
    settings = load_settings(args.config)
    _logging(
        args.verbose,
        secrets=[settings.telegram.token.get_secret_value()],
        quiet=command != "run",
        fmt=args.log_format,
    )
    handler: Handler | None = getattr(args, "handler", None)
    if handler is not None:
        return handler(args, settings)
    if command == "run":
        return asyncio.run(_run(settings))
    if command == "poll":
        return asyncio.run(_poll(settings, all_feeds=args.all))
    return asyncio.run(_digest(settings))


def _logging(
    verbose: bool, *, secrets: Sequence[str] = (), quiet: bool = False, fmt: LogFormat = "text"
) -> None:
    from bot.ops.logs import setup_logging

    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    setup_logging(level, secrets=secrets, fmt=fmt)


def _check_config(path: Path | None) -> int:
    settings, problems = check_config(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if settings is None or problems:
        return EXIT_ERROR
    from bot.core.matching import term_warnings

    # Valid, but likely to match what its owner does not mean: said, and the file still passes.
    source = settings.source or path
    for watchlist in settings.watchlists:
        for warning in term_warnings(watchlist):
            print(f"warning: {source}: {warning}", file=sys.stderr)
    print(summary(settings))
    return EXIT_OK


async def _run(settings: Settings) -> int:
    from bot.app import FeedwatchApp

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger("feedwatch").info("starting: %s", summary(settings))
    async with FeedwatchApp(settings) as app:
        await app.serve(stop)
    return EXIT_OK


async def _poll(settings: Settings, *, all_feeds: bool) -> int:
    from bot.app import FeedwatchApp
    from bot.services.poll import summarise

    async with FeedwatchApp(settings) as app:
        outcomes = await app.poll_once(all_feeds=all_feeds)
    for outcome in outcomes:
        if outcome.error:
            print(f"failed     {outcome.feed_url}: {outcome.error}")
        elif outcome.not_modified:
            print(f"unchanged  {outcome.feed_url}")
        else:
            print(
                f"ok         {outcome.feed_url}: {outcome.new_items} new items, {outcome.new_hits} hits"
            )
    print(summarise(outcomes) if outcomes else "no feed is due")
    return EXIT_OK


async def _digest(settings: Settings) -> int:
    from bot.app import FeedwatchApp

    async with FeedwatchApp(settings) as app:
        outcomes = await app.digest_once()
    failed = [o for o in outcomes if o.error]
    for outcome in failed:
        print(f"chat {outcome.chat_id}: {outcome.error}", file=sys.stderr)
    sent = sum(o.messages for o in outcomes)
    items = sum(o.items for o in outcomes)
    print(f"digests: {sent} messages with {items} items to {len(outcomes) - len(failed)} chats")
    return EXIT_ERROR if failed else EXIT_OK


def _match(watchlists_path: Path, file: Path | None, *, explain: bool) -> int:
    from bot.core.matching import Matcher
    from bot.ops.watchlist_file import load_watchlists
    from bot.sources.parsing import html_to_text

    matcher = Matcher(load_watchlists(watchlists_path))
    lines = JsonLines(file)
    for record in lines:
        title = html_to_text(str(record.get("title") or ""))
        summary_text = html_to_text(str(record.get("summary") or ""))
        found = matcher.match(title, summary_text)
        out: dict[str, Any] = {"id": record.get("id"), "watchlists": sorted(found)}
        if explain:
            # A term with a context also names the context word that let it match.
            out["matched"] = [
                {"watchlist": m.watchlist, "term": m.term, "text": m.text}
                | ({"near": m.near} if m.near else {})
                for name in sorted(found)
                for m in found[name]
            ]
        print(json.dumps(out, ensure_ascii=False))
    return EXIT_ERROR if lines.bad else EXIT_OK


def _match_text(watchlists_path: Path, text: str) -> int:
    """`match --text`: which lists a sentence hits and by which words, for a person to read."""
    from bot.core.matching import Matcher
    from bot.ops.watchlist_file import load_watchlists

    found = Matcher(load_watchlists(watchlists_path)).match(text)
    if not found:
        print("no watchlist matches")
        return EXIT_ERROR
    for name in sorted(found):
        words = ", ".join(
            f"«{m.text}» ({m.term}" + (f", near «{m.near}»" if m.near else "") + ")"
            for m in found[name]
        )
        print(f"{name}: {words}")
    return EXIT_OK


def _parse(source: str, *, allow_private: bool = False) -> int:
    from bot.sources.parsing import parse_feed
    from bot.sources.telegram_page import is_telegram_page

    headers: dict[str, str] = {}
    if source.startswith(("http://", "https://")):
        content, headers = asyncio.run(_download(source, allow_private=allow_private))
    else:
        path = Path(source)
        try:
            content = path.read_bytes()
        except OSError as error:
            print(f"feedwatch: {source}: cannot read the file ({error.strerror})", file=sys.stderr)
            return EXIT_ERROR
    feed = parse_feed(content, source=source, headers=headers)
    # A Telegram channel page (parse_feed knows it by its content) also tells each post's forward,
    # views and kinds of media.
    channel = is_telegram_page(content)
    for item in feed.items:
        record: dict[str, object] = {
            "id": item.key,
            "link": item.link,
            "title": item.title,
            "published": item.published.isoformat().replace("+00:00", "Z")
            if item.published
            else None,
            "summary": item.summary,
        }
        if channel:
            record.update(
                forwarded_from=item.forwarded_from, views=item.views, media=list(item.media)
            )
        print(json.dumps(record, ensure_ascii=False))
    return EXIT_OK


async def _download(url: str, *, allow_private: bool) -> tuple[bytes, dict[str, str]]:
    from bot.sources.fetch import Fetcher

    async with Fetcher(allow_private_addresses=allow_private) as fetcher:
        fetched = await fetcher.fetch(url)
    return fetched.content, dict(fetched.headers)
