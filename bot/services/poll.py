"""Poll feeds: fetch, skip what did not change, parse, match new items, store them with their hits.

One feed's failure, whatever raised it, is that feed's outcome and never stops the round; a failure
before the store leaves the feed due again, so nothing is lost. A parse worker that dies is replaced.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import random
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from multiprocessing import get_context
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

from bot.core.channel_address import CANONICAL_BASE, channel_name, page_url
from bot.core.channel_depth import ChannelDepth, older_page_before, post_number
from bot.core.channel_edits import edit_versions
from bot.core.domain import (
    FeedState,
    Match,
    ParsedFeed,
    ParsedItem,
    PollOutcome,
    Source,
    StoreResult,
    Watchlist,
)
from bot.core.errors import FeedwatchError, FetchError, ParseError
from bot.core.matching.scope import ScopedMatcher
from bot.core.schedule import cache_hint, next_poll_at, retry_after
from bot.ops.outages import OutageReporter, plain
from bot.ops.replica import replica_name
from bot.sources import feedparser_tuning
from bot.sources.fetch import Fetcher
from bot.sources.parsing import parse_feed

log = logging.getLogger(__name__)

TELL_CHATS_AFTER = timedelta(days=3)
"""A feed failing this long is worth a message to the chats that draw on it (once per run)."""

UNCHANGED_BATCH = 250
"""Unchanged feeds' new state is saved this many at a time, in one transaction: most polls find
nothing new, and a commit each would cost more than the conditional GET did."""

FEED_PAGE = 500
"""`poll --all` reads the feeds this many at a time, as it has room to poll them: the feeds in
memory, and the polls in flight, stay as many whether there are a thousand feeds or a hundred
thousand."""


CANARY = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>canary</title>'
    b"<item><title>canary</title><guid>feedwatch:canary</guid></item></channel></rss>"
)
"""A tiny valid feed. A parse worker that dies on it as well says nothing about the feed it was
parsing before: the pool itself is what fails (a memory limit that every worker hits, say)."""

POISONOUS = (
    "poisonous feed: parsing it killed a parse worker twice, the second time alone; this version "
    "of the feed is not parsed again"
)
"""A feed's health when its document kills parse workers: the bound is two deaths per document,
one among other parses and one alone (so that the blame is certain); the same document is not
parsed again while this process runs, and the feed backs off like any failing feed."""

T = TypeVar("T")


class PollSyncStorage(Protocol):
    """The part of storage the poller calls from its worker thread, with matching in between."""

    def unseen_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]: ...

    def newest_post_number(self, feed_id: int) -> int | None: ...

    def stored_versions(
        self, feed_id: int, keys: Sequence[str]
    ) -> Mapping[str, Sequence[tuple[str, str]]]: ...

    def store_items(
        self,
        feed_id: int,
        items: Sequence[tuple[ParsedItem, Mapping[str, Sequence[Match]]]],
        now: datetime,
        *,
        state: FeedState | None = None,
        archive_before: datetime | None = None,
    ) -> StoreResult: ...


class PollStorage(Protocol):
    """What polling needs of storage (`bot.storage.asynchronous.AsyncStorage` is one)."""

    @property
    def sync(self) -> PollSyncStorage: ...

    async def feeds_after(self, after: int, limit: int) -> list[FeedState]: ...

    async def claim_due_feeds(
        self, now: datetime, owner: str, lease: timedelta, limit: int
    ) -> list[FeedState]: ...

    async def disable_feed(self, feed_id: int, reason: str, now: datetime) -> None: ...

    async def save_feed_state(self, state: FeedState) -> FeedState: ...

    async def save_feed_states(self, states: Sequence[FeedState]) -> int: ...

    async def tell_chats_feed_is_failing(
        self, feed_id: int, reason: str, since: datetime, now: datetime
    ) -> int: ...

    async def watchlists(self) -> list[Watchlist]: ...


class ParseFunction(Protocol):
    """What parses a document; `parse_feed`, unless a caller gives another (it must pickle: it runs
    in the parse workers)."""

    def __call__(
        self, content: bytes, *, source: str, headers: Mapping[str, str] | None = None
    ) -> ParsedFeed: ...


class WorkerDied(Exception):
    """A parse worker died while this parse was in the pool (running or waiting); the pool has been
    made again, and the parse may be tried again."""


class ParsePoolError(FeedwatchError):
    """Parsing in worker processes is impossible now: the pool cannot be made again, or its workers
    die on any document. Not the feed's fault."""


def _process_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: a clean process to copy, not this one with its threads and sockets. Each worker
    # tunes its own feedparser before its first parse.
    return ProcessPoolExecutor(
        workers, mp_context=get_context("forkserver"), initializer=feedparser_tuning.install
    )


def _worker_count(workers: int | None) -> int:
    return (os.cpu_count() or 1) if workers is None else workers


def parse_pool(workers: int | None) -> ProcessPoolExecutor | None:
    """A plain executor of worker processes for parsing: `workers` of them, one per core when None;
    none (parse in a thread) when 0. Shut it down when done. The bot uses `ParsePool.start`, which
    makes the executor again when a worker dies; a plain one given to `Poller` is not remade."""
    workers = _worker_count(workers)
    return _process_pool(workers) if workers > 0 else None


class ParsePool:
    """Parse worker processes that outlive the death of one (the OOM killer, a crash in C code).

    Such a death breaks the whole executor: every parse in it fails with BrokenProcessPool, and it
    takes no more. The first parse to see that makes a new executor, one for all of them, and shuts
    the broken one down; every parse that was in it raises `WorkerDied` and may be done again
    `alone`, with no other parse in the pool, so that a document that kills its worker again is
    known to be the one that did. Used from one event loop."""

    def __init__(self, make: Callable[[], Executor], *, clock: Callable[[], datetime]) -> None:
        self._make = make
        self._clock = clock
        # Made at the first parse: a multiprocessing queue starts the resource tracker's process
        # (40 ms), which a `poll --once` that parses nothing never needs (start-up, issue 19).
        self._executor: Executor | None = None
        self._generation = 0
        self.restarts = 0
        """How many times the executor was made again (a count for tests and operators)."""
        self.outage = OutageReporter("the parse pool", logger=log)
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # Cleared while a parse runs alone: no other parse may start then.
        self._open = asyncio.Event()
        self._open.set()
        self._alone = asyncio.Lock()
        self._closed = False

    @classmethod
    def start(cls, workers: int | None, *, clock: Callable[[], datetime]) -> ParsePool | None:
        """`workers` processes, one per core when None; None (parse in a thread) when 0. Nothing is
        started before the first parse. Shut it down when done."""
        workers = _worker_count(workers)
        if workers <= 0:
            return None
        return cls(functools.partial(_process_pool, workers), clock=clock)

    @classmethod
    def given(cls, executor: Executor, *, clock: Callable[[], datetime]) -> ParsePool:
        """A ready-made executor, which its owner shuts down; once broken, it is not made again
        (every parse then fails with `ParsePoolError`)."""
        handed: list[Executor] = [executor]

        def make() -> Executor:
            if not handed:
                raise ParsePoolError("the parse pool was given ready-made and cannot be made again")
            return handed.pop()

        return cls(make, clock=clock)

    async def run(self, call: Callable[[], T], *, alone: bool = False) -> T:
        """`call()` in a worker process; raises `WorkerDied` when a worker died meanwhile."""
        if self._closed:
            # A round still running while the bot stops: not the feed's failure.
            raise ParsePoolError("the parse pool is shut down")
        await self._enter(alone)
        try:
            executor, generation = self._current(), self._generation
            result = await asyncio.get_running_loop().run_in_executor(executor, call)
        except BrokenExecutor as error:
            await self._replace(executor, generation)
            raise WorkerDied(str(error)) from error
        finally:
            self._leave(alone)
        self.outage.worked(self._clock())
        return result

    def _current(self) -> Executor:
        if self._executor is None:
            try:
                self._executor = self._make()
            except ParsePoolError:
                raise
            except Exception as error:  # no process could be started (memory, process limits)
                raise ParsePoolError(f"the parse pool cannot be made: {error}") from error
        return self._executor

    async def _replace(self, broken: Executor, generation: int) -> None:
        """Make the executor again, unless another parse of the same broken one did already."""
        if generation != self._generation:
            return
        self._generation += 1
        self.outage.failed(
            self._clock(),
            f"a parse worker died (killed, out of memory, or crashed); {self._running} parses "
            "that were in the pool are done again, one at a time",
        )
        try:
            # Before any await: a parse that starts meanwhile must find the new executor.
            self._executor = self._make()
            self.restarts += 1
        except ParsePoolError:
            raise
        except Exception as error:  # no process could be started (memory, process limits)
            raise ParsePoolError(f"the parse pool cannot be made again: {error}") from error
        finally:
            # The broken executor's manager has stopped its workers; this waits until they are
            # gone, so that none is left behind (in a thread: joining blocks).
            await asyncio.to_thread(broken.shutdown, wait=True, cancel_futures=True)

    async def _enter(self, alone: bool) -> None:
        if alone:
            await self._alone.acquire()
            self._open.clear()
            try:
                while self._running:
                    await self._idle.wait()
            except BaseException:
                self._open.set()
                self._alone.release()
                raise
        else:
            while not self._open.is_set():
                await self._open.wait()
        # No await between the checks above and this count: nothing else runs in between.
        self._running += 1
        self._idle.clear()

    def _leave(self, alone: bool) -> None:
        # Synchronous, so that a cancelled parse cannot leave the count wrong.
        self._running -= 1
        if not self._running:
            self._idle.set()
        if alone:
            self._open.set()
            self._alone.release()

    def shutdown(self) -> None:
        """Stop the workers (parses still waiting are cancelled, later ones refused)."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


class Poller:
    """Polls due feeds concurrently, within a global limit and a limit per host."""

    def __init__(
        self,
        store: PollStorage,
        fetcher: Fetcher,
        *,
        clock: Callable[[], datetime],
        default_interval: timedelta,
        concurrency: int = 64,
        per_host: int = 4,
        parse_pool: ParsePool | Executor | None = None,
        parse: ParseFunction | None = None,
        rng: random.Random | None = None,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        channel_depth: ChannelDepth | None = None,
        archive_age: timedelta | None = None,
    ) -> None:
        self.store = store
        self.channel_depth = channel_depth or ChannelDepth()
        # None or zero: a feed's first poll stores every item as news, however old.
        self.archive_age = archive_age or None
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
        if isinstance(parse_pool, Executor):
            parse_pool = ParsePool.given(parse_pool, clock=clock)
        self._parse_pool = parse_pool
        # None: `parse_feed`, looked up when called (the benchmark times it by replacing it).
        self._parse_function = parse
        # Feed id -> the hash of its document that killed parse workers (see POISONOUS).
        self._poisonous: dict[int, str] = {}
        self.internal_failures: dict[str, str] = {}
        """The last round's feeds that failed inside feedwatch, by URL, with the reason: the
        database or the parse pool (the feed's health is left as it was), or an unexpected error
        (recorded in its health too: it may well be the feed's doing, as a huge body is)."""
        # Storage writes go one at a time: SQLite has one writer, and it keeps PostgreSQL calm too.
        self._store_lock = asyncio.Lock()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._compiled: LazyMatcher | None = None
        self._unchanged: list[FeedState] = []

    async def poll(self, *, all_feeds: bool = False) -> list[PollOutcome]:
        """Poll the feeds that are due, claimed a batch at a time so that replicas sharing the
        database share them (or every feed, unclaimed, still with conditional GET: an operator's
        `poll --once --all`)."""
        self.internal_failures = {}
        if all_feeds:
            outcomes = await self._poll_all()
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
        matcher: LazyMatcher | None = None
        running: set[asyncio.Task[PollOutcome]] = set()
        outcomes: list[PollOutcome] = []
        started: set[int] = set()  # feed ids polled this round: none is polled twice
        try:
            while True:
                room = self._concurrency - len(running)
                # Refill once half the slots are free: a claim is a write, not worth one per feed.
                if not running or room >= max(1, self._concurrency // 2):
                    try:
                        claimed = await self.store.claim_due_feeds(
                            self.clock(), self.owner, self.lease, room
                        )
                    except Exception:
                        # The feeds in hand are polled to the end (their states saved), then
                        # the round fails.
                        if running:
                            await asyncio.wait(running)
                        running = set()
                        raise
                    if claimed and matcher is None:
                        matcher = await self._matcher()
                    for feed in claimed:
                        assert matcher is not None
                        if feed.id in started:
                            # Its claim ran out while it waited for its host (a thousand channels
                            # queue for t.me's pace), and it was claimed again: it is being polled,
                            # or was polled while the claim was asked for, this round.
                            continue
                        started.add(feed.id)
                        running.add(asyncio.create_task(self._poll_guarded(feed, matcher)))
                if not running:
                    return outcomes
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                outcomes.extend(task.result() for task in done)
        except BaseException:
            # Cancelled, or the claim failed: no feed's poll is left running unseen.
            await _cancelled(running)
            raise

    async def _poll_all(self) -> list[PollOutcome]:
        """Every enabled feed, read a page at a time as there is room to poll it; outcomes in the
        order of the feeds. No more polls are in flight (tasks, their requests, their states) than
        the limit allows: a feed whose host is at its own limit waits aside, without a task, until
        one of that host's polls ends, and the feeds after it go on."""
        outcomes: list[PollOutcome | None] = []
        matcher: LazyMatcher | None = None
        page: deque[tuple[int, FeedState]] = deque()
        last_id = 0
        read_all = False
        running: dict[asyncio.Task[PollOutcome], tuple[int, str]] = {}  # -> (index, host)
        busy: dict[str, int] = {}  # host -> polls in flight
        aside: dict[str, deque[tuple[int, FeedState]]] = {}  # host -> feeds waiting for it
        finished: deque[asyncio.Task[PollOutcome]] = deque()
        wake: asyncio.Future[None] | None = None
        failure: Exception | None = None

        def done(task: asyncio.Task[PollOutcome]) -> None:
            finished.append(task)
            if wake is not None and not wake.done():
                wake.set_result(None)

        def start(index: int, feed: FeedState, host: str) -> None:
            assert matcher is not None
            busy[host] = busy.get(host, 0) + 1
            task = asyncio.create_task(self._poll_caught(feed, matcher))
            running[task] = (index, host)
            # A callback, not asyncio.wait: that would hook into every running task each time.
            task.add_done_callback(done)

        try:
            while True:
                while len(running) < self._concurrency and (page or not read_all):
                    if not page:
                        try:
                            feeds = await self.store.feeds_after(last_id, FEED_PAGE)
                        except Exception as error:
                            # The feeds in hand are polled to the end (their states saved),
                            # then the round fails.
                            failure, read_all = error, True
                            continue
                        read_all = len(feeds) < FEED_PAGE
                        if feeds:
                            last_id = feeds[-1].id
                            page.extend(enumerate(feeds, start=len(outcomes)))
                            outcomes.extend([None] * len(feeds))
                            if matcher is None:
                                matcher = await self._matcher()
                        continue
                    index, feed = page.popleft()
                    host = _host(feed.url)
                    if busy.get(host, 0) < self._per_host:
                        start(index, feed, host)
                    else:
                        aside.setdefault(host, deque()).append((index, feed))
                if not running:
                    # A host with feeds aside has polls in flight: none is left behind.
                    assert not aside
                    break
                if not finished:
                    wake = asyncio.get_running_loop().create_future()
                    await wake
                while finished:
                    task = finished.popleft()
                    index, host = running.pop(task)
                    outcomes[index] = task.result()
                    busy[host] -= 1
                    waiting = aside.get(host)
                    if waiting:
                        # The slot this poll leaves, in the round and on its host, is the next's.
                        start(*waiting.popleft(), host)
                        if not waiting:
                            del aside[host]
                    elif not busy[host]:
                        del busy[host]
        except BaseException:
            # Cancelled: no poll is left running unseen.
            await _cancelled(running)
            raise
        if failure is not None:
            raise failure
        return [outcome for outcome in outcomes if outcome is not None]

    async def _matcher(self) -> LazyMatcher:
        """The watchlists of this round, compiled when the first changed feed needs them (a round
        of 304s compiles nothing, and loads no dictionary), and again only when they changed."""
        watchlists = tuple(await self.store.watchlists())
        if self._compiled is None or self._compiled.watchlists != watchlists:
            self._compiled = LazyMatcher(watchlists)
        return self._compiled

    def _host_slots(self, url: str) -> asyncio.Semaphore:
        host = _host(url)
        slots = self._hosts.get(host)
        if slots is None:
            slots = self._hosts[host] = asyncio.Semaphore(self._per_host)
        return slots

    async def _poll_guarded(self, feed: FeedState, matcher: LazyMatcher) -> PollOutcome:
        """`poll_feed` when the feed's host and the round have room."""
        async with self._host_slots(feed.url), self._slots:
            return await self._poll_caught(feed, matcher)

    async def _poll_caught(self, feed: FeedState, matcher: LazyMatcher) -> PollOutcome:
        """`poll_feed`, with whatever it raises made this feed's failure, never the round's
        (cancellation, KeyboardInterrupt and SystemExit still go through)."""
        try:
            return await self.poll_feed(feed, matcher)
        except FeedwatchError as error:
            # Storage or the parse pool: the feed keeps its old state and stays due (once its
            # claim runs out), so it is retried. The parse pool logs its own outage.
            if not isinstance(error, ParsePoolError):
                log.error("polling %s failed: %s", feed.url, error)
            self.internal_failures[feed.url] = str(error)
            return PollOutcome(feed.url, error=str(error))
        except Exception as error:
            # A bug of ours, or MemoryError: the feed's health says so, in a plain sentence,
            # and it backs off like any failing feed; the log has the traceback, once.
            reason = f"internal error: {plain(error)}"
            self.internal_failures[feed.url] = reason
            try:
                return await self._failed(feed, self.clock(), reason, error=error)
            except Exception as saving:
                log.error("%s: its failure could not be saved: %s", feed.url, plain(saving))
                return PollOutcome(feed.url, error=reason)

    async def poll_feed(self, feed: FeedState, matcher: LazyMatcher) -> PollOutcome:
        now = self.clock()
        channel = channel_name(feed.url)
        started = time.perf_counter()
        try:
            fetched = await self.fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
        except FetchError as error:
            fetch_seconds = time.perf_counter() - started
            if error.status == 410:
                log.warning("%s: %s", feed.url, error.reason)
                await self.store.disable_feed(feed.id, error.reason, now)
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
            # A channel keeps its one address, whichever base served its page.
            url=fetched.final_url if fetched.moved_permanently and channel is None else feed.url,
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
            parsed = await self._parse(feed, fetched.content, fetched.headers, body_hash)
        except ParseError as error:
            parse_seconds = time.perf_counter() - started
            failed = await self._failed(feed, now, error.reason)
            return replace(failed, fetch_seconds=fetch_seconds, parse_seconds=parse_seconds)
        if channel is not None:
            # A channel's page holds its newest posts only: older pages fill what it misses.
            try:
                parsed, missed = await self._read_back(feed, channel, parsed, now)
            except FetchError as error:
                wait = retry_after(error.retry_after, now) if error.status in (429, 503) else None
                return await self._failed(feed, now, error.reason, hint=wait)
            except ParseError as error:
                return await self._failed(feed, now, error.reason)
            if missed:
                log.warning(
                    "%s: %d posts not read: the gap since the last poll is longer than the "
                    "read-back depth",
                    feed.url,
                    missed,
                )
                healthy = replace(healthy, missed_posts=feed.missed_posts + missed)
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

        # A feed read for the first time may list years of items: those already old are its
        # archive, which digests hold apart rather than tell as new mentions.
        first_read = feed.last_success_at is None
        archive_before = now - self.archive_age if first_read and self.archive_age else None
        async with self._store_lock:
            # Matching runs in a thread, one feed at a time (under this lock): the matcher's
            # word caches are not shared between threads, and the event loop stays free.
            stored = await asyncio.to_thread(
                self._store,
                parsed.items,
                matcher,
                replace(healthy, body_hash=body_hash),
                now,
                archive_before,
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

    async def _read_back(
        self, feed: FeedState, channel: str, newest: ParsedFeed, now: datetime
    ) -> tuple[ParsedFeed, int]:
        """The channel's newest page, with older pages before it until the posts already stored
        are reached, or the depth is (a first poll, a gap after downtime); and how many posts a
        gap longer than the depth left unread. Any page that fails fails the poll, and nothing is
        stored: the next poll reads back from the top again, so no post between is skipped."""
        items = list(newest.items)
        page = newest.items
        while True:
            keys = [item.key for item in page]
            unseen = await asyncio.to_thread(self.store.sync.unseen_keys, feed.id, keys)
            reached = len(unseen) < len(keys)
            before = older_page_before(
                items, reached_stored=reached, depth=self.channel_depth, now=now
            )
            if before is None:
                break
            url = page_url(channel, CANONICAL_BASE, before=before)
            fetched = await self.fetcher.fetch(url)
            parsed = await self._parse(
                replace(feed, url=url), fetched.content, fetched.headers, None
            )
            # Only what is older: a page that gives nothing older ends the reading.
            page = tuple(item for item in parsed.items if (post_number(item) or before) < before)
            if not page:
                break
            items[:0] = page
        missed = 0
        if not reached and feed.last_success_at is not None:
            # Read before, and the stored posts were not reached: those between were skipped.
            # (Numbers count deleted and service messages too: it is an upper bound.)
            newest_stored = await asyncio.to_thread(self.store.sync.newest_post_number, feed.id)
            numbers = [n for item in items if (n := post_number(item)) is not None]
            if newest_stored is not None and numbers:
                missed = max(0, min(numbers) - newest_stored - 1)
        return replace(newest, items=tuple(items)), missed

    def _store(
        self,
        items: Sequence[ParsedItem],
        lazy: LazyMatcher,
        state: FeedState,
        now: datetime,
        archive_before: datetime | None = None,
    ) -> StoreResult:
        """Match the items this feed has not stored yet, then store them with the feed's new
        state (in a worker thread: storage and matching block); those published before
        `archive_before` are marked as the feed's archive."""
        unseen = self.store.sync.unseen_keys(state.id, [item.key for item in items])
        matcher = lazy.compiled()
        source = Source(state.display_name, state.url)
        fresh: list[tuple[ParsedItem, Mapping[str, Sequence[Match]]]] = []
        fresh += _match_new(matcher, items, unseen, source)
        # A channel marks a post it edited: its new text may hit a list the old one did not.
        edited = [item for item in items if item.edited and item.key not in unseen]
        if edited:
            stored = self.store.sync.stored_versions(state.id, [item.key for item in edited])

            def match(title: str, summary: str) -> dict[str, tuple[Match, ...]]:
                return matcher.match_item(title, summary, source=source)

            fresh += edit_versions(edited, stored, match)
        return self.store.sync.store_items(
            state.id, fresh, now, state=state, archive_before=archive_before
        )

    async def _save_unchanged(self, *, flush: bool = False) -> None:
        """Save the state of the unchanged feeds polled so far, once a batch is full (or now)."""
        if len(self._unchanged) < (1 if flush else UNCHANGED_BATCH):
            return
        batch, self._unchanged = self._unchanged, []
        async with self._store_lock:
            await self.store.save_feed_states(batch)

    async def _parse(
        self, feed: FeedState, content: bytes, headers: Mapping[str, str], body_hash: str | None
    ) -> ParsedFeed:
        parse = self._parse_function or parse_feed
        call = functools.partial(parse, content, source=feed.url, headers=dict(headers))
        pool = self._parse_pool
        if pool is None:
            return await asyncio.to_thread(call)
        if body_hash is not None and self._poisonous.get(feed.id) == body_hash:
            raise ParseError(feed.url, POISONOUS)
        try:
            parsed = await pool.run(call)
        except WorkerDied:
            # Every parse that was in the pool gets here; the pool has logged the death once.
            try:
                parsed = await pool.run(call, alone=True)
            except WorkerDied:
                await self._blame(pool, parse)
                if body_hash is not None:
                    self._poisonous[feed.id] = body_hash
                raise ParseError(feed.url, POISONOUS) from None
        self._poisonous.pop(feed.id, None)
        return parsed

    @staticmethod
    async def _blame(pool: ParsePool, parse: ParseFunction) -> None:
        """A document killed its worker while alone in the pool: its fault, unless the workers die
        on a tiny valid feed as well (then the pool fails, whatever the document)."""
        canary = functools.partial(parse, CANARY, source="feedwatch:canary", headers={})
        try:
            await pool.run(canary, alone=True)
        except WorkerDied as error:
            raise ParsePoolError(
                "the parse workers die even on a tiny valid feed; parsing is impossible until "
                "that is fixed (a memory limit?)"
            ) from error

    async def _failed(
        self,
        feed: FeedState,
        now: datetime,
        reason: str,
        *,
        hint: timedelta | None = None,
        error: BaseException | None = None,
    ) -> PollOutcome:
        failures = feed.consecutive_failures + 1
        log.log(
            logging.ERROR if error is not None else logging.WARNING,
            "%s: %s (failure %d in a row)",
            feed.url,
            reason,
            failures,
            exc_info=error,
        )
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
        await self.store.save_feed_state(state)
        if now - since >= TELL_CHATS_AFTER:
            told = await self.store.tell_chats_feed_is_failing(feed.id, reason, since, now)
            if told:
                log.warning("%s: failing since %s; told %d chats", feed.url, since, told)
        return PollOutcome(feed.url, error=reason)


async def _cancelled(running: Collection[asyncio.Task[PollOutcome]]) -> None:
    """Cancel the polls still running, and wait until each has ended."""
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running)


class LazyMatcher:
    """Watchlists, compiled the first time they are needed: under the poller's store lock, in its
    worker thread (where `_store` runs), so never twice at once."""

    def __init__(self, watchlists: tuple[Watchlist, ...]) -> None:
        self.watchlists = watchlists
        self._matcher: ScopedMatcher | None = None

    def compiled(self) -> ScopedMatcher:
        if self._matcher is None:
            self._matcher = ScopedMatcher(self.watchlists)
        return self._matcher


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _match_new(
    matcher: ScopedMatcher, items: Sequence[ParsedItem], unseen: set[str], source: Source
) -> list[tuple[ParsedItem, dict[str, tuple[Match, ...]]]]:
    """The items not stored yet, each with its hits (of the lists that look at `source`); a
    feed that lists a key twice yields one."""
    fresh: list[tuple[ParsedItem, dict[str, tuple[Match, ...]]]] = []
    seen_now: set[str] = set()
    for item in items:
        if item.key in unseen and item.key not in seen_now:
            seen_now.add(item.key)
            found = matcher.match_item(
                item.title,
                item.summary,
                author=item.author,
                categories=item.categories,
                source=source,
            )
            fresh.append((item, found))
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
