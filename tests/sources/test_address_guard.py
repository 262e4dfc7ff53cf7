"""The address guard: feeds reach public addresses only, checked on the address a connection is
actually made to (names, redirects and IPv4-mapped forms included); a setting lifts it."""

from __future__ import annotations

import ipaddress
import re

import httpcore
import pytest

from bot.core.errors import FetchError
from bot.sources.address_guard import (
    AddressRefused,
    GuardedBackend,
    check_addresses,
    guarded_transport,
    refusal,
)
from bot.sources.fetch import Fetcher
from tests.builders import rss
from tests.fakes.feed_server import FeedServer


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.0.10", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("0.0.0.0", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("169.254.10.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.254", "a carrier-grade NAT address"),
        ("224.0.0.251", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("192.0.2.7", "a private address"),  # documentation range
        ("fec0::1", "a site-local address"),
        # IPv6 forms that carry an IPv4 address are judged by it: private ones refused, naming it.
        ("2002:7f00:1::", "a 6to4 address of 127.0.0.1, a loopback address"),
        ("2002:a00:1::", "a 6to4 address of 10.0.0.1, a private address"),
        ("2002:a9fe:a9fe::", "a 6to4 address of 169.254.169.254, a cloud metadata address"),
        # Teredo: server 65.54.227.120, then the client with its bits inverted.
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "a Teredo address of 127.0.0.1, a loopback address",
        ),
        (
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "a Teredo address of 192.0.2.45, a private address",
        ),
        ("2001:0:a00:1:8000:63bf:f7f7:f7f7", "a Teredo address of 10.0.0.1, a private address"),
        ("64:ff9b::a00:1", "a NAT64 address of 10.0.0.1, a private address"),
        ("64:ff9b::7f00:1", "a NAT64 address of 127.0.0.1, a loopback address"),
        ("64:ff9b:1::a9fe:a9fe", "a NAT64 address of 169.254.169.254, a cloud metadata address"),
        ("::127.0.0.1", "an IPv4-compatible address of 127.0.0.1, a loopback address"),
        ("::10.0.0.1", "an IPv4-compatible address of 10.0.0.1, a private address"),
        ("::100.64.0.1", "an IPv4-compatible address of 100.64.0.1, a carrier-grade NAT address"),
        ("::", "a private address"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
        # ... and public ones allowed: 8.8.8.8 through 6to4, Teredo, NAT64 (as DNS64 synthesizes
        # it on an IPv6-only host), IPv4-compatible.
        ("2002:808:808::", None),
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", None),
        ("64:ff9b::808:808", None),
        ("64:ff9b:1::808:808", None),
        ("::8.8.8.8", None),
    ],
)
def test_refusal_of_an_address(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


def test_a_name_with_one_private_address_among_public_ones_is_refused_whole() -> None:
    with pytest.raises(AddressRefused, match=r"news\.example \(10\.0\.0\.5\) is a private"):
        check_addresses("news.example", ["93.184.216.34", "10.0.0.5"])


def test_the_first_public_address_is_the_one_connected_to() -> None:
    assert check_addresses("news.example", ["93.184.216.34", "8.8.8.8"]) == "93.184.216.34"


async def test_a_name_that_resolves_to_loopback_is_refused_at_connect_time() -> None:
    # "localhost" is a name, not an address: the guard looks it up and checks what it got.
    with pytest.raises(AddressRefused, match=r"localhost \((127\.0\.0\.1|::1)\) is a loopback"):
        await GuardedBackend().connect_tcp("localhost", 80, timeout=5)


async def test_a_feed_on_loopback_is_refused_naming_the_address_and_never_asked(
    feed_server: FeedServer,
) -> None:
    url = feed_server.add("/news.rss", rss(("a", "RVC raid", "Fighters")))
    async with Fetcher() as fetcher:
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(url)
    assert "address guard: 127.0.0.1 is a loopback address" in str(refused.value)
    assert "allow_private_addresses = true" in str(refused.value)
    assert feed_server.hits("/news.rss") == 0


async def test_every_redirect_passes_the_guard(feed_server: FeedServer) -> None:
    # A policy that lets the test server's 127.0.0.1 through but not 127.0.0.2: the first hop
    # connects, the redirect to the other address is refused before any connection is made.
    def refuse(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        return "a test-only forbidden address" if str(address) == "127.0.0.2" else None

    port = feed_server.url.rsplit(":", 1)[1]
    hop = feed_server.redirect("/moved.rss", f"http://127.0.0.2:{port}/real.rss")
    transport = guarded_transport(GuardedBackend(refuse=refuse))
    async with Fetcher(transport=transport) as fetcher:
        with pytest.raises(FetchError, match=r"127\.0\.0\.2 is a test-only forbidden address"):
            await fetcher.fetch(hop)
    assert feed_server.hits("/moved.rss") == 1


async def test_the_setting_lifts_the_guard(feed_server: FeedServer) -> None:
    url = feed_server.add("/news.rss", rss(("a", "RVC raid", "Fighters")))
    async with Fetcher(allow_private_addresses=True) as fetcher:
        fetched = await fetcher.fetch(url)
    assert fetched.status == 200
    assert b"RVC raid" in fetched.content


async def test_unix_sockets_are_never_used() -> None:
    with pytest.raises(httpcore.ConnectError, match="TCP only"):
        await GuardedBackend().connect_unix_socket("/var/run/docker.sock")


@pytest.mark.parametrize(
    ("host", "address", "named"),
    [
        (
            "2002:7f00:1::",
            "2002:7f00:1::",
            "2002:7f00:1:: is a 6to4 address of 127.0.0.1, a loopback",
        ),
        ("news.example", "fec0::1", "news.example (fec0::1) is a site-local address"),
        (
            "news.example",
            "64:ff9b::a00:1",
            "news.example (64:ff9b::a00:1) is a NAT64 address of 10.",
        ),
    ],
)
def test_an_address_wrapping_a_refused_one_is_refused_naming_both(
    host: str, address: str, named: str
) -> None:
    # What a feed at http://[2002:7f00:1::]/ gets: the guard checks the resolved addresses here,
    # before any connection is made.
    with pytest.raises(AddressRefused, match=re.escape(f"address guard: {named}")):
        check_addresses(host, ["93.184.216.34", address])
