"""The outage reporter's decisions, with time passed in by hand: one line when a dependency goes away,
one summary per minute of the outage however the failures fall, one line when it comes back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.ops.outages import OutageReporter, duration, plain

T0 = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_an_outage_is_one_line_then_one_a_minute_then_one_when_it_ends() -> None:
    outage = OutageReporter("the database")
    lines = [outage.failed(at(2 * n), "file is not a database") for n in range(151)]
    said = [line for line in lines if line is not None]
    assert said == [
        "the database went away: file is not a database",
        *(
            f"the database is still away after {minutes} min: 30 failures since the last line; "
            "the last: file is not a database"
            for minutes in range(1, 6)
        ),
    ]
    # Which failures spoke: the first, then the first at or after each whole minute.
    assert [2 * n for n, line in enumerate(lines) if line] == [0, 60, 120, 180, 240, 300]
    assert outage.away
    assert outage.worked(at(302)) == "the database came back after 5 min 2 s (151 failures)"
    assert not outage.away
    assert outage.worked(at(304)) is None


def test_late_or_bunched_failures_still_give_one_summary_a_minute() -> None:
    outage = OutageReporter("the parse pool")
    assert outage.failed(at(0), "a") is not None
    # Nothing for 150 s (ticks held up), then a burst: one summary, not one per minute missed.
    assert outage.failed(at(150), "b") is not None
    assert outage.failed(at(151), "c") is None
    assert outage.failed(at(179), "d") is None
    # The next mark is the outage's third minute, not 60 s after the late summary.
    assert outage.failed(at(180), "e") == (
        "the parse pool is still away after 3 min: 3 failures since the last line; the last: e"
    )


def test_each_outage_starts_afresh() -> None:
    outage = OutageReporter("the Telegram Bot API")
    assert outage.worked(at(0)) is None  # working all along: nothing to say
    outage.failed(at(0), "timed out")
    assert outage.worked(at(1)) == "the Telegram Bot API came back after 1 s (1 failure)"
    assert outage.failed(at(10), "502 Bad Gateway") == (
        "the Telegram Bot API went away: 502 Bad Gateway"
    )
    assert outage.failed(at(69), "502 Bad Gateway") is None  # 59 s into this outage
    assert outage.failed(at(70), "502 Bad Gateway") is not None
    assert outage.worked(at(3670)) == "the Telegram Bot API came back after 1 h 1 min (3 failures)"


def test_only_the_first_line_carries_the_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    outage = OutageReporter("polling", logger=logging.getLogger("bot.test_outages"))
    for n in range(40):
        try:
            raise RuntimeError("a bug")
        except RuntimeError as error:
            outage.failed(at(2 * n), plain(error), error=error)
    outage.worked(at(80))
    assert [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        ("ERROR", "polling went away: RuntimeError: a bug", True),
        (
            "ERROR",
            "polling is still away after 1 min: 30 failures since the last line; the last: "
            "RuntimeError: a bug",
            False,
        ),
        ("INFO", "polling came back after 1 min 20 s (40 failures)", False),
    ]
    assert caplog.text.count("Traceback") == 1


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (750, "12 min 30 s"),
        (3600, "1 h"),
        (11100, "3 h 5 min"),
    ],
)
def test_durations_read_plainly(seconds: float, text: str) -> None:
    assert duration(timedelta(seconds=seconds)) == text


def test_an_exception_in_a_few_words() -> None:
    assert plain(MemoryError()) == "MemoryError"
    assert plain(ValueError("bad\nsecond line")) == "ValueError: bad"
