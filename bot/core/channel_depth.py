"""How far back a channel is read: its newest page, then older pages until the posts already stored
are reached, or the depth (a span of time or a number of posts, whichever comes first) is. Pure:
`now` is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.domain import ParsedItem

__all__ = ["ChannelDepth", "older_page_before", "post_number"]


@dataclass(frozen=True, slots=True)
class ChannelDepth:
    """A channel's first poll, and the gap after downtime, go back this far and no further."""

    span: timedelta = timedelta(hours=24)
    posts: int = 100


def post_number(item: ParsedItem) -> int | None:
    """A channel post's number within its channel, from its key `<channel>/<id>`."""
    _, _, number = item.key.rpartition("/")
    return int(number) if number.isdigit() else None


def older_page_before(
    items: Sequence[ParsedItem], *, reached_stored: bool, depth: ChannelDepth, now: datetime
) -> int | None:
    """The post number to ask for older posts before (`?before=`), or None when reading is done:
    a post already stored has been reached (nothing older is missing), the depth is reached in
    posts or in time, or the channel has nothing older."""
    if reached_stored or not items or len(items) >= depth.posts:
        return None
    numbers = [number for item in items if (number := post_number(item)) is not None]
    if not numbers or min(numbers) <= 1:
        return None
    times = [item.published for item in items if item.published is not None]
    if times and min(times) <= now - depth.span:
        return None
    return min(numbers)
