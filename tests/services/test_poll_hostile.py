"""Hostile feed servers against a real poll cycle (SQLite and PostgreSQL): each hostile feed is polled
beside a good one and must end as a health record with a plain message and a backoff, in bounded
memory and time, while the good feed's items are stored as usual."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import itertools
import re
import struct
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta

import brotli
import pytest

from bot.core.domain import CONSOLE_CHAT_ID, FeedSpec, FeedState, PollOutcome, Watchlist
from bot.services.poll import Poller
from bot.sources.address_guard import GuardedBackend, guarded_transport, refusal
from bot.sources.fetch import MAX_BODY_BYTES, Fetcher
from bot.sources.parsing import MAX_TITLE_LENGTH
from bot.storage.asynchronous import AsyncStorage
from bot.storage.repository import Repository
from tests.builders import Clock, rss
from tests.fakes.feed_server import FeedServer, Route

RVC = Watchlist("rvc", ("Russian Volunteer Corps", "RVC", "РДК"))
INTERVAL = timedelta(minutes=10)
GOOD = rss(("weather-1", "Sunny in Lviv", "A warm week ahead"), title="Good outlet")
# A poll cycle that takes longer than this is a hang, whatever the feeds do.
CYCLE_LIMIT = 10.0
# The fetch cap is 10 MiB, read as a stream; holding the capped body (and a copy while the buffer
# grows) stays far below this, where reading a 50 MB body whole, or expanding entities, would not.
MEMORY_LIMIT = 32 * 2**20
RSS_HEAD = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Huge</title>'
RSS_ITEM = (
    b"<item><title>RVC raid, again</title><description>" + b"x" * 900 + b"</description></item>"
)


@pytest.fixture
async def poller(repo: Repository, clock: Clock) -> AsyncIterator[Poller]:
    async with Fetcher(timeout=0.5, allow_private_addresses=True) as fetcher:
        yield Poller(AsyncStorage(repo), fetcher, clock=clock, default_interval=INTERVAL)


def configure(repo: Repository, clock: Clock, *urls: str) -> None:
    repo.sync_config([FeedSpec(url) for url in urls], [RVC], clock())
    repo.subscribe_console_to_all(clock())


async def cycle(poller: Poller) -> dict[str, PollOutcome]:
    """One poll cycle, which must finish: a hostile feed may fail, never hold the others up."""
    async with asyncio.timeout(CYCLE_LIMIT):
        outcomes = await poller.poll()
    return {outcome.feed_url: outcome for outcome in outcomes}


def feed(repo: Repository, url: str) -> FeedState:
    [state] = [f for f in repo.feeds() if f.url == url]
    return state


def assert_plain_sentence(reason: str | None) -> None:
    """A reason a user can read: one short line, no traceback, no repr, no library's name."""
    assert reason
    assert "\n" not in reason
    assert len(reason) < 300
    assert not re.search(
        r"Traceback|Exception|[A-Za-z]Error\(|httpx|httpcore|anyio|h11|<class|object at 0x", reason
    ), reason


def assert_backoff(state: FeedState, now: datetime, failures: int) -> None:
    """The failed feed waits its interval doubled per failure in a row (±10% jitter)."""
    assert state.consecutive_failures == failures
    assert state.last_polled_at == now
    assert state.last_success_at is None
    assert state.next_poll_at is not None
    expected = INTERVAL * 2**failures
    assert expected * 0.9 <= state.next_poll_at - now <= expected * 1.1


def assert_good_feed_stored(repo: Repository, outcomes: dict[str, PollOutcome], url: str) -> None:
    assert outcomes[url].error is None
    assert outcomes[url].new_items == 1
    state = feed(repo, url)
    assert (state.item_count, state.last_error, state.consecutive_failures) == (1, None, 0)


async def cycle_with_peak_memory(poller: Poller) -> tuple[dict[str, PollOutcome], int]:
    """A poll cycle, and the peak of memory allocated while it ran (every thread counts)."""
    tracemalloc.start()
    try:
        outcomes = await cycle(poller)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return outcomes, peak


FIFTY_MB_ITEMS = 50 * 2**20 // len(RSS_ITEM) + 1
FIFTY_MB = len(RSS_HEAD) + FIFTY_MB_ITEMS * len(RSS_ITEM)


def _fifty_megabytes() -> Iterator[bytes]:
    """A 50 MB feed, made as it is sent (the same item again and again), never held whole."""
    return itertools.chain([RSS_HEAD], itertools.repeat(RSS_ITEM, FIFTY_MB_ITEMS))


# --- failures: each recorded with its reason and a growing backoff ---------------------------


def _redirect_loop(server: FeedServer) -> str:
    server.redirect("/loop-b", f"{server.url}/hostile")
    return server.redirect("/hostile", f"{server.url}/loop-b")


FAILURES = [
    pytest.param(
        lambda s: s.add("/hostile", b"oops", status=500, content_type="text/plain"),
        "HTTP 500 Internal Server Error",
        id="http-500",
    ),
    pytest.param(
        lambda s: s.add("/hostile", b"no such feed", status=404, content_type="text/plain"),
        "HTTP 404 Not Found",
        id="http-404",
    ),
    pytest.param(_redirect_loop, "more than 5 redirects", id="redirect-loop"),
    pytest.param(
        lambda s: s.add(
            "/hostile",
            b"<!DOCTYPE html><html><head><title>News</title></head><body><p>Hi</p></body></html>",
            content_type="text/html; charset=utf-8",
        ),
        "not a feed: looks like an HTML page",
        id="html-page",
    ),
    pytest.param(lambda s: s.add("/hostile", b""), "the document is empty", id="empty-body"),
    pytest.param(
        # One byte a second: the headers come at once, the body never in time.
        lambda s: s.drip("/hostile", GOOD, every=1.0),
        "timed out after 0.5 s",
        id="one-byte-per-second",
    ),
]


@pytest.mark.parametrize(("setup", "reason"), FAILURES)
async def test_a_hostile_feed_is_recorded_with_backoff_and_the_good_one_is_stored(
    repo: Repository,
    poller: Poller,
    feed_server: FeedServer,
    clock: Clock,
    setup: Callable[[FeedServer], str],
    reason: str,
) -> None:
    hostile = setup(feed_server)
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)

    outcomes = await cycle(poller)
    assert outcomes[hostile].error == reason
    assert_plain_sentence(outcomes[hostile].error)
    state = feed(repo, hostile)
    assert state.last_error == reason
    assert state.item_count == 0
    assert_backoff(state, clock(), failures=1)
    assert_good_feed_stored(repo, outcomes, good)
    # Not asked again before the backoff is over: one request (a loop: one run of redirects).
    asked = feed_server.hits("/hostile")
    assert asked == (3 if "redirects" in reason else 1)
    clock.advance(minutes=17)
    assert hostile not in await cycle(poller)
    assert feed_server.hits("/hostile") == asked

    # Due again: it fails again and waits twice as long.
    clock.advance(minutes=6)
    again = await cycle(poller)
    assert again[hostile].error == reason
    assert_backoff(feed(repo, hostile), clock(), failures=2)
    assert repo.counts().items == 1


async def test_a_drip_is_cut_off_by_the_whole_request_timeout_not_per_read(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    # A byte every 50 ms: each read gets data well within httpx's 0.5 s read timeout, so only the
    # bound on the whole request stops the 10 KB body that would take eight minutes.
    body = rss(*((f"d{n}", "RVC raid", "x" * 80) for n in range(80)))
    assert len(body) > 10_000
    hostile = feed_server.drip("/drip.rss", body, every=0.05)
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)

    started = time.monotonic()
    outcomes = await cycle(poller)
    elapsed = time.monotonic() - started

    assert outcomes[hostile].error == "timed out after 0.5 s"
    assert elapsed < 5
    assert 2 <= feed_server.bytes_sent("/drip.rss") < len(body)
    assert_backoff(feed(repo, hostile), clock(), failures=1)
    assert_good_feed_stored(repo, outcomes, good)


# --- too big: refused at the cap, in bounded memory ------------------------------------------


BIG_BODIES = [
    pytest.param(lambda s: s.endless("/hostile", RSS_ITEM, head=RSS_HEAD), id="never-ending-body"),
    pytest.param(lambda s: s.stream("/hostile", _fifty_megabytes), id="50-MB-body-without-length"),
    pytest.param(
        lambda s: s.stream("/hostile", _fifty_megabytes, headers={"Content-Length": str(FIFTY_MB)}),
        id="50-MB-body-with-length",
    ),
]


@pytest.mark.parametrize("setup", BIG_BODIES)
async def test_a_body_over_the_cap_is_refused_in_bounded_memory(
    repo: Repository,
    feed_server: FeedServer,
    clock: Clock,
    setup: Callable[[FeedServer], str],
) -> None:
    hostile = setup(feed_server)
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)
    # Ten seconds, not the fixture's half a second: the cap must stop the body, not the clock.
    async with Fetcher(timeout=10, allow_private_addresses=True) as fetcher:
        poller = Poller(AsyncStorage(repo), fetcher, clock=clock, default_interval=INTERVAL)
        outcomes, peak = await cycle_with_peak_memory(poller)

    assert outcomes[hostile].error == "the feed is larger than 10 MiB"
    assert peak < MEMORY_LIMIT, f"polling took {peak / 2**20:.1f} MiB"
    # Streamed, not read whole: the server was cut off well before 50 MB.
    assert feed_server.bytes_sent("/hostile") < 3 * MAX_BODY_BYTES
    assert_backoff(feed(repo, hostile), clock(), failures=1)
    assert_good_feed_stored(repo, outcomes, good)


# --- entity bombs: parsed, defused, in bounded memory ----------------------------------------


def _quadratic_blow_up() -> bytes:
    # One 50 KB entity referenced 10,000 times: 500 MB of text if expanded. Laid out like this
    # (an HTML entity beside it, one declaration a line) feedparser's loose parser expands it all:
    # about 1 GB at the peak, were the parser's guard not there.
    references = "&big;" * 5_000
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<!DOCTYPE rss [\n<!ENTITY big "{"A" * 50_000}">\n<!ENTITY nbsp "&#160;">\n]>\n'
        '<rss version="2.0"><channel><title>Blow-up</title>'
        f"<item><guid>bomb</guid><title>RVC&nbsp;raid {references}</title>"
        f"<description>{references}</description></item></channel></rss>"
    ).encode()


def _billion_laughs() -> bytes:
    # Ten levels of ten references each: 10^9 "lol"s if expanded.
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]>'
        '<rss version="2.0"><channel><title>Laughs</title>'
        "<item><guid>bomb</guid><title>RVC raid &lol9;</title>"
        "<description>&lol9;&lol9;</description></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "body", [_quadratic_blow_up(), _billion_laughs()], ids=["quadratic-blow-up", "billion-laughs"]
)
async def test_an_entity_bomb_is_defused_and_its_item_stored_in_bounded_memory(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock, body: bytes
) -> None:
    hostile = feed_server.add("/bomb.rss", body)
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)

    outcomes, peak = await cycle_with_peak_memory(poller)

    assert peak < MEMORY_LIMIT, f"polling took {peak / 2**20:.1f} MiB"
    assert (outcomes[hostile].error, outcomes[hostile].new_items) == (None, 1)
    [pending] = repo.pending_deliveries(CONSOLE_CHAT_ID)
    assert pending.item.title.startswith("RVC raid")
    assert len(pending.item.title) <= MAX_TITLE_LENGTH
    # The whole text is kept, and it is never longer than the body: the bomb is not expanded.
    assert len(pending.item.summary) <= len(body)
    assert "A" * 1_000 not in pending.item.title + pending.item.summary
    assert "lol" * 100 not in pending.item.title + pending.item.summary
    state = feed(repo, hostile)
    assert (state.last_error, state.consecutive_failures, state.last_success_at) == (
        None,
        0,
        clock(),
    )
    assert_good_feed_stored(repo, outcomes, good)


# --- invalid UTF-8 ---------------------------------------------------------------------------

# A UTF-8 feed in which a CMS cut a character in half: four bytes that are not UTF-8.
INVALID_UTF8 = (
    (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Курск сегодня</title>'
        "<item><guid>a</guid><title>РДК: рейд BAD</title><description>Бои в Курской области</description>"
        "</item><item><guid>b</guid><title>Погода</title><description>Тепло</description></item>"
        "</channel></rss>"
    )
    .encode()
    .replace(b"BAD", b"\xff\xfe\xc3(")
)


async def test_invalid_utf8_is_stored_not_failed_and_the_good_feed_goes_on(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    with pytest.raises(UnicodeDecodeError):
        INVALID_UTF8.decode("utf-8")
    hostile = feed_server.add("/broken.rss", INVALID_UTF8)
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)

    outcomes = await cycle(poller)

    assert (outcomes[hostile].error, outcomes[hostile].new_items) == (None, 2)
    state = feed(repo, hostile)
    assert (state.item_count, state.last_error, state.consecutive_failures) == (2, None, 0)
    assert_good_feed_stored(repo, outcomes, good)


async def test_invalid_utf8_keeps_the_valid_text_so_terms_still_match(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    hostile = feed_server.add("/broken.rss", INVALID_UTF8)
    configure(repo, clock, hostile)

    [outcome] = (await cycle(poller)).values()

    assert (outcome.new_items, outcome.new_hits) == (2, 1)
    [pending] = repo.pending_deliveries(CONSOLE_CHAT_ID)
    assert pending.item.title.startswith("РДК: рейд")
    assert pending.item.summary == "Бои в Курской области"


# --- what the server says about the feed: gone, busy, moved ----------------------------------


async def test_a_feed_gone_for_good_is_disabled_with_its_reason_and_never_asked_again(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    hostile = feed_server.route("/gone.rss", Route(status=410, body=b"gone"))
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)

    outcomes = await cycle(poller)

    reason = "HTTP 410 Gone: the server says the feed is gone for good; it is no longer polled"
    assert outcomes[hostile].error == reason
    assert_plain_sentence(reason)
    assert_good_feed_stored(repo, outcomes, good)
    assert [f.url for f in repo.feeds()] == [good]  # disabled feeds are not listed
    shared, _ = repo.chat_feeds(CONSOLE_CHAT_ID)
    [gone] = [f for f in shared if f.url == hostile]
    assert (gone.last_error, gone.consecutive_failures, gone.last_polled_at) == (
        reason,
        1,
        clock(),
    )
    clock.advance(days=30)
    assert list(await cycle(poller)) == [good]
    assert feed_server.hits("/gone.rss") == 1


@pytest.mark.parametrize(
    ("retry_after", "minutes"),
    [
        ("1800", 30),  # seconds, longer than the 20-minute backoff: as asked
        ("Tue, 12 Mar 2024 06:40:00 GMT", 40),  # an HTTP date, 40 minutes after the clock's now
        ("604800", 60),  # a week: capped at six intervals
        ("60", 20),  # shorter than the backoff: the backoff stands
        ("Tue, 12 Mar 2024 05:00:00 GMT", 20),  # already past: the backoff stands
        ("after lunch", 20),  # unreadable: the backoff stands
    ],
    ids=["seconds", "http-date", "a-week", "short", "past-date", "garbage"],
)
async def test_too_many_requests_waits_as_long_as_retry_after_says_within_bounds(
    repo: Repository,
    poller: Poller,
    feed_server: FeedServer,
    clock: Clock,
    retry_after: str,
    minutes: int,
) -> None:
    hostile = feed_server.route(
        "/busy.rss", Route(status=429, body=b"slow down", headers={"Retry-After": retry_after})
    )
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)

    outcomes = await cycle(poller)

    assert outcomes[hostile].error == "HTTP 429 Too Many Requests"
    assert_good_feed_stored(repo, outcomes, good)
    state = feed(repo, hostile)
    assert (state.last_error, state.consecutive_failures) == ("HTTP 429 Too Many Requests", 1)
    assert state.next_poll_at is not None
    wait = timedelta(minutes=minutes)
    assert wait * 0.9 <= state.next_poll_at - clock() <= wait * 1.1
    # Left alone until then, asked again after.
    clock.advance(minutes=minutes * 0.9 - 1)
    assert hostile not in await cycle(poller)
    clock.advance(minutes=minutes * 0.2 + 2)
    assert hostile in await cycle(poller)
    assert feed_server.hits("/busy.rss") == 2


async def test_a_chain_of_permanent_redirects_moves_the_feed_to_the_end_of_it(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    final = feed_server.add("/final.rss", rss(("r1", "RVC raid", "Fighters crossed the border")))
    # Five hops, 301s and a 308: the most the fetcher follows.
    hop = final
    for n, status in enumerate([301, 308, 301, 301, 301]):
        hop = feed_server.redirect(f"/hop{n}.rss", hop, status=status)
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hop, good)

    outcomes = await cycle(poller)

    assert (outcomes[hop].error, outcomes[hop].new_items, outcomes[hop].new_hits) == (None, 1, 1)
    assert_good_feed_stored(repo, outcomes, good)
    assert sorted(f.url for f in repo.feeds()) == sorted([final, good])
    moved = feed(repo, final)
    assert (moved.item_count, moved.last_error, moved.consecutive_failures) == (1, None, 0)
    # The next poll goes straight to the new address; the items are not new there.
    clock.advance(minutes=12)
    again = await cycle(poller)
    assert again[final].error is None
    assert feed_server.hits("/hop4.rss") == 1
    assert feed_server.hits("/final.rss") == 2
    assert repo.counts().items == 2


async def test_a_chain_with_a_temporary_redirect_keeps_the_configured_url(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    final = feed_server.add("/final.rss", rss(("r1", "RVC raid", "")))
    middle = feed_server.redirect("/middle.rss", final, status=302)
    start = feed_server.redirect("/start.rss", middle, status=301)
    configure(repo, clock, start)

    [outcome] = (await cycle(poller)).values()

    assert (outcome.error, outcome.new_items) == (None, 1)
    assert [f.url for f in repo.feeds()] == [start]


# --- the address guard -----------------------------------------------------------------------

GUARD_REASON = (
    "address guard: 127.0.0.1 is a loopback address; feeds may only reach public addresses "
    "([polling] allow_private_addresses = true lifts this)"
)


async def test_the_guard_refuses_a_loopback_feed_with_a_clear_reason_and_never_asks_it(
    repo: Repository, feed_server: FeedServer, clock: Clock
) -> None:
    hostile = feed_server.add("/local.rss", rss(("a", "RVC raid", "")))
    configure(repo, clock, hostile)
    async with Fetcher(timeout=0.5) as fetcher:  # the guard on, as in production
        poller = Poller(AsyncStorage(repo), fetcher, clock=clock, default_interval=INTERVAL)
        [outcome] = (await cycle(poller)).values()

    assert outcome.error == GUARD_REASON
    assert_plain_sentence(outcome.error)
    state = feed(repo, hostile)
    assert state.last_error == GUARD_REASON
    assert_backoff(state, clock(), failures=1)
    assert feed_server.hits("/local.rss") == 0
    assert feed_server.requests == []


async def test_the_guard_refuses_one_feed_and_lets_the_others_in_the_cycle_through(
    repo: Repository, feed_server: FeedServer, clock: Clock
) -> None:
    # 127.0.0.2 stands in for a public server: the guard's own policy, with that one exception.
    def refuse(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return None if str(address) == "127.0.0.2" else refusal(address)

    hostile = feed_server.add("/local.rss", rss(("a", "RVC raid", "")))
    with FeedServer(host="127.0.0.2") as public:
        good = public.add("/good.rss", GOOD)
        configure(repo, clock, hostile, good)
        transport = guarded_transport(GuardedBackend(refuse=refuse))
        async with Fetcher(timeout=0.5, transport=transport) as fetcher:
            poller = Poller(AsyncStorage(repo), fetcher, clock=clock, default_interval=INTERVAL)
            outcomes = await cycle(poller)
        assert public.hits("/good.rss") == 1

    assert outcomes[hostile].error == GUARD_REASON
    assert feed_server.hits("/local.rss") == 0
    assert_backoff(feed(repo, hostile), clock(), failures=1)
    assert_good_feed_stored(repo, outcomes, good)


# --- decompression bombs: refused at the cap, in bounded memory ------------------------------

_ZEROS = bytes(16 * 2**20)
GIB = 2**30
# zlib.crc32 of that many zeros, for the gzip trailer: seconds to compute, so written down.
_CRC32_OF_ZEROS = {GIB: 0x5B64C2B0, 10 * GIB: 0xF41D912F}


def _deflate_of_zeros(size: int) -> bytes:
    """Raw deflate of `size` zeros (a multiple of 16 MiB), made in milliseconds: after a full flush
    the compressor starts afresh, so every 16 MiB of zeros comes out as the same bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    return piece * (size // len(_ZEROS)) + compressor.flush()


def _gzip_of_zeros(size: int) -> bytes:
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", _CRC32_OF_ZEROS[size], size % 2**32)
    return header + _deflate_of_zeros(size) + trailer


def _zlib_of_zeros(size: int) -> bytes:
    adler32 = (size % 65521) << 16 | 1  # of zeros: a stays 1, b counts them
    return b"\x78\xda" + _deflate_of_zeros(size) + struct.pack(">I", adler32)


def _brotli_of_zeros(size: int) -> bytes:
    """br of `size` zeros (a multiple of 16 MiB) in milliseconds: flushed after each 16 MiB, the
    compressor, once in its stride, makes the same bytes for each (10 GiB: 8,961 bytes)."""
    compressor = brotli.Compressor(quality=4, lgwin=24)
    first, steady = (compressor.process(_ZEROS) + compressor.flush() for _ in range(2))
    return first + steady * (size // len(_ZEROS) - 1) + compressor.finish()


DECOMPRESSION_BOMBS = [
    # The two: 10 GiB from 9 KB of br, and from 16 KB of gzip inside gzip.
    pytest.param("br", lambda: _brotli_of_zeros(10 * GIB), id="br-10-GiB"),
    pytest.param(
        "gzip, gzip", lambda: gzip.compress(_gzip_of_zeros(10 * GIB)), id="gzip-gzip-10-GiB"
    ),
    pytest.param(
        "gzip, br", lambda: brotli.compress(_gzip_of_zeros(10 * GIB)), id="gzip-br-10-GiB"
    ),
    pytest.param("gzip", lambda: _gzip_of_zeros(GIB), id="gzip-1-GiB"),
    pytest.param("deflate", lambda: _zlib_of_zeros(GIB), id="deflate-1-GiB"),
    pytest.param("deflate", lambda: _deflate_of_zeros(GIB), id="raw-deflate-1-GiB"),
]


@pytest.mark.parametrize(("encoding", "bomb"), DECOMPRESSION_BOMBS)
async def test_a_decompression_bomb_is_refused_at_the_cap_in_bounded_memory(
    repo: Repository,
    feed_server: FeedServer,
    clock: Clock,
    encoding: str,
    bomb: Callable[[], bytes],
) -> None:
    hostile = feed_server.add("/hostile", bomb(), headers={"Content-Encoding": encoding})
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)
    # Ten seconds, not the fixture's half a second: the cap must stop the bomb, not the clock.
    async with Fetcher(timeout=10, allow_private_addresses=True) as fetcher:
        poller = Poller(AsyncStorage(repo), fetcher, clock=clock, default_interval=INTERVAL)
        outcomes, peak = await cycle_with_peak_memory(poller)

    assert outcomes[hostile].error == "the feed decompresses to more than 10 MiB"
    assert_plain_sentence(outcomes[hostile].error)
    # The bar is 200 MB; the capped body and a piece in flight stay far below even this.
    assert peak < MEMORY_LIMIT, f"polling took {peak / 2**20:.1f} MiB"
    state = feed(repo, hostile)
    assert (state.last_error, state.item_count) == (outcomes[hostile].error, 0)
    assert_backoff(state, clock(), failures=1)
    assert_good_feed_stored(repo, outcomes, good)


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        (
            "gzip, gzip, gzip",
            "the feed is compressed 3 times over (gzip, gzip, gzip); "
            "feedwatch decodes at most 2 encodings",
        ),
        (
            "zstd",
            "the feed is compressed with zstd, which feedwatch does not decode "
            "(it decodes gzip, deflate, br)",
        ),
    ],
    ids=["three-stacked", "zstd"],
)
async def test_an_encoding_refused_is_recorded_with_its_reason_and_the_good_feed_stored(
    repo: Repository,
    poller: Poller,
    feed_server: FeedServer,
    clock: Clock,
    encoding: str,
    reason: str,
) -> None:
    body = gzip.compress(gzip.compress(gzip.compress(GOOD))) if "," in encoding else GOOD
    hostile = feed_server.add("/hostile", body, headers={"Content-Encoding": encoding})
    good = feed_server.add("/good.rss", GOOD)
    configure(repo, clock, hostile, good)

    outcomes = await cycle(poller)

    assert outcomes[hostile].error == reason
    assert_plain_sentence(reason)
    assert_backoff(feed(repo, hostile), clock(), failures=1)
    assert_good_feed_stored(repo, outcomes, good)
