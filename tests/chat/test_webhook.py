"""Webhook mode: with `[telegram] webhook_url`, the bot registers the webhook with Telegram (the fake
Bot API) and takes updates that are posted to it, carrying the secret; getUpdates is not used."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.app import FeedwatchApp
from tests.builders import write_settings
from tests.fakes.telegram_api import FakeBotApi

SECRET = "s3cret-token_1"
CHAT = 4242


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def hook(tmp_path: Path, fake_bot_api: FakeBotApi) -> AsyncIterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = write_settings(tmp_path, [], token=fake_bot_api.token, api_url=fake_bot_api.url)
    telegram = settings.telegram.model_copy(
        update={
            "webhook_url": url,
            "webhook_listen": f"127.0.0.1:{port}",
            "webhook_secret": SecretStr(SECRET),
        }
    )
    async with FeedwatchApp(settings.model_copy(update={"telegram": telegram})) as app:
        await app.start(schedule=False)
        try:
            yield url
        finally:
            await app.stop()


def _start_update(update_id: int) -> dict[str, Any]:
    user = {"id": CHAT, "is_bot": False, "first_name": "Analyst", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": CHAT, "type": "private", "first_name": "Analyst"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_the_webhook_is_registered_with_its_secret(
    hook: str, fake_bot_api: FakeBotApi
) -> None:
    [registered] = fake_bot_api.calls("setWebhook")
    assert registered.params["url"] == hook
    assert registered.params["secret_token"] == SECRET
    assert fake_bot_api.calls("getUpdates") == []


async def test_an_update_posted_with_the_secret_is_answered(
    hook: str, fake_bot_api: FakeBotApi
) -> None:
    async with httpx.AsyncClient() as client:
        refused = await client.post(
            hook, json=_start_update(1), headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        taken = await client.post(
            hook, json=_start_update(2), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        )
    assert refused.status_code == 403
    assert taken.status_code == 200
    await fake_bot_api.wait_for_async(lambda fake: len(fake.sent_messages(CHAT)) >= 1)
    [answer] = fake_bot_api.sent_texts(CHAT)
    assert "feedwatch" in answer
