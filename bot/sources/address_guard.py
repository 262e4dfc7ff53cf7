"""The address guard: a feed URL, and every redirect, may connect only to public addresses.

The check runs where the connection is made, on the address the name resolved to (so a name that
resolves to a public address when checked and to 127.0.0.1 when fetched, DNS rebinding, is caught),
and the connection goes to exactly the address that was checked. TLS still names the host.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import httpcore
import httpx

_CARRIER_GRADE_NAT = ipaddress.ip_network("100.64.0.0/10")
_CLOUD_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}

# NAT64 (RFC 6052): the well-known prefix and the local-use one (RFC 8215), both taken as /96
# prefixes with the IPv4 address in the last 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def refusal(address: Address) -> str | None:
    """Why a feed may not connect to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
            address = address.ipv4_mapped
        else:
            carried = _carried(address)
            if carried:
                # Packets to these reach the IPv4 address they carry (through a tunnel, a relay
                # or a translator): that address is judged, whatever Python thinks of the prefix.
                for form, ipv4 in carried:
                    reason = refusal(ipv4)
                    if reason is not None:
                        return f"{form} of {ipv4}, {reason}"
                return None
            if address.is_site_local:
                return "a site-local address"
    if address in _CLOUD_METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CARRIER_GRADE_NAT:
        return "a carrier-grade NAT address"
    if address.is_private or address.is_unspecified or address.is_reserved:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def _carried(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address wraps, each with the name of its form."""
    if address.sixtofour is not None:
        return [("a 6to4 address", address.sixtofour)]
    if address.teredo is not None:
        server, client = address.teredo
        return [("a Teredo address", client), ("a Teredo address", server)]
    last = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in prefix for prefix in _NAT64):
        return [("a NAT64 address", last)]
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # :: and ::1 are themselves
        return [("an IPv4-compatible address", last)]
    return []


class AddressRefused(httpcore.ConnectError):
    """A connection the guard would not make; the message names the host and the address."""


def check_addresses(
    host: str, addresses: Iterable[str], refuse: Callable[[Address], str | None] = refusal
) -> str:
    """The address to connect to: the first of `addresses`, when none of them is refused. A name
    that resolves to a public and a private address is refused as a whole, so that which one a
    later connection gets never matters."""
    first = None
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        reason = refuse(address)
        if reason is not None:
            named = host if host == str(address) else f"{host} ({address})"
            raise AddressRefused(
                f"address guard: {named} is {reason}; feeds may only reach public addresses "
                "([polling] allow_private_addresses = true lifts this)"
            )
        first = first or str(address)
    if first is None:
        raise httpcore.ConnectError(f"{host} has no address")
    return first


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the guard allows."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend | None = None,
        *,
        refuse: Callable[[Address], str | None] = refusal,
    ) -> None:
        self._backend = backend or httpcore.AnyIOBackend()
        self._refuse = refuse

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, honoured below
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"looking up {host} timed out") from error
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        address = check_addresses(host, (str(info[4][0]) for info in found), self._refuse)
        return await self._backend.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def guarded_transport(
    backend: GuardedBackend | None = None, **options: Any
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection, redirects included, passes the guard."""
    transport = httpx.AsyncHTTPTransport(**options)
    # httpx gives no parameter for the network backend of its pool (one is proposed upstream,
    # encode/httpx#3749); the pool takes it from this attribute for each new connection, and a
    # test checks that a connection to 127.0.0.1 is refused through it.
    transport._pool._network_backend = backend or GuardedBackend()
    return transport
