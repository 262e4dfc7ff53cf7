"""The spike detector and the alert's text, pure: synthetic hit series (seeded), no database, no
clock but the `now` each call is given."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.domain import StoredItem
from bot.render.alerts import render_alert
from bot.render.digest import TELEGRAM_TEXT_LIMIT, visible_length
from bot.trends.spikes import (
    BASELINE_DAYS,
    COOLDOWN,
    DAY,
    HOUR,
    MIN_COUNT,
    MIN_HISTORY_DAYS,
    Spike,
    alert_hour,
    cooldown_over,
    detect_spike,
    spike_stories,
    window_counts,
    window_starts,
)
from tests.render.catalogs import TRANSLATIONS
from tests.render.test_chat_texts import _literal_templates

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2024, 2, 1, tzinfo=UTC)  # every series begins here
LONG_AGO = START - timedelta(days=365)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: fine for the small means of hourly counts)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def hourly(rng: random.Random, days: int, mean: Callable[[datetime], float]) -> dict[datetime, int]:
    """Counts by hour start from START for `days` days, each hour Poisson with `mean(hour)`."""
    hours = (START + n * HOUR for n in range(days * 24))
    return {hour: poisson(rng, mean(hour)) for hour in hours}


def times_of(rng: random.Random, counts: dict[datetime, int]) -> list[datetime]:
    """Hit times spread at random over each hour (seconds within it)."""
    return [
        hour + timedelta(seconds=rng.randrange(1, 3600))
        for hour, count in counts.items()
        for _ in range(count)
    ]


def check(counts: dict[datetime, int], now: datetime, since: datetime = START) -> Spike | None:
    """The detector at the top of an hour, where its hours are the series' own clock hours."""
    return detect_spike("rvc", counts, now, watching_since=since)


def last_days(days: int, total: int) -> list[datetime]:
    """The top of every hour of the last `days` days of a `total`-day series."""
    end = START + total * DAY
    return [end - n * HOUR for n in range(days * 24)]


# --- the hours compared -----------------------------------------------------------------------


def test_the_hours_are_the_last_one_and_the_same_hour_of_the_previous_14_days() -> None:
    now = datetime(2024, 3, 12, 6, 20, tzinfo=UTC)
    starts = window_starts(now)
    assert len(starts) == BASELINE_DAYS + 1
    assert starts[0] == datetime(2024, 3, 12, 5, 20, tzinfo=UTC)
    assert starts[1] == datetime(2024, 3, 11, 5, 20, tzinfo=UTC)
    assert starts[-1] == datetime(2024, 2, 27, 5, 20, tzinfo=UTC)


def test_window_counts_take_the_end_of_an_hour_and_leave_out_its_start() -> None:
    now = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
    hits = [
        now,  # seen by the poll that runs the detector: counted at once
        now - timedelta(minutes=59),
        now - HOUR,  # the start of the last hour belongs to no hour compared
        now - DAY,
        now - DAY - timedelta(minutes=30),
        now - 14 * DAY - timedelta(minutes=1),
        now - 15 * DAY,  # older than the baseline
        now - 3 * HOUR,  # another hour of the day
        now + timedelta(seconds=1),  # not yet
    ]
    counts = window_counts(hits, now)
    starts = window_starts(now)
    assert counts[starts[0]] == 2
    assert counts[starts[1]] == 2
    assert counts[starts[14]] == 1
    assert sum(counts.values()) == 5
    with pytest.raises(ValueError, match="aware"):
        window_counts([datetime(2024, 3, 12, 5, 30)], now)  # noqa: DTZ001 - the point


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mean", [0.2, 1.0, 3.0, 8.0, 30.0])
def test_flat_poisson_noise_over_weeks_gives_no_alert_at_any_hour(mean: float) -> None:
    rng = random.Random(f"flat-{mean}")
    counts = hourly(rng, 21, lambda _: mean)
    spikes = [now for now in last_days(7, 21) if check(counts, now) is not None]
    assert spikes == []


@pytest.mark.parametrize("mean", [1.0, 4.0])
def test_flat_noise_checked_after_every_poll_round_gives_no_alert(mean: float) -> None:
    """The bot checks the trailing hour after every round, not once an hour: every 10 minutes
    over a week, each hour of hits seen at its own seconds."""
    rng = random.Random(f"rounds-{mean}")
    times = times_of(rng, hourly(rng, 21, lambda _: mean))
    end = START + 21 * DAY
    checks = [end - 7 * DAY + n * timedelta(minutes=10) for n in range(7 * 24 * 6)]
    spikes = [
        now
        for now in checks
        if detect_spike("rvc", window_counts(times, now), now, watching_since=START) is not None
    ]
    assert spikes == []


@pytest.mark.parametrize("seed", range(3))
def test_a_weekly_rhythm_gives_no_alert(seed: int) -> None:
    """Weekends bring half the news: Monday's hours are compared with days that are mostly
    weekdays, and so are Saturday's, which are only quieter."""
    rng = random.Random(seed)
    counts = hourly(rng, 28, lambda hour: 2.0 if hour.weekday() >= 5 else 4.0)
    spikes = [now for now in last_days(14, 28) if check(counts, now) is not None]
    assert spikes == []


def test_a_daily_rhythm_does_not_alert_at_the_busy_hours() -> None:
    rng = random.Random("mornings")

    def mean(hour: datetime) -> float:
        return 25.0 if 7 <= hour.hour < 10 else 1.0  # busy mornings, quiet the rest of the day

    counts = hourly(rng, 21, mean)
    assert [now for now in last_days(7, 21) if check(counts, now) is not None] == []
    # A morning's hour is far above the day's other hours, but that is what mornings bring.
    morning = START + 20 * DAY + 9 * HOUR
    assert counts[morning - HOUR] > 15
    assert check(counts, morning) is None


def test_a_real_jump_gives_exactly_one_alert_though_it_is_seen_many_times() -> None:
    rng = random.Random("jump")
    counts = hourly(rng, 21, lambda _: 2.0)
    jump = START + 18 * DAY + 14 * HOUR
    counts[jump] += 25
    times = times_of(rng, counts)
    # The detector runs after every poll round: every 10 minutes over the last five days.
    end = START + 21 * DAY
    checks = [end - 5 * DAY + n * timedelta(minutes=10) for n in range(5 * 24 * 6)]
    seen, alerts = [], []
    last_alert: datetime | None = None
    for now in checks:
        spike = detect_spike("rvc", window_counts(times, now), now, watching_since=START)
        if spike is None:
            continue
        seen.append(now)
        if cooldown_over(last_alert, now):
            alerts.append((now, spike))
            last_alert = now
    assert len(seen) > 1  # the trailing hour holds the jump at several rounds
    [(when, spike)] = alerts
    # At the first round whose hour holds enough of the jump, not an hour later.
    assert jump < when < jump + HOUR
    assert spike.count >= spike.threshold > 10
    assert 1 <= spike.baseline <= 3
    assert spike.days == BASELINE_DAYS


def test_zero_to_two_is_not_a_spike_and_the_minimum_count_is() -> None:
    now = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
    starts = window_starts(now)
    for count in (1, 2, MIN_COUNT - 1):
        assert check({starts[0]: count}, now, LONG_AGO) is None
    spike = check({starts[0]: MIN_COUNT}, now, LONG_AGO)
    assert spike is not None
    assert (spike.count, spike.baseline, spike.threshold) == (MIN_COUNT, 0.0, MIN_COUNT)


def test_the_threshold_of_a_hand_counted_baseline() -> None:
    now = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
    starts = window_starts(now)
    baseline = [1, 1, 2, 0, 1, 3, 1, 1, 2, 1, 0, 1, 1, 2]  # median 1, MAD 0
    counts = dict(zip(starts[1:], baseline, strict=True))
    # Spread: √(1 + 1) (the MAD is 0); threshold max(5, 1 + 5 · 1.41, 2 · 1) = 8.07.
    assert check({**counts, starts[0]: 8}, now, LONG_AGO) is None
    spike = check({**counts, starts[0]: 9}, now, LONG_AGO)
    assert spike == Spike(
        "rvc", 9, 1.0, math.sqrt(2), 1 + 5 * math.sqrt(2), starts[0], now, BASELINE_DAYS
    )
    # A busier, noisier list: median 10, MAD 3 → spread 4.45; threshold max(10 + 22.2, 20).
    noisy = [10, 6, 14, 10, 13, 7, 10, 14, 6, 10, 7, 13, 7, 13]
    counts = dict(zip(starts[1:], noisy, strict=True))
    assert check({**counts, starts[0]: 32}, now, LONG_AGO) is None
    spike = check({**counts, starts[0]: 33}, now, LONG_AGO)
    assert spike is not None
    assert spike.spread == pytest.approx(1.4826 * 3)


def test_a_big_list_needs_to_double_not_just_to_leave_its_narrow_band() -> None:
    now = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
    starts = window_starts(now)
    counts = dict.fromkeys(starts[1:], 400)  # the same 400 every day: spread √401 ≈ 20
    assert check({**counts, starts[0]: 700}, now, LONG_AGO) is None  # 15 spreads, but × 1.75
    assert check({**counts, starts[0]: 800}, now, LONG_AGO) is not None


def test_a_new_watchlist_gets_no_alert_until_it_has_a_week_of_history() -> None:
    rng = random.Random("new")
    now = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)
    starts = window_starts(now)
    jump = {start: poisson(rng, 1.0) for start in starts[1:]} | {starts[0]: 30}
    first_hits = [now - timedelta(days=days, minutes=30) for days in range(0, 15)]
    alerts = [first for first in first_hits if check(jump, now, first) is not None]
    assert alerts == [first for first in first_hits if now - first > MIN_HISTORY_DAYS * DAY]
    assert len(alerts) == BASELINE_DAYS + 1 - MIN_HISTORY_DAYS
    # Without any hit at all there is no history; a first hit within the hour is none either.
    assert detect_spike("rvc", jump, now, watching_since=None) is None
    assert check(jump, now, now - timedelta(minutes=5)) is None


def test_a_new_watchlists_first_week_is_watched_day_by_day() -> None:
    """A list created with a burst of hits keeps its busy hour; each day it is checked at that
    hour, and it may alert only once a week of days stands behind the hour."""
    rng = random.Random("first-week")
    created = START + 10 * HOUR
    counts = hourly(rng, 21, lambda _: 1.0)
    for hour in list(counts):
        if hour < created:
            counts[hour] = 0
    answers = {}
    for day in range(1, 15):
        now = created + day * DAY + HOUR
        counts[now - HOUR] = 40
        answers[day] = check(counts, now, created) is not None
        counts[now - HOUR] = 1
    assert [day for day, alert in answers.items() if alert] == list(range(MIN_HISTORY_DAYS, 15))


def test_the_six_hour_rule() -> None:
    now = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)
    assert timedelta(hours=6) == COOLDOWN
    assert cooldown_over(None, now)
    assert not cooldown_over(now - timedelta(hours=5, minutes=59), now)
    assert cooldown_over(now - timedelta(hours=6), now)


def test_naive_times_are_refused() -> None:
    naive = datetime(2024, 3, 12, 12, 0)  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="aware"):
        detect_spike("rvc", {}, naive, watching_since=LONG_AGO)


def test_an_alert_belongs_to_the_clock_hour_its_counted_hour_ends_in() -> None:
    now = datetime(2024, 3, 12, 6, 40, 12, tzinfo=UTC)
    spike = Spike("rvc", 9, 1.0, 1.0, 6.0, now - HOUR, now, 14)
    assert alert_hour(spike) == datetime(2024, 3, 12, 6, 0, tzinfo=UTC)


# --- the stories and the text -----------------------------------------------------------------

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
SPIKE = Spike("rvc", 12, 1.5, 1.2, 7.5, NOW - HOUR, NOW, 14)


def item(n: int, feed: str, title: str, link: str | None) -> StoredItem:
    return StoredItem(n, hash(feed) % 100, feed, f"k{n}", title, link, "", None, NOW)


def test_items_from_several_outlets_make_one_story_each() -> None:
    items = [
        item(1, "Outlet A", "RVC fighters cross the border near Tyotkino", "https://a.example/1"),
        item(2, "Outlet B", "Mirror copy", "https://www.a.example/1/?utm_source=x"),
        item(3, "Outlet C", "RVC fighters cross the border near Tyotkino village", None),
        item(4, "Outlet A", "RVC: a second statement", "https://a.example/2"),
        item(5, "Outlet A", "RVC: a second statement, updated", "https://a.example/2#update"),
        item(6, "Outlet D", "Something else about the RVC", "https://d.example/6"),
    ]
    stories = spike_stories(items)
    assert [(s.title, s.outlets, s.items) for s in stories] == [
        ("RVC fighters cross the border near Tyotkino", 3, 3),
        ("RVC: a second statement", 1, 2),
        ("Something else about the RVC", 1, 1),
    ]


def test_the_alert_says_the_count_the_usual_and_a_line_per_story_escaped() -> None:
    items = [
        item(1, "A", "RVC <claims> & raid", "https://a.example/1?x=1&y=2"),
        item(2, "B", "copy", "https://a.example/1?x=1&y=2"),
        item(3, "C", "Another RVC item", None),
    ]
    text = render_alert(
        SPIKE.count, SPIKE.baseline, "Russian <Volunteer> Corps", spike_stories(items)
    )
    assert text.splitlines() == [
        "<b>Spike: Russian &lt;Volunteer&gt; Corps</b>",
        "12 hits in the last hour; usually 1.5 at this hour.",
        '• <a href="https://a.example/1?x=1&amp;y=2">RVC &lt;claims&gt; &amp; raid</a> · 2 outlets'
        " · first: A",
        "• Another RVC item · 1 outlet",
    ]
    plain = render_alert(SPIKE.count, SPIKE.baseline, "RVC", spike_stories(items), fmt="text")
    assert "• RVC <claims> & raid · 2 outlets · first: A\n  https://a.example/1?x=1&y=2" in plain


def test_the_alert_names_where_a_story_began_a_channel_with_its_handle() -> None:
    post = item(
        1, "Русский добровольческий корпус", "РДК: 25 пленных", "https://t.me/rusvolcorps/7"
    )
    report = replace(
        item(2, "Meduza", "Корпус заявил о пленных", "https://meduza.example/1"),
        cites="rusvolcorps/7",
    )
    [story] = spike_stories([report, post])
    assert story.origin == "Русский добровольческий корпус"
    text = render_alert(SPIKE.count, SPIKE.baseline, "RVC", [story], lang="uk")
    assert text.splitlines()[-1].endswith(
        "· 2 видання · першим: Русский добровольческий корпус (@rusvolcorps)"
    )


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ru", ["Всплеск: RVC", "12 совпадений за последний час; обычно в это время — 1.5.", "2 издания", "1 издание"]),
        ("uk", ["Сплеск: RVC", "12 збігів за останню годину; зазвичай о цій порі — 1.5.", "2 видання", "1 видання"]),
    ],
)  # fmt: skip
def test_the_alert_in_the_chats_language(lang: str, words: list[str]) -> None:
    items = [
        item(1, "A", "RVC raid", "https://a.example/1"),
        item(2, "B", "RVC raid", "https://a.example/1"),
        item(3, "C", "Another RVC item", None),
    ]
    text = render_alert(SPIKE.count, SPIKE.baseline, "RVC", spike_stories(items), lang=lang)
    for word in words:
        assert word in text


def test_a_long_alert_is_cut_to_one_message_with_how_many_more() -> None:
    items = [
        item(n, f"Outlet {n}", f"Story {n} " + "about the RVC " * 25, f"https://x.example/{n}")
        for n in range(200)
    ]
    stories = spike_stories(items)
    assert len(stories) == 200
    text = render_alert(SPIKE.count, SPIKE.baseline, "RVC", stories)
    assert visible_length(text) <= TELEGRAM_TEXT_LIMIT
    shown = text.count("• ")
    assert 5 < shown < 200
    assert text.endswith(f"…and {200 - shown} more stories")
    # Just under the limit: every line, nothing cut.
    few = render_alert(SPIKE.count, SPIKE.baseline, "RVC", stories[:3])
    assert "more stories" not in few
    assert few.count("• ") == 3


def test_every_sentence_of_an_alert_is_translated() -> None:
    alerts = ROOT / "bot" / "render" / "alerts.py"
    said = {*_literal_templates(alerts, "tr", 1), *_literal_templates(alerts, "ntr", 1)}
    assert len(said) >= 5
    assert said <= set(TRANSLATIONS)
