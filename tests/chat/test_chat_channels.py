"""Public Telegram channels in chat, end to end: `/addfeed @name` and its other spellings, checked
first and refused with the reason; `/feeds` with a channel's health; its posts delivered once; a
story whose origin is a channel post shown first. The real bot against the fake Bot API, channel
pages from the local channel server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from tests.builders import Clock, rss, write_settings
from tests.chat.test_chat_commands import CHAT, SHARED, say
from tests.fakes.channel_server import ChannelServer, Post
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi

NAME = "rusvolcorps"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(
    tmp_path: Path,
    fake_bot_api: FakeBotApi,
    channel_server: ChannelServer,
    feed_server: FeedServer,
    clock: Clock,
) -> AsyncIterator[FeedwatchApp]:
    settings = write_settings(
        tmp_path,
        [],
        token=fake_bot_api.token,
        api_url=fake_bot_api.url,
        watchlists=SHARED,
        polling=f'telegram_base_url = "{channel_server.url}"\ntelegram_fallback_urls = []\n'
        "channel_depth_posts = 40",
    )
    async with FeedwatchApp(settings, clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


@pytest.mark.parametrize(
    "spelling",
    ["@RusVolCorps", "https://t.me/rusvolcorps", "t.me/s/RusVolCorps", "telegram.me/rusvolcorps/7"],
)
async def test_every_spelling_of_a_channel_adds_it_once(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    channel_server: ChannelServer,
    clock: Clock,
    spelling: str,
) -> None:
    channel_server.channel(
        NAME, "Русский добровольческий корпус", [Post(7, clock(), "РДК: 25 пленных")]
    )

    added = await say(fake_bot_api, f"/addfeed {spelling}")

    assert added.startswith("Added Русский добровольческий корпус")
    assert [feed.url for feed in app.repo.chat_feeds(CHAT)[1]] == [f"https://t.me/s/{NAME}"]
    again = await say(fake_bot_api, "/addfeed @rusvolcorps")
    assert again == "https://t.me/s/rusvolcorps is already one of this chat's feeds."
    removed = await say(fake_bot_api, f"/removefeed {spelling}")
    assert removed == "Removed https://t.me/s/rusvolcorps."
    assert app.repo.chat_feeds(CHAT)[1] == []


async def test_a_channel_without_a_preview_or_that_does_not_exist_is_refused_with_the_reason(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, channel_server: ChannelServer
) -> None:
    channel_server.disable_preview("hidden_channel", "Hidden")

    assert await say(fake_bot_api, "/addfeed @hidden_channel") == (
        "Not added: the channel has no public preview"
    )
    assert await say(fake_bot_api, "/addfeed t.me/nobody_has_this") == (
        "Not added: no such channel"
    )
    invite = await say(fake_bot_api, "/addfeed https://t.me/+AbCdEfGhIjKl")
    assert invite.startswith("Not added: not a public channel's address")
    assert app.repo.chat_feeds(CHAT)[1] == []
    # In the chat's language as well.
    assert (
        await say(fake_bot_api, "/addfeed @hidden_channel", language_code="uk")
        == "Не додано: канал не має публічного перегляду"
    )


async def test_a_channel_shows_in_feeds_with_its_health_and_its_posts_arrive_once(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, channel_server: ChannelServer, clock: Clock
) -> None:
    channel = channel_server.channel(
        NAME,
        "Русский добровольческий корпус",
        [Post(7, clock() - timedelta(minutes=3), "РДК: 25 пленных в Курской области")],
    )
    await say(fake_bot_api, "/addfeed @rusvolcorps")
    await say(fake_bot_api, "/subscribe rvc")

    await app.poll_once()
    assert "• Русский добровольческий корпус https://t.me/s/rusvolcorps: ok, last read" in (
        await say(fake_bot_api, "/feeds")
    )
    await app.digest_once()
    digest = fake_bot_api.sent_texts(CHAT)[-1]
    assert "РДК: 25 пленных в Курской области" in digest

    # Read again, and again with a new post: the first is never sent twice.
    clock.advance(minutes=15)
    channel.post("РДК: ещё одно сообщение", at=clock())
    await app.poll_once()
    clock.advance(hours=2)
    await app.digest_once()
    later = fake_bot_api.sent_texts(CHAT)[-1]
    assert "ещё одно сообщение" in later
    assert "25 пленных" not in later

    # The preview is turned off: /feeds says so, by name.
    channel_server.disable_preview(NAME, "Русский добровольческий корпус")
    clock.advance(hours=1)
    await app.poll_once()
    assert (
        "• Русский добровольческий корпус https://t.me/s/rusvolcorps: failing: the channel has no public preview"
        in (await say(fake_bot_api, "/feeds"))
    )


async def test_a_story_whose_origin_is_a_channel_post_shows_the_post_first(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    channel_server: ChannelServer,
    feed_server: FeedServer,
    clock: Clock,
) -> None:
    """The corps posts at 05:12; an outlet reports it at 05:40 under another title, linking to
    the post; another channel forwards it. One story, the post first, the others after it."""
    channel_server.channel(
        NAME,
        "Русский добровольческий корпус",
        [Post(1234, clock().replace(hour=5, minute=12), "РДК: взяты в плен 25 военнослужащих")],
    )
    channel_server.channel(
        "war_reporter",
        "War reporter",
        [
            Post(
                88,
                clock().replace(hour=5, minute=50),
                "РДК публикует видео с пленными",
                forwarded_from="Русский добровольческий корпус",
                forwarded_from_link=f"https://t.me/{NAME}/1234",
            )
        ],
    )
    outlet = feed_server.add(
        "/outlet.rss",
        rss(
            (
                "rvc-prisoners",
                "Russian Volunteer Corps says it captured soldiers in Kursk region",
                f"RVC said on Telegram (https://t.me/{NAME}/1234) that it took prisoners.",
            ),
            title="Kyiv Independent",
        ),
    )
    for source in ("@rusvolcorps", "@war_reporter", outlet, "/subscribe rvc"):
        command = source if source.startswith("/") else f"/addfeed {source}"
        await say(fake_bot_api, command)

    await app.poll_once()
    await app.digest_once()

    digest = fake_bot_api.sent_texts(CHAT)[-1]
    lines = digest.splitlines()
    [head] = [i for i, line in enumerate(lines) if "25 военнослужащих" in line]
    assert lines[head + 1] == (
        "  first: Русский добровольческий корпус (@rusvolcorps) 12 Mar 05:12 UTC"
    )
    assert lines[head + 2] == "  then Kyiv Independent 05:40, War reporter (@war_reporter) 05:50"
    # Neither report stands as its own story.
    assert "captured soldiers" not in digest
    assert "видео с пленными" not in digest


async def test_posts_missed_after_a_long_gap_are_counted_in_feeds(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, channel_server: ChannelServer, clock: Clock
) -> None:
    channel = channel_server.channel(NAME, "RVC", [Post(1, clock(), "РДК")])
    await say(fake_bot_api, "/addfeed @rusvolcorps")
    await app.poll_once()
    for number in range(61):
        channel.post(f"Сообщение {number}", at=clock() + timedelta(minutes=10 * (number + 1)))
    clock.advance(hours=11)
    await app.poll_once()

    assert "; 41 items; 21 posts missed after a gap longer than the read-back depth" in (
        await say(fake_bot_api, "/feeds")
    )
    assert "21 публікацію пропущено" in await say(fake_bot_api, "/feeds", language_code="uk")
