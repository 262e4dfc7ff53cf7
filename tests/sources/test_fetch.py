"""Fetching over real HTTP from the local feed server: conditional GET, redirects, errors and limits."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable
from datetime import timedelta

import brotli
import pytest

from bot.core.errors import FetchError
from bot.ops.config import PollingSettings
from bot.sources.fetch import Fetcher
from tests.builders import rss
from tests.fakes.feed_server import FeedServer

BODY = rss(("1", "Title", "Text"))


async def test_a_feed_comes_back_as_bytes_with_its_cache_facts(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/a.rss", BODY, etag='"v1"', last_modified="Tue, 12 Mar 2024 05:40:00 GMT"
    )
    async with Fetcher(allow_private_addresses=True) as fetcher:
        fetched = await fetcher.fetch(url)
    assert (fetched.status, fetched.content, fetched.etag) == (200, BODY, '"v1"')
    assert fetched.last_modified == "Tue, 12 Mar 2024 05:40:00 GMT"
    assert fetched.headers["content-type"].startswith("application/rss+xml")
    assert fetched.headers == {k.lower(): v for k, v in fetched.headers.items()}


async def test_conditional_get_sends_validators_and_takes_a_304(feed_server: FeedServer) -> None:
    url = feed_server.add(
        "/a.rss", BODY, etag='"v1"', last_modified="Tue, 12 Mar 2024 05:40:00 GMT"
    )
    async with Fetcher(allow_private_addresses=True) as fetcher:
        fetched = await fetcher.fetch(
            url, etag='"v1"', last_modified="Tue, 12 Mar 2024 05:40:00 GMT"
        )
    assert fetched.not_modified
    assert fetched.content == b""
    request = feed_server.requests[-1]
    assert request.headers["If-None-Match"] == '"v1"'
    assert request.headers["If-Modified-Since"] == "Tue, 12 Mar 2024 05:40:00 GMT"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress)],
)
async def test_compressed_bodies_are_asked_for_and_decoded(
    feed_server: FeedServer, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    url = feed_server.add("/z.rss", compress(BODY), headers={"Content-Encoding": encoding})
    async with Fetcher(allow_private_addresses=True) as fetcher:
        assert (await fetcher.fetch(url)).content == BODY
    offered = {e.strip() for e in feed_server.requests[-1].headers["Accept-Encoding"].split(",")}
    assert encoding in offered


@pytest.mark.parametrize(
    ("status", "moved"), [(301, True), (308, True), (302, False), (307, False)]
)
async def test_redirects_are_followed_and_only_permanent_ones_mark_a_move(
    feed_server: FeedServer, status: int, moved: bool
) -> None:
    target = feed_server.add("/new.rss", BODY)
    old = feed_server.redirect("/old.rss", target, status=status)
    async with Fetcher(allow_private_addresses=True) as fetcher:
        fetched = await fetcher.fetch(old)
    assert (fetched.final_url, fetched.moved_permanently, fetched.content) == (target, moved, BODY)


async def test_a_redirect_loop_is_cut_off(feed_server: FeedServer) -> None:
    feed_server.redirect("/loop-a", f"{feed_server.url}/loop-b")
    url = feed_server.redirect("/loop-b", f"{feed_server.url}/loop-a")
    async with Fetcher(allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError, match="more than 5 redirects"):
            await fetcher.fetch(url)


@pytest.mark.parametrize(
    ("status", "reason"), [(500, "HTTP 500 Internal Server Error"), (404, "HTTP 404 Not Found")]
)
async def test_http_errors_name_the_status(
    feed_server: FeedServer, status: int, reason: str
) -> None:
    url = feed_server.add("/broken", b"oops", status=status)
    async with Fetcher(allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert (caught.value.reason, caught.value.status, caught.value.url) == (reason, status, url)


async def test_a_server_that_never_answers_times_out(feed_server: FeedServer) -> None:
    url = feed_server.hang("/slow")
    async with Fetcher(timeout=0.3, allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError, match=r"timed out after 0\.3 s"):
            await fetcher.fetch(url)


async def test_a_body_over_the_cap_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.add("/big", b"x" * 5000)
    async with Fetcher(max_bytes=4096, allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError, match="larger than 4 KiB"):
            await fetcher.fetch(url)


async def test_the_limits_of_the_polling_settings_apply(feed_server: FeedServer) -> None:
    polling = PollingSettings(
        max_body_mib=1, max_redirects=1, timeout=timedelta(seconds=3), allow_private_addresses=True
    )
    big = feed_server.add("/big", b"x" * (1024 * 1024 + 1))
    target = feed_server.add("/feed.rss", BODY)
    one_hop = feed_server.redirect("/hop", target)
    two_hops = feed_server.redirect("/hop-hop", one_hop)
    async with Fetcher.configured(polling) as fetcher:
        assert fetcher.timeout == 3
        assert (await fetcher.fetch(one_hop)).content == BODY
        with pytest.raises(FetchError, match=r"more than 1 redirect$"):
            await fetcher.fetch(two_hops)
        with pytest.raises(FetchError, match="larger than 1 MiB"):
            await fetcher.fetch(big)
    # The address guard stays on unless the settings (or the one command) lift it.
    async with Fetcher.configured(PollingSettings()) as guarded:
        with pytest.raises(FetchError, match="address guard"):
            await guarded.fetch(target)


async def test_nobody_listening_is_a_connect_error(feed_server: FeedServer) -> None:
    url = feed_server.url
    feed_server.stop()
    async with Fetcher(allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError, match="cannot connect"):
            await fetcher.fetch(url + "/gone")


async def test_a_non_http_url_is_refused_in_plain_words() -> None:
    async with Fetcher(allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError, match="only http and https"):
            await fetcher.fetch("ftp://127.0.0.1/feed")


# --- Content-Encoding: decoded here, under the cap ----------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("deflate", _raw_deflate(BODY)),  # raw deflate, as some servers send it
        ("x-gzip", gzip.compress(BODY)),  # the old name, RFC 9110 says to read it as gzip
        ("GZIP", gzip.compress(BODY)),
        ("identity", BODY),
        ("gzip, identity", gzip.compress(BODY)),
        ("gzip, gzip", gzip.compress(gzip.compress(BODY))),
        ("gzip, br", brotli.compress(gzip.compress(BODY))),  # gzip applied first, then br
        ("br, deflate", zlib.compress(brotli.compress(BODY))),
        # Two gzip members make one body (RFC 1952); what trails the last one is no part of it.
        ("gzip", gzip.compress(BODY[:100]) + gzip.compress(BODY[100:]) + b"\0\0\0\0"),
    ],
    ids=[
        "raw-deflate",
        "x-gzip",
        "upper-case",
        "identity",
        "gzip-identity",
        "gzip-gzip",
        "gzip-br",
        "br-deflate",
        "gzip-members",
    ],
)
async def test_every_encoding_and_any_two_stacked_are_decoded(
    feed_server: FeedServer, encoding: str, body: bytes
) -> None:
    url = feed_server.add("/z.rss", body, headers={"Content-Encoding": encoding})
    async with Fetcher(allow_private_addresses=True) as fetcher:
        fetched = await fetcher.fetch(url)
    assert fetched.content == BODY
    # Offered: exactly what is decoded.
    assert feed_server.requests[-1].headers["Accept-Encoding"] == "gzip, deflate, br"


def _many_empty_gzip_members(size: int) -> bytes:
    member = gzip.compress(b"", mtime=0)
    return member * (size // len(member) + 1)


BOMBS = [
    pytest.param("gzip", lambda: gzip.compress(bytes(64 * 2**20), 1), id="gzip"),
    pytest.param("deflate", lambda: zlib.compress(bytes(64 * 2**20), 1), id="deflate"),
    pytest.param("deflate", lambda: _raw_deflate(bytes(64 * 2**20)), id="raw-deflate"),
    pytest.param("br", lambda: brotli.compress(bytes(64 * 2**20), quality=1), id="br"),
    pytest.param(
        "gzip, gzip", lambda: gzip.compress(gzip.compress(bytes(64 * 2**20))), id="gzip-gzip"
    ),
    pytest.param(
        "gzip, br", lambda: brotli.compress(gzip.compress(bytes(64 * 2**20))), id="gzip-br"
    ),
    # The outer layer inflates to 2 MiB of empty gzip members that make no body at all: each
    # layer's output is capped, not only the last, or the inner layer's work would have no bound.
    pytest.param(
        "gzip, gzip", lambda: gzip.compress(_many_empty_gzip_members(2 * 2**20)), id="middle-layer"
    ),
]


@pytest.mark.parametrize(("encoding", "bomb"), BOMBS)
async def test_a_body_that_decompresses_past_the_cap_is_refused_in_bounded_memory(
    feed_server: FeedServer, encoding: str, bomb: Callable[[], bytes]
) -> None:
    url = feed_server.add("/bomb.rss", bomb(), headers={"Content-Encoding": encoding})
    async with Fetcher(max_bytes=2**20, allow_private_addresses=True) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError) as refused:
                await fetcher.fetch(url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert refused.value.reason == "the feed decompresses to more than 1 MiB"
    # The 1 MiB cap, a piece or two in flight and the small change of a request: 64 MiB of zeros
    # decoded whole would show here.
    assert peak < 4 * 2**20, f"fetching took {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        (
            "gzip, gzip, gzip",
            "the feed is compressed 3 times over (gzip, gzip, gzip); "
            "feedwatch decodes at most 2 encodings",
        ),
        ("zstd", "the feed is compressed with zstd, which feedwatch does not decode"),
        ("compress", "the feed is compressed with compress, which feedwatch does not decode"),
        ("gzip, snappy", "the feed is compressed with snappy, which feedwatch does not decode"),
        ("x" * 40, "the feed is compressed with an encoding of unreadable name, which"),
    ],
    ids=["three-stacked", "zstd", "compress", "unknown-in-a-stack", "unreadable"],
)
async def test_an_encoding_not_decoded_here_or_too_deep_a_stack_is_refused_in_plain_words(
    feed_server: FeedServer, encoding: str, reason: str
) -> None:
    # The body is really encoded so (gzip thrice; the others are never read): today's httpx
    # decodes three layers without limit and passes unknown encodings on as they came.
    body = gzip.compress(gzip.compress(gzip.compress(BODY))) if "gzip," in encoding else BODY
    url = feed_server.add("/z.rss", body, headers={"Content-Encoding": encoding})
    async with Fetcher(allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(url)
    assert refused.value.reason.startswith(reason)
    if "decode (" in refused.value.reason:
        assert refused.value.reason.endswith("(it decodes gzip, deflate, br)")


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"\x1f\x8b\x08\x00" + b"not gzip at all" * 10),
        ("deflate", b"\x78\x9c" + b"not deflate at all" * 10),
        ("br", b"\xff" * 200),
        ("br", brotli.compress(BODY) + b"trailing"),
        ("gzip, br", brotli.compress(b"\x1f\x8b\x08\x00 inner gzip is damaged")),
    ],
    ids=["gzip", "deflate", "br", "br-trailing", "inner-gzip"],
)
async def test_damaged_compressed_data_is_refused_in_plain_words(
    feed_server: FeedServer, encoding: str, body: bytes
) -> None:
    url = feed_server.add("/z.rss", body, headers={"Content-Encoding": encoding})
    async with Fetcher(allow_private_addresses=True) as fetcher:
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(url)
    damaged = encoding.split(", ")[0]
    assert refused.value.reason == f"the feed's {damaged} data is damaged"


def _long_feed() -> bytes:
    items = (
        (f"n{n}", f"Report {n}: RVC raid near Kursk", f"Item {n} of the day. " * (n % 40 + 5))
        for n in range(8000)
    )
    return rss(*items)


LONG_FEED = _long_feed()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("br", lambda body: brotli.compress(body, quality=5)),
        ("gzip, br", lambda body: brotli.compress(gzip.compress(body), quality=5)),
    ],
    ids=["gzip", "deflate", "raw-deflate", "br", "gzip-br"],
)
async def test_a_long_body_arriving_in_small_pieces_is_decoded_whole(
    feed_server: FeedServer, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    # Megabytes of text, not a repeated pattern: decoders hold output back between pieces, and
    # all of it must come out.
    assert 4 * 2**20 < len(LONG_FEED) < 10 * 2**20
    raw = compress(LONG_FEED)
    pieces = [raw[i : i + 999] for i in range(0, len(raw), 999)]
    url = feed_server.stream("/long.rss", lambda: pieces, headers={"Content-Encoding": encoding})
    async with Fetcher(allow_private_addresses=True) as fetcher:
        assert (await fetcher.fetch(url)).content == LONG_FEED
