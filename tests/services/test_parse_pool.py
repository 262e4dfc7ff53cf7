"""Parse workers that die, in real worker processes: killed from outside (as the OOM killer does) while
idle or while parsing, and killed by the document they parse; the pool is made again once, the feeds
in it are parsed again, nothing is left running, and a feed that kills workers is told apart.

No real document kills a worker deterministically (parsing is bounded, and exhausting memory for real
would endanger the machine the tests share), so the parse function is the test's own, given through
`Poller(parse=...)`: it runs in the real pool and, on a marker in the document, stops or really ends
its process. Everything else is `parse_feed`. Each new worker imports this module to find that
function, so the heavy imports (storage, the poller) are done inside the tests, not at the top.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.core.domain import FeedSpec, ParsedFeed, Watchlist
from bot.sources.parsing import parse_feed
from tests.builders import Clock, rss

if TYPE_CHECKING:
    from bot.services.poll import ParsePool
    from bot.sources.fetch import Fetcher
    from bot.storage.repository import Repository
    from tests.fakes.feed_server import FeedServer

RVC = Watchlist("rvc", ("Russian Volunteer Corps", "RVC", "РДК"))
INTERVAL = timedelta(minutes=10)

# --- the parse functions the workers run ------------------------------------------------------

DIE = b"<!-- feedwatch test: the parse worker dies here -->"
HOLD = re.compile(rb"<!-- feedwatch test: hold once in (\S+) -->")


def parse_or_die(
    content: bytes, *, source: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """`parse_feed`, except for two markers. DIE: the process ends at once, as a crash in C code or
    the OOM killer would end it. HOLD (a directory): the first time, the worker writes its pid to
    the FIFO `pid` there and then waits for a signal, so that the test knows it is parsing and can
    kill it; afterwards, the document parses as usual."""
    if DIE in content:
        os._exit(70)
    if (held := HOLD.search(content)) is not None:
        place = Path(held[1].decode())
        try:
            (place / "held").mkdir()
        except FileExistsError:
            pass
        else:
            with (place / "pid").open("w") as fifo:
                fifo.write(str(os.getpid()))
            signal.pause()  # until killed: by the test, or by the broken pool's manager
    return parse_feed(content, source=source, headers=headers)


def die_on_anything(
    content: bytes, *, source: str, headers: Mapping[str, str] | None = None
) -> ParsedFeed:
    """Every worker dies on every document, even a tiny valid one: the pool fails, not a feed."""
    os._exit(70)


# --- the processes --------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, bytes]]:
    """Every process: pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            found[int(entry.name)] = (int(stat.rpartition(")")[2].split()[1]), command)
    return found


def parse_workers() -> set[int]:
    """The worker processes of every parse pool of this process: the children of its forkserver."""
    processes = _processes()
    servers = {
        pid
        for pid, (parent, command) in processes.items()
        if parent == os.getpid() and b"forkserver" in command
    }
    return {pid for pid, (parent, _) in processes.items() if parent in servers}


def gone(*pids: int) -> bool:
    """Whether none of these processes exists any more (not even as a zombie)."""
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


async def pid_of_held_parse(place: Path) -> int:
    """The pid of the worker holding the document marked with `place` (waits for it, no polling:
    opening a FIFO to read blocks until the worker opens it to write)."""
    return int(await asyncio.to_thread((place / "pid").read_text))


def held(place: Path, item: tuple[str, str, str]) -> bytes:
    """A feed whose document holds its worker the first time it is parsed."""
    place.mkdir()
    os.mkfifo(place / "pid")
    marker = f"<!-- feedwatch test: hold once in {place} -->".encode()
    return rss(item).replace(b"<channel>", b"<channel>" + marker, 1)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    from bot.storage.repository import Repository

    # SQLite only: what is tested here happens before storage, which the other tests cover twice.
    repository = Repository.open(f"sqlite:///{tmp_path / 'feedwatch.db'}")
    try:
        yield repository
    finally:
        repository.close()


@contextmanager
def pool_of(workers: int, clock: Clock) -> Iterator[ParsePool]:
    from bot.services.poll import ParsePool

    pool = ParsePool.start(workers, clock=clock)
    assert pool is not None
    try:
        yield pool
    finally:
        pool.shutdown()


def configure(repo: Repository, clock: Clock, *urls: str) -> None:
    repo.sync_config([FeedSpec(url) for url in urls], [RVC], clock())
    repo.subscribe_console_to_all(clock())


# --- the tests --------------------------------------------------------------------------------


async def test_parses_in_flight_when_a_worker_is_killed_are_done_again_after_one_new_pool(
    repo: Repository, fetcher: Fetcher, feed_server: FeedServer, clock: Clock, tmp_path: Path
) -> None:
    # Two feeds hold both workers mid-parse; five more wait for a worker. The OOM killer takes one
    # of the two: the pool breaks, every parse in it fails with it, and all are done again.
    from bot.services.poll import Poller
    from bot.storage.asynchronous import AsyncStorage

    first = feed_server.add("/first.rss", held(tmp_path / "first", ("a", "RVC raid at dawn", "")))
    second = feed_server.add("/second.rss", held(tmp_path / "second", ("b", "Second RVC raid", "")))
    waiting = [feed_server.add(f"/w{n}.rss", rss((f"w{n}", "Sunny in Lviv", ""))) for n in range(5)]
    configure(repo, clock, first, second, *waiting)
    before = parse_workers()
    with pool_of(2, clock) as pool:
        poller = Poller(
            AsyncStorage(repo),
            fetcher,
            clock=clock,
            default_interval=INTERVAL,
            parse_pool=pool,
            parse=parse_or_die,
        )
        polling = asyncio.create_task(poller.poll())
        pids = {
            await pid_of_held_parse(tmp_path / "first"),
            await pid_of_held_parse(tmp_path / "second"),
        }
        os.kill(min(pids), signal.SIGKILL)
        outcomes = {o.feed_url: o for o in await polling}

        assert {url: (o.new_items, o.error) for url, o in outcomes.items()} == {
            url: (1, None) for url in (first, second, *waiting)
        }
        assert pool.restarts == 1  # many failed parses, one new pool
        assert poller.internal_failures == {}
        assert all(f.consecutive_failures == 0 and f.last_error is None for f in repo.feeds())
        # Both old workers are gone (the one killed, and the one the broken pool stopped).
        assert gone(*pids)
        assert len(parse_workers() - before) <= 2
    assert parse_workers() - before == set()


async def test_a_feed_that_kills_its_worker_twice_is_poisonous_and_backs_off(
    repo: Repository, fetcher: Fetcher, feed_server: FeedServer, clock: Clock
) -> None:
    from bot.services.poll import POISONOUS, Poller
    from bot.storage.asynchronous import AsyncStorage

    poison = rss(("p", "RVC raid", "")).replace(b"<channel>", b"<channel>" + DIE, 1)
    bad = feed_server.add("/poison.rss", poison)
    goods = [feed_server.add(f"/good{n}.rss", rss((f"g{n}", "RVC news", ""))) for n in range(3)]
    configure(repo, clock, bad, *goods)
    before = parse_workers()
    with pool_of(2, clock) as pool:
        poller = Poller(
            AsyncStorage(repo),
            fetcher,
            clock=clock,
            default_interval=INTERVAL,
            parse_pool=pool,
            parse=parse_or_die,
        )
        outcomes = {o.feed_url: o for o in await poller.poll()}
        assert outcomes[bad].error == POISONOUS
        assert all(outcomes[url].new_items == 1 for url in goods)
        # The bound: two deaths, one among the other parses and one alone; then a tiny valid
        # feed parsed fine, so the blame is the document's.
        assert pool.restarts == 2
        assert poller.internal_failures == {}  # the feed's fault, not feedwatch's
        state = next(f for f in repo.feeds() if f.url == bad)
        assert (state.last_error, state.consecutive_failures) == (POISONOUS, 1)
        assert state.next_poll_at is not None
        assert timedelta(minutes=18) <= state.next_poll_at - clock() <= timedelta(minutes=22)

        # Due again after its backoff, with the same document: not parsed, no worker dies.
        clock.advance(minutes=25)
        [again] = [o for o in await poller.poll() if o.feed_url == bad]
        assert again.error == POISONOUS
        assert pool.restarts == 2
        state = next(f for f in repo.feeds() if f.url == bad)
        assert state.consecutive_failures == 2
        assert state.next_poll_at is not None
        assert timedelta(minutes=36) <= state.next_poll_at - clock() <= timedelta(minutes=44)

        # A new version of the feed is parsed as any other.
        feed_server.add("/poison.rss", rss(("p", "RVC raid", ""), ("q", "RVC again", "")))
        clock.advance(hours=1)
        [healed] = [o for o in await poller.poll() if o.feed_url == bad]
        assert (healed.new_items, healed.error) == (2, None)
        assert pool.restarts == 2
        assert len(parse_workers() - before) <= 2
    assert parse_workers() - before == set()


async def test_workers_that_die_on_anything_are_the_pools_failure_not_the_feeds(
    repo: Repository, fetcher: Fetcher, feed_server: FeedServer, clock: Clock
) -> None:
    from bot.services.poll import Poller
    from bot.storage.asynchronous import AsyncStorage

    url = feed_server.add("/a.rss", rss(("a", "RVC raid", "")))
    configure(repo, clock, url)
    with pool_of(1, clock) as pool:
        poller = Poller(
            AsyncStorage(repo),
            fetcher,
            clock=clock,
            default_interval=INTERVAL,
            parse_pool=pool,
            parse=die_on_anything,
        )
        [outcome] = await poller.poll()
        assert pool.restarts == 3  # the feed, the feed alone, the tiny valid feed
    assert outcome.error is not None
    assert outcome.error.startswith("the parse workers die even on a tiny valid feed")
    assert poller.internal_failures == {url: outcome.error}
    # Not held against the feed: its health is untouched, and it is tried again once its claim
    # runs out, as after any internal failure.
    [state] = repo.feeds()
    assert (state.last_error, state.consecutive_failures, state.last_polled_at) == (None, 0, None)


async def test_a_pool_makes_its_workers_at_the_first_parse_not_before(clock: Clock) -> None:
    # A multiprocessing queue starts the resource tracker's process: `poll --once` on an
    # unchanged feed paid 40 ms for a pool it never used.
    from concurrent.futures import Executor, ThreadPoolExecutor

    from bot.services.poll import ParsePool

    made: list[Executor] = []

    def make() -> Executor:
        made.append(ThreadPoolExecutor(1))
        return made[-1]

    unused = ParsePool(make, clock=clock)
    unused.shutdown()
    pool = ParsePool(make, clock=clock)
    assert made == []
    assert [await pool.run(lambda: 6 * 7), await pool.run(lambda: 7)] == [42, 7]
    assert len(made) == 1
    pool.shutdown()
