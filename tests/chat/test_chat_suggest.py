"""`/suggest NAME` reads the items of the last 30 days and shows the names the list nearly
matched, each with a button that adds it to the chat's own list; a shared list gets the names
without buttons. The real bot against the fake Bot API; items polled from the local feed server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from tests.builders import Clock, rss, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

CHAT = 555
SHARED = """
[[watchlist]]
name = "lsr"
title = "Freedom of Russia Legion"
terms = ["Freedom of Russia Legion"]
"""


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> AsyncIterator[FeedwatchApp]:
    url = feed_server.add(
        "/news.rss",
        rss(
            ("a", "Russian Freedom Legion fighters enter Tyotkino", "The unit posted a video"),
            ("b", "Kremlin says the Russian Freedom Legion attack failed", "More soon"),
            ("c", "Freedom of Russia Legion claims a raid", "Its fighters say so"),
            ("d", "Weather in Kyiv", "Sunny"),
        ),
    )
    settings = write_settings(
        tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url, watchlists=SHARED
    )
    async with FeedwatchApp(settings, clock=Clock()) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def ask(fake: FakeBotApi, text: str, language: str = "en") -> RecordedRequest:
    return await fake.ask(CHAT, text, language_code=language)


def buttons(message: RecordedRequest) -> list[str]:
    markup = message.params.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_suggest_shows_the_names_the_own_list_nearly_matched_and_a_button_adds_one(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await ask(fake_bot_api, "/watch my_lsr Freedom of Russia Legion")
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    answer = await ask(fake_bot_api, "/suggest my_lsr")
    assert str(answer.result["text"]).splitlines() == [
        "Names my_lsr nearly matched in the 4 items of the last 30 days:",
        "• «Russian Freedom Legion» (2 items, nearly Freedom of Russia Legion)",
    ]
    assert buttons(answer) == ["also:my_lsr:Russian Freedom Legion"]
    answered = len(fake_bot_api.calls("answerCallbackQuery"))
    sent = len(fake_bot_api.sent_messages(CHAT))
    fake_bot_api.push_callback_query(
        CHAT, "also:my_lsr:Russian Freedom Legion", message_id=answer.result["message_id"]
    )
    await fake_bot_api.wait_for_async(
        lambda f: (
            len(f.calls("answerCallbackQuery")) > answered and len(f.sent_messages(CHAT)) > sent
        )
    )
    assert fake_bot_api.sent_texts(CHAT)[-1] == "Added Russian Freedom Legion to my_lsr."
    [own] = app.repo.own_watchlists(CHAT)
    assert own.terms == ("Freedom of Russia Legion", "Russian Freedom Legion")
    # Complete now: nothing more to suggest.
    again = await ask(fake_bot_api, "/suggest my_lsr")
    assert again.result["text"] == "Nothing my_lsr misses in the 4 items of the last 30 days."


async def test_a_shared_list_gets_the_names_without_buttons_in_the_readers_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    answer = await ask(fake_bot_api, "/suggest lsr", "uk")
    assert str(answer.result["text"]).splitlines() == [
        "Назви, які lsr майже знайшов у 4 матеріалах за останні 30 днів:",
        "• «Russian Freedom Legion» (2 матеріали, схоже на Freedom of Russia Legion)",
        "Це спільний список: терміни до нього додає оператор.",
    ]
    assert buttons(answer) == []
    usage = await ask(fake_bot_api, "/suggest nosuch")
    assert usage.result["text"] == "Usage: /suggest NAME, one of this chat's lists: —"
