"""`feedwatch` subcommands that read and rewrite stored data: hits export, stats (a table, a chart,
CSV), backfill and the database schema.

Times are UTC (`stats` counts in the time zone asked for). A span of items is taken by when
feedwatch saw them (every item has that time; a feed's own publication date may be missing or
wrong).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, handled_by
from bot.ops.config import Settings

if TYPE_CHECKING:
    from bot.cli.common import Subcommands
    from bot.render.charts import Chart
    from bot.storage.reports import ExportedHit
    from bot.storage.repository import Repository
    from bot.trends.stats import HitCounts

EXPORT_FIELDS = (
    "title",
    "link",
    "outlet",
    "feed_url",
    "published",
    "seen",
    "watchlist",
    "matches",
)


def add_commands(commands: Subcommands) -> None:
    hits = commands.add_parser("hits", help="the stored hits: hits export")
    hits_commands = hits.add_subparsers(dest="hits_command", required=True, metavar="COMMAND")
    export = handled_by(
        hits_commands.add_parser(
            "export",
            help="stored hits as CSV or JSON lines on stdout, one row per item and watchlist",
            description="Write the stored hits, one row per item and watchlist, to stdout. "
            "Items are selected by when feedwatch saw them, in UTC.",
        ),
        _export,
    )
    export.add_argument(
        "--since", type=parse_time, required=True, metavar="DATE", help=f"from DATE on; {_DATES}"
    )
    export.add_argument(
        "--until",
        type=until_time,
        metavar="DATE",
        help="before DATE (a bare date: up to the end of that day)",
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="default: csv")
    _watchlist_option(export)

    stats = handled_by(
        commands.add_parser(
            "stats",
            help="hits per watchlist and day, with totals: a table, a chart or CSV",
            description="Hit counts per watchlist and day (or hour), zero days included, with "
            "totals: a table on stdout, or a PNG chart (--plot) and a CSV file (--csv). Days are "
            "those of --tz, UTC by default.",
        ),
        _stats,
    )
    stats.add_argument("--days", type=_days, default=14, metavar="N", help="default: 14")
    stats.add_argument(
        "--until",
        type=_day,
        metavar="YYYY-MM-DD",
        help="the last day shown (default: today)",
    )
    _watchlist_option(stats)
    stats.add_argument(
        "--by",
        choices=("day", "hour"),
        default="day",
        help="count per day or per hour (--days 2 at most); default: day",
    )
    stats.add_argument(
        "--tz",
        type=_zone,
        default="UTC",
        metavar="AREA/CITY",
        help="the time zone days and hours are counted in (default: UTC)",
    )
    stats.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="write the counts as a PNG line chart"
    )
    stats.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="write the counts as CSV: bucket start, a column per watchlist, total",
    )

    backfill = handled_by(
        commands.add_parser(
            "backfill",
            help="match the items of the last N days against the current watchlists",
            description="Match the stored items seen in the last N days against the current "
            "watchlists, store the hits not stored yet and queue them for the chats that follow "
            "those lists. Running it again adds nothing.",
        ),
        _backfill,
    )
    backfill.add_argument("--days", type=_days, required=True, metavar="N")
    backfill.add_argument(
        "--no-deliver", action="store_true", help="store the hits, queue nothing for the chats"
    )
    _watchlist_option(backfill)

    db = commands.add_parser("db", help="the database schema: db upgrade, db current")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    handled_by(
        db_commands.add_parser(
            "upgrade", help="apply the migrations (they also run on every start)"
        ),
        _db_upgrade,
    )
    handled_by(db_commands.add_parser("current", help="the schema's revision"), _db_current)


# --- arguments --------------------------------------------------------------------------------

_DATES = "DATE is YYYY-MM-DD or an ISO 8601 time such as 2024-03-12T06:00:00Z (UTC unless it has an offset)"


def parse_time(text: str) -> datetime:
    """YYYY-MM-DD (midnight UTC) or a full ISO 8601 time; one without an offset is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r}; {_DATES}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _is_bare_date(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def until_time(text: str) -> datetime:
    """As `parse_time`, but a bare date means the end of that day: `--until 2024-03-12` takes
    the hits of March 12 in."""
    value = parse_time(text)
    return value + timedelta(days=1) if _is_bare_date(text) else value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write YYYY-MM-DD)") from None


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= 3660:
        raise argparse.ArgumentTypeError(f"not a number of days from 1 to 3660: {text!r}")
    return days


def _zone(text: str) -> str:
    """An IANA time zone name, such as Europe/Kyiv."""
    name = text.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"not a time zone: {text!r} (write Area/City, such as Europe/Kyiv)"
        ) from None
    return name


def _watchlist_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--watchlist",
        action="extend",
        nargs="+",
        metavar="NAME",
        help="only these watchlists (a chat's own list is LABEL@CHAT_ID); default: all",
    )


def _usage(message: str) -> int:
    print(f"feedwatch: {message}", file=sys.stderr)
    return EXIT_USAGE


def _unknown(named: Sequence[str] | None, known: Iterable[str]) -> str | None:
    """A usage message when `named` holds a name not in `known`."""
    known = sorted(set(known))
    missing = [name for name in named or () if name not in known]
    if not missing:
        return None
    return f"no watchlist named {', '.join(missing)}; known: {', '.join(known) or 'none'}"


def _open(settings: Settings, *, sync: bool = False) -> Repository:
    """The database, migrated; with `sync`, the configured feeds and lists made the stored ones
    first, as the bot does on start."""
    from bot.storage.repository import Repository

    repo = Repository.open(settings.database.url)
    if sync:
        try:
            repo.sync_config(settings.feeds, settings.watchlists, datetime.now(UTC))
        except BaseException:
            repo.close()
            raise
    return repo


# --- hits export ------------------------------------------------------------------------------


def _export(args: argparse.Namespace, settings: Settings) -> int:
    if args.until is not None and args.until <= args.since:
        return _usage("--until must be later than --since")
    repo = _open(settings)
    try:
        message = _unknown(args.watchlist, repo.watchlist_names())
        if message:
            return _usage(message)
        out = _utf8(sys.stdout)
        with closing(repo.export_hits(args.since, args.until, args.watchlist)) as hits:
            try:
                write_hits(hits, out, args.format)
                out.flush()
            except BrokenPipeError:
                # `feedwatch hits export | head`: the reader has what it wanted. Python would
                # complain again when it flushes stdout on exit, unless stdout goes nowhere.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
    finally:
        repo.close()
    return EXIT_OK


def write_hits(hits: Iterable[ExportedHit], out: TextIO, fmt: str) -> int:
    """Write hits as CSV with a header (matches as a JSON list) or as JSON lines; returns how many
    rows were written. Each row is written as it comes."""
    rows = (_export_row(hit) for hit in hits)
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for row in rows:
            row["matches"] = json.dumps(row["matches"], ensure_ascii=False)
            row["published"] = row["published"] or ""
            row["link"] = row["link"] or ""
            writer.writerow(row)
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def _export_row(hit: ExportedHit) -> dict[str, Any]:
    return {
        "title": hit.title,
        "link": hit.link,
        "outlet": hit.outlet,
        "feed_url": hit.feed_url,
        "published": iso_utc(hit.published) if hit.published else None,
        "seen": iso_utc(hit.seen),
        "watchlist": hit.watchlist,
        "matches": [{"term": m.term, "text": m.text} for m in hit.matches],
    }


def iso_utc(value: datetime) -> str:
    """2024-03-12T06:00:00Z"""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utf8(stream: TextIO) -> TextIO:
    """stdout in UTF-8, whatever the locale says (titles are Cyrillic as often as not)."""
    if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower().replace("-", "") != "utf8":
        stream.reconfigure(encoding="utf-8")
    return stream


# --- stats ------------------------------------------------------------------------------------


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from bot.trends.stats import MAX_HOURLY_DAYS, count_hits, window

    days: int = args.days
    if args.by == "hour" and days > MAX_HOURLY_DAYS:
        return _usage(f"--by hour counts {MAX_HOURLY_DAYS} days at most, not {days}")
    tz = ZoneInfo(args.tz)
    now = datetime.now(UTC)
    if args.until is not None:
        # The window ends with that day: its last moment stands for "now".
        now = datetime.combine(args.until, datetime.max.time(), tzinfo=tz)
    span = window(now, days, tz, args.by)
    repo = _open(settings, sync=True)
    try:
        named: list[str] | None = args.watchlist
        message = _unknown(named, repo.watchlist_names())
        if message:
            return _usage(message)
        titles = {w.name: w.display_title for w in repo.watchlists()}
        shown = named if named is not None else [w.name for w in repo.shared_watchlists()]
        counts = count_hits(
            repo.hit_times(span.start, span.end, named),
            now=now,
            days=days,
            tz=tz,
            bucket=args.by,
            watchlists=shown,
        )
    finally:
        repo.close()
    if args.plot is None and args.csv is None:
        print(stats_table(counts))
        return EXIT_OK
    try:
        if args.csv is not None:
            with args.csv.open("w", encoding="utf-8", newline="") as out:
                rows = write_counts(counts, out)
            print(f"CSV: {args.csv} ({rows} rows, {counts.total} hits)")
        if args.plot is not None:
            if counts.total == 0:
                print(f"no hits in these days: no chart written to {args.plot}")
            else:
                args.plot.write_bytes(plot(counts, titles).png)
                print(f"chart: {args.plot} ({counts.total} hits)")
    except OSError as error:
        print(f"feedwatch: cannot write {error.filename}: {error.strerror}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def plot(counts: HitCounts, titles: Mapping[str, str] | None = None) -> Chart:
    """The chart `feedwatch stats --plot` writes: `counts` drawn, titled in English."""
    from bot.render.charts import draw, period

    start, end = period(counts.window)
    zone = _zone_name(counts)
    return draw(
        counts, titles, heading=f"Hits per {counts.window.bucket}, {start} – {end} ({zone})"
    )


def write_counts(counts: HitCounts, out: TextIO) -> int:
    """The counts as CSV: a header (start, the watchlists, total), then a row per bucket, its start
    as an ISO 8601 time with the zone's offset; returns how many rows follow the header."""
    writer = csv.writer(out)
    writer.writerow(["start", *counts.watchlists, "total"])
    for start, row, total in zip(
        counts.window.starts, counts.counts, counts.bucket_totals, strict=True
    ):
        writer.writerow([start.isoformat(), *row, total])
    return len(counts.counts)


def _zone_name(counts: HitCounts) -> str:
    return str(counts.window.start.tzinfo)


def stats_table(counts: HitCounts) -> str:
    """Days down, watchlists across, totals at the right and at the foot, the busiest day below."""
    fmt = "%Y-%m-%d" if counts.window.bucket == "day" else "%Y-%m-%d %H:%M"
    header = [f"{counts.window.bucket} ({_zone_name(counts)})", *counts.watchlists, "total"]
    rows = [header]
    for start, row, total in zip(
        counts.window.starts, counts.counts, counts.bucket_totals, strict=True
    ):
        rows.append([start.strftime(fmt), *map(str, row), str(total)])
    rows.append(["total", *map(str, counts.watchlist_totals), str(counts.total)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    if counts.busiest is not None:
        start, total = counts.busiest
        lines.append(f"busiest: {start.strftime(fmt)} ({total} hit{'s' if total != 1 else ''})")
    else:
        lines.append("no hits in these days")
    return "\n".join(lines)


# --- backfill ---------------------------------------------------------------------------------


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from bot.core.matching.scope import ScopedMatcher
    from bot.services.backfill import backfill

    now = datetime.now(UTC)
    since = now - timedelta(days=args.days)
    repo = _open(settings, sync=True)
    try:
        lists = repo.watchlists()
        message = _unknown(args.watchlist, [w.name for w in lists])
        if message:
            return _usage(message)
        if args.watchlist is not None:
            lists = [w for w in lists if w.name in args.watchlist]
        matcher = ScopedMatcher(lists)
        total = repo.count_items_seen(since, now)
        with tqdm(total=total, unit="item", desc="backfill", file=sys.stderr, disable=None) as bar:
            done = backfill(
                repo, matcher, since, now, deliver=not args.no_deliver, progress=bar.update
            )
    finally:
        repo.close()
    print(
        backfill_summary(done.scanned, since, done.new_hits, done.deliveries, named=args.watchlist)
    )
    if args.no_deliver:
        print("(--no-deliver: nothing was queued for the chats)")
    return EXIT_OK


def backfill_summary(
    scanned: int,
    since: datetime,
    new_hits: dict[str, int],
    deliveries: int,
    *,
    named: Sequence[str] | None = None,
) -> str:
    """Items scanned, new hits per watchlist (each named one, else those with new hits) and
    deliveries queued."""
    names = sorted(set(named)) if named is not None else sorted(new_hits)
    lines = [
        f"items scanned: {scanned} (seen since {since:%Y-%m-%d %H:%M} UTC)",
        f"new hits: {sum(new_hits.values())}",
        *(f"  {name}: {new_hits.get(name, 0)}" for name in names),
        f"deliveries queued: {deliveries}",
    ]
    return "\n".join(lines)


# --- db ---------------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.schema import upgrade_schema

    before, after = upgrade_schema(settings.database.url)
    if before.current == after.current:
        print(f"schema: {_revision(after.current)}, up to date")
    else:
        print(f"schema: {_revision(before.current)} -> {_revision(after.current)}")
    return EXIT_OK


def _db_current(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage.schema import schema_revision

    revision = schema_revision(settings.database.url)
    if revision.up_to_date:
        print(f"schema: {_revision(revision.current)} (head)")
    else:
        print(
            f"schema: {_revision(revision.current)} (head is {revision.head}; "
            "`feedwatch db upgrade` applies the rest)"
        )
    return EXIT_OK


def _revision(revision: str | None) -> str:
    return revision or "none (an empty database)"
