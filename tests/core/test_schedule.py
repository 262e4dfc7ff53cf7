"""Tests of bot.core.schedule: poll times with jitter and backoff, and when a digest is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.schedule import MAX_BACKOFF, cache_hint, digest_due, next_poll_at, retry_after

NOW = datetime(2024, 8, 6, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


# --- next_poll_at -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "interval",
    [timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1), DAY, timedelta(days=365)],
    ids=str,
)
def test_no_failures_and_middle_jitter_is_exactly_the_interval(interval: timedelta) -> None:
    assert next_poll_at(NOW, interval, jitter=0.5) == NOW + interval
    assert next_poll_at(NOW, interval) == NOW + interval


def test_middle_jitter_is_the_default() -> None:
    interval = timedelta(minutes=7, seconds=13)
    assert next_poll_at(NOW, interval) == next_poll_at(
        NOW, interval, consecutive_failures=0, jitter=0.5
    )


@pytest.mark.parametrize(
    ("jitter", "low", "high"),
    [
        pytest.param(0.0, 0.9, 0.9, id="zero-shrinks-by-a-tenth"),
        pytest.param(0.999999, 1.0999, 1.1, id="almost-one-stretches-by-a-tenth"),
        pytest.param(0.25, 0.95, 0.95, id="quarter"),
        pytest.param(0.75, 1.05, 1.05, id="three-quarters"),
    ],
)
def test_jitter_stays_within_a_tenth(jitter: float, low: float, high: float) -> None:
    interval = timedelta(minutes=10)
    delay = next_poll_at(NOW, interval, jitter=jitter) - NOW
    assert interval * low - timedelta(microseconds=1) <= delay <= interval * high
    assert interval * 0.9 <= delay <= interval * 1.1


def test_jitter_moves_the_time_one_way_or_the_other() -> None:
    interval = timedelta(hours=1)
    early = next_poll_at(NOW, interval, jitter=0.0)
    middle = next_poll_at(NOW, interval, jitter=0.5)
    late = next_poll_at(NOW, interval, jitter=0.99)
    assert early < middle < late


@pytest.mark.parametrize(
    ("failures", "factor"),
    [
        pytest.param(1, 2, id="one-failure"),
        pytest.param(2, 4, id="two-failures"),
        pytest.param(3, 8, id="three-failures"),
        pytest.param(4, 16, id="four-failures"),
    ],
)
def test_each_failure_doubles_the_delay(failures: int, factor: int) -> None:
    interval = timedelta(minutes=10)
    assert (
        next_poll_at(NOW, interval, consecutive_failures=failures, jitter=0.5)
        == NOW + interval * factor
    )


def test_backoff_is_capped_at_one_day() -> None:
    interval = timedelta(hours=1)
    # 2**5 hours is more than a day.
    assert next_poll_at(NOW, interval, consecutive_failures=5, jitter=0.5) == NOW + MAX_BACKOFF
    assert next_poll_at(NOW, interval, consecutive_failures=4, jitter=0.5) == NOW + interval * 16
    assert MAX_BACKOFF == DAY


def test_backoff_at_the_cap_is_still_jittered() -> None:
    early = next_poll_at(NOW, timedelta(hours=1), consecutive_failures=10, jitter=0.0)
    late = next_poll_at(NOW, timedelta(hours=1), consecutive_failures=10, jitter=0.999)
    assert early == NOW + DAY * 0.9
    assert NOW + DAY * 1.09 < late <= NOW + DAY * 1.1


@pytest.mark.parametrize("failures", [21, 64, 1_000, 10**9, 10**100], ids=str)
@pytest.mark.parametrize(
    "interval", [timedelta(minutes=1), timedelta(days=365)], ids=["1m", "365d"]
)
def test_huge_failure_counts_do_not_overflow(failures: int, interval: timedelta) -> None:
    # Capped at a day, but never sooner than the feed's own (longer) interval.
    expected = NOW + max(DAY, interval)
    assert next_poll_at(NOW, interval, consecutive_failures=failures, jitter=0.5) == expected


def test_backoff_never_polls_sooner_than_the_interval() -> None:
    week = timedelta(days=7)
    assert next_poll_at(NOW, week, consecutive_failures=1, jitter=0.5) == NOW + week


def test_no_failures_means_no_backoff_even_when_negative() -> None:
    interval = timedelta(minutes=10)
    assert next_poll_at(NOW, interval, consecutive_failures=0) == NOW + interval
    assert next_poll_at(NOW, interval, consecutive_failures=-3) == NOW + interval


def test_the_result_keeps_the_time_zone() -> None:
    result = next_poll_at(NOW, timedelta(minutes=10), consecutive_failures=2, jitter=0.1)
    assert result.tzinfo is UTC


# --- digest_due -------------------------------------------------------------------------------

HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("last", "due"),
    [
        pytest.param(None, True, id="never-sent"),
        pytest.param(NOW - HOUR, True, id="exactly-one-interval-ago"),
        pytest.param(NOW - HOUR - timedelta(seconds=1), True, id="a-second-past"),
        pytest.param(NOW - HOUR + timedelta(seconds=1), False, id="a-second-early"),
        pytest.param(NOW - HOUR + timedelta(microseconds=1), False, id="a-microsecond-early"),
        pytest.param(NOW, False, id="just-sent"),
        pytest.param(NOW + timedelta(minutes=5), False, id="clock-went-back"),
    ],
)
def test_digest_due(last: datetime | None, due: bool) -> None:
    assert digest_due(NOW, last, HOUR) is due


# --- property ---------------------------------------------------------------------------------

# The intervals the configuration allows (one minute to a year) and a few hours either side.
intervals = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=365))
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
jitters = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
failures = st.one_of(st.integers(min_value=0, max_value=64), st.integers(min_value=0))


@settings(max_examples=200, deadline=None)
@given(moments, intervals, failures, jitters)
def test_next_poll_is_later_but_never_too_late(
    now: datetime, interval: timedelta, consecutive_failures: int, jitter: float
) -> None:
    result = next_poll_at(now, interval, consecutive_failures=consecutive_failures, jitter=jitter)
    assert isinstance(result, datetime)
    assert result.tzinfo is UTC
    assert now < result <= now + max(interval, DAY) * 1.1
    if consecutive_failures == 0:
        assert now + interval * 0.9 <= result <= now + interval * 1.1
    else:
        assert result - now >= min(interval * 2, DAY) * 0.9


# --- a server's hints -----------------------------------------------------------------------------

HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("hint", "failures", "expected"),
    [
        (None, 0, timedelta(minutes=10)),
        (timedelta(minutes=5), 0, timedelta(minutes=10)),  # a hint never shortens the interval
        (timedelta(minutes=30), 0, timedelta(minutes=30)),
        (timedelta(days=2), 0, HOUR),  # at most six intervals
        (timedelta(minutes=45), 1, timedelta(minutes=45)),  # Retry-After beyond the backoff
        (timedelta(minutes=5), 2, timedelta(minutes=40)),  # the backoff beyond Retry-After
    ],
)
def test_a_hint_stretches_the_wait_within_bounds(
    hint: timedelta | None, failures: int, expected: timedelta
) -> None:
    now = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
    moment = next_poll_at(
        now, timedelta(minutes=10), consecutive_failures=failures, hint=hint, jitter=0.5
    )
    assert moment - now == expected


def test_a_hint_on_a_daily_feed_stops_at_a_day() -> None:
    now = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
    moment = next_poll_at(now, timedelta(hours=12), hint=timedelta(days=5))
    assert moment - now == timedelta(days=1)


@pytest.mark.parametrize(
    ("headers", "ttl", "expected"),
    [
        ({}, None, None),
        ({"cache-control": "public, max-age=600"}, None, timedelta(minutes=10)),
        ({"cache-control": 'max-age="120", must-revalidate'}, None, timedelta(minutes=2)),
        ({"cache-control": "s-maxage=900"}, None, None),
        ({"cache-control": "no-cache"}, 30, timedelta(minutes=30)),
        ({"cache-control": "max-age=3600"}, 30, HOUR),
    ],
)
def test_cache_hint_from_headers_and_ttl(
    headers: dict[str, str], ttl: int | None, expected: timedelta | None
) -> None:
    assert cache_hint(headers, ttl) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(minutes=2)),
        ("Tue, 12 Mar 2024 07:00:00 GMT", HOUR),
        ("Tue, 12 Mar 2024 05:00:00 GMT", timedelta(0)),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(value: str | None, expected: timedelta | None) -> None:
    assert retry_after(value, datetime(2024, 3, 12, 6, 0, tzinfo=UTC)) == expected
