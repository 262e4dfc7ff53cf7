"""A pace for hosts that serve many sources: at most one request every so often to each, however
many feeds or channels are due at once. `t.me` serves every public channel, so a thousand channels
must not become a thousand requests at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from bot.core.channel_address import TELEGRAM_HOSTS

__all__ = ["TELEGRAM_HOSTS", "HostPace"]


class HostPace:
    """Turns for requests to paced hosts: each host's next turn comes `gaps[host]` seconds after the
    last one began. Requests to other hosts go at once."""

    def __init__(
        self,
        gaps: Mapping[str, float],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._gaps = {host.lower(): gap for host, gap in gaps.items() if gap > 0}
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def turn(self, url: str) -> None:
        """Wait for a turn to request `url`."""
        host = (urlsplit(url).hostname or "").lower()
        gap = self._gaps.get(host)
        if gap is None:
            return
        # One waiter at a time per host: turns are handed out in the order they were asked for.
        async with self._locks.setdefault(host, asyncio.Lock()):
            wait = self._next.get(host, 0.0) - self._clock()
            if wait > 0:
                await self._sleep(wait)
            self._next[host] = self._clock() + gap
