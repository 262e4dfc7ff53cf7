"""Every message the bot sends is paced to Telegram's limits in one place, python-telegram-bot's rate
limiter: its own overall and group limits, and the one it lacks, about a message a second to one
private chat. Digests, alerts, notices and command answers alike go through it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

PRIVATE_BURST = 1
"""Messages a private chat may get at once before the pace starts (`[telegram] private_burst`)."""
PRIVATE_EVERY = 1.05
"""Seconds between messages to a private chat once its burst is used: a second, and a margin for
the network, which may carry one request faster than the one before it."""

JSONDict = dict[str, Any]

_SENDS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


class PacedRateLimiter(AIORateLimiter):
    """`AIORateLimiter` with a token bucket per private chat: `PRIVATE_BURST` messages at once,
    then one every `PRIVATE_EVERY` seconds. A chat's messages wait their turn in order."""

    def __init__(
        self,
        *,
        private_burst: int = PRIVATE_BURST,
        private_every: float = PRIVATE_EVERY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        **limits: Any,
    ) -> None:
        super().__init__(**limits)
        self._burst = private_burst
        self._every = private_every
        self._clock = clock
        self._sleep = sleep
        # chat id -> (tokens left, when they were counted); one lock per chat keeps its order.
        self._buckets: dict[int, tuple[float, float]] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        chat_id = _private_chat(endpoint, data)
        if chat_id is not None:
            lock = self._locks.setdefault(chat_id, asyncio.Lock())
            async with lock:
                await self._take(chat_id)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )

    async def _take(self, chat_id: int) -> None:
        """Wait for one of the chat's tokens, refilled at one every `_every` seconds."""
        now = self._clock()
        tokens, counted = self._buckets.get(chat_id, (float(self._burst), now))
        tokens = min(float(self._burst), tokens + (now - counted) / self._every)
        if tokens < 1.0:
            wait = (1.0 - tokens) * self._every
            await self._sleep(wait)
            now, tokens = now + wait, 1.0
        self._buckets[chat_id] = (tokens - 1.0, now)


def _private_chat(endpoint: str, data: dict[str, Any]) -> int | None:
    """The private chat a request posts a message to, if it does."""
    if not (endpoint.startswith("send") or endpoint in _SENDS):
        return None
    chat_id = data.get("chat_id")
    try:
        number = int(chat_id) if chat_id is not None else None
    except (TypeError, ValueError):
        return None
    return number if number is not None and number > 0 else None
