"""Poll feeds: fetch, skip what did not change, parse, match new items, store them with their hits.

One feed's failure is recorded in its health and never stops the others; a failure before the store
leaves the feed due again, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from html import escape
from multiprocessing import get_context
from urllib.parse import urlsplit

from bot.domain import FeedState, Match, ParsedFeed, ParsedItem, PollOutcome, Watchlist
from bot.errors import FeedwatchError, FetchError, ParseError
from bot.fetch import Fetcher
from bot.matching import Matcher
from bot.parsing import parse_feed
from bot.replica import replica_name
from bot.schedule import cache_hint, next_poll_at, retry_after
from bot.storage.repository import Repository, StoreResult
from bot.texts import language_of, tr

log = logging.getLogger(__name__)

TELL_CHATS_AFTER = timedelta(days=3)
"""A feed failing this long is worth a message to the chats that draw on it (once per run)."""

UNCHANGED_BATCH = 250
"""Unchanged feeds' new state is saved this many at a time, in one transaction: most polls find
nothing new, and a commit each would cost more than the conditional GET did."""


def parse_pool(workers: int | None) -> ProcessPoolExecutor | None:
    """Worker processes for parsing: `workers` of them, one per core when None; no pool (parse
    in a thread) when 0. Shut it down when done."""
    if workers is None:
        workers = os.cpu_count() or 1
    if workers <= 0:
        return None
    # forkserver: a clean process to copy, not this one with its threads and sockets.
    return ProcessPoolExecutor(workers, mp_context=get_context("forkserver"))


class Poller:
    """Polls due feeds concurrently, within a global limit and a limit per host."""

    def __init__(
        self,
        repo: Repository,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime],
        default_interval: timedelta,
        concurrency: int = 64,
        per_host: int = 4,
        parse_pool: Executor | None = None,
        rng: random.Random | None = None,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.repo = repo
        self.fetcher = fetcher
        self.clock = clock
        self.default_interval = default_interval
        # Replicas on one database tell their claims apart by this name; see `_poll_claimed`.
        self.owner = owner or replica_name()
        self.lease = lease
        self._concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        # A few requests at a time to one server, however many of its feeds are due.
        self._per_host = per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # Parsing in worker processes, so that one huge feed holds no lock the others need; in a
        # thread of this process when no pool is given.
        self._parse_pool = parse_pool
        # Storage writes go one at a time: SQLite has one writer, and it keeps PostgreSQL calm too.
        self._store_lock = asyncio.Lock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._compiled: tuple[tuple[Watchlist, ...], Matcher] | None = None
        self._unchanged: list[FeedState] = []

    async def poll(self, *, all_feeds: bool = False) -> list[PollOutcome]:
        """Poll the feeds that are due, claimed a batch at a time so that replicas sharing the
        database share them (or every feed, unclaimed, still with conditional GET: an operator's
        `poll --once --all`)."""
        if all_feeds:
            feeds = await asyncio.to_thread(self.repo.feeds)
            outcomes: list[PollOutcome] = []
            if feeds:
                matcher = await self._matcher()
                polls = (self._poll_guarded(feed, matcher) for feed in feeds)
                outcomes = list(await asyncio.gather(*polls))
        else:
            outcomes = await self._poll_claimed()
        try:
            await self._save_unchanged(flush=True)
        except FeedwatchError as error:
            # Those feeds keep their old state (and their claim, until it runs out): they are
            # asked again after that.
            log.error("saving the state of unchanged feeds failed: %s", error)
        return outcomes

    async def _poll_claimed(self) -> list[PollOutcome]:
        """Claim due feeds as there is room to poll them, until none is left: a replica holds no
        more feeds than it is polling, so the others take the rest, and a feed due meanwhile is
        not left for the next tick."""
        matcher: Matcher | None = None
        running: set[asyncio.Task[PollOutcome]] = set()
        outcomes: list[PollOutcome] = []
        while True:
            room = self._concurrency - len(running)
            # Refill once half the slots are free: a claim is a write, not worth one per feed.
            if not running or room >= max(1, self._concurrency // 2):
                claimed = await asyncio.to_thread(
                    self.repo.claim_due_feeds, self.clock(), self.owner, self.lease, room
                )
                if claimed and matcher is None:
                    matcher = await self._matcher()
                for feed in claimed:
                    assert matcher is not None
                    running.add(asyncio.create_task(self._poll_guarded(feed, matcher)))
            if not running:
                return outcomes
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            outcomes.extend(task.result() for task in done)

    async def _matcher(self) -> Matcher:
        """The compiled watchlists, compiled again only when they changed."""
        watchlists = tuple(await asyncio.to_thread(self.repo.watchlists))
        if self._compiled is None or self._compiled[0] != watchlists:
            matcher = await asyncio.to_thread(Matcher, watchlists)
            self._compiled = (watchlists, matcher)
        return self._compiled[1]

    def _host_slots(self, url: str) -> asyncio.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        slots = self._hosts.get(host)
        if slots is None:
            slots = self._hosts[host] = asyncio.Semaphore(self._per_host)
        return slots

    async def _poll_guarded(self, feed: FeedState, matcher: Matcher) -> PollOutcome:
        async with self._host_slots(feed.url), self._slots:
            try:
                return await self.poll_feed(feed, matcher)
            except FeedwatchError as error:
                # Storage trouble: the feed keeps its old state and stays due, so it is retried.
                log.error("polling %s failed: %s", feed.url, error)
                return PollOutcome(feed.url, error=str(error))

    async def poll_feed(self, feed: FeedState, matcher: Matcher) -> PollOutcome:
        now = self.clock()
        started = time.perf_counter()
        try:
            fetched = await self.fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as error:
            fetch_seconds = time.perf_counter() - started
            if error.status == 410:
                log.warning("%s: %s", feed.url, error.reason)
                await asyncio.to_thread(self.repo.disable_feed, feed.id, error.reason, now)
                return PollOutcome(
                    feed.url, error=error.reason, gone=True, fetch_seconds=fetch_seconds
                )
            wait = retry_after(error.retry_after, now) if error.status in (429, 503) else None
            failed = await self._failed(feed, now, error.reason, hint=wait)
            return replace(failed, fetch_seconds=fetch_seconds)
        fetch_seconds = time.perf_counter() - started

        interval = feed.interval or self.default_interval
        healthy = replace(
            feed,
            url=fetched.final_url if fetched.moved_permanently else feed.url,
            etag=fetched.etag or feed.etag,
            last_modified=fetched.last_modified or feed.last_modified,
            last_polled_at=now,
            last_success_at=now,
            last_error=None,
            consecutive_failures=0,
            failing_since=None,
            next_poll_at=next_poll_at(
                now,
                interval,
                jitter=self._rng.random(),
                hint=cache_hint(fetched.headers, None),
            ),
        )
        body_hash = (
            hashlib.sha256(fetched.content).hexdigest() if not fetched.not_modified else None
        )
        if fetched.not_modified or body_hash == feed.body_hash:
            # Many servers ignore conditional GET; an unchanged body needs no parse either.
            self._unchanged.append(healthy)
            await self._save_unchanged()
            return PollOutcome(feed.url, not_modified=True, fetch_seconds=fetch_seconds)

        started = time.perf_counter()
        try:
            parsed = await self._parse(fetched.content, feed.url, fetched.headers)
        except ParseError as error:
            parse_seconds = time.perf_counter() - started
            failed = await self._failed(feed, now, error.reason)
            return replace(failed, fetch_seconds=fetch_seconds, parse_seconds=parse_seconds)
        # With parse workers, this includes waiting for a free one.
        parse_seconds = time.perf_counter() - started
        if parsed.ttl_minutes:
            # The feed's own <ttl> may stretch the wait further than the headers did.
            healthy = replace(
                healthy,
                next_poll_at=next_poll_at(
                    now,
                    interval,
                    jitter=self._rng.random(),
                    hint=cache_hint(fetched.headers, parsed.ttl_minutes),
                ),
            )

        async with self._store_lock:
            # Matching runs in a thread, one feed at a time (under this lock): the matcher's
            # word caches are not shared between threads, and the event loop stays free.
            stored = await asyncio.to_thread(
                self._store, parsed.items, matcher, replace(healthy, body_hash=body_hash), now
            )
        if stored.new_items:
            log.info(
                "%s: %d new items, %d hits", feed.display_name, stored.new_items, stored.new_hits
            )
        return PollOutcome(
            feed.url,
            new_items=stored.new_items,
            new_hits=stored.new_hits,
            fetch_seconds=fetch_seconds,
            parse_seconds=parse_seconds,
        )

    def _store(
        self, items: Sequence[ParsedItem], matcher: Matcher, state: FeedState, now: datetime
    ) -> StoreResult:
        """Match the items this feed has not stored yet, then store them with the feed's new
        state (in a worker thread: storage and matching block)."""
        unseen = self.repo.unseen_keys(state.id, [item.key for item in items])
        fresh = _match_new(matcher, items, unseen)
        return self.repo.store_items(state.id, fresh, now, state=state)

    async def _save_unchanged(self, *, flush: bool = False) -> None:
        """Save the state of the unchanged feeds polled so far, once a batch is full (or now)."""
        if len(self._unchanged) < (1 if flush else UNCHANGED_BATCH):
            return
        batch, self._unchanged = self._unchanged, []
        async with self._store_lock:
            await asyncio.to_thread(self.repo.save_feed_states, batch)

    async def _parse(self, content: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
        if self._parse_pool is None:
            return await asyncio.to_thread(parse_feed, content, source=url, headers=headers)
        loop = asyncio.get_running_loop()
        call = functools.partial(parse_feed, content, source=url, headers=dict(headers))
        return await loop.run_in_executor(self._parse_pool, call)

    async def _failed(
        self, feed: FeedState, now: datetime, reason: str, *, hint: timedelta | None = None
    ) -> PollOutcome:
        failures = feed.consecutive_failures + 1
        log.warning("%s: %s (failure %d in a row)", feed.url, reason, failures)
        since = feed.failing_since or now
        state = replace(
            feed,
            last_polled_at=now,
            last_error=reason,
            consecutive_failures=failures,
            failing_since=since,
            next_poll_at=next_poll_at(
                now,
                feed.interval or self.default_interval,
                consecutive_failures=failures,
                jitter=self._rng.random(),
                hint=hint,
            ),
        )
        await asyncio.to_thread(self.repo.save_feed_state, state)
        if now - since >= TELL_CHATS_AFTER:
            told = await asyncio.to_thread(
                self.repo.tell_chats_feed_is_failing, feed.id, _failing(feed, reason, since), now
            )
            if told:
                log.warning("%s: failing since %s; told %d chats", feed.url, since, told)
        return PollOutcome(feed.url, error=reason)


def _failing(feed: FeedState, reason: str, since: datetime) -> Callable[[str | None], str]:
    """The notice that a feed has been failing for days, in a chat's language (HTML)."""

    def text(language: str | None) -> str:
        return tr(
            language_of(language),
            "The feed {feed} has failed since {since}: {reason}. feedwatch keeps trying it, at "
            "most once a day; /feeds shows its health.",
            feed=escape(feed.display_name),
            since=f"{since:%Y-%m-%d %H:%M} UTC",
            reason=escape(reason),
        )

    return text


def _match_new(
    matcher: Matcher, items: Sequence[ParsedItem], unseen: set[str]
) -> list[tuple[ParsedItem, dict[str, tuple[Match, ...]]]]:
    """The items not stored yet, each with its hits; a feed that lists a key twice yields one."""
    fresh: list[tuple[ParsedItem, dict[str, tuple[Match, ...]]]] = []
    seen_now: set[str] = set()
    for item in items:
        if item.key in unseen and item.key not in seen_now:
            seen_now.add(item.key)
            fresh.append((item, matcher.match(item.title, item.summary)))
    return fresh


def summarise(outcomes: Sequence[PollOutcome]) -> str:
    """One line for logs and `feedwatch poll --once`."""
    failed = sum(1 for o in outcomes if o.error)
    unchanged = sum(1 for o in outcomes if o.not_modified)
    items = sum(o.new_items for o in outcomes)
    hits = sum(o.new_hits for o in outcomes)
    return (
        f"polled {len(outcomes)} feeds: {items} new items, {hits} hits, "
        f"{unchanged} unchanged, {failed} failed"
    )
