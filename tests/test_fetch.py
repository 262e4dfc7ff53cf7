"""Fetching over real HTTP from the local feed server: conditional GET, redirects, errors and limits."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from datetime import timedelta

import brotli
import pytest

from bot.config import PollingSettings
from bot.errors import FetchError
from bot.fetch import Fetcher
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
