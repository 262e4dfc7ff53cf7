"""Every chat command end to end: the real bot (python-telegram-bot) against the fake Bot API, which
checks each request against the spec, with feeds from the local feed server. Tests type commands as
users would, in private chats, groups, forum topics and for channels, and read what reached the fake.
"""

from __future__ import annotations

import json
import tomllib
import urllib.request
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.storage.chats
from bot.app import FeedwatchApp
from bot.chat.commands import COMMANDS
from bot.core.domain import Chat
from tests.builders import Clock, rss, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

CHAT, OTHER = 111, 222
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
GROUP, ADMIN, MEMBER = -5001, 501, 502
FORUM, TOPIC = -1001234567890, 7
CHANNEL = "@feedwatch_news"

SHARED = """
[[watchlist]]
name = "rvc"
title = "Russian Volunteer Corps"
terms = ["Russian Volunteer Corps", "RVC", "РДК"]

[[watchlist]]
name = "legion"
title = "Freedom of Russia Legion"
terms = ["Freedom of Russia Legion"]
"""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def news_url(feed_server: FeedServer) -> str:
    return feed_server.add(
        "/news.rss",
        rss(
            ("raid-1", "RVC fighters raid a border village", "The corps says so"),
            ("kursk-1", "Бої у Курській області", "Обстріли тривають"),
            ("weather-1", "Sunny in Lviv", "Nothing to see"),
        ),
    )


@pytest.fixture
async def app(
    tmp_path: Path, news_url: str, fake_bot_api: FakeBotApi, clock: Clock
) -> AsyncIterator[FeedwatchApp]:
    settings = write_settings(
        tmp_path, [news_url], token=fake_bot_api.token, api_url=fake_bot_api.url, watchlists=SHARED
    )
    async with FeedwatchApp(settings, clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def ask(fake: FakeBotApi, text: str, chat_id: int = CHAT, **push: Any) -> RecordedRequest:
    """Send a message as a user; return the bot's first sendMessage to that chat after it."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, text, **push)
    await fake.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
    return fake.sent_messages(chat_id)[before]


async def say(fake: FakeBotApi, text: str, chat_id: int = CHAT, **push: Any) -> str:
    """The bot's answer to `text` as the user reads it (tags removed, entities decoded)."""
    return str((await ask(fake, text, chat_id, **push)).result["text"])


async def press(
    fake: FakeBotApi, answer: RecordedRequest, data: str, *, then_message: bool = True
) -> str:
    """Press the button `data` under the bot's message `answer`; return the callback's answer."""
    chat_id = answer.params["chat_id"]
    answered, sent = len(fake.calls("answerCallbackQuery")), len(fake.sent_messages(chat_id))
    fake.push_callback_query(chat_id, data, message_id=answer.result["message_id"])
    await fake.wait_for_async(
        lambda f: (
            len(f.calls("answerCallbackQuery")) > answered
            and (not then_message or len(f.sent_messages(chat_id)) > sent)
        )
    )
    return str(fake.calls("answerCallbackQuery")[answered].params.get("text", ""))


def buttons(message: RecordedRequest) -> list[str]:
    markup = message.params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def labels(app: FeedwatchApp, chat_id: int, *, own: bool = False) -> list[str]:
    lists = app.repo.own_watchlists(chat_id) if own else app.repo.chat_watchlists(chat_id)
    return [w.label for w in lists]


def stored(app: FeedwatchApp, chat_id: int = CHAT) -> Chat:
    chat = app.repo.chat(chat_id)
    assert chat is not None
    return chat


def channel_id(fake: FakeBotApi, username: str) -> int:
    """The id the fake gives a channel known by username, asked the way a client would."""
    url = f"{fake.url}/bot{fake.token}/getChat?chat_id={username}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return int(json.load(answer)["result"]["id"])


# --- private chat -------------------------------------------------------------------------------


async def test_help_lists_every_command_and_the_bot_introduces_itself(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    answer = await say(fake_bot_api, "/help")
    for _, usage, about in COMMANDS:
        assert f"{usage} — {about}" in answer
    assert "• rvc" in answer
    assert "• legion" in answer
    assert [c["command"] for c in fake_bot_api.calls("setMyCommands")[0].params["commands"]] == [
        name for name, _, _ in COMMANDS
    ]
    # The description (before Start) and the short one (the profile), in each language.
    described = {
        call.params.get("language_code", ""): call.params["description"]
        for call in fake_bot_api.calls("setMyDescription")
    }
    assert set(described) == {"", "ru", "uk"}
    assert described[""].startswith("feedwatch watches news feeds and public Telegram channels")
    assert "публичными каналами Telegram" in described["ru"]
    short = {
        call.params.get("language_code", ""): call.params["short_description"]
        for call in fake_bot_api.calls("setMyShortDescription")
    }
    assert set(short) == {"", "ru", "uk"}
    assert all(len(text) <= 120 for text in short.values())
    assert all(len(text) <= 512 for text in described.values())


async def test_start_is_short_with_three_steps_the_shared_lists_by_title_and_the_settings(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/subscribe rvc")
    await say(fake_bot_api, "/tz Kyiv")
    lines = (await say(fake_bot_api, "/start")).splitlines()
    assert len(lines) <= 15
    assert lines[2:6] == [
        "Three steps",
        "1. Follow a shared list: /subscribe rvc",
        "2. Or make your own: /watch my_kursk Kursk, Kursk region",
        "3. Try it on a text: /test The Kursk governor announced an evacuation",
    ]
    assert "• rvc — Russian Volunteer Corps ✓" in lines
    assert "• legion — Freedom of Russia Legion" in lines
    assert "This chat: a digest every 1h; time zone Europe/Kyiv; no quiet hours." in lines
    assert lines[-1] == "/help lists every command."
    ukrainian = await say(fake_bot_api, "/start", language_code="uk")
    assert "2. Або створіть власний: /watch my_kursk Курськ, Курська область" in ukrainian


async def test_subscribe_and_unsubscribe(app: FeedwatchApp, fake_bot_api: FakeBotApi) -> None:
    assert "Usage: /subscribe NAME…\nWatchlists: legion, rvc" in await say(
        fake_bot_api, "/subscribe"
    )
    answer = await say(fake_bot_api, "/subscribe rvc nosuch")
    assert "Now following: rvc." in answer
    assert "No watchlist called nosuch. Available: legion, rvc." in answer
    assert "Already following: rvc." in await say(fake_bot_api, "/subscribe rvc")
    assert labels(app, CHAT) == ["rvc"]
    assert "Usage: /unsubscribe NAME…" in await say(fake_bot_api, "/unsubscribe")
    assert "No watchlist called nosuch" in await say(fake_bot_api, "/unsubscribe nosuch")
    assert "Was not following: legion." in await say(fake_bot_api, "/unsubscribe legion")
    assert "No longer following: rvc." in await say(fake_bot_api, "/unsubscribe rvc")
    assert labels(app, CHAT) == []


async def test_own_watchlist_terms_exclusions_requirements_and_removal(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    answer = await say(fake_bot_api, "/watch kursk Курск, Курщина")
    assert "Created the watchlist kursk for this chat." in answer
    assert "Added to its terms: Курск, Курщина." in answer
    answer = await say(fake_bot_api, "/watch kursk курск, Kursk")
    assert "Created" not in answer
    assert "Added to its terms: Kursk." in answer
    assert "Already there: курск." in answer
    assert "Added to its exclusions: погода." in await say(fake_bot_api, "/exclude kursk погода")
    assert "Added to its required terms: бої." in await say(fake_bot_api, "/require kursk бої")
    [own] = app.repo.own_watchlists(CHAT)
    assert (own.terms, own.exclude, own.require) == (
        ("Курск", "Курщина", "Kursk"),
        ("погода",),
        ("бої",),
    )

    for command in ("/exclude", "/require"):
        missing = await say(fake_bot_api, f"{command} nosuch слово")
        assert "Not done: this chat has no watchlist nosuch; create it first" in missing
        shared = await say(fake_bot_api, f"{command} rvc слово")
        assert "Not done: rvc is a shared watchlist" in shared
    assert "Not done: rvc is a shared watchlist" in await say(fake_bot_api, "/watch rvc слово")
    assert "Usage: /watch NAME TERM" in await say(fake_bot_api, "/watch kursk")
    assert labels(app, CHAT, own=True) == ["kursk"]

    answer = await say(fake_bot_api, "/unwatch kursk Курщина, бої, nothing")
    assert "Removed from kursk: Курщина, бої." in answer
    assert "Not in kursk: nothing." in answer
    assert app.repo.own_watchlists(CHAT)[0].terms == ("Курск", "Kursk")
    # A whole list goes only once the question is answered; "Keep it" keeps it.
    question = await ask(fake_bot_api, "/unwatch kursk")
    assert question.result["text"] == (
        "Remove the watchlist kursk and its 3 terms? Its past hits stay in /hits."
    )
    assert buttons(question) == ["rmyes:kursk", "keep:kursk"]
    assert await press(fake_bot_api, question, "keep:kursk", then_message=False) == "Kept kursk."
    assert labels(app, CHAT, own=True) == ["kursk"]
    question = await ask(fake_bot_api, "/unwatch kursk")
    removed = await press(fake_bot_api, question, "rmyes:kursk")
    assert removed == "Removed the watchlist kursk; its past hits stay in /hits."
    assert labels(app, CHAT, own=True) == labels(app, CHAT) == []
    assert "Not done: this chat has no watchlist kursk." in await say(
        fake_bot_api, "/unwatch kursk"
    )


async def test_watchlists_shows_own_and_shared_lists_with_buttons_that_work(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert "follows no watchlist yet" in await say(fake_bot_api, "/watchlists")
    await say(fake_bot_api, "/watch kursk Курск")
    await say(fake_bot_api, "/subscribe rvc")
    shown = await ask(fake_bot_api, "/watchlists")
    text = shown.result["text"]
    assert "kursk (own)\n   Курск" in text
    assert "rvc — Russian Volunteer Corps" in text
    assert "Also available\n• legion — Freedom of Russia Legion" in text
    assert buttons(shown) == ["rm:kursk", "unsub:rvc"]

    # Remove asks first; its question's own buttons do it.
    assert await press(fake_bot_api, shown, "rm:kursk") == ""
    question = fake_bot_api.sent_messages(CHAT)[-1]
    assert question.result["text"].startswith("Remove the watchlist kursk and its 1 term?")
    assert labels(app, CHAT, own=True) == ["kursk"]
    assert await press(fake_bot_api, question, "rmyes:kursk") == (
        "Removed the watchlist kursk; its past hits stay in /hits."
    )
    assert labels(app, CHAT, own=True) == []
    # The pressed button leaves the message; the others stay.
    edit, answered = fake_bot_api.calls("editMessageReplyMarkup")
    assert answered.params["message_id"] == question.result["message_id"]
    assert edit.params["message_id"] == shown.result["message_id"]
    assert [b["callback_data"] for row in edit.params["reply_markup"]["inline_keyboard"]
        for b in row] == ["unsub:rvc"]  # fmt: skip
    assert await press(fake_bot_api, shown, "unsub:rvc") == "No longer following rvc."
    assert labels(app, CHAT) == []
    last = fake_bot_api.calls("editMessageReplyMarkup")[-1]
    assert "reply_markup" not in last.params  # no button left: the keyboard is gone
    # A stale client may still press one: it is answered as before.
    assert await press(fake_bot_api, shown, "unsub:rvc") == "Was not following rvc."


async def test_test_names_the_watchlist_and_the_words_that_matched(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert "Usage: /test TEXT" in await say(fake_bot_api, "/test")
    answer = await say(fake_bot_api, "/test Заявление РДК")
    assert "this chat follows none yet" in answer
    assert "rvc Russian Volunteer Corps: «РДК» (РДК)" in answer
    await say(fake_bot_api, "/watch kursk Курськ")
    answer = await say(fake_bot_api, "/test Бої у Курській області")
    assert answer.startswith("Would match, of this chat's watchlists:")
    assert "• kursk: «Курській» (Курськ)" in answer  # a list without a title is named once
    nothing = await say(fake_bot_api, "/test Заявление РДК")
    assert nothing.startswith("None of this chat's watchlists would match.")
    # The shared lists it does not follow that would: one command away.
    assert "/subscribe rvc would also catch this (Russian Volunteer Corps)." in nothing


async def test_test_says_why_a_list_whose_terms_are_there_would_not_match(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/watch kursk Курск*")
    await say(fake_bot_api, "/exclude kursk Белгород-Днестровский")
    answer = await say(fake_bot_api, "/test Курские новости из Белгорода-Днестровского")
    assert answer.splitlines() == [
        "None of this chat's watchlists would match.",
        "• kursk would not match: «Курские» (Курск*) are there, but it is excluded by "
        "«Белгорода-Днестровского».",
    ]
    await say(fake_bot_api, "/watch rdk РДК")
    await say(fake_bot_api, "/require rdk боец, корпус")
    answer = await say(fake_bot_api, "/test РДК провёл концерт", language_code="ru")
    assert answer.splitlines() == [
        "Ни один список, на который подписан этот чат, не совпадёт.",
        "• rdk не совпадёт: есть «РДК» (РДК), но нет ни одного из обязательных терминов "
        "(боец, корпус).",
        "/subscribe rvc тоже поймал бы это (Russian Volunteer Corps).",
    ]


async def test_hits_and_digest_after_a_poll(app: FeedwatchApp, fake_bot_api: FakeBotApi) -> None:
    assert "Usage: /hits [N], N from 1 to 50" in await say(fake_bot_api, "/hits abc")
    await say(fake_bot_api, "/subscribe rvc")
    assert "No hits for this chat yet." in await say(fake_bot_api, "/hits")
    assert "no digest has come here yet" in await say(fake_bot_api, "/digest")
    await app.poll_once()
    [outcome] = await app.digest_once()
    assert (outcome.messages, outcome.items) == (1, 1)
    assert "RVC fighters raid a border village" in fake_bot_api.sent_texts(CHAT)[-1]
    answer = await say(fake_bot_api, "/hits")
    assert answer.startswith("The last 1 hit\n• RVC fighters raid a border village — Feed 1")
    assert "«RVC»" in answer
    assert "Nothing new since the last digest." in await say(fake_bot_api, "/digest")


async def test_every_quiet_and_tz(app: FeedwatchApp, fake_bot_api: FakeBotApi) -> None:
    assert "gets a digest every 1h (the default)" in await say(fake_bot_api, "/every")
    assert "now gets a digest every 2h" in await say(fake_bot_api, "/every 2h")
    assert "This chat gets a digest every 2h." in await say(fake_bot_api, "/every")
    refused = await say(fake_bot_api, "/every 1m")
    assert "1m is out of range" in refused
    assert "Usage: /every DURATION" in refused
    assert stored(app).digest_interval == timedelta(hours=2)
    assert "now gets each hit as it comes" in await say(fake_bot_api, "/every instant")
    assert "This chat gets each hit as it comes." in await say(fake_bot_api, "/every")

    assert "Time zone Europe/Kyiv: it is 08:00 there now." in await say(
        fake_bot_api, "/tz europe/kyiv"
    )
    refused = await say(fake_bot_api, "/tz Mars/Base")
    assert "«Mars/Base» is not a time zone" in refused
    assert "Quiet from 22:00 to 07:00 (Europe/Kyiv)" in await say(
        fake_bot_api, "/quiet 22:00-07:00"
    )
    assert (stored(app).timezone, stored(app).quiet) == ("Europe/Kyiv", (22 * 60, 7 * 60))
    assert "Usage: /quiet HH:MM-HH:MM" in await say(fake_bot_api, "/quiet nonsense")
    assert "No quiet hours" in await say(fake_bot_api, "/quiet off")
    assert stored(app).quiet is None


async def test_settings_forgive_how_people_write_them(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    """Cities in three languages and offsets for /tz, durations in words for /every, a 12-hour
    clock for /quiet, and /quiet alone says what is set."""
    assert "Time zone Europe/Kyiv: it is 08:00 there now." in await say(fake_bot_api, "/tz Kyiv")
    assert "Часовой пояс Europe/Moscow" in await say(fake_bot_api, "/tz Москва", language_code="ru")
    assert "Часовий пояс Europe/Kyiv" in await say(fake_bot_api, "/tz Київ", language_code="uk")
    assert "Time zone UTC+3: it is 09:00 there now." in await say(fake_bot_api, "/tz +3")
    assert stored(app).timezone == "Etc/GMT-3"

    assert "now gets a digest every 30m" in await say(fake_bot_api, "/every 30 minutes")
    assert "Этот чат: сводка каждые 2h." in await say(
        fake_bot_api, "/every 2 часа", language_code="ru"
    )
    assert stored(app).digest_interval == timedelta(hours=2)
    await say(fake_bot_api, "/every 2 години", language_code="uk")
    assert stored(app).digest_interval == timedelta(hours=2)

    assert "No quiet hours" in await say(fake_bot_api, "/quiet")
    assert "Quiet from 23:00 to 07:00 (UTC+3)" in await say(fake_bot_api, "/quiet 11pm-7am")
    asked = await say(fake_bot_api, "/quiet")
    assert asked.startswith("Quiet from 23:00 to 07:00 (UTC+3)")
    assert "Usage: /quiet" in asked
    assert stored(app).quiet == (23 * 60, 7 * 60)


async def test_addfeed_hits_and_digest_forgive_what_people_type(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    """An address without https://, a site's page for its feed, /hits beyond the most shown, and
    /digest before any digest came."""
    assert (await say(fake_bot_api, "/digest")).startswith(
        "Nothing to send: no digest has come here yet"
    )
    feed = feed_server.add("/frontline/rss", rss(("f-1", "RVC raid", ""), title="Frontline"))
    page = feed_server.add(
        "/frontline/",
        '<html><head><link rel="alternate" type="application/rss+xml" href="rss"></head></html>',
        content_type="text/html; charset=utf-8",
    )
    bare = page.removeprefix("http://")
    # A bare address is taken as https://, which this test server does not speak: refused, with
    # the reason, after the scheme was added.
    refused = await say(fake_bot_api, f"/addfeed {bare}")
    assert refused.startswith("Not added:")
    assert feed_server.requests == []  # no plain http was tried behind the user's back

    added = await say(fake_bot_api, f"/addfeed {page}")
    assert added.startswith(f"Added Frontline (the page's feed: {feed})")
    assert [f.url for f in app.repo.chat_feeds(CHAT)[1]] == [feed]
    listed = await ask(fake_bot_api, "/feeds")
    assert f"• Frontline <code>{feed}</code>: not read yet" in listed.params["text"]

    await say(fake_bot_api, "/subscribe rvc")
    await app.poll_once()
    await app.digest_once()
    many = await say(fake_bot_api, "/hits 500")
    assert many.startswith("The last 2 hits\n")  # all there are, not a refusal
    assert (await say(fake_bot_api, "/hits 0")).startswith("Usage: /hits [N]")


async def test_feeds_addfeed_and_removefeed(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    assert "Feeds every chat gets\n• Feed 1: not read yet; 0 items" in await say(
        fake_bot_api, "/feeds"
    )
    await app.poll_once()
    assert "• Feed 1: ok, last read" in await say(fake_bot_api, "/feeds")
    assert "; 3 items" in fake_bot_api.sent_texts(CHAT)[-1]

    assert "Usage: /addfeed URL" in await say(fake_bot_api, "/addfeed")
    page = feed_server.add("/page.html", "<html><body>Hi</body></html>", content_type="text/html")
    refused = await say(fake_bot_api, f"/addfeed {page}")
    assert refused.startswith("Not added:")
    assert "looks like an HTML page" in refused
    extra = feed_server.add("/extra.rss", rss(("x-1", "Extra", ""), title="Extra outlet"))
    assert "Added Extra outlet" in await say(fake_bot_api, f"/addfeed {extra}")
    assert "is already one of this chat's feeds" in await say(fake_bot_api, f"/addfeed {extra}")
    assert f"Feeds of this chat\n• Extra outlet {extra}: not read yet" in await say(
        fake_bot_api, "/feeds"
    )
    assert [f.url for f in app.repo.chat_feeds(CHAT)[1]] == [extra]

    assert "Usage: /removefeed URL" in await say(fake_bot_api, "/removefeed")
    assert f"Removed {extra}." in await say(fake_bot_api, f"/removefeed {extra}")
    assert app.repo.chat_feeds(CHAT)[1] == []
    assert "is not one of this chat's feeds" in await say(fake_bot_api, f"/removefeed {extra}")


async def paused_with_one_held(app: FeedwatchApp, fake: FakeBotApi) -> RecordedRequest:
    """Subscribe, pause, let a hit come in, and resume: the answer offering the held hit."""
    await say(fake, "/subscribe rvc")
    assert "Paused: nothing is sent until /resume" in await say(fake, "/pause")
    await app.poll_once()
    sent = len(fake.sent_messages(CHAT))
    assert await app.digest_once() == []
    assert len(fake.sent_messages(CHAT)) == sent
    offer = await ask(fake, "/resume")
    assert "Delivery is on. 1 item came in while paused" in offer.result["text"]
    assert buttons(offer) == ["held:send", "held:skip"]
    assert await app.digest_once() == []  # held, not sent, until a button says so
    return offer


async def test_resume_and_send_held_delivers_them_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    offer = await paused_with_one_held(app, fake_bot_api)
    before = len(fake_bot_api.sent_messages(CHAT))
    assert await press(fake_bot_api, offer, "held:send") == "Sending 1."
    assert "RVC fighters raid a border village" in fake_bot_api.sent_texts(CHAT)[-1]
    # Both buttons go with the answer: there is nothing left to press a second time.
    [edit] = fake_bot_api.calls("editMessageReplyMarkup")
    assert edit.params["message_id"] == offer.result["message_id"]
    assert "reply_markup" not in edit.params
    assert await press(fake_bot_api, offer, "held:send", then_message=False) == "Sending 0."
    await app.digest_once()
    assert await say(fake_bot_api, "/resume") == "Delivery is on."
    assert len(fake_bot_api.sent_messages(CHAT)) == before + 2  # the digest and that answer


async def test_resume_and_skip_held_sends_nothing(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    offer = await paused_with_one_held(app, fake_bot_api)
    assert await press(fake_bot_api, offer, "held:skip") == "Skipped 1."
    assert fake_bot_api.sent_texts(CHAT)[-1] == "Skipped 1 held item; /hits lists it."
    assert await app.digest_once() == []
    assert "RVC fighters raid" in await say(fake_bot_api, "/hits")
    assert not any("border village" in t for t in fake_bot_api.sent_texts(CHAT)[:-1])


async def test_export_then_import_the_file_in_another_chat(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert "follows no watchlist yet" in await say(fake_bot_api, "/export")
    await say(fake_bot_api, "/watch kursk Курск, Kursk")
    await say(fake_bot_api, "/exclude kursk погода")
    await say(fake_bot_api, "/subscribe rvc")
    fake_bot_api.push_message(CHAT, "/export")
    await fake_bot_api.wait_for_async(lambda f: bool(f.calls("sendDocument")))
    [export] = fake_bot_api.calls("sendDocument")
    assert export.ok
    assert export.params["chat_id"] == CHAT
    document = tomllib.loads(export.files["document"].decode())
    tables = {t["name"]: t for t in document["watchlist"]}
    assert tables["kursk"] == {"name": "kursk", "terms": ["Курск", "Kursk"], "exclude": ["погода"]}
    assert tables["rvc"]["terms"] == ["Russian Volunteer Corps", "RVC", "РДК"]

    answer = await say(fake_bot_api, "/import", OTHER, document=export.result["document"])
    assert "Imported:\n• kursk: 2 terms\n• rvc: following the shared list" in answer
    [own] = app.repo.own_watchlists(OTHER)
    assert (own.label, own.terms, own.exclude) == ("kursk", ("Курск", "Kursk"), ("погода",))
    assert labels(app, OTHER) == ["kursk", "rvc"]
    assert "Usage: send /import with a watchlists TOML file" in await say(fake_bot_api, "/import")


async def test_unknown_commands_are_answered_and_other_bots_commands_ignored(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert "There is no command /nosuch. Commands: /start /help" in await say(
        fake_bot_api, "/nosuch"
    )
    before = len(fake_bot_api.sent_messages(CHAT))
    fake_bot_api.push_message(CHAT, "/watch@otherbot kursk Курск")
    fake_bot_api.push_message(CHAT, "/nosuch@otherbot")
    assert "follows no watchlist yet" in await say(fake_bot_api, "/watchlists")
    assert len(fake_bot_api.sent_messages(CHAT)) == before + 1
    assert labels(app, CHAT, own=True) == []
    assert "Created" in await say(fake_bot_api, "/watch@feedwatch_test_bot kursk Курск")


# --- groups, forum topics, channels ------------------------------------------------------------


async def test_in_a_group_a_member_may_read_but_not_change(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.set_chat_member_status(GROUP, ADMIN, "administrator")
    fake_bot_api.set_chat_member_status(GROUP, MEMBER, "member")
    refused = await say(fake_bot_api, "/watch kursk Курск", GROUP, user_id=MEMBER)
    assert "Sorry, in a group only its administrators can change what feedwatch does." in refused
    assert labels(app, GROUP, own=True) == labels(app, GROUP) == []
    assert "follows no watchlist yet" in await say(
        fake_bot_api, "/watchlists", GROUP, user_id=MEMBER
    )
    assert "No hits for this chat yet." in await say(fake_bot_api, "/hits", GROUP, user_id=MEMBER)
    assert "«РДК»" in await say(fake_bot_api, "/test Заявление РДК", GROUP, user_id=MEMBER)
    assert "/watch NAME TERM" in await say(fake_bot_api, "/help", GROUP, user_id=MEMBER)
    assert "Sorry" in await say(fake_bot_api, "/subscribe rvc", GROUP, user_id=MEMBER)
    assert labels(app, GROUP) == []
    assert len(fake_bot_api.calls("getChatAdministrators")) == 1


async def test_in_a_group_admins_change_settings_and_are_asked_for_every_5_minutes(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, clock: Clock
) -> None:
    # Another group than the test above: Telegram paces messages per group, and so does the bot.
    group = GROUP - 1
    fake_bot_api.set_chat_member_status(group, ADMIN, "administrator")
    fake_bot_api.set_chat_member_status(group, MEMBER, "member")
    assert "Sorry" in await say(fake_bot_api, "/watch kursk Курск", group, user_id=MEMBER)
    assert "Created" in await say(fake_bot_api, "/watch kursk Курск", group, user_id=ADMIN)
    assert "Now following" in await say(fake_bot_api, "/subscribe rvc", group, user_id=ADMIN)
    assert labels(app, group) == ["kursk", "rvc"]
    assert len(fake_bot_api.calls("getChatAdministrators")) == 1
    clock.advance(minutes=5, seconds=1)
    assert "Added" in await say(fake_bot_api, "/watch kursk Kursk", group, user_id=ADMIN)
    assert len(fake_bot_api.calls("getChatAdministrators")) == 2


async def test_a_subscription_made_in_a_forum_topic_gets_its_digest_in_that_topic(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    topic = {"chat_type": "supergroup", "message_thread_id": TOPIC, "is_topic_message": True}
    answer = await ask(fake_bot_api, "/subscribe rvc", FORUM, **topic)
    assert answer.params["message_thread_id"] == TOPIC
    assert "Created" in await say(fake_bot_api, "/watch kursk Курськ", FORUM, **topic)
    await app.poll_once()
    before = len(fake_bot_api.sent_messages(FORUM))
    [outcome] = await app.digest_once()
    assert outcome.items == 2
    [digest] = fake_bot_api.sent_messages(FORUM)[before:]
    assert digest.params["message_thread_id"] == TOPIC
    assert "RVC fighters" in digest.result["text"]
    assert "Бої у Курській області" in digest.result["text"]


async def test_subscribe_says_which_topic_and_watchlists_shows_each_lists_topic(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    forum = FORUM - 7

    def in_topic(thread: int, name: str | None) -> dict[str, Any]:
        push: dict[str, Any] = {
            "chat_type": "supergroup",
            "message_thread_id": thread,
            "is_topic_message": True,
        }
        if name is not None:
            # Telegram makes a message sent in a topic a reply to the topic's first message.
            created = {"name": name, "icon_color": 7322096}
            push["reply_to"] = {
                "message_id": thread,
                "message_thread_id": thread,
                "forum_topic_created": created,
            }
        return push

    answer = await say(fake_bot_api, "/subscribe rvc", forum, **in_topic(10, "Units"))
    assert answer.splitlines()[-1] == "New mentions from now on come to the topic «Units»."
    answer = await say(fake_bot_api, "/subscribe legion", forum, **in_topic(20, None))
    assert answer.splitlines()[-1] == "New mentions from now on come to the topic #20."
    lists = await say(fake_bot_api, "/watchlists", forum, **in_topic(20, "Regions"))
    assert "rvc — Russian Volunteer Corps · in the topic «Units»" in lists
    # The topic's name, once seen, replaces its number.
    assert "legion — Freedom of Russia Legion · in the topic «Regions»" in lists
    await say(fake_bot_api, "/unsubscribe rvc", forum, **in_topic(10, None))
    ru = await say(fake_bot_api, "/subscribe rvc", forum, **in_topic(10, None), language_code="ru")
    assert ru.splitlines()[-1] == "Новые упоминания теперь будут приходить в тему «Units»."


async def test_a_private_chat_links_a_channel_it_administers_and_sets_it_up(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    channel = channel_id(fake_bot_api, CHANNEL)
    fake_bot_api.set_chat_member_status(channel, CHAT, "administrator")
    fake_bot_api.set_chat_member_status(channel, fake_bot_api.bot_user["id"], "administrator")
    assert "Usage: /channel @name" in await say(fake_bot_api, "/channel")
    assert f"Linked the channel {CHANNEL}" in await say(fake_bot_api, f"/channel {CHANNEL}")
    assert stored(app).managing_chat_id == channel
    answer = await say(fake_bot_api, "/watch kursk Курськ")
    assert f"Created the watchlist kursk for the channel {CHANNEL}." in answer
    assert labels(app, channel, own=True) == ["kursk"]
    assert labels(app, CHAT) == []

    await app.poll_once()
    await app.digest_once()
    [digest] = fake_bot_api.sent_messages(channel)
    assert "Бої у Курській області" in digest.result["text"]
    assert not any("Курській" in t for t in fake_bot_api.sent_texts(CHAT))

    assert "act on this chat again" in await say(fake_bot_api, "/channel off")
    assert stored(app).managing_chat_id is None
    assert "Created the watchlist kursk for this chat." in await say(
        fake_bot_api, "/watch kursk Курск"
    )


async def test_channel_is_refused_to_a_user_who_does_not_administer_it(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    channel = channel_id(fake_bot_api, CHANNEL)
    fake_bot_api.set_chat_member_status(channel, CHAT, "member")
    answer = await say(fake_bot_api, f"/channel {CHANNEL}")
    assert "Not linked: you are not an administrator of that channel." in answer
    assert stored(app).managing_chat_id is None
    assert "for this chat" in await say(fake_bot_api, "/watch kursk Курск")
    assert "/channel works in a private chat" in await say(
        fake_bot_api, f"/channel {CHANNEL}", GROUP
    )


# --- limits -------------------------------------------------------------------------------------


async def test_a_term_over_200_characters_is_refused_and_named(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    term = "курск" * 40 + "ы"
    answer = await say(fake_bot_api, f"/watch kursk {term}")
    assert f"The term «{term}» is longer than 200 characters" in answer
    assert labels(app, CHAT, own=True) == []


async def test_a_list_refuses_terms_beyond_its_limit(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.storage.chats, "MAX_TERMS_PER_LIST", 3)
    answer = await say(fake_bot_api, "/watch kursk a1, b2, c3, d4")
    assert "Not done: a watchlist holds at most 3 terms; kursk has 0, and 4 more" in answer
    assert labels(app, CHAT, own=True) == []
    await say(fake_bot_api, "/watch kursk a1, b2")
    assert "kursk has 2, and 2 more" in await say(fake_bot_api, "/watch kursk c3, d4")
    assert app.repo.own_watchlists(CHAT)[0].terms == ("a1", "b2")


async def test_a_refused_term_is_quoted_as_typed(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    term = "Kursk" + "x" * 196
    assert f"«{term}»" in await say(fake_bot_api, f"/watch kursk {term}")


async def test_the_start_example_matches_as_it_promises(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    for lang in ("en", "ru", "uk"):
        lines = (await say(fake_bot_api, "/start", language_code=lang)).splitlines()
        watch = "/watch" + next(line for line in lines if "/watch " in line).split("/watch")[1]
        trial = "/test" + next(line for line in lines if "/test " in line).split("/test")[1]
        if labels(app, CHAT, own=True):
            app.repo.remove_list(CHAT, "my_kursk")
        assert "my_kursk" in await say(fake_bot_api, watch, language_code=lang)
        assert labels(app, CHAT, own=True) == ["my_kursk"]
        tried = await say(fake_bot_api, trial, language_code=lang)
        assert "my_kursk" in tried


async def test_an_import_addressed_to_another_bot_is_ignored(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    toml = b'[[watchlist]]\nname = "kursk"\nterms = ["Kursk"]\n'
    document = fake_bot_api.add_file(toml, "watchlists.toml", "application/toml")
    fake_bot_api.push_message(CHAT, "/import@otherbot", document=document)
    assert "follows no watchlist yet" in await say(fake_bot_api, "/watchlists")
    assert labels(app, CHAT, own=True) == []


async def test_a_command_posted_in_a_channel_is_not_denied_there(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    channel = -1009999999999
    fake_bot_api.push_message(channel, "/watch kursk Курськ", chat_type="channel")
    await say(fake_bot_api, "/start")  # updates are handled one at a time: the post came first
    assert not any("There is no command /watch" in t for t in fake_bot_api.sent_texts(channel))


# Every command in a group, as a member and as an administrator: what changes the chat is for
# administrators only; what reads it is for everyone. (One group per case: Telegram paces each.)
CHANGING = [
    "/subscribe rvc",
    "/unsubscribe rvc",
    "/watch kursk Курск",
    "/exclude kursk погода",
    "/require kursk бой",
    "/unwatch kursk",
    "/every 2h",
    "/quiet 22:00-07:00",
    "/tz Europe/Kyiv",
    "/addfeed http://127.0.0.1:9/rss",
    "/removefeed http://127.0.0.1:9/rss",
    "/pause",
    "/resume",
    "/spikes on",
    "/import",
    "/importopml",
]
READING = [
    "/start",
    "/help",
    "/watchlists",
    "/test Заявление РДК",
    "/suggest rvc",
    "/hits",
    "/stats",
    "/digest",
    "/feeds",
]
REFUSAL = "Sorry, in a group only its administrators can change what feedwatch does."


def _group_of(index: int) -> int:
    return GROUP - 100 - index


def test_the_group_cases_cover_every_command_but_channel_and_export() -> None:
    typed = {text.split()[0][1:] for text in CHANGING + READING}
    assert typed | {"channel", "export"} == {name for name, _, _ in COMMANDS}


@pytest.mark.parametrize("text", CHANGING)
async def test_in_a_group_a_member_is_refused_every_change(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, text: str
) -> None:
    group = _group_of(CHANGING.index(text))
    fake_bot_api.set_chat_member_status(group, MEMBER, "member")
    assert REFUSAL in await say(fake_bot_api, text, group, user_id=MEMBER)
    settings = stored(app, group)
    assert (labels(app, group), settings.digest_interval, settings.quiet) == ([], None, None)
    assert (settings.timezone, settings.paused) == (None, False)


@pytest.mark.parametrize("text", CHANGING)
async def test_in_a_group_an_admin_may_make_every_change(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, text: str
) -> None:
    group = _group_of(len(CHANGING) + CHANGING.index(text))
    fake_bot_api.set_chat_member_status(group, ADMIN, "administrator")
    answer = await say(fake_bot_api, text, group, user_id=ADMIN)
    assert REFUSAL not in answer
    assert answer  # the command's own answer: done, refused for its own reason, or its usage


@pytest.mark.parametrize("text", READING)
async def test_in_a_group_a_member_may_use_every_reading_command(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, text: str
) -> None:
    group = _group_of(2 * len(CHANGING) + READING.index(text))
    fake_bot_api.set_chat_member_status(group, MEMBER, "member")
    answer = await say(fake_bot_api, text, group, user_id=MEMBER)
    assert REFUSAL not in answer
    assert answer


async def test_answers_come_in_the_senders_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    help_text = await say(fake_bot_api, "/help", language_code="uk")
    assert "/watch NAME TERM[, TERM…] — створити власний список" in help_text
    assert "стежить за стрічками новин" in await say(fake_bot_api, "/start", language_code="uk")
    created = await say(fake_bot_api, "/watch kursk Курськ", language_code="uk")
    assert "Створено список kursk (цей чат)." in created
    assert "Тепер у підписках: rvc." in await say(
        fake_bot_api, "/subscribe rvc", language_code="uk-UA"
    )
    refused = await say(fake_bot_api, "/require nosuch бій", language_code="ru")
    assert (
        refused
        == "Не сделано: в этом чате нет списка nosuch; сначала создайте его: /watch nosuch ТЕРМИН."
    )
    unsubscribed = await say(fake_bot_api, "/unsubscribe rvc", language_code="ru")
    assert unsubscribed == "Больше не в подписках: rvc."
    # A language we have no translations for reads English.
    assert await say(fake_bot_api, "/subscribe legion", language_code="de") == (
        "Now following: legion.\nNew mentions from now on come in this chat's digest."
    )


async def test_a_member_of_a_group_is_refused_in_their_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    group = GROUP - 50
    fake_bot_api.set_chat_member_status(group, MEMBER, "member")
    answer = await say(
        fake_bot_api, "/watch kursk Курск", group, user_id=MEMBER, language_code="ru"
    )
    assert answer.startswith(
        "Извините, в группе настройки feedwatch меняют только её администраторы."
    )


# --- first steps, as new users take them ----------------------------------------------------------


async def test_a_phrase_without_a_comma_is_one_term_in_a_list_named_after_it(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    created = await say(fake_bot_api, "/watch Russian Volunteer Corps")
    assert created.startswith("Created the watchlist russian_volunteer_corps for this chat.")
    assert "Added to its terms: Russian Volunteer Corps." in created
    assert "The whole phrase is one term." in created
    # Its first word names a list of the chat: the rest is added to it, as always.
    await say(fake_bot_api, "/watch kursk Курск")
    added = await say(fake_bot_api, "/watch kursk Курская область")
    assert added == "Added to its terms: Курская область."
    [phrase_list] = [w for w in app.repo.own_watchlists(CHAT) if w.label != "kursk"]
    assert phrase_list.terms == ("Russian Volunteer Corps",)


async def test_a_list_may_be_named_in_cyrillic_and_examples_suit_the_command_and_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert "Создан список рдк" in await say(fake_bot_api, "/watch рдк РДК", language_code="ru")
    assert labels(app, CHAT, own=True) == ["рдк"]
    assert "«рдк!» cannot name a watchlist" in await say(fake_bot_api, "/watch рдк! РДК")
    russian = await say(fake_bot_api, "/exclude", language_code="ru")
    assert "/exclude kursk станция метро Курская, Курский вокзал" in russian
    ukrainian = await say(fake_bot_api, "/watch", language_code="uk")
    assert "/watch kursk Курськ, Курська область" in ukrainian
    assert "/exclude kursk Kurskaya metro station" in await say(fake_bot_api, "/exclude")


async def test_free_text_in_a_private_chat_is_tried_as_test_and_says_so(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    tried = await say(fake_bot_api, "Заявление РДК о рейде")
    assert tried.startswith("Would match, of the available watchlists")
    assert "«РДК»" in tried
    assert tried.endswith("Any text sent here is tried as with /test; /help lists the commands.")
    nothing = await say(fake_bot_api, "Погода во Львове", language_code="uk")
    assert nothing.endswith(
        "Будь-який текст, надісланий сюди, перевіряється як через /test; /help — усі команди."
    )


async def test_free_text_in_a_group_gets_no_answer(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.push_message(GROUP, "Заявление РДК о рейде", user_id=MEMBER)
    # Updates are handled in order: the answer to /help comes, and nothing before it.
    before = len(fake_bot_api.sent_messages(GROUP))
    await say(fake_bot_api, "/help", GROUP, user_id=MEMBER)
    assert len(fake_bot_api.sent_messages(GROUP)) == before + 1


async def test_a_member_who_presses_a_button_in_a_group_gets_the_toast_alone(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    fake_bot_api.set_chat_member_status(GROUP, ADMIN, "administrator")
    fake_bot_api.set_chat_member_status(GROUP, MEMBER, "member")
    await say(fake_bot_api, "/subscribe rvc", GROUP, user_id=ADMIN)
    shown = await ask(fake_bot_api, "/watchlists", GROUP, user_id=ADMIN)
    sent = len(fake_bot_api.sent_messages(GROUP))
    answered = len(fake_bot_api.calls("answerCallbackQuery"))
    fake_bot_api.push_callback_query(
        GROUP, "unsub:rvc", message_id=shown.result["message_id"], user_id=MEMBER
    )
    await fake_bot_api.wait_for_async(lambda f: len(f.calls("answerCallbackQuery")) > answered)
    toast = fake_bot_api.calls("answerCallbackQuery")[answered].params.get("text", "")
    assert "administrators" in toast
    # Nothing in the group: the next message there is the answer to the admin's /watchlists.
    await say(fake_bot_api, "/watchlists", GROUP, user_id=ADMIN)
    assert len(fake_bot_api.sent_messages(GROUP)) == sent + 1
    assert labels(app, GROUP) == ["rvc"]


def test_the_start_examples_name_no_shipped_shared_list() -> None:
    """Step 2's own list must not collide with a shared one: "/watch kursk …" was refused where
    the shipped lists are used, as they have a "kursk"."""
    from bot.chat.commands import _OWN_EXAMPLE
    from bot.ops.watchlist_file import load_watchlists

    shipped = {w.name for w in load_watchlists(REPO_CONFIG / "watchlists.toml")}
    assert "rvc" in shipped
    assert {example.split()[1] for example in _OWN_EXAMPLE.values()} == {"my_kursk"}
    assert "my_kursk" not in shipped
