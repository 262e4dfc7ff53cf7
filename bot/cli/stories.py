"""`feedwatch same-story [FILE]`: whether two items are one story, by the rule digests use, with the
reason; for a user asking why two items were folded, and for measuring the rule on labelled pairs.

Reads JSON lines `{"id", "a": ITEM, "b": ITEM}`, ITEM = `{"title", "summary", "link", "published",
"outlet"}`, and writes `{"id", "same": true|false, "why": "…"}` for each.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import EXIT_ERROR, EXIT_OK, JsonLines
from bot.core.domain import StoredItem
from bot.core.errors import FeedwatchError

if TYPE_CHECKING:
    from bot.cli.common import Subcommands
    from bot.core.matching import Matcher
    from bot.core.matching.morphology import Morphology
    from bot.trends.stories import StoryItem


def add_commands(commands: Subcommands) -> None:
    sub = commands.add_parser(
        "same-story",
        help="say whether pairs of items are one story, and why (JSON lines in and out)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    sub.add_argument(
        "--watchlists",
        type=Path,
        help="TOML file with [[watchlist]] tables: items that match different ones are never "
        "one story, as in a chat's digest (default: watchlists play no part)",
    )
    sub.add_argument("file", nargs="?", type=Path, help="JSON lines to read (default: stdin)")
    sub.set_defaults(run=_same_story)


def _same_story(args: argparse.Namespace) -> int:
    from bot.core.matching import Matcher
    from bot.core.matching.morphology import default_morphology
    from bot.ops.watchlist_file import load_watchlists
    from bot.trends.stories import same_story

    matcher = Matcher(load_watchlists(args.watchlists)) if args.watchlists else None
    morphology = default_morphology()
    now = datetime.now(UTC)
    lines = JsonLines(args.file)
    status = EXIT_OK
    for record in lines:
        try:
            a, b = (
                _story_item(record.get(side), side, now, morphology, matcher) for side in ("a", "b")
            )
        except FeedwatchError as error:
            print(json.dumps({"id": record.get("id"), "error": str(error)}, ensure_ascii=False))
            status = EXIT_ERROR
            continue
        verdict = same_story(a, b)
        out = {"id": record.get("id"), "same": verdict.same, "why": verdict.why}
        print(json.dumps(out, ensure_ascii=False))
    return EXIT_ERROR if lines.bad else status


def _story_item(
    raw: Any, side: str, now: datetime, morphology: Morphology, matcher: Matcher | None
) -> StoryItem:
    from bot.sources.parsing import html_to_text
    from bot.trends.stories import StoryItem

    if not isinstance(raw, dict):
        raise FeedwatchError(f'"{side}" must be an object with title, summary, link, published')
    title = html_to_text(str(raw.get("title") or ""))
    summary = html_to_text(str(raw.get("summary") or ""))
    published = _moment(raw.get("published"), side)
    outlet = str(raw.get("outlet") or "")
    item = StoredItem(
        id=0,
        feed_id=0,
        feed_name=outlet,
        key="",
        title=title,
        link=str(raw["link"]) if raw.get("link") else None,
        summary=summary,
        published=published,
        seen_at=published or now,
    )
    lists = sorted(matcher.match(title, summary)) if matcher is not None else None
    return StoryItem.of(item, morphology, lists, source=outlet)


def _moment(value: Any, side: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise FeedwatchError(f'"{side}": published {value!r} is not an ISO 8601 time') from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
