"""Context terms in chat: `/watch LIST TERM near WORD, WORD not near WORD within N` (keywords in
English, Russian or Ukrainian), what the bot says of it, `/watchlists` showing it, `/test` naming
the context word that allowed a hit, and the digest: an item with the term out of context is no
hit. The real bot against the fake Bot API; feeds from the local feed server."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.core.domain import TermContext
from tests.builders import Clock, rss, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi

CHAT = 333


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> AsyncIterator[FeedwatchApp]:
    url = feed_server.add(
        "/news.rss",
        rss(
            ("raid", "Бойцы РДК заявили о рейде", "Видео из приграничья"),
            ("culture", "„Рождественские встречи“ в РДК", "В районном Доме культуры выступят хоры"),
        ),
    )
    settings = write_settings(tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url)
    async with FeedwatchApp(settings, clock=Clock()) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def say(fake: FakeBotApi, text: str, language: str = "en", **push: object) -> str:
    return str((await fake.ask(CHAT, text, language_code=language, **push)).result["text"])


@pytest.mark.parametrize(
    ("language", "command", "answer"),
    [
        (
            "en",
            "/watch my_rdk РДК near боец, рейд not near культур*, концерт within 8",
            [
                "Added to its terms: РДК.",
                "«РДК» is a hit only within 8 words of: боец, рейд. "
                "«РДК» is not a hit within 8 words of: культур*, концерт.",
            ],
        ),
        (
            "ru",
            "/watch my_rdk РДК рядом боец, рейд не рядом культур*, концерт в пределах 8",
            [
                "Добавлены термины: РДК.",
                "«РДК» — совпадение, только если в пределах 8 слов есть: боец, рейд. "
                "«РДК» — не совпадение, если в пределах 8 слов есть: культур*, концерт.",
            ],
        ),
        (
            "uk",
            "/watch my_rdk РДК поруч боєць, рейд не поруч культур*, концерт в межах 8",
            [
                "Додано терміни: РДК.",
                "«РДК» — збіг, лише якщо в межах 8 слів є: боєць, рейд. "
                "«РДК» — не збіг, якщо в межах 8 слів є: культур*, концерт.",
            ],
        ),
    ],
)
async def test_watch_takes_a_term_with_its_context_in_each_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, language: str, command: str, answer: list[str]
) -> None:
    text = await say(fake_bot_api, command, language)
    lines = text.splitlines()
    assert lines[1:3] == answer, text
    [own] = await app.storage.own_watchlists(CHAT)
    near = ("боєць" if language == "uk" else "боец", "рейд")
    assert own.terms == ("РДК",)
    assert own.contexts == (TermContext("РДК", near, ("культур*", "концерт"), 8),)


async def test_a_term_out_of_its_context_is_no_hit_and_test_names_the_word_that_allowed_one(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/watch my_rdk РДК not near культур*, концерт, хор")
    listed = await say(fake_bot_api, "/watchlists")
    assert "РДК (not near культур*, концерт, хор)" in listed
    tested = await say(fake_bot_api, "/test „Рождественские встречи“ в РДК. В Доме культуры хоры")
    assert tested.startswith("None of this chat's watchlists would match.")
    # Now with a near word: /test names it.
    await say(fake_bot_api, "/watch my_rdk РДК near боец not near культур*")
    tested = await say(fake_bot_api, "/test Бойцы РДК заявили о рейде")
    assert "my_rdk: «РДК» (РДК, near «Бойцы»)" in tested

    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    await app.digest_once()
    digest = fake_bot_api.sent_texts(CHAT)[-1]
    assert digest.splitlines()[0] == "feedwatch · 1 new mention"
    assert "Бойцы РДК заявили о рейде" in digest
    assert "Рождественские встречи" not in digest


async def test_a_context_on_several_terms_is_refused_with_the_syntax(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    text = await say(fake_bot_api, "/watch my_rdk РДК, RDK near боец")
    assert text.startswith("A context belongs to one term: /watch NAME TERM near WORD, WORD."), text
    assert await app.storage.own_watchlists(CHAT) == []
    text = await say(fake_bot_api, "/watch my_rdk РДК near боец within 500")
    assert text.startswith("Within must be a number of words from 1 to 100."), text


async def test_removing_a_term_removes_its_context(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/watch my_rdk РДК near боец")
    await say(fake_bot_api, "/watch my_rdk RDK")
    await say(fake_bot_api, "/unwatch my_rdk РДК")
    [own] = await app.storage.own_watchlists(CHAT)
    assert (own.terms, own.contexts) == (("RDK",), ())


async def test_an_imported_list_keeps_its_contexts_scope_and_fields_and_exports_them_again(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    toml = """
[[watchlist]]
name = "my_rdk"
terms = ["RDK", { term = "РДК", near = ["боец"], within = 8 }]
sources = ["@rusvolcorps"]
skip_sources = ["meduza.io"]
fields = ["title", "categories"]
""".encode()
    document = fake_bot_api.add_file(toml, "watchlists.toml", "application/toml")
    answer = await say(fake_bot_api, "/import", document=document)
    assert "• my_rdk: 2 terms" in answer, answer
    [own] = await app.storage.own_watchlists(CHAT)
    assert own.contexts == (TermContext("РДК", ("боец",), (), 8),)
    assert (own.sources, own.skip_sources, own.fields) == (
        ("@rusvolcorps",),
        ("meduza.io",),
        ("title", "categories"),
    )
    fake_bot_api.push_message(CHAT, "/export")
    await fake_bot_api.wait_for_async(lambda f: bool(f.calls("sendDocument")))
    [export] = fake_bot_api.calls("sendDocument")
    [table] = tomllib.loads(export.files["document"].decode())["watchlist"]
    assert table["terms"] == ["RDK", {"term": "РДК", "near": ["боец"], "within": 8}]
    assert (table["sources"], table["skip_sources"], table["fields"]) == (
        ["@rusvolcorps"],
        ["meduza.io"],
        ["title", "categories"],
    )
