"""t.me serves every public channel: requests to it are paced, at most one per `telegram_pace`,
however many channels are due; other hosts are not held."""

from __future__ import annotations

import asyncio
import time

from bot.ops.config import PollingSettings
from bot.sources.fetch import Fetcher
from bot.sources.host_pace import TELEGRAM_HOSTS, HostPace
from tests.builders import rss
from tests.fakes.feed_server import FeedServer


class FakeTime:
    """A clock that moves only when the pace sleeps, recording each sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


async def test_turns_to_a_paced_host_come_one_gap_apart_in_the_order_asked() -> None:
    fake = FakeTime()
    pace = HostPace({"t.me": 1.0}, clock=fake.clock, sleep=fake.sleep)
    order: list[int] = []

    async def ask(n: int) -> None:
        await pace.turn(f"https://t.me/s/channel{n}")
        order.append(n)

    await asyncio.gather(*(ask(n) for n in range(4)))
    assert order == [0, 1, 2, 3]
    assert fake.sleeps == [1.0, 1.0, 1.0]
    assert fake.now == 103.0


async def test_other_hosts_go_at_once_and_the_host_is_read_without_case() -> None:
    fake = FakeTime()
    pace = HostPace({"T.ME": 2.0}, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        await pace.turn("https://news.example/feed.xml")
    assert fake.sleeps == []
    await pace.turn("https://T.me/s/a")
    await pace.turn("https://t.me/s/b")
    assert fake.sleeps == [2.0]


async def test_a_turn_long_after_the_last_needs_no_wait() -> None:
    fake = FakeTime()
    pace = HostPace({"t.me": 1.0}, clock=fake.clock, sleep=fake.sleep)
    await pace.turn("https://t.me/s/a")
    fake.now += 5
    await pace.turn("https://t.me/s/b")
    assert fake.sleeps == []


def test_telegram_is_paced_once_a_second_by_default_on_either_host() -> None:
    assert {"t.me", "telegram.me"} <= set(TELEGRAM_HOSTS)
    assert PollingSettings().telegram_pace.total_seconds() == 1.0


async def test_the_fetcher_takes_a_turn_before_each_request(feed_server: FeedServer) -> None:
    url = feed_server.add("/s/channel", rss(("a", "RVC", "")))
    host = url.split("/")[2].split(":")[0]
    fake = FakeTime()
    pace = HostPace({host: 0.5}, clock=fake.clock, sleep=fake.sleep)
    async with Fetcher(timeout=5, allow_private_addresses=True, pace=pace) as fetcher:
        for _ in range(3):
            assert (await fetcher.fetch(url)).status == 200
    assert fake.sleeps == [0.5, 0.5]
    assert feed_server.hits("/s/channel") == 3


async def test_paced_requests_really_wait(feed_server: FeedServer) -> None:
    url = feed_server.add("/s/channel", rss(("a", "RVC", "")))
    host = url.split("/")[2].split(":")[0]
    async with Fetcher(timeout=5, allow_private_addresses=True, pace=HostPace({host: 0.2})) as f:
        started = time.monotonic()
        await asyncio.gather(*(f.fetch(url) for _ in range(3)))
        # Three turns need two gaps at least, whatever the machine's speed.
        assert time.monotonic() - started >= 0.4
