"""The real bot end to end: python-telegram-bot against the fake Bot API, feeds from a local server.

A test types commands as a user would (updates in the fake's queue), runs poll and digest rounds, and
reads what reached the fake server; the fake fails the test on any request Telegram would refuse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.core.domain import CONSOLE_CHAT_ID
from bot.core.errors import FeedwatchError
from tests.builders import Clock, rss, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi

CHAT = 111


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi, clock: Clock
) -> AsyncIterator[FeedwatchApp]:
    url = feed_server.add(
        "/news.rss",
        rss(
            ("raid-1", "RVC & Legion <claim> raid", "Fighters of the Russian Volunteer Corps"),
            ("weather-1", "Sunny in Lviv", "Nothing to see"),
        ),
    )
    settings = write_settings(tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url)
    async with FeedwatchApp(settings, clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def say(fake: FakeBotApi, text: str, chat_id: int = CHAT) -> str:
    """Send a command as the user and return the bot's answer as the user reads it."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, text)
    await fake.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
    return fake.sent_texts(chat_id)[before]


async def test_subscribe_poll_and_digest_send_one_escaped_linked_message_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    menus = {
        c.params.get("language_code", ""): c.params["commands"]
        for c in fake_bot_api.calls("setMyCommands")
    }
    assert set(menus) == {"", "ru", "uk"}
    assert [m[0]["command"] for m in menus.values()] == ["start"] * 3
    assert menus["uk"][0]["description"] == "що робить feedwatch і з чого почати"
    assert "feedwatch" in await say(fake_bot_api, "/start")
    assert "Now following" in await say(fake_bot_api, "/subscribe rvc")

    await app.poll_once()
    before = len(fake_bot_api.sent_messages(CHAT))
    await app.digest_once()
    digest = fake_bot_api.sent_messages(CHAT)[before:]
    assert len(digest) == 1
    text = digest[0].params["text"]
    assert digest[0].params["parse_mode"] == "HTML"
    assert '<a href="https://news.example/raid-1">RVC &amp; Legion &lt;claim&gt; raid</a>' in text
    assert "Sunny in Lviv" not in text

    await app.poll_once(all_feeds=True)
    await app.digest_once()
    assert len(fake_bot_api.sent_messages(CHAT)) == before + 1


async def test_wrong_and_unknown_commands_get_usage_and_the_bot_goes_on(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    assert "Usage: /subscribe NAME…" in await say(fake_bot_api, "/subscribe")
    assert "No watchlist called nosuch" in await say(fake_bot_api, "/subscribe nosuch")
    assert "There is no command /frobnicate" in await say(fake_bot_api, "/frobnicate")
    # Addressed to another bot: ignored, so the next answer is the one to /watchlists.
    fake_bot_api.push_message(CHAT, "/subscribe@otherbot rvc")
    assert "follows no watchlist yet" in await say(fake_bot_api, "/watchlists")


async def test_digest_command_sends_pending_now_or_says_there_is_nothing(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/subscribe rvc kursk")
    assert "no digest has come here yet" in await say(fake_bot_api, "/digest")
    await app.poll_once()
    assert "RVC & Legion <claim> raid" in await say(fake_bot_api, "/digest")
    assert "Nothing new since the last digest." in await say(fake_bot_api, "/digest")


async def test_rate_limit_keeps_the_digest_in_the_outbox_until_retry_after_passes(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, clock: Clock
) -> None:
    await say(fake_bot_api, "/subscribe rvc")
    await app.poll_once()
    fake_bot_api.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 30", {"retry_after": 30}
    )
    before = len(fake_bot_api.sent_messages(CHAT))
    [outcome] = await app.digest_once()
    assert outcome.error is not None
    assert "wait 30" in outcome.error
    assert len(fake_bot_api.sent_messages(CHAT)) == before
    clock.advance(seconds=10)
    assert await app.digest_once() == []  # still inside retry_after
    clock.advance(seconds=25)
    await app.digest_once()
    assert len(fake_bot_api.sent_messages(CHAT)) == before + 1
    await app.digest_once()
    assert len(fake_bot_api.sent_messages(CHAT)) == before + 1


async def test_a_chat_that_blocked_the_bot_is_deactivated_and_not_retried(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/subscribe rvc")
    await app.poll_once()
    fake_bot_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    [outcome] = await app.digest_once()
    assert outcome.error == "Forbidden: bot was blocked by the user"
    chat = app.repo.chat(CHAT)
    assert chat is not None
    assert chat.active is False
    assert await app.digest_once() == []
    # The user comes back: the held hit is delivered, once.
    await say(fake_bot_api, "/start")
    before = len(fake_bot_api.sent_messages(CHAT))
    await app.digest_once()
    assert len(fake_bot_api.sent_messages(CHAT)) == before + 1


async def test_a_group_that_became_a_supergroup_gets_its_digest_at_the_new_id(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    group, supergroup = -4001, -1004001
    await say(fake_bot_api, "/subscribe rvc", chat_id=group)
    await app.poll_once()
    fake_bot_api.fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": supergroup},
    )
    await app.digest_once()
    await app.digest_once()
    [message] = fake_bot_api.sent_messages(supergroup)
    assert "RVC &amp; Legion" in message.params["text"]


async def test_a_refused_token_is_a_clear_error_that_never_shows_the_token(
    tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    wrong = "999999:WRONG-SECRET-TOKEN"
    settings = write_settings(tmp_path, [], token=wrong, api_url=fake_bot_api.url)
    with pytest.raises(FeedwatchError) as caught:
        async with FeedwatchApp(settings):
            pass
    assert "Telegram refused the bot token" in str(caught.value)
    assert wrong not in str(caught.value)
    fake_bot_api.take_errors()  # the fake counts a wrong token as a client error; here it is the point


@pytest.mark.parametrize("suffix", ["/bot", "/bot/", "/"])
async def test_api_url_may_be_written_as_python_telegram_bots_base_url(
    tmp_path: Path, fake_bot_api: FakeBotApi, suffix: str
) -> None:
    """`http://host:port/bot`, as python-telegram-bot and the local Bot API server's guides
    write it, reaches the same server as `http://host:port`, not a token error."""
    settings = write_settings(
        tmp_path, [], token=fake_bot_api.token, api_url=fake_bot_api.url + suffix
    )
    async with FeedwatchApp(settings) as running:
        await running.start(schedule=False)
        await running.stop()
    assert len(fake_bot_api.calls("getMe")) == 1
    assert fake_bot_api.calls("setMyCommands")


async def test_an_unreachable_bot_api_is_a_clear_error(
    tmp_path: Path, fake_bot_api: FakeBotApi
) -> None:
    url = fake_bot_api.url
    fake_bot_api.stop()
    settings = write_settings(tmp_path, [], token=fake_bot_api.token, api_url=url)
    with pytest.raises(
        FeedwatchError, match=r"cannot reach the Telegram Bot API at http://127\.0\.0\.1"
    ):
        async with FeedwatchApp(settings):
            pass


async def test_a_database_first_used_without_a_token_stops_feeding_the_terminal(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> None:
    url = feed_server.add("/news.rss", rss(("raid-1", "RVC claims raid", "")))
    async with FeedwatchApp(write_settings(tmp_path, [url])) as console:
        assert console.repo.chat(CONSOLE_CHAT_ID) is not None
    with_token = write_settings(tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url)
    async with FeedwatchApp(with_token) as running:
        await running.poll_once()
        assert await running.digest_once() == []
    assert fake_bot_api.calls("sendMessage") == []


async def test_test_command_explains_which_watchlists_would_match_and_why(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    answer = await say(
        fake_bot_api, "/test Бойцы Русского добровольческого корпуса в Курской области"
    )
    assert "follows none yet" in answer
    assert "«Курской» (Курск*)" in answer
    await say(fake_bot_api, "/subscribe rvc")
    answer = await say(fake_bot_api, "/test Заявление РДК: бой под Курском")
    assert "rvc Russian Volunteer Corps: «РДК» (РДК)" in answer
    # Not followed by this chat: not among its matches, but offered as one command away.
    assert "• kursk" not in answer
    assert "/subscribe kursk would also catch this (Kursk region)." in answer
    assert "None of this chat's watchlists" in await say(fake_bot_api, "/test Курс рубля вырос")
    assert "Usage: /test TEXT" in await say(fake_bot_api, "/test")
