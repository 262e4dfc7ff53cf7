"""Arguments as people type them: cities in three languages and offsets for /tz, durations in
words for /every, 12-hour clocks for /quiet; and what is still refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.chat import arguments
from bot.chat.time_zones import offset_label


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Kyiv", "Europe/Kyiv"),
        ("Київ", "Europe/Kyiv"),
        ("Киев", "Europe/Kyiv"),
        ("kiev", "Europe/Kyiv"),
        ("Europe/Kiev", "Europe/Kyiv"),  # the old name: the zone that stands for it now
        ("europe/kyiv", "Europe/Kyiv"),
        ("Москва", "Europe/Moscow"),
        ("moscow", "Europe/Moscow"),
        ("Лондон", "Europe/London"),  # never Europe/Belfast, an alias with the same city
        ("New York", "America/New_York"),
        ("Нью-Йорк", "America/New_York"),
        ("+3", "Etc/GMT-3"),  # POSIX signs: three hours ahead of UTC
        ("UTC+3", "Etc/GMT-3"),
        ("GMT+03:00", "Etc/GMT-3"),
        ("utc-5", "Etc/GMT+5"),
        ("\u22122", "Etc/GMT+2"),
        ("+0", "UTC"),
    ],
)
def test_a_time_zone_by_city_offset_or_name(typed: str, zone: str) -> None:
    assert arguments.timezone(typed) == zone


@pytest.mark.parametrize("typed", ["Mars/Base", "+15", "-13", "Belgorodd", "+3:30", "3"])
def test_what_names_no_time_zone_is_refused_with_the_ways_to_write_one(typed: str) -> None:
    with pytest.raises(ValueError, match="write a city") as refused:
        arguments.timezone(typed)
    assert f"«{typed}»" in str(refused.value)


def test_a_fixed_zone_reads_as_an_offset() -> None:
    assert offset_label("Etc/GMT-3") == "UTC+3"
    assert offset_label("Etc/GMT+5") == "UTC-5"
    assert offset_label("Europe/Kyiv") == "Europe/Kyiv"


@pytest.mark.parametrize(
    ("typed", "interval"),
    [
        ("30m", timedelta(minutes=30)),
        ("30 minutes", timedelta(minutes=30)),
        ("30 Minutes", timedelta(minutes=30)),
        ("an hour", timedelta(hours=1)),
        ("hour", timedelta(hours=1)),
        ("2 часа", timedelta(hours=2)),
        ("5 часов", timedelta(hours=5)),
        ("30 мин", timedelta(minutes=30)),
        ("2 години", timedelta(hours=2)),
        ("45 хвилин", timedelta(minutes=45)),
        ("1 день", timedelta(days=1)),
        ("2 дні", timedelta(days=2)),
        ("instant", timedelta(0)),
    ],
)
def test_a_digest_interval_in_words(typed: str, interval: timedelta) -> None:
    assert arguments.digest_interval(typed) == interval


@pytest.mark.parametrize(
    ("typed", "problem"), [("2 parsecs", "or instant"), ("8 days", "out of range")]
)
def test_what_is_no_interval_is_refused(typed: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        arguments.digest_interval(typed)


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("22:00-07:00", (22 * 60, 7 * 60)),
        ("11pm-7am", (23 * 60, 7 * 60)),
        ("11:30 pm - 6:45 am", (23 * 60 + 30, 6 * 60 + 45)),
        ("12am-6am", (0, 6 * 60)),
        ("12pm-1pm", (12 * 60, 13 * 60)),
        ("22-7", (22 * 60, 7 * 60)),
        ("22.30–07.00", (22 * 60 + 30, 7 * 60)),
        ("off", None),
    ],
)
def test_quiet_hours_in_either_clock(typed: str, hours: tuple[int, int] | None) -> None:
    assert arguments.quiet_hours(typed) == hours


@pytest.mark.parametrize("typed", ["13pm-2am", "25:00-07:00", "nonsense", "22:00"])
def test_what_is_no_span_of_hours_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="not a span of hours"):
        arguments.quiet_hours(typed)
