"""How far back a channel is read: until a stored post, the depth in time or in posts, or the
channel's first post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.channel_depth import ChannelDepth, older_page_before
from bot.core.domain import ParsedItem

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
DEPTH = ChannelDepth(timedelta(hours=24), 100)


def posts(first: int, last: int, *, hours_ago: float = 1) -> list[ParsedItem]:
    at = NOW - timedelta(hours=hours_ago)
    return [ParsedItem(f"rvc/{n}", f"Post {n}", None, "", at) for n in range(first, last + 1)]


def test_a_page_of_new_posts_asks_for_the_page_before_its_oldest() -> None:
    assert older_page_before(posts(81, 100), reached_stored=False, depth=DEPTH, now=NOW) == 81


def test_reading_stops_at_a_stored_post_the_depth_or_the_first_post() -> None:
    page = posts(81, 100)
    assert older_page_before(page, reached_stored=True, depth=DEPTH, now=NOW) is None
    assert older_page_before(posts(1, 100), reached_stored=False, depth=DEPTH, now=NOW) is None
    old = posts(81, 100, hours_ago=24)
    assert older_page_before(old, reached_stored=False, depth=DEPTH, now=NOW) is None
    assert older_page_before(posts(1, 20), reached_stored=False, depth=DEPTH, now=NOW) is None
    assert older_page_before([], reached_stored=False, depth=DEPTH, now=NOW) is None


def test_undated_posts_are_bounded_by_their_number() -> None:
    undated = [ParsedItem(f"rvc/{n}", "", None, "", None) for n in range(50, 70)]
    assert older_page_before(undated, reached_stored=False, depth=DEPTH, now=NOW) == 50
    few = ChannelDepth(timedelta(hours=24), 20)
    assert older_page_before(undated, reached_stored=False, depth=few, now=NOW) is None
