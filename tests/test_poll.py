"""Polling end to end on storage (SQLite and PostgreSQL): new items and hits, unchanged feeds, failures
recorded as health with backoff, and one broken feed never stopping the others."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from bot.domain import CONSOLE_CHAT_ID, FeedSpec, Watchlist
from bot.fetch import Fetcher
from bot.pipeline.poll import Poller, summarise
from bot.storage.repository import Repository
from tests.builders import Clock, rss
from tests.fakes.feed_server import FeedServer

RVC = Watchlist("rvc", ("Russian Volunteer Corps", "RVC", "РДК"))
RAID = ("raid", "RVC claims raid", "Fighters of the Russian Volunteer Corps crossed the border")
WEATHER = ("weather", "Sunny in Lviv", "A warm week ahead")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def poller(repo: Repository, clock: Clock) -> AsyncIterator[Poller]:
    async with Fetcher(timeout=0.5, allow_private_addresses=True) as fetcher:
        yield Poller(repo, fetcher, clock=clock, default_interval=timedelta(minutes=10))


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
