"""Every message the bot sends is paced to Telegram's limits in one place, python-telegram-bot's rate
limiter: its own overall and group limits, and the one it lacks, about a message a second to one
private chat. Digests, alerts, notices and command answers alike go through it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.ext import AIORateLimiter

PRIVATE_BURST = 1
"""Messages a private chat may get at once before the pace starts (`[telegram] private_burst`)."""
PRIVATE_EVERY = 1.05
"""Seconds between messages to a private chat once its burst is used: a second, and a margin for
the network, which may carry one request faster than the one before it."""
OVERALL_COUNT = 30
OVERALL_WINDOW = 1.0
"""Telegram takes 30 messages a second from a bot: at most `OVERALL_COUNT` counting in any
`OVERALL_WINDOW` seconds, each from its start until a second after its answer (`SlidingWindow`)."""

JSONDict = dict[str, Any]

_SENDS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})


class SlidingWindow:
    """At most `count` requests in any `period` seconds, as the server counts them: a request
    counts from its start until `period` after it was answered (the server saw it somewhere in
    between), and one starts only when fewer than `count` count. Unlike a leaky bucket
    (aiolimiter's, which lets one more through at every edge, and counts starts, not arrivals),
    it uses a limit of any second to the full without a 429 when the network delays one.

    Starts are also spread, `period / count` apart: a burst of 30 at once would put 30 messages
    on the wire together, and a crash then leaves 30 sent but unrecorded (sent again after the
    restart) instead of the one or two a steady pace has in flight."""

    def __init__(
        self,
        count: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._count = count
        self._period = period
        self._clock = clock
        self._sleep = sleep
        self._spacing = period / count
        self._last_start = float("-inf")
        self._running = 0
        self._answered: deque[float] = deque()  # when each request still counting was answered
        self._freed = asyncio.Event()
        self._lock = asyncio.Lock()  # requests start in the order they came

    async def __aenter__(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                while self._answered and self._answered[0] + self._period <= now:
                    self._answered.popleft()
                if self._running + len(self._answered) < self._count:
                    if (early := self._last_start + self._spacing - now) <= 0:
                        break
                    await self._sleep(early)
                    continue
                if self._answered:
                    await self._sleep(self._answered[0] + self._period - now)
                else:  # every one of them is still on its way: wait for an answer
                    self._freed.clear()
                    await self._freed.wait()
            self._running += 1
            # Spaced from when it was due, not from when the event loop woke it: a few ms late
            # at every start would add up to a message a second. After a pause, no catching up.
            started = self._clock()
            due = self._last_start + self._spacing
            self._last_start = max(due, started - self._spacing / 2)

    async def __aexit__(self, *exc: object) -> None:
        self._running -= 1
        self._answered.append(self._clock())
        self._freed.set()


class PacedRateLimiter(AIORateLimiter):
    """`AIORateLimiter` with a token bucket per private chat (`PRIVATE_BURST` messages at once,
    then one every `PRIVATE_EVERY` seconds; a chat's messages wait their turn in order), and with
    the overall limit as a sliding window of `overall_count` messages in `overall_window`
    seconds, within the group limits as the library orders them."""

    def __init__(
        self,
        *,
        private_burst: int = PRIVATE_BURST,
        private_every: float = PRIVATE_EVERY,
        overall_count: int = OVERALL_COUNT,
        overall_window: float = OVERALL_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        **limits: Any,
    ) -> None:
        super().__init__(**limits)
        if overall_count and overall_window:
            # The library enters its overall limiter inside a group's, with `async with`: a
            # window of our own takes its place there (python-telegram-bot 22, pinned by the lock;
            # tests/chat/test_pacing.py measures what reaches the API).
            self._base_limiter = SlidingWindow(  # type: ignore[assignment]
                overall_count, overall_window, clock=clock, sleep=sleep
            )
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
