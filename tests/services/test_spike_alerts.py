"""Spike alerts end to end: the real bot polls feeds from the local feed server, detects the spike
and sends the alert to the fake Bot API; `/spikes` as users type it; and the storage behind it on
SQLite and PostgreSQL. Time moves only with the test's Clock."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.app import FeedwatchApp
from bot.core.domain import FeedSpec, Match, ParsedItem, Watchlist
from bot.core.errors import StorageError
from bot.storage.repository import Repository
from bot.storage.tables import WatchlistRow
from bot.trends.spikes import COOLDOWN, HOUR, Spike, window_starts
from tests.builders import Clock, rss, write_settings
from tests.conftest import Database
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

ON, OFF, PAUSED, QUIET, RUSSIAN = 111, 222, 333, 444, 555
DAY = timedelta(days=1)
RVC = (Match("rvc", "RVC", "RVC"),)
Item = tuple[str, str, str]


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock()  # 2024-03-12 06:00 UTC


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi, clock: Clock
) -> AsyncIterator[FeedwatchApp]:
    quiet = rss(("weather-1", "Sunny in Lviv", "Nothing to see"))
    urls = [feed_server.add(f"/{outlet}.rss", quiet) for outlet in ("a", "b", "c")]
    settings = write_settings(tmp_path, urls, token=fake_bot_api.token, api_url=fake_bot_api.url)
    async with FeedwatchApp(settings, clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


def store_history(app: FeedwatchApp, per_day: list[int], *, at: timedelta = -HOUR / 2) -> None:
    """Hits of rvc on each of the previous days (`per_day[0]` yesterday), `at` from this time of
    day, stored through the repository as a poll would have stored them then."""
    feed = next(f for f in app.repo.feeds() if f.name == "Feed 1")
    for back, count in enumerate(per_day, start=1):
        when = app.clock() - back * DAY + at
        items = [
            (
                ParsedItem(f"old-{back}-{n}", f"RVC old news {back} {n}", None, "", when),
                {"rvc": RVC},
            )
            for n in range(count)
        ]
        app.repo.store_items(feed.id, items, when)


# Yesterday first: a median of 1 at this hour (0, 1 or 2 hits), over all 14 days.
HISTORY = [1, 0, 2, 1, 1, 0, 1, 2, 1, 1, 0, 1, 2, 1]


async def say(fake: FakeBotApi, text: str, chat_id: int, **push: Any) -> str:
    """Send a command as the user; the bot's answer as the user reads it."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, text, **push)
    await fake.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
    return str(fake.sent_messages(chat_id)[before].result["text"])


def alerts(fake: FakeBotApi, chat_id: int) -> list[RecordedRequest]:
    return [
        m for m in fake.sent_messages(chat_id) if re.match(r"(Spike|Всплеск): ", m.result["text"])
    ]


def burst(prefix: str) -> dict[str, list[Item]]:
    """Matching items by outlet: the first story in all three (each titles it its own way), the
    second in two, the rest in one each; 12 hits in all, 9 stories. Links are
    https://news.example/GUID: a shared GUID is one story (the same link)."""
    village = f"RVC & the Legion <claim> a village ({prefix})"
    return {
        "a": [
            (f"{prefix}-1", f"RVC fighters cross the border ({prefix})", "claims"),
            (f"{prefix}-2", village, ""),
            (f"{prefix}-a1", f"RVC claims a drone strike, {prefix}", ""),
            (f"{prefix}-a2", f"Governor comments on RVC, {prefix}", ""),
            (f"{prefix}-a3", f"RVC prisoners exchanged, {prefix}", ""),
            (f"{prefix}-a4", f"Analysts on the RVC statement, {prefix}", ""),
        ],
        "b": [
            (f"{prefix}-1", "Border crossing reported", "RVC says"),
            (f"{prefix}-2", village, ""),
            (f"{prefix}-b1", f"RVC in Belgorod region, {prefix}", ""),
        ],
        "c": [
            (f"{prefix}-1", "РДК перешёл границу", ""),
            (f"{prefix}-c1", f"РДК: заявление {prefix}", ""),
            (f"{prefix}-c2", f"RVC video from the frontier, {prefix}", ""),
        ],
    }


async def publish(app: FeedwatchApp, feed_server: FeedServer, items: dict[str, list[Item]]) -> int:
    """Serve the items and run one poll round (which sends the alerts); returns the new hits."""
    for outlet, entries in items.items():
        feed_server.add(f"/{outlet}.rss", rss(*entries))
    outcomes = await app.poll_once(all_feeds=True)
    assert all(o.error is None for o in outcomes)
    return sum(o.new_hits for o in outcomes)


async def spikes_on(app: FeedwatchApp, fake: FakeBotApi, chat_id: int, **push: Any) -> None:
    """The chat follows rvc and turns spike alerts on, as a user types it."""
    await say(fake, "/subscribe rvc", chat_id, **push)
    await say(fake, "/spikes on", chat_id, **push)
    assert app.repo.spike_alerts_on(chat_id)


# --- the spike path ---------------------------------------------------------------------------


async def test_a_sudden_burst_sends_one_alert_at_once_and_only_one(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, ON)
    await say(fake_bot_api, "/subscribe rvc", OFF)  # follows the list, spike alerts off

    assert await publish(app, feed_server, burst("raid")) == 12

    [alert] = alerts(fake_bot_api, ON)
    assert alert.params["parse_mode"] == "HTML"
    assert "disable_notification" not in alert.params  # not in quiet hours: with a sound
    lines = alert.params["text"].splitlines()
    assert lines[:2] == [
        "<b>Spike: Russian Volunteer Corps</b>",
        "12 hits in the last hour; usually 1 at this hour.",
    ]
    stories = lines[2:]
    assert len(stories) == 9
    # Each outlet titles the first story its own way: the line is the first stored of them.
    assert re.fullmatch(
        r'• <a href="https://news\.example/raid-1">[^<>]+</a> · 3 outlets · first: Feed \d',
        stories[0],
    )
    # Published at one moment: the first stored is named first.
    assert re.fullmatch(
        r'• <a href="https://news\.example/raid-2">RVC &amp; the Legion &lt;claim&gt; a village'
        r" \(raid\)</a> · 2 outlets · first: Feed \d",
        stories[1],
    )
    assert all(line.endswith(" · 1 outlet") for line in stories[2:])
    first = re.findall(r'href="([^"]+)"', alert.params["text"])
    assert len(set(first)) == 9
    assert alerts(fake_bot_api, OFF) == []
    [record] = app.repo.spike_alert_log(ON)
    assert (record.watchlist, record.count, record.baseline, record.outcome) == (
        "rvc",
        12,
        1.0,
        "sent",
    )

    # An hour later the feeds carry more: the hour is a spike again, but within six hours.
    clock.advance(hours=1)
    assert await publish(app, feed_server, burst("more")) == 12
    assert len(alerts(fake_bot_api, ON)) == 1
    assert len(app.repo.spike_alert_log(ON)) == 1

    # Six hours after the alert the list may alert again: a new burst does.
    clock.advance(hours=5)
    assert await publish(app, feed_server, burst("later")) == 12
    assert len(alerts(fake_bot_api, ON)) == 2
    assert alerts(fake_bot_api, OFF) == []

    # The alert is a heads-up: its stories still come in the digest.
    clock.advance(hours=2)
    await app.digest_once()
    digest = "".join(
        m.params["text"]
        for m in fake_bot_api.sent_messages(ON)
        if "new mentions" in m.result["text"]
    )
    assert all(f'href="{link}"' in digest for link in first)


async def test_a_poll_round_without_a_spike_sends_nothing(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    store_history(app, [8] * 14)  # this list is busy at this hour: 8 is its usual
    await spikes_on(app, fake_bot_api, ON)
    # Median 8, MAD 0: the hour needs 8 + 5 · √9 = 23 hits, and 12 is not even twice 8.
    assert await publish(app, feed_server, burst("usual")) == 12
    assert alerts(fake_bot_api, ON) == []


async def test_a_new_watchlist_gets_no_alert_without_a_week_of_history(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    store_history(app, [1, 1, 0, 1, 2, 1])  # six days of history
    await spikes_on(app, fake_bot_api, ON)
    assert await publish(app, feed_server, burst("early")) == 12
    assert alerts(fake_bot_api, ON) == []
    assert app.repo.spike_alert_log(ON) == []


async def test_quiet_hours_send_the_alert_at_once_without_a_sound_and_paused_chats_get_none(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, QUIET)
    assert "Quiet from 05:00 to 07:00" in await say(fake_bot_api, "/quiet 05:00-07:00", QUIET)
    await spikes_on(app, fake_bot_api, PAUSED)
    await say(fake_bot_api, "/pause", PAUSED)

    await publish(app, feed_server, burst("night"))

    [alert] = alerts(fake_bot_api, QUIET)
    assert alert.params["disable_notification"] is True
    assert alerts(fake_bot_api, PAUSED) == []


async def test_the_alert_is_in_the_chats_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, RUSSIAN, language_code="ru")
    await publish(app, feed_server, burst("ru"))
    [alert] = alerts(fake_bot_api, RUSSIAN)
    text = alert.params["text"]
    assert text.startswith("<b>Всплеск: Russian Volunteer Corps</b>\n")
    assert "12 совпадений за последний час; обычно в это время — 1." in text
    assert "· 3 издания" in text


async def test_a_chat_held_by_another_sender_gets_the_alert_the_next_round(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, ON)
    assert app.repo.claim_chat(ON, "another-replica", clock(), timedelta(minutes=2)) is not None
    await publish(app, feed_server, burst("raid"))
    assert alerts(fake_bot_api, ON) == []
    assert app.repo.spike_alert_log(ON) == []

    app.repo.release_chat(ON, "another-replica")
    clock.advance(seconds=30)
    await app.poll_once()  # no new hits this round: the spike found before is checked again
    [alert] = alerts(fake_bot_api, ON)
    assert "12 hits in the last hour" in alert.params["text"]
    clock.advance(seconds=30)
    await app.poll_once()
    assert len(alerts(fake_bot_api, ON)) == 1


async def test_a_429_holds_the_alert_until_the_wait_is_over_and_sends_it_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, ON)
    fake_bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 30", {"retry_after": 30}
    )
    await publish(app, feed_server, burst("raid"))
    assert alerts(fake_bot_api, ON) == []
    tries = len(fake_bot_api.calls("sendMessage"))

    clock.advance(seconds=29)
    await app.poll_once()  # no feed is due: only the alerts waiting to be sent
    assert len(fake_bot_api.calls("sendMessage")) == tries  # not even asked

    clock.advance(seconds=1)
    await app.poll_once()
    [alert] = alerts(fake_bot_api, ON)
    assert "12 hits in the last hour" in alert.params["text"]
    clock.advance(minutes=5)
    await app.poll_once()
    await publish(app, feed_server, burst("again"))
    assert len(alerts(fake_bot_api, ON)) == 1
    assert [r.outcome for r in app.repo.spike_alert_log(ON)] == ["sent"]


async def test_a_429_to_a_digest_keeps_the_alert_waiting_as_well(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    """Telegram's wait is the chat's, whoever got it: the digest's 429 holds the alert too."""
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, ON)
    feed_server.add("/a.rss", rss(("early", "RVC early report", "")))
    await app.poll_once(all_feeds=True)
    fake_bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 30", {"retry_after": 30}
    )
    [outcome] = await app.digest_once()
    assert outcome.error is not None
    await publish(app, feed_server, burst("raid"))
    assert alerts(fake_bot_api, ON) == []
    clock.advance(seconds=30)
    await app.poll_once()
    assert len(alerts(fake_bot_api, ON)) == 1


async def test_a_429_to_a_notice_keeps_the_alert_waiting_as_well(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, ON)
    feed = next(f for f in app.repo.feeds() if f.name == "Feed 1")
    assert app.repo.tell_chats_feed_is_failing(feed.id, "HTTP 503", clock(), clock())
    fake_bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 30", {"retry_after": 30}
    )
    assert await app.digest_once() == []  # the notice was refused; nothing else was due
    await publish(app, feed_server, burst("raid"))
    assert alerts(fake_bot_api, ON) == []  # fails: the alert went out inside Telegram's wait


async def test_an_alert_that_may_have_arrived_is_never_sent_again(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    """A 5xx or a timeout leaves it unknown whether Telegram took the message: not resent."""
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, ON)
    fake_bot_api.fail_next("sendMessage", 502, "Bad Gateway")
    await publish(app, feed_server, burst("raid"))
    tries = len(fake_bot_api.calls("sendMessage"))
    for _ in range(3):
        clock.advance(minutes=10)
        await app.poll_once()
    assert len(fake_bot_api.calls("sendMessage")) == tries
    assert alerts(fake_bot_api, ON) == []
    assert [r.outcome for r in app.repo.spike_alert_log(ON)] == ["unsure"]


async def test_a_chat_that_blocked_the_bot_is_deactivated(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    store_history(app, HISTORY)
    await spikes_on(app, fake_bot_api, ON)
    fake_bot_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await publish(app, feed_server, burst("raid"))
    chat = app.repo.chat(ON)
    assert chat is not None
    assert chat.active is False
    assert [r.outcome for r in app.repo.spike_alert_log(ON)] == ["failed"]


# --- /spikes -----------------------------------------------------------------------------------


async def test_spikes_command_turns_alerts_on_and_off_and_says_the_state(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert "Spike alerts are off for this chat." in await say(fake_bot_api, "/spikes", ON)
    assert not app.repo.spike_alerts_on(ON)
    answer = await say(fake_bot_api, "/spikes on", ON)
    assert answer.startswith("Spike alerts are on for this chat:")
    assert "at most one per watchlist in 6 hours" in answer
    assert app.repo.spike_alerts_on(ON)
    assert "Spike alerts are on" in await say(fake_bot_api, "/spikes", ON)
    assert "Spike alerts are off" in await say(fake_bot_api, "/spikes OFF", ON)
    assert not app.repo.spike_alerts_on(ON)
    assert await say(fake_bot_api, "/spikes maybe", ON) == "Usage: /spikes on|off"
    ukrainian = await say(fake_bot_api, "/spikes on", ON, language_code="uk")
    assert ukrainian.startswith("Сповіщення про сплески ввімкнено (цей чат)")


# --- storage, on SQLite and PostgreSQL ---------------------------------------------------------

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
SHARED, OWN = "https://shared.example/rss", "https://own.example/rss"


@pytest.fixture
def seeded(repo: Repository) -> Repository:
    repo.sync_config([FeedSpec(SHARED, "Shared")], [Watchlist("rvc", ("RVC",))], NOW)
    for chat_id in (ON, OFF):
        repo.register_chat(chat_id, "private", None, NOW)
        repo.subscribe(chat_id, ["rvc"], NOW)
    repo.set_spike_alerts(ON, True)
    return repo


def feed_id(repo: Repository, url: str) -> int:
    return next(f.id for f in repo.feeds() if f.url == url)


def hits(repo: Repository, url: str, when: datetime, count: int, tag: str = "x") -> None:
    items = [
        (ParsedItem(f"{tag}-{when:%j%H%M}-{n}", f"RVC {tag} {n}", None, "", when), {"rvc": RVC})
        for n in range(count)
    ]
    repo.store_items(feed_id(repo, url), items, when)


def rvc_id(repo: Repository) -> int:
    with Session(repo.engine) as session:
        found = session.exec(select(WatchlistRow.id).where(WatchlistRow.name == "rvc")).one()
        assert found is not None
        return found


def spike(at: datetime = NOW) -> Spike:
    """A spike found at `at` (its alert belongs to that clock hour)."""
    return Spike("rvc", 9, 1.0, 1.0, 6.0, at - HOUR, at, 14)


def test_targets_are_the_chats_with_alerts_on_following_a_list_that_just_got_hits(
    seeded: Repository,
) -> None:
    mark = seeded.last_hit_id()
    assert seeded.spike_targets(mark, NOW) == []  # no new hits
    hits(seeded, SHARED, NOW, 2)
    [target] = seeded.spike_targets(mark, NOW)
    assert (target.chat_id, target.watchlist.name, target.own_feeds) == (ON, "rvc", False)
    assert seeded.spike_targets(seeded.last_hit_id(), NOW) == []
    seeded.pause(ON)
    assert seeded.spike_targets(mark, NOW) == []
    seeded.resume(ON)
    assert seeded.reserve_spike_alert(ON, target.watchlist_id, spike(), NOW) is not None
    assert seeded.spike_targets(mark, NOW + COOLDOWN - timedelta(seconds=1)) == []
    assert [t.chat_id for t in seeded.spike_targets(mark, NOW + COOLDOWN)] == [ON]
    seeded.set_spike_alerts(ON, False)
    assert seeded.spike_targets(mark, NOW + COOLDOWN) == []
    with pytest.raises(StorageError, match="not registered"):
        seeded.set_spike_alerts(999, True)


def test_history_counts_only_hits_the_chat_may_see(seeded: Repository) -> None:
    """Another chat's own feed never shows in a chat's alert, not even as a count."""
    assert seeded.add_chat_feed(OFF, OWN, "Own", NOW - 20 * DAY) == "added"
    list_id = rvc_id(seeded)
    hits(seeded, SHARED, NOW - 3 * DAY - HOUR / 2, 2, "shared")
    hits(seeded, SHARED, NOW, 1, "shared-now")
    hits(seeded, OWN, NOW - 16 * DAY, 1, "own-old")
    hits(seeded, OWN, NOW - timedelta(minutes=5), 4, "own-now")

    everyone = seeded.spike_history(list_id, None, NOW)
    assert sorted(everyone.times) == [NOW - 3 * DAY - HOUR / 2] * 2 + [NOW]
    assert everyone.watching_since == NOW - 3 * DAY - HOUR / 2  # its first hit
    for view in (None, ON):
        shown = seeded.spike_items(list_id, view, NOW - HOUR, NOW)
        assert [i.feed_name for i in shown] == ["Shared"]
    own = seeded.spike_history(list_id, OFF, NOW)
    assert len(own.times) == 3 + 4
    assert own.watching_since == window_starts(NOW)[-1]  # it had hits before the 14 days
    assert {i.feed_name for i in seeded.spike_items(list_id, OFF, NOW - HOUR, NOW)} == {
        "Shared",
        "Own",
    }
    [target] = [t for t in seeded.spike_targets(0, NOW) if t.chat_id == ON]
    assert target.own_feeds is False
    seeded.set_spike_alerts(OFF, True)
    [target] = [t for t in seeded.spike_targets(0, NOW) if t.chat_id == OFF]
    assert target.own_feeds is True


def test_hours_are_counted_from_just_after_their_start_to_their_end(seeded: Repository) -> None:
    list_id = rvc_id(seeded)
    for when in (NOW - HOUR, NOW - HOUR + timedelta(seconds=1), NOW, NOW + timedelta(seconds=1)):
        hits(seeded, SHARED, when, 1, f"t{when:%H%M%S}")
    inside = [NOW - HOUR + timedelta(seconds=1), NOW]
    assert sorted(seeded.spike_history(list_id, None, NOW).times) == inside
    assert sorted(i.seen_at for i in seeded.spike_items(list_id, None, NOW - HOUR, NOW)) == inside


def test_an_alert_is_recorded_once_per_cooldown_and_goes_through_its_states(
    seeded: Repository,
) -> None:
    list_id = rvc_id(seeded)
    first = seeded.reserve_spike_alert(ON, list_id, spike(), NOW, thread_id=7)
    assert first is not None
    assert seeded.reserve_spike_alert(ON, list_id, spike(NOW + HOUR), NOW + HOUR) is None
    assert seeded.reserve_spike_alert(OFF, list_id, spike(), NOW) is None
    assert seeded.pending_spike_alerts(NOW) == []  # its try has begun
    seeded.retry_spike_alert(first)  # Telegram said 429
    [pending] = seeded.pending_spike_alerts(NOW)
    # Facts, not text: the alert is written again, in the chat's language then, from them.
    assert (pending.id, pending.chat_id, pending.thread_id, pending.watchlist.name) == (
        first,
        ON,
        7,
        "rvc",
    )
    assert (pending.count, pending.baseline) == (9, 1.0)
    assert (pending.counted_from, pending.counted_until, pending.own_feeds) == (
        NOW - HOUR,
        NOW,
        False,
    )
    assert seeded.take_spike_alert(first, NOW)
    assert not seeded.take_spike_alert(first, NOW)  # another replica cannot take it too
    seeded.finish_spike_alert(first, NOW, "sent", message_id=42)
    seeded.finish_spike_alert(first, NOW, "failed")  # closed stays closed
    [record] = seeded.spike_alert_log(ON)
    assert (record.outcome, record.sent_at, record.count) == ("sent", NOW, 9)

    later = NOW + COOLDOWN
    second = seeded.reserve_spike_alert(ON, list_id, spike(later), later)
    assert second is not None
    seeded.retry_spike_alert(second)
    # Refused for over an hour: no longer news.
    assert seeded.pending_spike_alerts(later + timedelta(minutes=59)) != []
    assert seeded.pending_spike_alerts(later + HOUR) == []
    third = seeded.reserve_spike_alert(ON, list_id, spike(later + COOLDOWN), later + COOLDOWN)
    assert third is not None
    # A try that began and never ended (a crash mid-send) is not tried again.
    assert seeded.pending_spike_alerts(later + COOLDOWN + 2 * HOUR) == []
    assert [r.outcome for r in seeded.spike_alert_log(ON)] == ["unsure", "expired", "sent"]


def test_a_group_that_became_a_supergroup_keeps_its_setting_and_its_alerts(
    seeded: Repository,
) -> None:
    list_id = rvc_id(seeded)
    assert seeded.reserve_spike_alert(ON, list_id, spike(), NOW) is not None
    seeded.migrate_chat(ON, -100123)
    assert seeded.spike_alerts_on(-100123)
    assert [r.count for r in seeded.spike_alert_log(-100123)] == [9]
    assert seeded.reserve_spike_alert(-100123, list_id, spike(NOW + HOUR), NOW + HOUR) is None


def test_two_replicas_reserving_at_once_record_one_alert(
    seeded: Repository, database: Database
) -> None:
    if database.kind == "sqlite":
        pytest.skip("SQLite is one process: the Alerter's own lock serialises its rounds")
    list_id = rvc_id(seeded)
    others = [database.open() for _ in range(4)]
    start = threading.Barrier(len(others))
    got: list[int | None] = []

    def reserve(repo: Repository, minutes: int) -> None:
        start.wait()
        # Mostly different clock hours: only the lock on the chat keeps them apart.
        at = NOW + timedelta(minutes=minutes)
        got.append(repo.reserve_spike_alert(ON, list_id, spike(at), at))

    threads = [
        threading.Thread(target=reserve, args=(repo, 50 * n)) for n, repo in enumerate(others)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for repo in others:
        repo.close()
    assert len([alert for alert in got if alert is not None]) == 1
    assert len(seeded.spike_alert_log(ON)) == 1
