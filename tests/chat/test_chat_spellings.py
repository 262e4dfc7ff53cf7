"""A name added with /watch is offered in the other scripts as buttons ("add these too"), in the
reader's language; pressing one adds that spelling and takes its button away; nothing is added
unpressed. The real bot against the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from tests.builders import Clock, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

CHAT = 444


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> AsyncIterator[FeedwatchApp]:
    url = feed_server.add(
        "/empty.rss", b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    )
    settings = write_settings(tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url)
    async with FeedwatchApp(settings, clock=Clock()) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def ask(fake: FakeBotApi, text: str, language: str = "en") -> RecordedRequest:
    return await fake.ask(CHAT, text, language_code=language)


def buttons(message: RecordedRequest) -> list[tuple[str, str]]:
    markup = message.params.get("reply_markup") or {}
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


@pytest.mark.parametrize(
    ("language", "command", "offered", "question"),
    [
        ("en", "/watch my_kursk Kursk, Kursk region", ["Курск", "Курськ"],
         "The same name in the other scripts; add these too?"),
        ("ru", "/watch my_kursk Курск", ["Kursk", "Курськ"],
         "То же название в других алфавитах; добавить и их?"),
        ("uk", "/watch my_kyiv Київ", ["Kyiv", "Kiev", "Киев"],
         "Та сама назва іншими абетками; додати й ці?"),
    ],
)  # fmt: skip
async def test_a_name_is_offered_in_the_other_scripts_and_nothing_is_added_unpressed(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    language: str,
    command: str,
    offered: list[str],
    question: str,
) -> None:
    answer = await ask(fake_bot_api, command, language)
    assert str(answer.result["text"]).splitlines()[-1] == question
    label = command.split()[1]
    assert buttons(answer) == [(f"+ {text}", f"also:{label}:{text}") for text in offered]
    [own] = app.repo.own_watchlists(CHAT)
    assert not set(offered) & set(own.terms)


async def test_pressing_an_offer_adds_that_spelling_and_takes_its_button_away(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    answer = await ask(fake_bot_api, "/watch my_kursk Kursk")
    answered = len(fake_bot_api.calls("answerCallbackQuery"))
    sent = len(fake_bot_api.sent_messages(CHAT))
    fake_bot_api.push_callback_query(
        CHAT, "also:my_kursk:Курськ", message_id=answer.result["message_id"]
    )
    await fake_bot_api.wait_for_async(
        lambda f: (
            len(f.calls("answerCallbackQuery")) > answered and len(f.sent_messages(CHAT)) > sent
        )
    )
    toast = fake_bot_api.calls("answerCallbackQuery")[answered].params["text"]
    assert toast == "Added Курськ to my_kursk."
    [own] = app.repo.own_watchlists(CHAT)
    assert own.terms == ("Kursk", "Курськ")
    [edit] = fake_bot_api.calls("editMessageReplyMarkup")
    left = [
        b["callback_data"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert left == ["also:my_kursk:Курск"]
    # A spelling the list already has is not offered again.
    again = await ask(fake_bot_api, "/watch my_kursk Курск")
    assert buttons(again) == [("+ Kursk", "also:my_kursk:Kursk")] or buttons(again) == []


async def test_common_words_and_acronyms_get_no_offer(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    answer = await ask(fake_bot_api, "/watch my_rvc RVC, РДК, добровольческий корпус")
    assert buttons(answer) == []
    assert "other scripts" not in str(answer.result["text"])
