"""Polling end to end on storage (SQLite and PostgreSQL): new items and hits, unchanged feeds, failures
recorded as health with backoff, and one broken feed, whatever breaks it, never stopping the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from multiprocessing import get_context

import httpx
import pytest

import bot.services.poll as poll_module
from bot.core.domain import CONSOLE_CHAT_ID, FeedSpec, ParsedFeed, Watchlist
from bot.services.poll import Poller, summarise
from bot.sources.fetch import Fetcher
from bot.sources.parsing import parse_feed
from bot.storage.asynchronous import AsyncStorage
from bot.storage.repository import Repository
from tests.builders import Clock, rss
from tests.fakes.feed_server import FeedServer, Route

RVC = Watchlist("rvc", ("Russian Volunteer Corps", "RVC", "РДК"))
RAID = ("raid", "RVC claims raid", "Fighters of the Russian Volunteer Corps crossed the border")
WEATHER = ("weather", "Sunny in Lviv", "A warm week ahead")


@pytest.fixture
async def poller(repo: Repository, clock: Clock) -> AsyncIterator[Poller]:
    async with Fetcher(timeout=0.5, allow_private_addresses=True) as fetcher:
        yield Poller(
            AsyncStorage(repo), fetcher, clock=clock, default_interval=timedelta(minutes=10)
        )


def configure(repo: Repository, clock: Clock, *urls: str) -> None:
    repo.sync_config([FeedSpec(url) for url in urls], [RVC], clock())
    repo.subscribe_console_to_all(clock())


async def test_new_items_are_stored_matched_and_queued_once(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    url = feed_server.add("/a.rss", rss(RAID, WEATHER))
    configure(repo, clock, url)
    [outcome] = await poller.poll()
    assert (outcome.new_items, outcome.new_hits, outcome.error) == (2, 1, None)
    [pending] = repo.pending_deliveries(CONSOLE_CHAT_ID)
    assert pending.item.title == "RVC claims raid"
    assert {(m.term, m.text) for m in pending.matches} == {
        ("RVC", "RVC"),
        ("Russian Volunteer Corps", "Russian Volunteer Corps"),
    }
    # Not due again until its interval has passed; then the same items are not new.
    assert await poller.poll() == []
    clock.advance(minutes=12)
    feed_server.add("/a.rss", rss(RAID, WEATHER, ("raid-2", "РДК: new video", "")))
    [again] = await poller.poll()
    assert (again.new_items, again.new_hits) == (1, 1)
    assert len(repo.pending_deliveries(CONSOLE_CHAT_ID)) == 2


async def test_conditional_get_and_an_unchanged_body_skip_parsing(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    with_etag = feed_server.add("/etag.rss", rss(RAID), etag='"v1"')
    ignores_etag = feed_server.add("/plain.rss", rss(RAID))
    configure(repo, clock, with_etag, ignores_etag)
    await poller.poll()
    outcomes = await poller.poll(all_feeds=True)
    assert all(o.not_modified for o in outcomes)
    second_etag_request = [r for r in feed_server.requests if r.path == "/etag.rss"][1]
    assert second_etag_request.headers.get("If-None-Match") == '"v1"'
    assert [f.etag for f in repo.feeds()] == ['"v1"', None]
    assert repo.counts().items == 2


async def test_unchanged_feeds_are_saved_in_batches_and_none_is_left_out(
    repo: Repository,
    poller: Poller,
    feed_server: FeedServer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(poll_module, "UNCHANGED_BATCH", 2)  # 5 feeds: batches of 2, 2, then 1
    urls = [feed_server.add(f"/{n}.rss", rss(RAID), etag=f'"{n}"') for n in range(5)]
    configure(repo, clock, *urls)
    await poller.poll()
    clock.advance(minutes=12)
    outcomes = await poller.poll()
    assert sorted(o.feed_url for o in outcomes if o.not_modified) == sorted(urls)
    assert {f.last_polled_at for f in repo.feeds()} == {clock()}
    assert repo.due_feeds(clock()) == []


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (
            lambda s: s.add(
                "/page", b"<!doctype html><html><body>Hello</body></html>", content_type="text/html"
            ),
            "not a feed",
        ),
        (lambda s: s.add("/page", b"oops", status=500), "HTTP 500 Internal Server Error"),
        (lambda s: s.hang("/page"), "timed out after 0.5 s"),
    ],
    ids=["html-page", "http-500", "timeout"],
)
async def test_a_broken_feed_is_recorded_with_backoff_and_the_others_go_on(
    repo: Repository,
    poller: Poller,
    feed_server: FeedServer,
    clock: Clock,
    setup: Callable[[FeedServer], str],
    reason: str,
) -> None:
    broken = setup(feed_server)
    good = feed_server.add("/good.rss", rss(RAID))
    configure(repo, clock, broken, good)
    outcomes = {o.feed_url: o for o in await poller.poll()}
    assert outcomes[good].new_items == 1
    assert outcomes[broken].error is not None
    assert reason in outcomes[broken].error
    state = next(f for f in repo.feeds() if f.url == broken)
    assert state.consecutive_failures == 1
    assert state.last_error is not None
    assert reason in state.last_error
    assert state.last_success_at is None
    # Backoff: twice the interval (±10% jitter), not the plain interval.
    assert state.next_poll_at is not None
    assert timedelta(minutes=18) <= state.next_poll_at - clock() <= timedelta(minutes=22)
    assert "1 failed" in summarise(list(outcomes.values()))


async def test_recovery_clears_the_error(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    url = feed_server.add("/flaky.rss", b"oops", status=503)
    configure(repo, clock, url)
    await poller.poll()
    feed_server.add("/flaky.rss", rss(RAID))
    clock.advance(hours=1)
    [outcome] = await poller.poll()
    assert outcome.new_items == 1
    [state] = repo.feeds()
    assert (state.consecutive_failures, state.last_error, state.last_success_at) == (
        0,
        None,
        clock(),
    )


async def test_a_permanent_redirect_moves_the_stored_url(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    new = feed_server.add("/new.rss", rss(RAID))
    old = feed_server.redirect("/old.rss", new, status=301)
    configure(repo, clock, old)
    await poller.poll()
    assert [f.url for f in repo.feeds()] == [new]


async def test_a_changed_watchlist_is_used_from_the_next_poll(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    url = feed_server.add("/a.rss", rss(RAID))
    configure(repo, clock, url)
    await poller.poll()
    repo.sync_config([FeedSpec(url)], [Watchlist("rvc", ("RVC", "Легион"))], clock())
    clock.advance(minutes=12)
    feed_server.add("/a.rss", rss(RAID, ("legion", "Легиону пришлось отступить", "")))
    [outcome] = await poller.poll()
    assert (outcome.new_items, outcome.new_hits) == (1, 1)


async def test_a_feed_gone_for_good_is_no_longer_polled_and_says_why(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    gone = feed_server.route("/gone.rss", Route(status=410))
    fine = feed_server.add("/fine.rss", rss(RAID))
    configure(repo, clock, gone, fine)
    outcomes = {o.feed_url: o for o in await poller.poll()}
    assert "gone for good; it is no longer polled" in (outcomes[gone].error or "")
    assert outcomes[fine].new_items == 1
    clock.advance(days=3)
    assert [o.feed_url for o in await poller.poll()] == [fine]
    assert feed_server.hits("/gone.rss") == 1
    shared, _ = repo.chat_feeds(CONSOLE_CHAT_ID)
    assert any(f.url == gone and "410" in (f.last_error or "") for f in shared)


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_on_a_busy_server_puts_the_next_poll_off(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock, status: int
) -> None:
    url = feed_server.route("/busy.rss", Route(status=status, headers={"Retry-After": "3600"}))
    configure(repo, clock, url)
    [outcome] = await poller.poll()
    assert f"HTTP {status}" in (outcome.error or "")
    [feed] = repo.feeds()
    assert feed.next_poll_at is not None
    # An hour, as asked (the backoff alone would be 20 minutes), give or take the jitter.
    assert feed.next_poll_at - clock() >= timedelta(minutes=54)


async def test_a_servers_cache_hint_stretches_the_interval_within_bounds(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    url = feed_server.add("/cached.rss", rss(RAID), headers={"Cache-Control": "max-age=86400"})
    configure(repo, clock, url)
    await poller.poll()
    [feed] = repo.feeds()
    assert feed.next_poll_at is not None
    # A day asked, six intervals (an hour) granted, give or take the jitter.
    assert timedelta(minutes=54) <= feed.next_poll_at - clock() <= timedelta(minutes=66)


async def test_one_server_gets_a_few_requests_at_a_time(
    repo: Repository, feed_server: FeedServer, clock: Clock
) -> None:
    # Each request waits at the server until released: were there no limit per host, all six
    # would be waiting at once before the first is let go.
    gate = threading.Semaphore(0)
    urls = [
        feed_server.route(f"/f{n}.rss", Route(body=rss((f"r{n}", "RVC raid", "")), gate=gate))
        for n in range(6)
    ]
    configure(repo, clock, *urls)
    async with Fetcher(timeout=10, allow_private_addresses=True) as fetcher:
        poller = Poller(
            AsyncStorage(repo),
            fetcher,
            clock=clock,
            default_interval=timedelta(minutes=10),
            per_host=2,
        )
        polling = asyncio.create_task(poller.poll())
        await asyncio.to_thread(feed_server.wait_until, lambda server: server.in_flight == 2)
        gate.release(6)
        outcomes = await polling
    assert [o.new_items for o in outcomes] == [1] * 6
    assert feed_server.most_in_flight == 2


async def test_parsing_in_worker_processes_gives_the_same_items_and_errors(
    repo: Repository, feed_server: FeedServer, clock: Clock
) -> None:
    good = feed_server.add("/good.rss", rss(RAID, WEATHER))
    html = feed_server.add(
        "/page.rss", b"<html><body>Not a feed</body></html>", content_type="text/html"
    )
    configure(repo, clock, good, html)
    with ProcessPoolExecutor(1, mp_context=get_context("forkserver")) as pool:
        async with Fetcher(timeout=5, allow_private_addresses=True) as fetcher:
            poller = Poller(
                AsyncStorage(repo),
                fetcher,
                clock=clock,
                default_interval=timedelta(minutes=10),
                parse_pool=pool,
            )
            outcomes = {o.feed_url: o for o in await poller.poll()}
    assert (outcomes[good].new_items, outcomes[good].new_hits) == (2, 1)
    # The parse error crossed back from the worker with its reason, not as a broken pool.
    assert "HTML" in (outcomes[html].error or "")


async def test_chats_are_told_once_when_a_feed_has_failed_for_three_days(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    url = feed_server.route("/down.rss", Route(status=500))
    configure(repo, clock, url)
    await poller.poll()
    for _ in range(3):
        assert repo.pending_notices() == []
        clock.advance(days=1, minutes=1)
        await poller.poll(all_feeds=True)
    [notice] = repo.pending_notices()
    assert notice.chat_id == CONSOLE_CHAT_ID
    assert notice.since.year == 2024
    assert "HTTP 500" in notice.reason
    clock.advance(days=1)
    await poller.poll(all_feeds=True)
    assert len(repo.pending_notices()) == 1  # once per run of failures

    # Healthy again, then down for three more days: news again.
    feed_server.add("/down.rss", rss(RAID))
    clock.advance(days=1)
    await poller.poll(all_feeds=True)
    feed_server.route("/down.rss", Route(status=500))
    for _ in range(4):
        clock.advance(days=1)
        await poller.poll(all_feeds=True)
    assert len(repo.pending_notices()) == 2


# --- whatever goes wrong with one feed is that feed's failure -----------------------------------

OUT_OF_MEMORY = b"<!-- feedwatch test: parsing this runs out of memory -->"


def parse_or_run_out(
    content: bytes, *, source: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """`parse_feed`, except that a marked document raises MemoryError, as a huge one can."""
    if OUT_OF_MEMORY in content:
        raise MemoryError
    return parse_feed(content, source=source, headers=headers)


class OutOfMemoryTransport(httpx.AsyncHTTPTransport):
    """The network as it is, except that reading /huge.rss runs out of memory (issue 14, part 1)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/huge.rss":
            raise MemoryError
        return await super().handle_async_request(request)


async def test_an_unexpected_error_fetching_one_feed_fails_that_feed_not_the_round(
    repo: Repository, feed_server: FeedServer, clock: Clock
) -> None:
    huge = feed_server.add("/huge.rss", rss(RAID))
    good = feed_server.add("/good.rss", rss(RAID))
    configure(repo, clock, huge, good)
    async with Fetcher(timeout=5, transport=OutOfMemoryTransport()) as fetcher:
        poller = Poller(
            AsyncStorage(repo), fetcher, clock=clock, default_interval=timedelta(minutes=10)
        )
        outcomes = {o.feed_url: o for o in await poller.poll()}
    assert outcomes[good].new_items == 1
    # Whoever turns it into a reason (the fetcher, or the poll round), it is one plain line.
    error = outcomes[huge].error
    assert error is not None
    assert "MemoryError" in error or "memory" in error
    assert "\n" not in error
    assert "Traceback" not in error


async def test_any_exception_polling_one_feed_is_its_failure_logged_once_with_its_traceback(
    repo: Repository, feed_server: FeedServer, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    bad = feed_server.add("/bad.rss", rss(RAID).replace(b"<channel>", b"<channel>" + OUT_OF_MEMORY))
    good = feed_server.add("/good.rss", rss(RAID, WEATHER))
    configure(repo, clock, bad, good)
    async with Fetcher(timeout=5, allow_private_addresses=True) as fetcher:
        poller = Poller(
            AsyncStorage(repo),
            fetcher,
            clock=clock,
            default_interval=timedelta(minutes=10),
            parse=parse_or_run_out,
        )
        outcomes = {o.feed_url: o for o in await poller.poll()}
    assert outcomes[good].new_items == 2
    assert outcomes[bad].error == "internal error: MemoryError"
    assert poller.internal_failures == {bad: "internal error: MemoryError"}
    # In its health like any failure, backed off like any failure.
    state = next(f for f in repo.feeds() if f.url == bad)
    assert (state.last_error, state.consecutive_failures) == ("internal error: MemoryError", 1)
    assert state.next_poll_at is not None
    assert timedelta(minutes=18) <= state.next_poll_at - clock() <= timedelta(minutes=22)
    about_bad = [r for r in caplog.records if bad in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in about_bad] == [
        ("ERROR", f"{bad}: internal error: MemoryError (failure 1 in a row)")
    ]
    assert about_bad[0].exc_info is not None
    assert about_bad[0].exc_info[0] is MemoryError


async def test_cancelling_a_round_cancels_it_and_is_no_feeds_failure(
    repo: Repository, feed_server: FeedServer, clock: Clock
) -> None:
    gate = threading.Semaphore(0)  # the request waits at the server until the test is done
    url = feed_server.route("/slow.rss", Route(body=rss(RAID), gate=gate))
    configure(repo, clock, url)
    async with Fetcher(timeout=60, allow_private_addresses=True) as fetcher:
        poller = Poller(
            AsyncStorage(repo), fetcher, clock=clock, default_interval=timedelta(minutes=10)
        )
        polling = asyncio.create_task(poller.poll())
        await asyncio.to_thread(feed_server.wait_until, lambda server: server.in_flight == 1)
        polling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await polling
        gate.release()
    [state] = repo.feeds()
    assert (state.last_error, state.consecutive_failures) == (None, 0)
