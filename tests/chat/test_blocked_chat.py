"""Chats that blocked or removed the bot: the real bot against the fake Bot API and a local feed
server. Once Telegram says the bot may not post in a chat (a refused send, or a `my_chat_member`
update), nothing reaches it until it writes or Telegram says the bot is back; what waited comes once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.services.deliver import DeliveryOutcome
from tests.builders import Clock, rss, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import DEFAULT_USER_ID, FakeBotApi, RecordedRequest

PRIVATE = 111
GROUP = -4001
# A chat that only asks for /help: its answer shows that every update before it was handled
# (python-telegram-bot handles updates one at a time, in order).
BYSTANDER = 999
FEED = "/news.rss"
BLOCKED = "Forbidden: bot was blocked by the user"
KICKED = "Forbidden: bot was kicked from the group chat"
LINK = re.compile(r'<a href="(https://news\.example/[^"]+)">')
Item = tuple[str, str, str]


@pytest.fixture
def clock() -> Clock:
    return Clock()


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


class Outlet:
    """The feed as it grows: every `publish` adds items and polls, as a real outlet's feed."""

    def __init__(self, app: FeedwatchApp, feed_server: FeedServer) -> None:
        self.app, self.feed_server = app, feed_server
        self.items: list[Item] = []

    async def publish(self, guid: str) -> str:
        """Add an item that hits rvc, poll (spike alerts included); returns its link."""
        self.items.append((guid, f"RVC report {guid}", ""))
        self.feed_server.add(FEED, rss(*self.items))
        [outcome] = await self.app.poll_once(all_feeds=True)
        assert (outcome.error, outcome.new_hits) == (None, 1)
        return f"https://news.example/{guid}"


@pytest.fixture
def outlet(app: FeedwatchApp, feed_server: FeedServer) -> Outlet:
    return Outlet(app, feed_server)


async def say(fake: FakeBotApi, text: str, chat_id: int) -> RecordedRequest:
    """Send a command as the user (a group's first user is its creator); the bot's answer."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, text)
    await fake.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
    return fake.sent_messages(chat_id)[before]


async def settle(fake: FakeBotApi) -> None:
    """Wait until the bot has handled every update pushed so far."""
    await say(fake, "/help", BYSTANDER)


def to_chat(fake: FakeBotApi, chat_id: int) -> list[RecordedRequest]:
    """Every request that would post in `chat_id`, whatever the method (sendMessage, sendPhoto,
    editMessageText…), refused ones included; asking about the chat (get…) posts nothing."""
    return [
        r
        for r in fake.requests
        if r.params.get("chat_id") == chat_id and not r.method.startswith("get")
    ]


def links(fake: FakeBotApi, chat_id: int) -> list[str]:
    """The item links in what reached the chat, in order, repeats included."""
    texts = (r.params["text"] for r in fake.sent_messages(chat_id))
    return [link for text in texts for link in LINK.findall(text)]


def active(app: FeedwatchApp, chat_id: int) -> bool:
    chat = app.repo.chat(chat_id)
    assert chat is not None
    return chat.active


async def instant_private_chat(app: FeedwatchApp, fake: FakeBotApi, outlet: Outlet) -> str:
    """A private chat that follows rvc in instant mode and got its first hit; that hit's link."""
    await say(fake, "/start", PRIVATE)
    await say(fake, "/subscribe rvc", PRIVATE)
    await say(fake, "/every instant", PRIVATE)
    first = await outlet.publish("raid-1")
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=1)]
    assert links(fake, PRIVATE) == [first]
    return first


async def rounds(app: FeedwatchApp, outlet: Outlet, clock: Clock, name: str) -> None:
    """New hits two minutes apart, each polled and followed by a delivery round."""
    for n in range(3):
        clock.advance(minutes=2)
        await outlet.publish(f"{name}-{n}")
        await app.digest_once()


# --- a private chat ---------------------------------------------------------------------------


async def test_a_send_refused_as_blocked_stops_every_send_until_the_user_unblocks_the_bot(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, outlet: Outlet, clock: Clock
) -> None:
    first = await instant_private_chat(app, fake_bot_api, outlet)
    clock.advance(minutes=1)
    refused = await outlet.publish("raid-2")
    fake_bot_api.fail_next("sendMessage", 403, BLOCKED, chat_id=PRIVATE)
    [outcome] = await app.digest_once()
    assert outcome.error == BLOCKED
    # Telegram tells of the block as well, after the send it refused.
    fake_bot_api.push_my_chat_member(PRIVATE, "kicked")
    await settle(fake_bot_api)
    tried = len(to_chat(fake_bot_api, PRIVATE))

    await rounds(app, outlet, clock, "later")
    assert len(to_chat(fake_bot_api, PRIVATE)) == tried
    assert not active(app, PRIVATE)

    # The user unblocks the bot without writing: the hit Telegram refused comes, once.
    fake_bot_api.push_my_chat_member(PRIVATE, "member")
    await settle(fake_bot_api)
    assert active(app, PRIVATE)
    clock.advance(seconds=2)
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=1)]
    clock.advance(minutes=2)
    assert await app.digest_once() == []
    assert links(fake_bot_api, PRIVATE) == [first, refused]


async def test_blocking_the_bot_stops_every_send_before_one_fails_until_the_user_writes(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, outlet: Outlet, clock: Clock
) -> None:
    first = await instant_private_chat(app, fake_bot_api, outlet)
    clock.advance(minutes=1)
    waiting = await outlet.publish("raid-2")  # in the outbox, not sent yet
    fake_bot_api.push_my_chat_member(PRIVATE, "kicked")
    await settle(fake_bot_api)
    assert not active(app, PRIVATE)
    tried = len(to_chat(fake_bot_api, PRIVATE))

    assert await app.digest_once() == []
    await rounds(app, outlet, clock, "later")
    assert len(to_chat(fake_bot_api, PRIVATE)) == tried

    # Writing to the bot unblocks it: the answer, then the hit that waited, once.
    clock.advance(seconds=2)
    assert "feedwatch" in (await say(fake_bot_api, "/start", PRIVATE)).result["text"]
    assert active(app, PRIVATE)
    assert await app.digest_once() == [DeliveryOutcome(PRIVATE, messages=1, items=1)]
    clock.advance(minutes=2)
    assert await app.digest_once() == []
    assert links(fake_bot_api, PRIVATE) == [first, waiting]


async def test_an_answer_refused_as_blocked_deactivates_the_chat_and_is_not_followed_by_another(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/start", PRIVATE)
    tried = len(to_chat(fake_bot_api, PRIVATE))
    fake_bot_api.fail_next("sendMessage", 403, BLOCKED, chat_id=PRIVATE)
    fake_bot_api.push_message(PRIVATE, "/hits")
    await settle(fake_bot_api)
    # The refused answer, and no second message saying something went wrong.
    assert [r.error for r in to_chat(fake_bot_api, PRIVATE)[tried:]] == [BLOCKED]
    assert not active(app, PRIVATE)


# --- a group ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("removed", "back"), [("left", "member"), ("kicked", "administrator")])
async def test_a_group_that_removes_the_bot_gets_nothing_until_it_adds_the_bot_back(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    outlet: Outlet,
    clock: Clock,
    removed: str,
    back: str,
) -> None:
    await say(fake_bot_api, "/subscribe rvc", GROUP)
    waiting = await outlet.publish("raid-1")
    [feed] = app.repo.feeds()
    assert app.repo.tell_chats_feed_is_failing(feed.id, "HTTP 503", clock(), clock()) == 1
    fake_bot_api.push_my_chat_member(GROUP, removed, user_id=DEFAULT_USER_ID)
    await settle(fake_bot_api)
    assert not active(app, GROUP)
    tried = len(to_chat(fake_bot_api, GROUP))

    assert await app.digest_once() == []
    clock.advance(hours=2)
    await rounds(app, outlet, clock, "later")
    assert len(to_chat(fake_bot_api, GROUP)) == tried

    # Added back: the notice and the digest that waited, once.
    fake_bot_api.push_my_chat_member(GROUP, back, user_id=DEFAULT_USER_ID)
    await settle(fake_bot_api)
    assert active(app, GROUP)
    await app.digest_once()
    clock.advance(hours=2)
    await app.digest_once()
    sent = fake_bot_api.sent_texts(GROUP)[-2:]
    assert sent[0].startswith("The feed Feed 1 has failed since")
    assert links(fake_bot_api, GROUP).count(waiting) == 1


async def test_a_button_pressed_in_a_group_that_removed_the_bot_does_not_bring_it_back(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, outlet: Outlet
) -> None:
    await say(fake_bot_api, "/subscribe rvc", GROUP)
    await say(fake_bot_api, "/pause", GROUP)
    await outlet.publish("raid-1")
    offer = await say(fake_bot_api, "/resume", GROUP)
    fake_bot_api.push_my_chat_member(GROUP, "kicked", user_id=DEFAULT_USER_ID)
    await settle(fake_bot_api)
    tried = len(to_chat(fake_bot_api, GROUP))
    # Telegram refuses whatever the bot would post there now.
    fake_bot_api.fail_next("sendMessage", 403, KICKED, chat_id=GROUP, times=3)

    # The offer under /resume outlives the bot's membership; an administrator presses it.
    answered = len(fake_bot_api.calls("answerCallbackQuery"))
    fake_bot_api.push_callback_query(
        GROUP, "held:send", message_id=offer.result["message_id"], user_id=DEFAULT_USER_ID
    )
    await fake_bot_api.wait_for_async(lambda f: len(f.calls("answerCallbackQuery")) > answered)
    await settle(fake_bot_api)
    assert not active(app, GROUP)
    assert await app.digest_once() == []
    assert len(to_chat(fake_bot_api, GROUP)) == tried
