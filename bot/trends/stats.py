"""Hits counted per watchlist over time: the numbers behind `feedwatch stats`, and behind charts.

Pure: (watchlist, time) pairs in, an ordered table of buckets × watchlists out. `now` and the time
zone are passed in, so the same hits always count the same, whatever the clock or the machine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal

Bucket = Literal["day", "hour"]

MAX_HOURLY_DAYS = 2
"""Hour buckets only for windows this short: 48 rows are a chart, 336 are noise."""

_HOUR = timedelta(hours=1)


def default_bucket(days: int) -> Bucket:
    """Hours for a window of a day or two, days for anything longer."""
    return "hour" if days <= MAX_HOURLY_DAYS else "day"


@dataclass(frozen=True, slots=True)
class Window:
    """The span counted, cut into buckets; `starts` are the buckets' starts, oldest first, in the
    time zone asked for. A bucket runs from its start to the next one's (the last to `end`).
    Subtract or compare them in UTC: Python does both by wall clock within one zone."""

    bucket: Bucket
    start: datetime
    end: datetime
    starts: tuple[datetime, ...]


def window(now: datetime, days: int, tz: tzinfo, bucket: Bucket = "day") -> Window:
    """The last `days` days up to `now`: whole calendar days in `tz`, today included, for "day";
    the last `days` × 24 hours, the current hour included, for "hour" (no more than
    `MAX_HOURLY_DAYS`). Days in `tz` may last 23 or 25 hours when its clocks change."""
    _check_aware(now, "now")
    if days < 1:
        raise ValueError(f"a window is at least one day long, not {days}")
    local = now.astimezone(tz)
    if bucket == "day":
        today = local.date()
        midnights = [
            datetime.combine(today - timedelta(days=back), time(), tzinfo=tz)
            for back in range(days - 1, -2, -1)  # to tomorrow's midnight, where today ends
        ]
        return Window("day", midnights[0], midnights[-1], tuple(midnights[:-1]))
    if bucket != "hour":
        raise ValueError(f"unknown bucket {bucket!r}: day or hour")
    if days > MAX_HOURLY_DAYS:
        raise ValueError(f"hour buckets are for {MAX_HOURLY_DAYS} days or fewer, not {days}")
    # The start of the current hour on the local clock (in a zone half an hour off UTC it is not
    # a UTC hour); from there, buckets are whole hours of elapsed time.
    this_hour = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    hours = days * 24
    starts = tuple((this_hour - back * _HOUR).astimezone(tz) for back in range(hours - 1, -1, -1))
    return Window("hour", starts[0], (this_hour + _HOUR).astimezone(tz), starts)


@dataclass(frozen=True, slots=True)
class HitCounts:
    """Hits per bucket and watchlist: `counts[b][w]` is how many hits `watchlists[w]` had in the
    bucket that starts at `window.starts[b]`. Buckets without hits are there, with zeros."""

    window: Window
    watchlists: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    bucket_totals: tuple[int, ...]
    watchlist_totals: tuple[int, ...]
    total: int
    # The bucket with the most hits (the earliest of equals) and its count; None without hits.
    busiest: tuple[datetime, int] | None

    def count(self, watchlist: str, start: datetime) -> int:
        """The hits of one watchlist in the bucket that starts at `start`."""
        # As instants: two times of one zone compare by wall clock, and an autumn night has
        # two hours that read 01:00.
        instant = start.astimezone(UTC)
        for index, bucket_start in enumerate(self.window.starts):
            if bucket_start.astimezone(UTC) == instant:
                return self.counts[index][self.watchlists.index(watchlist)]
        raise ValueError(f"no bucket starts at {start.isoformat()}")

    def total_of(self, watchlist: str) -> int:
        return self.watchlist_totals[self.watchlists.index(watchlist)]


def count_hits(
    hits: Iterable[tuple[str, datetime]],
    *,
    now: datetime,
    days: int,
    tz: tzinfo,
    bucket: Bucket = "day",
    watchlists: Iterable[str] = (),
) -> HitCounts:
    """Count (watchlist name, time) pairs into the buckets of `window(now, days, tz, bucket)`.

    Hits outside the window are left out. The watchlists are `watchlists` (shown even without a
    hit) and every name among the hits, in name order. Reads `hits` once, so it may be a stream.
    """
    span = window(now, days, tz, bucket)
    names: dict[str, dict[int, int]] = {name: {} for name in watchlists}
    # In UTC: Python compares and subtracts two times of one time zone by their wall clocks.
    start, end = span.start.astimezone(UTC), span.end.astimezone(UTC)
    first_day = span.start.date()
    for name, when in hits:
        _check_aware(when, "a hit's time")
        moment = when.astimezone(UTC)
        if not start <= moment < end:
            continue
        if bucket == "day":
            index = (moment.astimezone(tz).date() - first_day).days
        else:
            index = (moment - start) // _HOUR
        per_bucket = names.setdefault(name, {})
        per_bucket[index] = per_bucket.get(index, 0) + 1
    ordered = tuple(sorted(names))
    counts = tuple(
        tuple(names[name].get(index, 0) for name in ordered) for index in range(len(span.starts))
    )
    bucket_totals = tuple(sum(row) for row in counts)
    busiest: tuple[datetime, int] | None = None
    for bucket_start, total in zip(span.starts, bucket_totals, strict=True):
        if total and (busiest is None or total > busiest[1]):
            busiest = (bucket_start, total)
    return HitCounts(
        window=span,
        watchlists=ordered,
        counts=counts,
        bucket_totals=bucket_totals,
        watchlist_totals=tuple(sum(names[name].values()) for name in ordered),
        total=sum(bucket_totals),
        busiest=busiest,
    )


def _check_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, not {value!r}")
