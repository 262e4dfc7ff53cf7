"""`poll --all` at scale: feeds read a page at a time and no more polls in flight than the limit,
a busy host never holding up the others; and the feed states it reads and saves in bulk."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import bot.services.poll as poll_module
from bot.core.domain import FeedSpec, Watchlist
from bot.services.poll import Poller
from bot.sources.fetch import Fetcher
from bot.storage.asynchronous import AsyncStorage
from bot.storage.repository import Repository
from tests.builders import Clock, rss
from tests.fakes.feed_server import FeedServer, Route

RVC = Watchlist("rvc", ("Russian Volunteer Corps", "RVC"))
INTERVAL = timedelta(minutes=10)


def configure(repo: Repository, clock: Clock, *urls: str) -> None:
    repo.sync_config([FeedSpec(url) for url in urls], [RVC], clock())


def gated(
    server: FeedServer, gate: threading.Semaphore, count: int, prefix: str = "f"
) -> list[str]:
    """`count` feeds whose every request waits at the server until the test releases the gate."""
    return [
        server.route(
            f"/{prefix}{n}.rss", Route(body=rss((f"{prefix}{n}", "RVC raid", "")), gate=gate)
        )
        for n in range(count)
    ]


async def test_no_more_polls_are_in_flight_than_the_limit_however_many_feeds(
    repo: Repository, feed_server: FeedServer, clock: Clock, fetcher: Fetcher
) -> None:
    # Every poll was a task from the start, each with its request's state, waiting for a slot:
    # 20,000 feeds made 20,000 tasks at once. Now a poll starts when there is room for it.
    gate = threading.Semaphore(0)
    urls = gated(feed_server, gate, 30)
    configure(repo, clock, *urls)
    poller = Poller(
        AsyncStorage(repo), fetcher, clock=clock, default_interval=INTERVAL, concurrency=3
    )
    polling = asyncio.create_task(poller.poll(all_feeds=True))
    try:
        await asyncio.to_thread(feed_server.wait_until, lambda server: server.in_flight == 3)
        # This test's task, the round's, and one for each poll in flight.
        assert len(asyncio.all_tasks()) <= 2 + 3
    finally:
        gate.release(len(urls))
    outcomes = await polling
    # Every feed polled once, the outcomes in the order of the feeds.
    assert [o.feed_url for o in outcomes] == urls
    assert [o.new_items for o in outcomes] == [1] * len(urls)
    assert feed_server.most_in_flight == 3
    assert all(feed_server.hits(f"/f{n}.rss") == 1 for n in range(len(urls)))


async def test_feeds_waiting_for_their_busy_host_do_not_hold_up_the_others(
    repo: Repository, feed_server: FeedServer, clock: Clock, fetcher: Fetcher
) -> None:
    # Six feeds of one host come first; that host takes two at a time. The two feeds of another
    # host after them are polled meanwhile: a queue that took the feeds in turn would stop at the
    # third feed of the first host, with room to spare.
    busy_gate, other_gate = threading.Semaphore(0), threading.Semaphore(0)
    busy = gated(feed_server, busy_gate, 6)
    with FeedServer(host="127.0.0.2") as other_server:
        other = gated(other_server, other_gate, 2, prefix="o")
        configure(repo, clock, *busy, *other)
        poller = Poller(
            AsyncStorage(repo),
            fetcher,
            clock=clock,
            default_interval=INTERVAL,
            concurrency=4,
            per_host=2,
        )
        polling = asyncio.create_task(poller.poll(all_feeds=True))
        try:
            # Both hosts at their limit at once, the third feed of the first still waiting.
            await asyncio.to_thread(feed_server.wait_until, lambda server: server.in_flight == 2)
            await asyncio.to_thread(other_server.wait_until, lambda server: server.in_flight == 2)
        finally:
            busy_gate.release(len(busy))
            other_gate.release(len(other))
        outcomes = await polling
    assert [o.feed_url for o in outcomes] == [*busy, *other]
    assert [o.new_items for o in outcomes] == [1] * 8
    assert (feed_server.most_in_flight, other_server.most_in_flight) == (2, 2)


async def test_the_feeds_are_read_a_page_at_a_time_and_each_is_polled_once(
    repo: Repository,
    feed_server: FeedServer,
    clock: Clock,
    fetcher: Fetcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(poll_module, "FEED_PAGE", 2)
    urls = [feed_server.add(f"/{n}.rss", rss((f"{n}", "RVC raid", ""))) for n in range(7)]
    configure(repo, clock, *urls)
    # Two retired between the pages: they are not polled, and no page comes out short for them.
    kept = [url for n, url in enumerate(urls) if n not in (2, 3)]
    configure(repo, clock, *kept)
    poller = Poller(AsyncStorage(repo), fetcher, clock=clock, default_interval=INTERVAL)
    outcomes = await poller.poll(all_feeds=True)
    assert [o.feed_url for o in outcomes] == kept
    assert [o.new_items for o in outcomes] == [1] * len(kept)
    assert [feed_server.hits(f"/{n}.rss") for n in range(7)] == [1, 1, 0, 0, 1, 1, 1]
    # Again, all unchanged: their states saved in bulk.
    clock.advance(minutes=12)
    again = await poller.poll(all_feeds=True)
    assert [o.not_modified for o in again] == [True] * len(kept)
    assert {f.last_polled_at for f in repo.feeds()} == {clock()}


def test_the_feeds_come_a_page_at_a_time_by_id_enabled_ones_only(
    repo: Repository, clock: Clock
) -> None:
    urls = [f"https://news.example/{n}.rss" for n in range(5)]
    configure(repo, clock, *urls)
    configure(repo, clock, *(url for url in urls if not url.endswith("/1.rss")))
    everything = repo.feeds()
    first = repo.feeds_after(0, 2)
    second = repo.feeds_after(first[-1].id, 2)
    third = repo.feeds_after(second[-1].id, 2)
    assert [f.url for f in [*first, *second]] == [f.url for f in everything]
    assert third == []
    assert first + second == everything  # the same states as the whole list gives


def test_states_of_healthy_and_failing_feeds_are_saved_together(
    repo: Repository, clock: Clock
) -> None:
    # A healthy feed's save also clears that its failure was told (another column than a
    # failing feed's save writes): both kinds in one call.
    configure(repo, clock, "https://a.example/rss", "https://b.example/rss")
    repo.subscribe_console_to_all(clock())
    a, b = repo.feeds()
    since = clock()
    clock.advance(days=3)
    failing = replace(a, last_error="HTTP 500", consecutive_failures=5, failing_since=since)
    assert repo.save_feed_states([failing]) == 1
    assert repo.tell_chats_feed_is_failing(a.id, "HTTP 500", since, clock()) == 1
    healthy = replace(a, etag='"a2"', last_polled_at=clock(), last_success_at=clock())
    b_failing = replace(b, last_error="timed out", consecutive_failures=1, failing_since=clock())
    assert repo.save_feed_states([healthy, b_failing]) == 2
    after = {f.id: f for f in repo.feeds()}
    assert (after[a.id].etag, after[a.id].last_error, after[a.id].failing_since) == (
        '"a2"',
        None,
        None,
    )
    assert (after[b.id].last_error, after[b.id].consecutive_failures) == ("timed out", 1)
    assert after[b.id].failing_since == clock()
    # Healthy again, so a new run of failures is news again.
    assert repo.tell_chats_feed_is_failing(a.id, "HTTP 500", clock(), clock()) == 1


def test_the_states_of_unchanged_feeds_commit_without_an_fsync(
    tmp_path: Path, clock: Clock
) -> None:
    # A power cut may undo such a commit: the feeds are then polled again, nothing is lost. One
    # fsync per batch of 304s cost more wall time than the batch's requests did.
    repo = Repository.open(f"sqlite:///{tmp_path / 'feedwatch.db'}")
    try:
        configure(repo, clock, "https://a.example/rss")
        [feed] = repo.feeds()
        sent: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            sent.append(" ".join(statement.split()).upper())

        event.listen(repo.engine, "before_cursor_execute", record)
        assert repo.save_feed_states([replace(feed, etag='"v2"', last_polled_at=clock())]) == 1
        first_write = next(i for i, s in enumerate(sent) if s.startswith("UPDATE"))
        pragmas = [s for s in sent[:first_write] if s.startswith("PRAGMA SYNCHRONOUS")]
        assert pragmas[-1:] == ["PRAGMA SYNCHRONOUS=NORMAL"]
        assert repo.feeds()[0].etag == '"v2"'
    finally:
        repo.close()
