"""The address guard: a feed URL, and every redirect, may connect only to public addresses.

The check runs where the connection is made, on the address the name resolved to (so a name that
resolves to a public address when checked and to 127.0.0.1 when fetched, DNS rebinding, is caught),
and the connection goes to exactly the address that was checked. TLS still names the host. The
connections are asyncio's own (`AsyncioBackend`), without anyio's layers around every read.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import httpcore

from bot.sources.http11 import FeedTransport

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


# What a connection buffers while nobody reads it, before it stops reading from the socket: the
# caps on a body's size are kept by reading it a piece at a time, so the buffer must not grow.
_HIGH_WATER = 256 * 1024


class _Connection(asyncio.Protocol):
    """One TCP connection (TLS after `start_tls`): the bytes received and not read yet, and the
    one reader or writer waiting for more, or for room."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.at_eof = False
        self.lost = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.writing_paused = False
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self.reading_paused and self.transport:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> None:
        self.at_eof = True
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = self.at_eof = True
        self.error = exc
        self._wake()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection as httpcore reads and writes it. A timer is set only when a read has to wait
    (most find their bytes already received) or a write finds the socket's buffer full."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    async def _until(
        self,
        ready: Callable[[], bool],
        timeout: float | None,  # noqa: ASYNC109 - a timer, below
    ) -> None:
        """Until `ready()` (the connection wakes its waiter on any news: bytes, an end, room to
        write); TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not ready():
            waiter = self._connection.waiter = loop.create_future()
            timer = None if deadline is None else loop.call_at(deadline, _expire, waiter)
            try:
                await waiter
            finally:
                self._connection.waiter = None
                if timer is not None:
                    timer.cancel()

    async def read(
        self,
        max_bytes: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, honoured below
    ) -> bytes:
        connection = self._connection
        if not connection.buffer and not connection.at_eof:
            try:
                await self._until(lambda: bool(connection.buffer) or connection.at_eof, timeout)
            except TimeoutError as error:
                raise httpcore.ReadTimeout() from error
        buffer = connection.buffer
        if buffer:
            if len(buffer) <= max_bytes:
                data = bytes(buffer)
                buffer.clear()
            else:
                data = bytes(buffer[:max_bytes])
                del buffer[:max_bytes]
            if connection.reading_paused and len(buffer) <= _HIGH_WATER // 4:
                connection.reading_paused = False
                assert connection.transport is not None
                connection.transport.resume_reading()
            return data
        if connection.error is not None:
            # As anyio says it, so the reasons feeds fail with stay as they were.
            raise httpcore.ReadError() from connection.error
        return b""

    async def write(
        self,
        buffer: bytes,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, honoured below
    ) -> None:
        if not buffer:
            return
        connection = self._connection
        transport = connection.transport
        if transport is None or connection.lost or transport.is_closing():
            raise httpcore.WriteError() from connection.error
        try:
            transport.write(buffer)
        except (OSError, RuntimeError) as error:
            raise httpcore.WriteError() from error
        if connection.writing_paused:
            try:
                await self._until(lambda: not connection.writing_paused or connection.lost, timeout)
            except TimeoutError as error:
                raise httpcore.WriteTimeout() from error
        if connection.lost and connection.error is not None:
            raise httpcore.WriteError() from connection.error

    async def aclose(self) -> None:
        transport = self._connection.transport
        if transport is not None and not transport.is_closing():
            transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, honoured below
    ) -> httpcore.AsyncNetworkStream:
        connection = self._connection
        assert connection.transport is not None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    connection.transport, connection, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as error:
            await self.aclose()
            raise httpcore.ConnectTimeout() from error
        except ssl.SSLError as error:
            await self.aclose()
            raise httpcore.ConnectError(str(error)) from error
        except (OSError, RuntimeError) as error:
            await self.aclose()
            raise httpcore.ConnectError() from error
        if transport is None:  # the connection closed during the handshake
            raise httpcore.ConnectError()
        connection.transport = transport
        return self

    def get_extra_info(self, info: str) -> Any:
        transport = self._connection.transport
        if transport is None:
            return None
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":
            # httpcore asks this of every idle connection whenever a request comes or goes: an
            # idle one with bytes or an end received is one the server closed. The event loop
            # reads every connection as bytes arrive, so what it has received says so without a
            # poll(2) of each socket (which httpcore's own streams make, hundreds a request with
            # many idle connections); the server may close one a moment later either way.
            connection = self._connection
            return bool(connection.buffer) or connection.at_eof
        return None


class _TcpBackend(httpcore.AsyncNetworkBackend):
    """What both backends of this module refuse and wait alike: feeds connect over TCP only."""

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class AsyncioBackend(_TcpBackend):
    """httpcore's network backend on asyncio's own connections: what `AnyIOBackend` does, without
    a cancel scope around each read and write or a task group and a thread hop per connection."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, honoured below
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        # A name (an unguarded fetcher's) may have an IPv4 and an IPv6 address: tried as anyio
        # tries them, the next a quarter of a second after the first (RFC 8305).
        delay = None if _literal(host) else 0.25
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=delay,
                )
        except TimeoutError as error:
            raise httpcore.ConnectTimeout() from error
        except OSError as error:
            # anyio's words, so the reasons feeds fail with stay as they were.
            raise httpcore.ConnectError("All connection attempts failed") from error
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(connection)


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class GuardedBackend(_TcpBackend):
    """httpcore's network backend, connecting only to addresses the guard allows."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend | None = None,
        *,
        refuse: Callable[[Address], str | None] = refusal,
    ) -> None:
        self._backend = backend or AsyncioBackend()
        self._refuse = refuse

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface, honoured below
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if _literal(host):
            # An address needs no lookup (nor a thread to look it up in); it is checked the same.
            addresses = [host]
        else:
            addresses = await _resolve(host, port, timeout)
        address = check_addresses(host, addresses, self._refuse)
        return await self._backend.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )


async def _resolve(
    host: str,
    port: int,
    timeout: float | None,  # noqa: ASYNC109 - connect_tcp's, honoured below
) -> list[str]:
    """The addresses of `host`, as anyio gives them (an IPv6 scope after a "%")."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as error:
        raise httpcore.ConnectTimeout(f"looking up {host} timed out") from error
    except OSError as error:
        raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
    addresses = []
    for *_, sockaddr in found:
        text = str(sockaddr[0])
        if len(sockaddr) == 4 and sockaddr[3]:
            text = f"{text}%{sockaddr[3]}"
        addresses.append(text)
    return addresses


def guarded_transport(
    backend: httpcore.AsyncNetworkBackend | None = None, *, verify: ssl.SSLContext | None = None
) -> FeedTransport:
    """An httpx transport whose every connection, redirects included, passes the guard."""
    return FeedTransport(backend or GuardedBackend(), verify=verify)


def backed_transport(
    backend: httpcore.AsyncNetworkBackend | None = None, *, verify: ssl.SSLContext | None = None
) -> FeedTransport:
    """An httpx transport on asyncio's own connections, not guarded (unless `backend` is)."""
    return FeedTransport(backend or AsyncioBackend(), verify=verify)
