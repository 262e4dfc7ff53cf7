"""Delivery robustness: the real bot sends digests to the fake Bot API while Telegram rate-limits,
fails, refuses or moves chats, and while a `feedwatch run` process is killed in the middle of a round.
Every assertion counts what reached the fake server; time moves only with the test's Clock."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import FeedwatchApp
from bot.core.errors import StorageError
from bot.render.digest import BACKLOG_LIMIT, BACKLOG_NEWEST, TELEGRAM_TEXT_LIMIT
from bot.services.courier import RETRY_FIRST
from bot.services.deliver import DeliveryOutcome
from bot.storage.repository import Repository
from bot.storage.store import create_db_engine
from tests.builders import Clock, rss, write_settings
from tests.conftest import Database
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

# Tests that send a chat several messages use the private chat: the bot paces a group to one
# message every 3 s of real time (bot/app.py), a private chat to one a second on the app's clock.
GROUP = -4001
PRIVATE = 111
FEED = "/news.rss"
REPO_ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r'<a href="(https://news\.example/[^"]+)">')
Item = tuple[str, str, str]


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi, clock: Clock
) -> AsyncIterator[FeedwatchApp]:
    url = feed_server.add(FEED, rss(("weather-1", "Sunny in Lviv", "Nothing to see")))
    settings = write_settings(tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url)
    async with FeedwatchApp(settings, clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


def news(prefix: str, count: int, about: str = "RVC") -> list[Item]:
    """`count` items whose titles name `about`; links are https://news.example/PREFIX-N."""
    return [(f"{prefix}-{n}", f"{about} report {prefix} {n}", "") for n in range(count)]


def urls(entries: list[Item]) -> set[str]:
    return {f"https://news.example/{guid}" for guid, _, _ in entries}


async def publish(app: FeedwatchApp, feed_server: FeedServer, entries: list[Item]) -> None:
    """Serve `entries` as the feed and poll it, so their hits reach the outboxes."""
    feed_server.add(FEED, rss(*entries))
    [outcome] = await app.poll_once(all_feeds=True)
    assert outcome.error is None


def follow(app: FeedwatchApp, chat_id: int, *names: str, chat_type: str = "group") -> None:
    app.repo.register_chat(chat_id, chat_type, None, app.clock())
    app.repo.subscribe(chat_id, list(names), app.clock())


def links(messages: list[RecordedRequest]) -> list[str]:
    """Every item link in the messages, in order, repeats included."""
    return [link for message in messages for link in LINK.findall(message.params["text"])]


def tries(fake: FakeBotApi, chat_id: int) -> int:
    """sendMessage requests to `chat_id` the fake answered, refused ones included."""
    return sum(1 for r in fake.calls("sendMessage") if r.params.get("chat_id") == chat_id)


async def say(fake: FakeBotApi, text: str, chat_id: int) -> str:
    """Send a command as the user and return the bot's answer as the user reads it."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, text)
    await fake.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
    return fake.sent_texts(chat_id)[before]


# --- Telegram says wait, or fails -------------------------------------------------------------


async def test_429_holds_the_rows_until_retry_after_and_then_delivers_them_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, PRIVATE, "rvc", chat_type="private")
    entries = news("raid", 2)
    await publish(app, feed_server, entries)
    fake_bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 30", {"retry_after": 30}
    )
    [outcome] = await app.digest_once()
    assert outcome.error is not None
    assert "30" in outcome.error
    assert (tries(fake_bot_api, PRIVATE), fake_bot_api.sent_messages(PRIVATE)) == (1, [])
    assert len(app.repo.pending_deliveries(PRIVATE)) == 2

    clock.advance(seconds=29)
    assert await app.digest_once() == []
    assert tries(fake_bot_api, PRIVATE) == 1  # not even asked: Telegram said 30 s

    clock.advance(seconds=1)
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=2)]
    assert set(links(fake_bot_api.sent_messages(PRIVATE))) == urls(entries)
    assert app.repo.pending_deliveries(PRIVATE) == []

    clock.advance(hours=2)  # the next digest is due: nothing is left for it
    await publish(app, feed_server, entries)
    assert await app.digest_once() == []
    assert len(links(fake_bot_api.sent_messages(PRIVATE))) == 2


async def test_server_errors_back_off_exponentially_and_deliver_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, PRIVATE, "rvc", chat_type="private")
    entries = news("raid", 3)
    await publish(app, feed_server, entries)
    fake_bot_api.fail_next("sendMessage", 500, "Internal Server Error", times=2)

    [outcome] = await app.digest_once()
    assert outcome.error is not None
    assert len(app.repo.pending_deliveries(PRIVATE)) == 3
    clock.advance(seconds=RETRY_FIRST.total_seconds() - 1)
    assert await app.digest_once() == []
    assert tries(fake_bot_api, PRIVATE) == 1

    clock.advance(seconds=1)  # the first backoff has passed: tried again, fails again
    [outcome] = await app.digest_once()
    assert outcome.error is not None
    assert tries(fake_bot_api, PRIVATE) == 2
    clock.advance(seconds=2 * RETRY_FIRST.total_seconds() - 1)  # the second wait is twice as long
    assert await app.digest_once() == []
    assert tries(fake_bot_api, PRIVATE) == 2

    clock.advance(seconds=1)
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=3)]
    assert sorted(links(fake_bot_api.sent_messages(PRIVATE))) == sorted(urls(entries))
    clock.advance(hours=2)
    assert await app.digest_once() == []
    assert tries(fake_bot_api, PRIVATE) == 3


async def test_429_after_the_first_message_of_a_digest_sends_only_the_rest_later(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    """A private chat, so the sender waits a real second between the two messages of the digest:
    the fake is told to refuse the second while the bot waits, from the predicate that sees the
    first arrive."""
    follow(app, PRIVATE, "rvc", chat_type="private")
    entries = [(f"long-{n}", f"RVC long report {n} " + "word " * 80, "") for n in range(16)]
    await publish(app, feed_server, entries)

    def refuse_the_second(fake: FakeBotApi) -> bool:
        if not fake.sent_messages(PRIVATE):
            return False
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", {"retry_after": 5})
        return True

    [outcome], _ = await asyncio.gather(
        app.digest_once(), fake_bot_api.wait_for_async(refuse_the_second)
    )
    assert outcome.messages == 1
    assert outcome.error is not None
    first = links(fake_bot_api.sent_messages(PRIVATE))
    assert 0 < len(first) < len(entries)
    assert len(app.repo.pending_deliveries(PRIVATE)) == len(entries) - len(first)

    clock.advance(seconds=5)
    [outcome] = await app.digest_once()
    assert outcome.error is None
    delivered = links(fake_bot_api.sent_messages(PRIVATE))
    assert sorted(delivered) == sorted(urls(entries))  # each once: the first part is not resent
    assert app.repo.pending_deliveries(PRIVATE) == []


# --- chats that are gone or moved -------------------------------------------------------------


@pytest.mark.parametrize(
    ("chat_id", "chat_type", "status", "description"),
    [
        (PRIVATE, "private", 403, "Forbidden: bot was blocked by the user"),
        (GROUP, "group", 403, "Forbidden: bot was kicked from the group chat"),
        (GROUP, "group", 400, "Bad Request: chat not found"),
    ],
)
async def test_an_unreachable_chat_is_deactivated_and_never_tried_again(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    feed_server: FeedServer,
    clock: Clock,
    chat_id: int,
    chat_type: str,
    status: int,
    description: str,
) -> None:
    follow(app, chat_id, "rvc", chat_type=chat_type)
    await publish(app, feed_server, news("raid", 1))
    fake_bot_api.fail_next("sendMessage", status, description)
    [outcome] = await app.digest_once()
    assert outcome.error is not None
    assert description.partition(": ")[2] in outcome.error.lower()  # PTB drops "Bad Request: "
    chat = app.repo.chat(chat_id)
    assert chat is not None
    assert chat.active is False
    for round_ in range(3):
        clock.advance(hours=2)
        await publish(app, feed_server, news(f"later{round_}", 1))
        assert await app.digest_once() == []
    assert tries(fake_bot_api, chat_id) == 1


async def test_a_user_who_blocked_the_bot_and_sends_start_gets_the_held_digest_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, PRIVATE, "rvc", chat_type="private")
    held = news("raid", 1)
    await publish(app, feed_server, held)
    fake_bot_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await app.digest_once()
    assert await app.digest_once() == []

    assert "feedwatch" in await say(fake_bot_api, "/start", PRIVATE)
    chat = app.repo.chat(PRIVATE)
    assert chat is not None
    assert chat.active is True
    clock.advance(seconds=2)
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=1)]
    assert links(fake_bot_api.sent_messages(PRIVATE)) == sorted(urls(held))
    clock.advance(hours=2)
    assert await app.digest_once() == []


async def test_a_group_upgraded_to_a_supergroup_gets_its_digest_there_in_the_same_round(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    supergroup = -1001234567890
    follow(app, GROUP, "rvc")
    app.repo.add_terms(GROUP, "legion", "terms", ["Legion"], clock())
    entries = [*news("raid", 2), ("legion-1", "Freedom of Russia Legion statement", "")]
    await publish(app, feed_server, entries)
    fake_bot_api.fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": supergroup},
    )
    [outcome] = await app.digest_once()
    assert outcome.error is None
    assert (outcome.messages, outcome.items) == (1, 3)
    assert sorted(links(fake_bot_api.sent_messages(supergroup))) == sorted(urls(entries))
    assert fake_bot_api.sent_messages(GROUP) == []

    assert app.repo.chat(GROUP) is None
    assert app.repo.chat_watchlists(GROUP) == []
    assert [w.label for w in app.repo.chat_watchlists(supergroup)] == ["legion", "rvc"]
    assert [w.owner for w in app.repo.own_watchlists(supergroup)] == [supergroup]
    assert app.repo.pending_deliveries(supergroup) == []
    # New hits are queued for the supergroup (a second send there would wait 3 s of real time
    # in the bot's rate limiter, so the queue is checked instead).
    await publish(app, feed_server, [*entries, *news("later", 1)])
    assert {d.item.link for d in app.repo.pending_deliveries(supergroup)} == urls(news("later", 1))


async def test_a_migration_that_cannot_be_stored_does_not_stop_other_chats_digests(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    supergroup, other = -1001234567890, -3001
    follow(app, GROUP, "rvc")
    follow(app, other, "rvc")
    await publish(app, feed_server, news("raid", 1))
    follow(app, supergroup, "rvc")  # someone sent /subscribe rvc in the new supergroup first
    fake_bot_api.fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": supergroup},
        chat_id=GROUP,
    )
    # GROUP is moved, and the move cannot be stored; the other group's digest goes all the same.
    outcomes = await app.digest_once()
    assert {o.chat_id for o in outcomes} == {GROUP, other}
    assert len(fake_bot_api.sent_messages(other)) == 1


# --- what a digest looks like when it is long, large or instant -------------------------------


async def test_a_long_digest_with_markup_in_titles_is_escaped_split_and_complete(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, PRIVATE, "rvc", "kursk", chat_type="private")
    hostile = "RVC <script>alert('x')</script> & Legion in Kursk " + "word " * 1000
    assert len(hostile) > 5000
    entries = [
        ("hostile", hostile[:5000], "<b>not a tag</b> & more"),
        *[(f"rvc-{n}", f"RVC column {n} " + "word " * 70, "") for n in range(12)],
        *[(f"kursk-{n}", f"Kursk column {n} " + "word " * 70, "") for n in range(12)],
    ]
    await publish(app, feed_server, entries)

    [outcome] = await app.digest_once()
    sent = fake_bot_api.sent_messages(PRIVATE)
    assert outcome == DeliveryOutcome(PRIVATE, messages=len(sent), items=len(entries))
    assert len(sent) >= 3
    for message in sent:
        assert message.params["parse_mode"] == "HTML"
        assert len(message.result["text"]) <= TELEGRAM_TEXT_LIMIT
    found = links(sent)
    assert len(found) == len(set(found)) == len(entries)
    assert set(found) == urls(entries)
    hostile_text = next(t for t in fake_bot_api.sent_texts(PRIVATE) if "<script>" in t)
    assert "<script>alert('x')</script> & Legion" in hostile_text  # shown as text, not markup
    assert any("&lt;script&gt;" in m.params["text"] for m in sent)
    assert app.repo.pending_deliveries(PRIVATE) == []
    assert all(hit.sent_at is not None for hit in app.repo.recent_hits(PRIVATE, 100))
    clock.advance(hours=2)
    assert await app.digest_once() == []
    assert len(fake_bot_api.sent_messages(PRIVATE)) == len(sent)


async def test_a_backlog_becomes_one_summary_and_the_rest_stays_in_hits(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, GROUP, "rvc", "kursk")
    old = [*news("old", 30), *news("oldk", 15, about="Kursk")]
    new = news("new", BACKLOG_NEWEST)
    await publish(app, feed_server, old)
    clock.advance(minutes=5)
    await publish(app, feed_server, new)  # the same dates, polled later: these are the newest
    assert len(old) + len(new) > BACKLOG_LIMIT

    [outcome] = await app.digest_once()
    assert outcome.error is None
    [summary] = fake_bot_api.sent_messages(GROUP)
    text = summary.result["text"]
    assert f"{len(old) + len(new)} new mentions" in text
    assert "Russian Volunteer Corps: 40" in text
    assert "Kursk region: 15" in text
    assert set(links([summary])) == urls(new)
    assert app.repo.pending_deliveries(GROUP) == []
    past = app.repo.recent_hits(GROUP, 100)
    assert {hit.item.link for hit in past} == urls(old) | urls(new)
    assert all(hit.sent_at is not None for hit in past)

    clock.advance(hours=2)
    await publish(app, feed_server, new)
    assert await app.digest_once() == []
    assert len(fake_bot_api.sent_messages(GROUP)) == 1


async def test_a_backlog_larger_than_one_read_is_counted_whole_shows_the_newest_and_closes(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    """3,000 hits, three times what one read of the outbox takes: one summary counts them all,
    lists the ten newest, and the whole backlog closes with it."""
    follow(app, PRIVATE, "rvc", chat_type="private")
    total = 3000
    # All within the last day (the clock stands at 12 Mar 06:00): news, not the feed's archive.
    start = datetime(2024, 3, 11, 12, tzinfo=UTC)
    items = "".join(
        f"<item><guid>raid-{n}</guid><title>RVC report {n}</title>"
        f"<link>https://news.example/raid-{n}</link>"
        f"<pubDate>{(start + timedelta(seconds=20 * n)).strftime('%a, %d %b %Y %H:%M:%S GMT')}"
        "</pubDate>"
        "</item>"
        for n in range(total)
    )
    feed_server.add(
        FEED,
        (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>https://news.example/</link><description>x</description>{items}</channel></rss>"
        ).encode(),
    )
    [outcome] = await app.poll_once(all_feeds=True)
    assert outcome.new_hits == total

    [sent] = await app.digest_once()
    assert (sent.messages, sent.items, sent.error) == (1, total, None)
    [summary] = fake_bot_api.sent_messages(PRIVATE)
    text = summary.result["text"]
    assert f"{total} new mentions, too many for one digest" in text
    assert f"Russian Volunteer Corps: {total}" in text
    newest = [
        f"https://news.example/raid-{n}" for n in range(total - 1, total - 1 - BACKLOG_NEWEST, -1)
    ]
    assert links([summary]) == newest
    assert app.repo.count_pending(PRIVATE) == 0
    assert await app.digest_once() == []
    assert len(fake_bot_api.sent_messages(PRIVATE)) == 1


async def test_a_rate_limited_backlog_summary_still_counts_the_whole_backlog_later(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, PRIVATE, "rvc", chat_type="private")
    entries = news("raid", BACKLOG_LIMIT + 5)
    await publish(app, feed_server, entries)
    fake_bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 30", {"retry_after": 30}
    )
    [outcome] = await app.digest_once()
    assert outcome.error is not None
    clock.advance(seconds=30)
    await app.digest_once()
    [summary] = fake_bot_api.sent_messages(PRIVATE)
    assert f"{len(entries)} new mentions" in summary.result["text"]


async def test_each_forum_topic_gets_its_own_digest(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    forum = -1001234567890
    app.repo.register_chat(forum, "supergroup", "Forum", app.clock())
    app.repo.subscribe(forum, ["rvc"], app.clock(), thread_id=7)
    app.repo.subscribe(forum, ["kursk"], app.clock(), thread_id=9)
    rvc, kursk = news("raid", 2), news("front", 2, about="Kursk")
    await publish(app, feed_server, [*rvc, *kursk])
    [outcome] = await app.digest_once()
    assert (outcome.messages, outcome.items) == (2, 4)
    by_topic = {
        m.params.get("message_thread_id"): set(links([m]))
        for m in fake_bot_api.sent_messages(forum)
    }
    assert by_topic == {7: urls(rvc), 9: urls(kursk)}


async def test_an_item_goes_to_every_topic_whose_list_it_hit_with_only_that_topics_lists(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    """A newsroom follows the unit in one topic and the region in another: the unit's raid into
    the region reaches both, and each topic's digest speaks of its own lists only."""
    forum = -1001234567892
    app.repo.register_chat(forum, "supergroup", "Newsroom", app.clock())
    app.repo.subscribe(forum, ["rvc", "lsr"], app.clock(), thread_id=10)
    app.repo.subscribe(forum, ["kursk", "belgorod"], app.clock(), thread_id=20)
    both = ("raid-1", "RVC raid into the Kursk region", "")
    unit = ("raid-2", "RVC video", "")
    region = ("front-1", "Shelling in the Kursk region", "")
    await publish(app, feed_server, [both, unit, region])
    [outcome] = await app.digest_once()
    assert (outcome.messages, outcome.items) == (2, 4)
    sent = {m.params.get("message_thread_id"): m for m in fake_bot_api.sent_messages(forum)}
    assert set(sent) == {10, 20}
    assert set(links([sent[10]])) == urls([both, unit])
    assert set(links([sent[20]])) == urls([both, region])
    by_topic = {topic: message.result["text"] for topic, message in sent.items()}
    assert "Russian Volunteer Corps (2)" in by_topic[10]
    assert "Kursk" not in by_topic[10].replace("RVC raid into the Kursk region", "")
    assert "Kursk region (2)" in by_topic[20]
    assert "Russian Volunteer Corps" not in by_topic[20]
    assert app.repo.pending_deliveries(forum) == []


async def test_a_digest_for_a_deleted_topic_goes_to_the_general_topic(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    forum = -1001234567891
    app.repo.register_chat(forum, "supergroup", "Forum", app.clock())
    app.repo.subscribe(forum, ["rvc"], app.clock(), thread_id=7)
    entries = news("raid", 2)
    await publish(app, feed_server, entries)
    fake_bot_api.fail_next("sendMessage", 400, "Bad Request: message thread not found")
    [outcome] = await app.digest_once()
    assert (outcome.messages, outcome.items, outcome.error) == (1, 2, None)
    [sent] = fake_bot_api.sent_messages(forum)
    assert "message_thread_id" not in sent.params
    assert set(links([sent])) == urls(entries)


async def test_instant_mode_sends_each_hit_as_its_own_message_as_soon_as_it_comes(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, PRIVATE, "rvc", "kursk", chat_type="private")
    app.repo.set_digest_interval(PRIVATE, timedelta(0))
    first = [*news("raid", 2), *news("front", 1, about="Kursk")]
    await publish(app, feed_server, first)
    [outcome] = await app.digest_once()
    assert (outcome.messages, outcome.items) == (3, 3)
    sent = fake_bot_api.sent_messages(PRIVATE)
    assert [len(LINK.findall(m.params["text"])) for m in sent] == [1, 1, 1]
    assert set(links(sent)) == urls(first)
    assert {m.params["text"].split("\n")[0] for m in sent} == {
        "<b>Russian Volunteer Corps</b>",
        "<b>Kursk region</b>",
    }
    # No interval to wait for: the next hit goes in the next round, alone (a second later, so
    # the private chat's one message a second is kept without a real wait).
    clock.advance(seconds=1)
    await publish(app, feed_server, news("later", 1))
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=1)]
    assert links(fake_bot_api.sent_messages(PRIVATE))[3:] == sorted(urls(news("later", 1)))


async def test_a_private_chat_with_many_instant_hits_does_not_hold_up_other_chats(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    group = PRIVATE + 1000  # after the private chat in the round's order
    follow(app, PRIVATE, "rvc", chat_type="private")
    app.repo.set_digest_interval(PRIVATE, timedelta(0))
    follow(app, group, "rvc")
    await publish(app, feed_server, news("raid", 3))
    outcomes = await app.digest_once()
    assert sorted((o.chat_id, o.messages) for o in outcomes) == [(PRIVATE, 3), (group, 1)]
    order = [m.params["chat_id"] for m in fake_bot_api.sent_messages()]
    # One message a second to the private chat: the group's digest goes while it waits.
    assert order.index(group) < len(order) - 1, order


# --- chats that asked for silence -------------------------------------------------------------


async def test_quiet_hours_hold_the_hits_until_they_end_on_the_chats_clock(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, GROUP, "rvc")
    app.repo.set_timezone(GROUP, "Europe/Kyiv")  # UTC+2 in March
    app.repo.set_quiet(GROUP, (22 * 60, 7 * 60))
    clock.now = datetime(2024, 3, 12, 20, 30, tzinfo=UTC)  # 22:30 in Kyiv, 20:30 in UTC
    entries = news("night", 2)
    await publish(app, feed_server, entries)
    assert await app.digest_once() == []
    clock.now = datetime(2024, 3, 13, 4, 59, tzinfo=UTC)  # 06:59 in Kyiv
    await publish(app, feed_server, [*entries, *news("dawn", 1)])
    assert await app.digest_once() == []
    assert tries(fake_bot_api, GROUP) == 0

    clock.advance(minutes=1)  # 07:00 in Kyiv (still 05:00 in UTC): quiet hours are over
    assert await app.digest_once() == [DeliveryOutcome(GROUP, messages=1, items=3)]
    assert set(links(fake_bot_api.sent_messages(GROUP))) == urls(entries) | urls(news("dawn", 1))


async def test_a_paused_chat_gets_nothing_and_digest_now_says_it_is_paused(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, PRIVATE, "rvc", chat_type="private")
    app.repo.pause(PRIVATE)
    entries = news("raid", 2)
    await publish(app, feed_server, entries)
    assert await app.digest_once() == []
    outcome = await app.deliverer.deliver_now(PRIVATE)
    assert outcome.error is not None
    assert "paused" in outcome.error
    assert outcome.messages == outcome.items == 0
    assert "paused" in await say(fake_bot_api, "/digest", PRIVATE)
    assert tries(fake_bot_api, PRIVATE) == 1  # the answer to /digest, no digest

    # Resumed: what came meanwhile is held and offered, not dumped; taken, it comes once.
    assert app.repo.resume(PRIVATE) == 2
    clock.advance(hours=2)
    assert await app.digest_once() == []
    assert app.repo.release_held(PRIVATE) == 2
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=2)]
    assert set(links(fake_bot_api.sent_messages(PRIVATE))) == urls(entries)


# --- a process killed in the middle of a round ------------------------------------------------


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """`feedwatch run` processes a test starts; any still running at the end are killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def test_a_run_killed_mid_round_delivers_every_hit_once_after_restart(
    tmp_path: Path,
    feed_server: FeedServer,
    fake_bot_api: FakeBotApi,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    """Twenty groups each have one digest pending when `feedwatch run` starts. The fake cannot
    hold a response, so the kill is sent from the predicate that sees the fifth digest arrive.
    Sends to several chats run at once, so a few may be in flight then, answered but never
    recorded. A second process then sends what is left: a digest the first recorded as sent is
    never sent again, and one it sent without recording it is sent at most once more."""
    chats = [-5001 - n for n in range(20)]
    entries = news("raid", 2)
    # `feedwatch run` polls on the real clock: published now, or they would be the feed's archive.
    url = feed_server.add(FEED, rss(*entries, published=datetime.now(UTC)))
    settings = write_settings(tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url)
    config = tmp_path / "feedwatch.toml"
    text = config.read_text(encoding="utf-8")
    assert '[digest]\ninterval = "1h"\n' in text
    config.write_text(
        text.replace('interval = "1h"\n', 'interval = "1h"\ntick = "1s"\n'), encoding="utf-8"
    )
    async with FeedwatchApp(settings) as setup:
        for chat in chats:
            follow(setup, chat, "rvc")
        await setup.poll_once()
        assert all(len(setup.repo.pending_deliveries(chat)) == 2 for chat in chats)

    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWATCH_")}

    def launch(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "bot", "run", "--config", str(config)],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        return process

    def digests(fake: FakeBotApi) -> list[RecordedRequest]:
        return [m for m in fake.sent_messages() if m.params["chat_id"] in chats]

    first = launch("first")
    seen_at_kill: list[int] = []

    def kill_after_five(fake: FakeBotApi) -> bool:
        if first.poll() is not None:
            return True  # died by itself: reported below
        if len(digests(fake)) < 5:
            return False
        first.send_signal(signal.SIGKILL)
        seen_at_kill.append(len(digests(fake)))
        return True

    await fake_bot_api.wait_for_async(kill_after_five, timeout=30)
    await asyncio.to_thread(first.wait, 10)
    log = (tmp_path / "first.log").read_text(errors="replace")
    assert first.returncode == -signal.SIGKILL, log
    assert seen_at_kill[0] < len(chats), "the round was over before the kill"

    repo = Repository.open(f"sqlite:///{tmp_path / 'feedwatch.db'}")
    # What the first process left unrecorded, read before the second can send anything.
    unrecorded = {chat for chat in chats if repo.pending_deliveries(chat)}
    second = launch("second")
    try:

        def everyone_has_a_digest(fake: FakeBotApi) -> bool:
            return second.poll() is not None or {m.params["chat_id"] for m in digests(fake)} == set(
                chats
            )

        def outbox_empty(fake: FakeBotApi) -> bool:
            return second.poll() is not None or repo.chats_with_pending() == []

        await fake_bot_api.wait_for_async(everyone_has_a_digest, timeout=30)
        # Re-checked on every request, and the bot long-polls getUpdates at least every second.
        try:
            await fake_bot_api.wait_for_async(outbox_empty, timeout=10)
        except AssertionError:
            still = [chat.id for chat in repo.chats_with_pending()]
            pytest.fail(f"rows still open though every chat got its digest: chats {still}")
        assert second.poll() is None, (tmp_path / "second.log").read_text(errors="replace")
    finally:
        repo.close()
    second.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(second.wait, 10) == 0

    sent = digests(fake_bot_api)
    per_chat = {chat: [m for m in sent if m.params["chat_id"] == chat] for chat in chats}
    assert all(set(links(messages)) == urls(entries) for messages in per_chat.values())
    twice = [chat for chat, messages in per_chat.items() if len(messages) > 1]
    assert set(twice) <= unrecorded, f"recorded digests sent again to {set(twice) - unrecorded}"
    assert len(sent) == len(chats) + len(twice)
    assert max(len(messages) for messages in per_chat.values()) <= 2


async def test_one_story_from_two_outlets_comes_once_and_later_copies_as_one_update_line(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    follow(app, GROUP, "rvc")
    story = "RVC fighters claim a raid into the Kursk region overnight"
    other_url = feed_server.add("/other.rss", rss(("b-1", story, "")))
    assert app.repo.add_chat_feed(GROUP, other_url, "Other Outlet", app.clock()) == "added"
    feed_server.add(FEED, rss(("a-1", story, ""), ("a-2", "RVC report weather 1", "")))
    assert [o.error for o in await app.poll_once(all_feeds=True)] == [None, None]
    [outcome] = await app.digest_once()
    assert (outcome.messages, outcome.items) == (1, 3)
    [message] = fake_bot_api.sent_messages(GROUP)
    text = message.result["text"]
    assert text.count(story) == 1
    # Published at the same moment: whichever was stored first leads, the other is named.
    assert "then Other Outlet 05:40" in text or "then Feed 1 05:40" in text
    assert app.repo.pending_deliveries(GROUP) == []

    # The other outlet's follow-up copy, hours later: the chat got this story already, so it
    # comes as one line under the story, counted in the header, never dropped unseen.
    clock.advance(hours=3)
    feed_server.add("/other.rss", rss(("b-1", story, ""), ("b-2", story + ".", "")))
    await app.poll_once(all_feeds=True)
    assert [(o.messages, o.items) for o in await app.digest_once()] == [(1, 1)]
    update = fake_bot_api.sent_messages(GROUP)[-1].result["text"]
    lines = update.splitlines()
    assert lines[0] == "feedwatch · updates to stories already sent: 1"
    assert lines[2] == "Updates to stories already sent (1)"
    assert lines[3] == f"• {story}"
    assert re.fullmatch(r"  \+ Other Outlet \d\d \w{3} \d\d:\d\d UTC", lines[4]), lines[4]
    assert app.repo.pending_deliveries(GROUP) == []
    # /hits and the digest agree: the copy was delivered, in that message.
    [copy] = [h for h in app.repo.recent_hits(GROUP, 10) if h.item.key == "b-2"]
    assert copy.sent_at is not None


async def test_a_notice_goes_at_once_outside_the_digest_schedule_and_only_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    follow(app, GROUP, "rvc")
    [feed] = app.repo.feeds()
    since = app.clock() - timedelta(days=3)
    told = app.repo.tell_chats_feed_is_failing(feed.id, "HTTP 503", since, app.clock())
    assert told == 1
    assert app.repo.tell_chats_feed_is_failing(feed.id, "again", since, app.clock()) == 0
    await app.digest_once()
    await app.digest_once()
    assert fake_bot_api.sent_texts(GROUP) == [
        f"The feed Feed 1 has failed since {since:%Y-%m-%d %H:%M} UTC: HTTP 503. feedwatch keeps "
        "trying it, at most once a day; /feeds shows its health."
    ]


async def test_a_notice_is_written_when_it_goes_in_the_chats_language_of_that_moment(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    """Storage keeps the facts (which feed, why, since when), not a text written in the
    language the chat had when the feed began to fail."""
    follow(app, PRIVATE, "rvc", chat_type="private")
    [feed] = app.repo.feeds()
    app.repo.tell_chats_feed_is_failing(feed.id, "HTTP 503", app.clock(), app.clock())
    app.repo.register_chat(PRIVATE, "private", None, app.clock(), language="uk")
    await app.digest_once()
    [text] = fake_bot_api.sent_texts(PRIVATE)
    assert text.startswith("Стрічка Feed 1")
    assert "HTTP 503" in text


# --- the database goes away while Telegram is sending --------------------------------------------


def set_outbox_away(database: Database, away: bool) -> None:
    """A real fault the bot's own writes meet: the outbox table is renamed away (and back) by
    another connection, so that recording a sent message fails as if the database were gone."""
    old, new = ("delivery", "delivery_away") if away else ("delivery_away", "delivery")
    engine = create_db_engine(database.url, connect_args=database.connect_args)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    finally:
        engine.dispose()


async def test_a_message_telegram_confirmed_while_the_database_was_away_is_not_sent_again(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi, database: Database
) -> None:
    url = feed_server.add(FEED, rss(*news("raid", 3)))
    settings = write_settings(
        tmp_path,
        [url],
        token=fake_bot_api.token,
        api_url=fake_bot_api.url,
        database_url=database.config_url,
    )
    async with FeedwatchApp(settings, clock=Clock()) as app:
        follow(app, PRIVATE, "rvc", chat_type="private")
        await app.poll_once(all_feeds=True)
        fake_bot_api.before_answering("sendMessage", lambda: set_outbox_away(database, True))
        [first] = await app.digest_once()
        assert first.error is not None  # sent, but not recorded
        assert len(fake_bot_api.sent_messages(PRIVATE)) == 1
        # While the database stays away, the round cannot read what is due: nothing goes.
        with pytest.raises(StorageError):
            await app.digest_once()
        assert len(fake_bot_api.sent_messages(PRIVATE)) == 1
        set_outbox_away(database, False)
        await app.digest_once()
        await app.digest_once()
        assert len(fake_bot_api.sent_messages(PRIVATE)) == 1
        assert app.repo.count_pending(PRIVATE) == 0
        [message] = fake_bot_api.sent_messages(PRIVATE)
        sent = {hit.item.link: hit.sent_at for hit in app.repo.recent_hits(PRIVATE, 10)}
        assert set(sent) == set(links([message])) == urls(news("raid", 3))
        assert all(moment is not None for moment in sent.values())


async def test_a_bot_api_that_answers_502_for_minutes_is_one_outage_in_the_log(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    feed_server: FeedServer,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Five chats and a Bot API down for three minutes: one line when it goes, one a minute
    while it stays away, one when it comes back; not a warning per chat and attempt."""
    chats = [PRIVATE + n for n in range(5)]
    for chat_id in chats:
        follow(app, chat_id, "rvc", chat_type="private")
    await publish(app, feed_server, news("raid", 2))
    fake_bot_api.fail_next("sendMessage", 502, "Bad Gateway", times=1000)
    caplog.set_level(logging.DEBUG, logger="bot.services.courier")
    for _ in range(18):  # three minutes of rounds, every 10 s
        await app.digest_once()
        clock.advance(seconds=10)
    fake_bot_api.clear_failures("sendMessage")
    clock.advance(minutes=10)
    await app.digest_once()
    assert all(len(fake_bot_api.sent_messages(chat_id)) == 1 for chat_id in chats)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines[0].startswith("the Telegram Bot API went away: Telegram could not be reached")
    assert 1 <= sum("is still away" in line for line in lines) <= 3
    assert len(lines) <= 4
    assert any("the Telegram Bot API came back after" in r.getMessage() for r in caplog.records)
