"""Counting hits per watchlist and bucket (`bot.trends.stats`): windows, time zones, hours, totals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.trends.stats import count_hits, default_bucket, window

NOW = datetime(2024, 3, 12, 15, 20, tzinfo=UTC)
KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_day_buckets_are_the_last_days_up_to_today_with_zero_days_and_totals() -> None:
    hits = [
        ("rvc", at("2024-03-10T08:00:00Z")),
        ("rvc", at("2024-03-12T00:00:00Z")),  # midnight opens a day
        ("kursk", at("2024-03-12T15:19:59Z")),
        ("rvc", at("2024-03-12T09:00:00Z")),
    ]
    counts = count_hits(hits, now=NOW, days=4, tz=UTC)
    assert counts.window.bucket == "day"
    assert [start.date().isoformat() for start in counts.window.starts] == [
        "2024-03-09",
        "2024-03-10",
        "2024-03-11",
        "2024-03-12",
    ]
    assert counts.watchlists == ("kursk", "rvc")
    assert counts.counts == ((0, 0), (0, 1), (0, 0), (1, 2))
    assert counts.bucket_totals == (0, 1, 0, 3)
    assert counts.watchlist_totals == (1, 3)
    assert counts.total == 4
    assert counts.busiest == (at("2024-03-12T00:00:00Z"), 3)
    assert counts.count("rvc", counts.window.starts[1]) == 1
    assert counts.total_of("kursk") == 1


def test_hits_outside_the_window_are_left_out() -> None:
    hits = [
        ("rvc", at("2024-03-10T23:59:59Z")),  # the day before the window
        ("rvc", at("2024-03-11T00:00:00Z")),
        ("rvc", at("2024-03-13T00:00:00Z")),  # tomorrow
    ]
    counts = count_hits(hits, now=NOW, days=2, tz=UTC)
    assert counts.counts == ((1,), (0,))
    assert counts.window.start == at("2024-03-11T00:00:00Z")
    assert counts.window.end == at("2024-03-13T00:00:00Z")


def test_a_time_zone_moves_the_day_boundaries() -> None:
    # 22:30 UTC on the 11th is 00:30 on the 12th in Kyiv (UTC+2 in March).
    late = ("rvc", at("2024-03-11T22:30:00Z"))
    in_utc = count_hits([late], now=NOW, days=2, tz=UTC)
    in_kyiv = count_hits([late], now=NOW, days=2, tz=KYIV)
    assert in_utc.counts == ((1,), (0,))
    assert in_kyiv.counts == ((0,), (1,))
    assert in_kyiv.window.starts[1] == datetime(2024, 3, 12, tzinfo=KYIV)
    assert in_kyiv.window.starts[1] == at("2024-03-11T22:00:00Z")
    # The window is the days of the zone: in Kyiv it ends at 22:00 UTC.
    assert in_kyiv.window.end == at("2024-03-12T22:00:00Z")
    tonight = ("rvc", at("2024-03-12T22:30:00Z"))  # already tomorrow in Kyiv
    assert count_hits([tonight], now=NOW, days=2, tz=KYIV).total == 0
    assert count_hits([tonight], now=NOW, days=2, tz=UTC).counts == ((0,), (1,))


def test_a_day_on_which_the_clocks_change_has_23_hours() -> None:
    # New York springs forward on 10 March 2024: that day runs from 05:00 to 04:00 UTC.
    hits = [
        ("rvc", at("2024-03-10T04:30:00Z")),  # 23:30 on the 9th, EST
        ("rvc", at("2024-03-11T03:30:00Z")),  # 23:30 on the 10th, EDT
        ("rvc", at("2024-03-11T04:30:00Z")),  # 00:30 on the 11th, EDT
    ]
    counts = count_hits(hits, now=NOW, days=4, tz=NEW_YORK)
    starts = counts.window.starts
    assert [s.day for s in starts] == [9, 10, 11, 12]
    assert starts[2].astimezone(UTC) - starts[1].astimezone(UTC) == timedelta(hours=23)
    assert counts.counts == ((1,), (1,), (1,), (0,))


def test_hour_buckets_cover_the_last_hours_up_to_the_current_one() -> None:
    hits = [
        ("rvc", at("2024-03-12T15:00:00Z")),
        ("rvc", at("2024-03-12T15:19:00Z")),
        ("kursk", at("2024-03-11T16:59:59Z")),  # the first hour of the window
        ("kursk", at("2024-03-11T15:59:59Z")),  # 24 hours ago and more: out
    ]
    counts = count_hits(hits, now=NOW, days=1, tz=UTC, bucket="hour")
    starts = counts.window.starts
    assert len(starts) == 24
    assert (starts[0], starts[-1]) == (at("2024-03-11T16:00:00Z"), at("2024-03-12T15:00:00Z"))
    assert counts.window.end == at("2024-03-12T16:00:00Z")
    assert counts.counts[0] == (1, 0)
    assert counts.counts[-1] == (0, 2)
    assert sum(counts.bucket_totals[1:-1]) == 0
    assert counts.busiest == (at("2024-03-12T15:00:00Z"), 2)
    assert len(count_hits([], now=NOW, days=2, tz=UTC, bucket="hour").window.starts) == 48


def test_hour_buckets_follow_the_local_clock_of_a_half_hour_zone() -> None:
    # Kolkata is UTC+5:30: its hours begin at half past, UTC.
    counts = count_hits(
        [("rvc", at("2024-03-12T14:45:00Z")), ("rvc", at("2024-03-12T15:10:00Z"))],
        now=NOW,
        days=1,
        tz=KOLKATA,
        bucket="hour",
    )
    assert counts.window.starts[-1] == at("2024-03-12T14:30:00Z")
    assert counts.window.starts[-1].hour == 20  # 20:00 in Kolkata
    assert counts.counts[-1] == (2,)


def test_hour_buckets_are_for_two_days_or_fewer() -> None:
    assert default_bucket(1) == default_bucket(2) == "hour"
    assert default_bucket(3) == "day"
    with pytest.raises(ValueError, match="2 days or fewer"):
        window(NOW, 3, UTC, "hour")


def test_the_busiest_bucket_is_the_earliest_of_equals() -> None:
    hits = [("a", at("2024-03-10T01:00:00Z")), ("b", at("2024-03-12T01:00:00Z"))]
    counts = count_hits(hits, now=NOW, days=3, tz=UTC)
    assert counts.busiest == (at("2024-03-10T00:00:00Z"), 1)


def test_no_hits_is_a_table_of_zeros_for_the_lists_asked_for() -> None:
    counts = count_hits([], now=NOW, days=3, tz=UTC, watchlists=["rvc", "kursk"])
    assert counts.watchlists == ("kursk", "rvc")
    assert counts.counts == ((0, 0),) * 3
    assert counts.watchlist_totals == (0, 0)
    assert (counts.total, counts.busiest) == (0, None)
    nothing = count_hits([], now=NOW, days=1, tz=UTC)
    assert nothing.watchlists == ()
    assert nothing.counts == ((),)


def test_lists_named_and_lists_hit_are_shown_together_in_name_order() -> None:
    counts = count_hits(
        [("zeta", at("2024-03-12T01:00:00Z"))], now=NOW, days=1, tz=UTC, watchlists=["alpha"]
    )
    assert counts.watchlists == ("alpha", "zeta")
    assert counts.counts == ((0, 1),)


def test_hits_may_be_a_stream_read_once() -> None:
    def stream() -> Iterator[tuple[str, datetime]]:
        for hour in range(3):
            yield "rvc", at("2024-03-12T00:00:00Z") + timedelta(hours=hour)

    assert count_hits(stream(), now=NOW, days=1, tz=UTC).total == 3


def test_times_of_another_zone_are_compared_as_instants() -> None:
    # Two times of the same zone, one in the fold of the autumn change: 01:30 EDT and 01:30 EST.
    first = datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK)
    second = datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=NEW_YORK)
    now = at("2024-11-03T06:40:00Z")  # 01:40 EST
    counts = count_hits(
        [("rvc", first), ("rvc", second)], now=now, days=1, tz=NEW_YORK, bucket="hour"
    )
    assert counts.counts[-1] == (1,)  # 06:00-07:00 UTC: the second 01:00 hour
    assert counts.counts[-2] == (1,)  # 05:00-06:00 UTC: the first
    with pytest.raises(ValueError, match="no bucket starts at"):
        counts.count("rvc", second)
    assert counts.count("rvc", at("2024-11-03T06:00:00Z")) == 1
    assert counts.count("rvc", at("2024-11-03T04:00:00Z")) == 0


def test_naive_times_and_empty_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        count_hits([("rvc", datetime(2024, 3, 12, 1, 0))], now=NOW, days=1, tz=UTC)  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        window(datetime(2024, 3, 12), 1, UTC)  # noqa: DTZ001
    with pytest.raises(ValueError, match="at least one day"):
        window(NOW, 0, UTC)
