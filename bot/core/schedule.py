"""Scheduling decisions: when a feed is polled next and whether a chat's digest is due.

Pure: `now` and the random jitter are passed in, so tests need neither sleeping nor patched clocks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

MAX_BACKOFF = timedelta(days=1)
JITTER_FRACTION = 0.1
"""Each interval is stretched or shrunk by up to this share, so feeds added together drift apart."""


HINT_STRETCH = 6
"""A server's hint (ttl, max-age, Retry-After) may stretch a feed's interval up to this many times."""


def next_poll_at(
    now: datetime,
    interval: timedelta,
    *,
    consecutive_failures: int = 0,
    jitter: float = 0.5,
    hint: timedelta | None = None,
) -> datetime:
    """When to poll a feed next: its interval after a success, exponential backoff after failures;
    a server's hint (`cache_hint`, `retry_after`) stretches the wait, never shortens it, within
    `HINT_STRETCH` times the interval and one day.

    `jitter` is a number in [0, 1) (from a random source the caller owns); 0.5 means no jitter.
    """
    if consecutive_failures > 0:
        # Doubling per failure, capped, so a dead feed costs one request a day, not one per tick.
        exponent = min(consecutive_failures, 20)
        # Never sooner than the feed's own interval, even when that is longer than the cap.
        delay = max(interval, min(interval * (2**exponent), MAX_BACKOFF))
    else:
        delay = interval
    if hint is not None and hint > delay:
        delay = max(delay, min(hint, interval * HINT_STRETCH, MAX_BACKOFF))
    spread = 1 + JITTER_FRACTION * (2 * jitter - 1)
    moment: datetime = now + delay * spread
    return moment


_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)")


def cache_hint(headers: Mapping[str, str], ttl_minutes: int | None) -> timedelta | None:
    """How long the server says the feed stays fresh: `Cache-Control: max-age` or RSS `<ttl>`,
    the longer of the two. Headers are given with lowercase names."""
    hints = []
    found = _MAX_AGE.search(headers.get("cache-control", "").lower())
    if found is not None:
        hints.append(timedelta(seconds=int(found[1])))
    if ttl_minutes:
        hints.append(timedelta(minutes=ttl_minutes))
    return max(hints) if hints else None


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds, or an HTTP date) as a wait from `now`."""
    text = (value or "").strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(timedelta(0), moment - now)


def digest_due(
    now: datetime,
    last_digest_at: datetime | None,
    interval: timedelta,
) -> bool:
    """Whether a chat with pending hits should get its digest now."""
    return last_digest_at is None or now >= last_digest_at + interval


def local_time(now: datetime, timezone: str | None) -> datetime:
    """`now` on the chat's clock (UTC when it set no time zone)."""
    return now.astimezone(ZoneInfo(timezone) if timezone else UTC)


def in_quiet_hours(now: datetime, timezone: str | None, quiet: tuple[int, int] | None) -> bool:
    """Whether `now` falls in a chat's quiet hours, given as minutes after local midnight; a span
    whose end is before its start runs over midnight (22:00-07:00)."""
    if quiet is None:
        return False
    local = local_time(now, timezone)
    minute = local.hour * 60 + local.minute
    start, end = quiet
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end
