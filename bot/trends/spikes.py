"""Spike alerts, the pure part: when a watchlist's hits in the last hour are far above what the same
hour brought on the previous days, and the stories behind them (the text is `bot.render.alerts`).

Pure: hit times or counts and `now` in, a `Spike` (or None) out. The README's "Spike
alerts" section states the rule and why its constants are what they are.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.domain import PendingDelivery, StoredItem
from bot.trends.stories import group_stories, moment_of

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

BASELINE_DAYS = 14
"""The hour is compared with the same hour of each of this many previous days."""
MIN_HISTORY_DAYS = 7
"""At least this many of those hours must come after the watchlist's first hit: a list without a
week of history has no "usual" yet."""
MIN_COUNT = 6
"""Fewer hits than this in an hour are never a spike, whatever the baseline (0 → 2 is noise; with
5, a list of about one hit an hour alerted once a month on Poisson noise alone, checked after every
poll round)."""
SPREADS = 5.0
"""How many spreads above the baseline's median the hour must be."""
MAD_SCALE = 1.4826
"""Turns a median absolute deviation into a standard deviation's worth (for normal data)."""
RATIO = 2.0
"""The hour must also be at least this many times its usual count (or 1, if that is less)."""
COOLDOWN = timedelta(hours=6)
"""At most one alert per watchlist and chat in this span."""
ALERT_STALE = timedelta(hours=1)
"""An alert Telegram kept refusing (429) for this long is dropped: it is no longer news."""


@dataclass(frozen=True, slots=True)
class Spike:
    """A watchlist's hour that is far above its usual: `count` hits in (`start`, `end`], against
    a median of `baseline` (and a spread of `spread`) over `days` earlier days at that hour."""

    watchlist: str
    count: int
    baseline: float
    spread: float
    threshold: float
    start: datetime
    end: datetime
    days: int


def window_starts(now: datetime) -> tuple[datetime, ...]:
    """The starts of the hours compared: the last hour, (now - 1 h, now], first, then the same
    hour on each of the `BASELINE_DAYS` previous days, newest first. Each hour runs from its start
    (excluded) to an hour later (included), so that a hit seen at `now` is counted at once."""
    return tuple(now - HOUR - day * DAY for day in range(BASELINE_DAYS + 1))


def window_counts(times: Iterable[datetime], now: datetime) -> dict[datetime, int]:
    """Hits counted into the hours of `window_starts(now)`, by start (every hour present, zeros
    included); times outside them are left out."""
    starts = window_starts(now)
    counts = dict.fromkeys(starts, 0)
    for moment in times:
        _check_aware(moment)
        back = now - moment  # how long before now; an hour spans [day·24 h, day·24 h + 1 h)
        day, rest = divmod(back, DAY)
        if back >= timedelta(0) and rest < HOUR and day <= BASELINE_DAYS:
            counts[starts[day]] += 1
    return counts


def detect_spike(
    watchlist: str,
    counts: Mapping[datetime, int],
    now: datetime,
    *,
    watching_since: datetime | None,
) -> Spike | None:
    """The spike of the last hour, or None.

    `counts` maps the start of each hour of `window_starts(now)` to its hits (a missing hour counts
    0); `watching_since` is when the watchlist's history begins (its first hit), None when it has
    none. An earlier day's hour counts in the baseline only if that history had begun by its end.

    With c the last hour's count, m the median and MAD the median absolute deviation of the
    baseline hours, the hour is a spike when c ≥ MIN_COUNT, c ≥ m + SPREADS · max(MAD_SCALE · MAD,
    √(m + 1)) and c ≥ RATIO · max(m, 1).
    """
    _check_aware(now)
    if watching_since is None:
        return None
    _check_aware(watching_since)
    starts = window_starts(now)
    count = counts.get(starts[0], 0)
    baseline = [counts.get(start, 0) for start in starts[1:] if start + HOUR >= watching_since]
    if len(baseline) < MIN_HISTORY_DAYS:
        return None
    median = float(statistics.median(baseline))
    mad = float(statistics.median(abs(value - median) for value in baseline))
    # Counts are at least as noisy as a Poisson count of that mean (spread √mean; √(m + 1) also
    # allows for a median of 14 small counts being a rough estimate): a baseline that happened
    # to be flat (MAD 0) must not make every small rise a spike.
    spread = max(MAD_SCALE * mad, math.sqrt(median + 1.0))
    threshold = max(float(MIN_COUNT), median + SPREADS * spread, RATIO * max(median, 1.0))
    if count < threshold:
        return None
    return Spike(watchlist, count, median, spread, threshold, starts[0], now, len(baseline))


def cooldown_over(last_alert_at: datetime | None, now: datetime) -> bool:
    """Whether a chat may get another alert for a watchlist whose last one was at `last_alert_at`."""
    return last_alert_at is None or now - last_alert_at >= COOLDOWN


def alert_hour(spike: Spike) -> datetime:
    """The clock hour an alert belongs to (where its counted hour ends): one alert per chat,
    watchlist and clock hour is what storage guarantees on its own."""
    return spike.end.replace(minute=0, second=0, microsecond=0)


# --- the stories behind a spike ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpikeStory:
    """One story among a spike's hits: its first item's title and link, how many distinct outlets
    carried it and how many of the hits it accounts for."""

    title: str
    link: str | None
    outlets: int
    items: int
    first_seen: datetime
    origin: str = ""  # the feed (or channel) of its earliest item, where the story began


def spike_stories(items: Sequence[StoredItem]) -> list[SpikeStory]:
    """The items as stories (`bot.trends.stories`: the same link, or near-identical titles), the story
    most outlets carried first, then the one with the most items, then the earliest."""
    as_pending = [PendingDelivery(item.id, 0, item, ()) for item in items]
    by_id = {item.id: item for item in items}
    stories = []
    for head in group_stories(as_pending).deliveries:
        members = [head.item, *(by_id[i] for i in head.merged_ids)]
        stories.append(
            SpikeStory(
                title=head.item.title,
                link=head.item.link,
                outlets=len({m.feed_name for m in members}),
                items=len(members),
                first_seen=min(moment_of(m) for m in members),
                origin=head.item.feed_name,
            )
        )
    stories.sort(key=lambda s: (-s.outlets, -s.items, s.first_seen, s.title))
    return stories


def _check_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"times must be aware datetimes, not {value!r}")
