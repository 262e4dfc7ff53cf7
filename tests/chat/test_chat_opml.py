"""`/importopml` end to end: the real bot against the fake Bot API (which checks every request
against the spec), OPML files as Telegram documents, feeds from the local feed server; and feeds
imported with `feedwatch feeds import` as every chat sees them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import bot.chat.feeds
import bot.storage.feeds
from bot.app import FeedwatchApp
from bot.chat.commands import COMMANDS
from bot.cli import main
from bot.sources.opml import write_opml
from tests.builders import Clock, rss, write_settings
from tests.fakes.feed_server import FeedServer, Route
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

CHAT, OTHER = 111, 222
GROUP, ADMIN, MEMBER = -7001, 701, 702
HTML_PAGE = "<!doctype html><html><head><title>Shop</title></head><body>Hi</body></html>"
SUMMARY = "OPML import ("
WATCHLISTS = """
[[watchlist]]
name = "rvc"
title = "Russian Volunteer Corps"
terms = ["Russian Volunteer Corps", "RVC", "РДК"]
"""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def configured_url(feed_server: FeedServer) -> str:
    return feed_server.add("/configured.rss", rss(("c-1", "Weather in Lviv", "")))


@pytest.fixture
def config(tmp_path: Path, configured_url: str, fake_bot_api: FakeBotApi) -> Path:
    write_settings(
        tmp_path,
        [configured_url],
        token=fake_bot_api.token,
        api_url=fake_bot_api.url,
        watchlists=WATCHLISTS,
    )
    return tmp_path / "feedwatch.toml"


@pytest.fixture
async def app(config: Path, clock: Clock) -> AsyncIterator[FeedwatchApp]:
    from bot.ops.config import load_settings

    async with FeedwatchApp(load_settings(config, env={}), clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


def opml(*outlines: tuple[str, str]) -> bytes:
    """An OPML 1.0 list of (title, xmlUrl) outlines in a folder, as feed readers export them."""
    body = "".join(
        f'<outline type="rss" text="{title}" xmlUrl="{url}"/>' for title, url in outlines
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><opml version="1.0"><head><title>Mine</title>'
        f'</head><body><outline text="News">{body}</outline></body></opml>'
    ).encode()


def reply_to_file(
    fake: FakeBotApi, content: bytes, name: str = "feeds.opml", mime: str = "text/x-opml"
) -> dict[str, Any]:
    """The user's earlier message with `content` attached, for `push_message(reply_to=…)`."""
    document = fake.add_file(content, name, mime)
    return {"message_id": 9000, "document": document, "from": {"id": 1, "is_bot": False,
            "first_name": "Analyst"}}  # fmt: skip


async def import_opml(fake: FakeBotApi, content: bytes, chat_id: int = CHAT, **push: Any) -> str:
    """Reply /importopml to a file of `content`; the summary the bot ends with."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, "/importopml", reply_to=reply_to_file(fake, content), **push)
    await fake.wait_for_async(
        lambda f: any(SUMMARY in t for t in f.sent_texts(chat_id)[before:]), timeout=30
    )
    return next(t for t in fake.sent_texts(chat_id)[before:] if SUMMARY in t)


async def say(fake: FakeBotApi, text: str, chat_id: int = CHAT, **push: Any) -> str:
    """The bot's first answer to a message, as the user reads it."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, text, **push)
    await fake.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
    return str(fake.sent_messages(chat_id)[before].result["text"])


def own_urls(app: FeedwatchApp, chat_id: int = CHAT) -> list[str]:
    return [feed.url for feed in app.repo.chat_feeds(chat_id)[1]]


def edits(fake: FakeBotApi, chat_id: int = CHAT) -> list[RecordedRequest]:
    return [r for r in fake.calls("editMessageText") if r.params.get("chat_id") == chat_id]


# --- private chat ------------------------------------------------------------------------------


async def test_a_reply_to_an_opml_file_adds_its_good_feeds_and_says_why_not_the_others(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, configured_url: str
) -> None:
    good = feed_server.add("/good.rss", rss(("g-1", "RVC raid", ""), title="Good outlet"))
    missing = feed_server.add("/missing.rss", "gone", status=404, content_type="text/plain")
    page = feed_server.add("/page.html", HTML_PAGE, content_type="text/html; charset=utf-8")
    content = opml(
        ("Good &amp; fast", good),
        ("Broken", missing),
        ("", page),
        ("Podcast", "feed://podcast.example/rss"),
        ("Good again", good),
        ("Weather", configured_url),
    )
    summary = await import_opml(fake_bot_api, content)

    assert summary.splitlines() == [
        "OPML import (this chat): 1 added, 1 already there, 3 refused.",
        "The new feeds are read from the next poll; /feeds lists them.",
        "",
        "Refused",
        f"• Broken — {missing}: HTTP 404 Not Found",
        f"• {page}: not a feed: looks like an HTML page",
        "• Podcast — feed://podcast.example/rss: not an http or https URL",
    ]
    assert own_urls(app) == [good]
    assert own_urls(app, OTHER) == []
    [feed] = app.repo.chat_feeds(CHAT)[1]
    assert feed.name == "Good & fast"
    assert [feed_server.hits(p) for p in ("/good.rss", "/missing.rss", "/configured.rss")] == [
        1,
        1,
        0,
    ]
    # One progress message, no edits (the clock stood still: never a second between two), and
    # it goes once the summary is there.
    progress = [m for m in fake_bot_api.sent_messages(CHAT) if "feeds…" in m.result["text"]]
    assert [m.result["text"] for m in progress] == ["Checked 0 of 3 feeds…"]
    assert edits(fake_bot_api) == []
    [deleted] = fake_bot_api.calls("deleteMessage")
    assert deleted.params == {"chat_id": CHAT, "message_id": progress[0].result["message_id"]}

    # Again: nothing new, nothing fetched again but the refused.
    summary = await import_opml(fake_bot_api, content)
    assert summary.startswith("OPML import (this chat): 0 added, 2 already there, 3 refused.")
    assert feed_server.hits("/good.rss") == 1


async def test_the_progress_message_is_edited_at_most_once_a_second_and_once_a_tenth(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, clock: Clock
) -> None:
    gate = threading.Semaphore(0)
    urls = [
        feed_server.route(f"/f{i}.rss", Route(body=rss((str(i), "x", "")), gate=gate))
        for i in range(20)
    ]
    fake_bot_api.push_message(
        CHAT,
        "/importopml",
        reply_to=reply_to_file(fake_bot_api, opml(*((f"F{i}", u) for i, u in enumerate(urls)))),
    )
    await fake_bot_api.wait_for_async(
        lambda f: any(t == "Checked 0 of 20 feeds…" for t in f.sent_texts(CHAT))
    )
    for step in range(1, 10):
        # Two feeds are a tenth: one finished alone is no reason to edit, whatever the time.
        clock.advance(seconds=1)
        gate.release()
        gate.release()
        await fake_bot_api.wait_for_async(lambda f, n=step: len(edits(f)) == n)
    clock.advance(seconds=1)
    gate.release()
    gate.release()
    await fake_bot_api.wait_for_async(lambda f: any(SUMMARY in t for t in f.sent_texts(CHAT)))

    assert [e.result["text"] for e in edits(fake_bot_api)] == [
        f"Checked {n} of 20 feeds…" for n in range(2, 20, 2)
    ]
    assert all(e.ok for e in edits(fake_bot_api))
    assert fake_bot_api.sent_texts(CHAT)[-1].startswith(
        "OPML import (this chat): 20 added, 0 already there, 0 refused."
    )
    assert sorted(own_urls(app)) == sorted(urls)


async def test_the_file_may_come_with_the_command_as_its_caption(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    good = feed_server.add("/good.rss", rss(("g-1", "x", ""), title="Outlet title"))
    document = fake_bot_api.add_file(opml(("", good)), "feeds.opml", "text/x-opml")
    fake_bot_api.push_message(CHAT, "/importopml", document=document)
    await fake_bot_api.wait_for_async(lambda f: any(SUMMARY in t for t in f.sent_texts(CHAT)))
    assert own_urls(app) == [good]
    assert app.repo.chat_feeds(CHAT)[1][0].name == "Outlet title"  # the feed's own, untitled there


async def test_without_a_file_the_usage_is_the_answer(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    usage = (
        "Usage: reply /importopml to an OPML file (the list of feeds a feed reader exports), or "
        "send the file with /importopml as its caption."
    )
    assert await say(fake_bot_api, "/importopml") == usage
    # A reply to a message without a file is no better.
    reply = {"message_id": 9001, "text": "https://news.example/rss"}
    assert await say(fake_bot_api, "/importopml", reply_to=reply) == usage


@pytest.mark.parametrize(
    ("content", "name", "answer"),
    [
        (
            b'[[watchlist]]\nname = "kursk"\nterms = ["Kursk"]\n',
            "watchlists.toml",
            "Nothing was imported: the file is not an OPML document.",
        ),
        (
            HTML_PAGE.encode(),
            "page.html",
            "Nothing was imported: the file is not an OPML document.",
        ),
        (
            b'<opml version="2.0"><body><outline text="x" </body></opml>',
            "broken.opml",
            "Nothing was imported: the file is not well-formed XML (line 1).",
        ),
        (
            b'<opml version="2.0"><body>' + b" " * (1024 * 1024) + b"</body></opml>",
            "huge.opml",
            "That file is too large for an OPML list (over 1 MiB).",
        ),
        (b'<opml version="2.0"><body/></opml>', "empty.opml", "That OPML file lists no feeds."),
    ],
)
async def test_a_file_that_is_no_usable_opml_list_is_refused_clearly(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, content: bytes, name: str, answer: str
) -> None:
    reply = reply_to_file(fake_bot_api, content, name, "application/octet-stream")
    assert await say(fake_bot_api, "/importopml", reply_to=reply) == answer
    assert own_urls(app) == []
    assert fake_bot_api.calls("editMessageText") == []


async def test_the_answers_come_in_the_senders_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    content = opml(("Подкаст", "feed://podcast.example/rss"))
    fake_bot_api.push_message(
        CHAT, "/importopml", reply_to=reply_to_file(fake_bot_api, content), language_code="ru"
    )
    await fake_bot_api.wait_for_async(lambda f: any("Импорт OPML" in t for t in f.sent_texts(CHAT)))
    assert fake_bot_api.sent_texts(CHAT)[-1].splitlines() == [
        "Импорт OPML (этот чат): добавлено 0, уже были 0, отклонено 1.",
        "",
        "Отклонены",
        "• Подкаст — feed://podcast.example/rss: адрес не http и не https",
    ]
    answer = await say(fake_bot_api, "/importopml", language_code="uk")
    assert answer.startswith("Використання: дайте відповідь /importopml на файл OPML")


async def test_a_long_list_of_refusals_is_cut_to_one_message_and_says_how_many_more(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    outlines = [(f"Podcast number {i} " + "x" * 60, f"feed://p{i}.example/rss") for i in range(300)]
    summary = await import_opml(fake_bot_api, opml(*outlines))
    lines = summary.splitlines()
    assert lines[0] == "OPML import (this chat): 0 added, 0 already there, 300 refused."
    listed = [line for line in lines if line.startswith("• ")]
    assert 10 < len(listed) < 300
    assert listed[0].startswith(f"• Podcast number 0 {'x' * 60} — feed://p0.example/rss")
    assert lines[-1] == f"…and {300 - len(listed)} more."
    assert len(summary) <= 4096  # and the fake checked Telegram's own count


async def test_the_chats_feed_limit_holds_and_what_is_over_it_is_not_fetched(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    feed_server: FeedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.chat.feeds, "MAX_FEEDS_PER_CHAT", 3)
    monkeypatch.setattr(bot.storage.feeds, "MAX_FEEDS_PER_CHAT", 3)
    first = feed_server.add("/first.rss", rss(("1", "x", "")))
    assert "Added" in await say(fake_bot_api, f"/addfeed {first}")
    urls = [feed_server.add(f"/f{i}.rss", rss((str(i), "x", ""))) for i in range(4)]
    summary = await import_opml(fake_bot_api, opml(*((f"F{i}", u) for i, u in enumerate(urls))))
    assert summary.splitlines()[0] == (
        "OPML import (this chat): 2 added, 0 already there, 2 refused."
    )
    assert f"• F2 — {urls[2]}: a chat can add at most 3 feeds; /removefeed one first" in summary
    assert own_urls(app) == [first, urls[0], urls[1]]
    assert [feed_server.hits(f"/f{i}.rss") for i in range(4)] == [1, 1, 0, 0]


async def test_one_import_at_a_time_in_a_chat_and_other_chats_are_answered_meanwhile(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    gate = threading.Semaphore(0)
    slow = feed_server.route("/slow.rss", Route(body=rss(("s", "x", "")), gate=gate))
    content = opml(("Slow", slow))
    fake_bot_api.push_message(CHAT, "/importopml", reply_to=reply_to_file(fake_bot_api, content))
    await asyncio.to_thread(feed_server.wait_until, lambda s: s.in_flight == 1)
    try:
        again = reply_to_file(fake_bot_api, content)
        assert await say(fake_bot_api, "/importopml", reply_to=again) == (
            "An OPML import is under way already (this chat); its summary comes when it is done."
        )
        assert "Feeds every chat gets" in await say(fake_bot_api, "/feeds", OTHER)
    finally:
        gate.release()
    await fake_bot_api.wait_for_async(lambda f: any(SUMMARY in t for t in f.sent_texts(CHAT)))
    assert own_urls(app) == [slow]
    assert own_urls(app, OTHER) == []


# --- groups ------------------------------------------------------------------------------------


async def test_in_a_group_a_member_is_refused_and_an_admin_imports(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    fake_bot_api.set_chat_member_status(GROUP, ADMIN, "administrator")
    fake_bot_api.set_chat_member_status(GROUP, MEMBER, "member")
    good = feed_server.add("/good.rss", rss(("g", "x", "")))
    reply = reply_to_file(fake_bot_api, opml(("Good", good)))
    refused = await say(fake_bot_api, "/importopml", GROUP, user_id=MEMBER, reply_to=reply)
    assert refused.startswith(
        "Sorry, in a group only its administrators can change what feedwatch does."
    )
    assert feed_server.hits("/good.rss") == 0
    summary = await import_opml(fake_bot_api, opml(("Good", good)), GROUP, user_id=ADMIN)
    assert summary.startswith("OPML import (this chat): 1 added")
    assert own_urls(app, GROUP) == [good]
    assert own_urls(app) == []


def test_the_command_is_in_the_menu_and_help() -> None:
    assert ("importopml", "/importopml", "add the feeds of an OPML file (reply to it)") in COMMANDS


# --- feeds imported with `feedwatch feeds import` ------------------------------------------------


@pytest.mark.usefixtures("cli_environment")
async def test_an_imported_feed_is_everyones_and_outlives_the_config(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    feed_server: FeedServer,
    config: Path,
    tmp_path: Path,
    clock: Clock,
) -> None:
    imported = feed_server.add(
        "/imported.rss",
        rss(("i-1", "RVC fighters cross the border", "Statement"), title="Imported outlet"),
    )
    lists = tmp_path / "lists.opml"
    lists.write_bytes(write_opml([("Imported outlet", imported)], title="t", created=clock.now))
    # The CLI in a thread of its own: it runs an event loop of its own.
    status = await asyncio.to_thread(main, ["feeds", "import", str(lists), "--config", str(config)])
    assert status == 0

    assert "• Imported outlet: not read yet" in await say(fake_bot_api, "/feeds", OTHER)
    answer = await say(fake_bot_api, "/feeds")
    assert answer.index("Feeds every chat gets") < answer.index("• Imported outlet")
    for chat_id in (CHAT, OTHER):
        await say(fake_bot_api, "/subscribe rvc", chat_id)
    await app.poll_once(all_feeds=True)
    await app.digest_once()
    for chat_id in (CHAT, OTHER):
        assert any("RVC fighters cross the border" in t for t in fake_bot_api.sent_texts(chat_id))

    # The config is read again (as `feedwatch run` does on start): the feed stays.
    settings = app.settings
    await asyncio.to_thread(app.repo.sync_config, settings.feeds, settings.watchlists, clock.now)
    assert imported in [feed.url for feed in app.repo.feeds()]
    assert "• Imported outlet: ok" in await say(fake_bot_api, "/feeds", OTHER)
