"""Feed GETs over HTTP/1.1: h11 on the address guard's connections, idle ones kept per origin.

What httpx's transport over httpcore's pool did for a feed, with the same errors: that pool looks
at every connection at each request and takes two locks a request, more than a 304 costs.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import NoReturn

import h11
import httpcore
import httpx

# Idle connections kept, and for how long (httpx kept 20 for 5 s: its pool grew slower with each;
# this one finds a host's connection by one look-up, so it can keep as many as a round reuses).
MAX_IDLE = 100
KEEPALIVE_SECONDS = 5.0
# As httpcore reads and bounds a response's head.
READ_BYTES = 64 * 1024
MAX_HEAD_BYTES = 100 * 1024

_DEFAULT_PORTS = {b"http": 80, b"https": 443}

# httpcore's errors (raised by the network streams) as httpx's, most specific first, as httpx
# maps them (`map_httpcore_exceptions`), so that a feed's failure reads as it did.
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (h11.RemoteProtocolError, httpx.RemoteProtocolError),
    (h11.LocalProtocolError, httpx.LocalProtocolError),
)


def _as_httpx(error: Exception) -> NoReturn:
    for theirs, ours in _ERRORS:
        if isinstance(error, theirs):
            raise ours(str(error)) from error
    raise error


Origin = tuple[bytes, bytes, int]


class _Connection:
    """One HTTP/1.1 connection: its stream and h11's state of it."""

    __slots__ = ("expires", "h11", "origin", "stream")

    def __init__(self, origin: Origin, stream: httpcore.AsyncNetworkStream) -> None:
        self.origin = origin
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.expires = 0.0

    async def send(self, event: h11.Event, timeout: float | None) -> None:  # noqa: ASYNC109
        data = self.h11.send(event)
        if data:
            await self.stream.write(data, timeout=timeout)

    async def receive(self, timeout: float | None) -> h11.Event | type[h11.PAUSED]:  # noqa: ASYNC109
        """The next event of the response, reading as much as it needs."""
        state = self.h11
        while True:
            event = state.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]  # h11's sentinels are types
            data = await self.stream.read(READ_BYTES, timeout=timeout)
            if not data and state.their_state is h11.SEND_RESPONSE:
                raise httpcore.RemoteProtocolError(
                    "Server disconnected without sending a response."
                )
            state.receive_data(data)

    def reusable(self, now: float) -> bool:
        """Idle, not expired, and nothing received since its last answer: a server that closed
        it (or sent what nobody asked for) has left bytes or an end."""
        return now <= self.expires and not self.stream.get_extra_info("is_readable")


class FeedTransport(httpx.AsyncBaseTransport):
    """httpx's transport for feed GETs: one connection a request in flight, kept afterwards for the
    next request to its origin when the answer was read to its end and the server allows."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        *,
        verify: ssl.SSLContext | None = None,
        max_idle: int = MAX_IDLE,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        self._backend = backend
        self._ssl_context = verify
        self._max_idle = max_idle
        self._keepalive = keepalive
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._next_sweep = 0.0
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        if scheme not in _DEFAULT_PORTS:
            if not scheme:
                text = "Request URL is missing an 'http://' or 'https://' protocol."
            else:
                text = f"Request URL has an unsupported protocol '{scheme.decode('ascii')}://'."
            raise httpx.UnsupportedProtocol(text)
        origin = (scheme, url.raw_host, url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = await self._reuse(origin) or await self._connect(origin, request, timeouts)
        try:
            head = await self._exchange(connection, request, timeouts)
        except BaseException as error:
            await connection.stream.aclose()
            if isinstance(error, Exception):
                _as_httpx(error)
            raise
        return httpx.Response(
            head.status_code,
            headers=head.headers.raw_items(),
            stream=_Body(self, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    async def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.reusable(now):
                return connection
            await connection.stream.aclose()
        return None

    async def _connect(
        self, origin: Origin, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> _Connection:
        scheme, host, port = origin
        timeout = timeouts.get("connect")
        try:
            stream = await self._backend.connect_tcp(host.decode("ascii"), port, timeout=timeout)
            if scheme == b"https":
                sni = request.extensions.get("sni_hostname") or host.decode("ascii")
                try:
                    stream = await stream.start_tls(
                        self._tls(), server_hostname=sni, timeout=timeout
                    )
                except BaseException:
                    await stream.aclose()
                    raise
        except Exception as error:
            _as_httpx(error)
        return _Connection(origin, stream)

    def _tls(self) -> ssl.SSLContext:
        # Made at the first https feed: loading the trusted certificates costs a start-up that
        # polls plain http feeds 20 ms.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        return self._ssl_context

    @staticmethod
    async def _exchange(
        connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> h11.Response:
        """Send the request (a GET's head; a body, if any, whole) and read the answer's head."""
        event = h11.Request(
            method=request.method, target=request.url.raw_path, headers=request.headers.raw
        )
        write = timeouts.get("write")
        try:
            await connection.send(event, write)
            body = await request.aread()
            if body:
                await connection.send(h11.Data(data=body), write)
            await connection.send(h11.EndOfMessage(), write)
        except httpcore.WriteError:
            # As httpcore: a server may close before it has read the whole request and still
            # answer (a 413, a 401); its answer says more than the broken pipe.
            pass
        while True:
            answer = await connection.receive(timeouts.get("read"))
            if isinstance(answer, h11.Response):
                return answer
            if not isinstance(answer, h11.InformationalResponse):
                raise httpcore.RemoteProtocolError(f"unexpected {type(answer).__name__}")

    async def _release(self, connection: _Connection) -> None:
        """A response read to its end: its connection is kept, when it may serve another."""
        state = connection.h11
        if (
            self._closed
            or state.our_state is not h11.DONE
            or state.their_state is not h11.DONE
            or self._idle_count >= self._max_idle
        ):
            await connection.stream.aclose()
            return
        state.start_next_cycle()
        now = asyncio.get_running_loop().time()
        connection.expires = now + self._keepalive
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1
        if now >= self._next_sweep:
            await self._sweep(now)

    async def _sweep(self, now: float) -> None:
        """Close the idle connections that expired or were closed by their server (once a second
        at most: a host polled once is not looked up again)."""
        self._next_sweep = now + 1.0
        stale: list[_Connection] = []
        for origin in list(self._idle):
            kept: list[_Connection] = []
            for connection in self._idle[origin]:
                (kept if connection.reusable(now) else stale).append(connection)
            if kept:
                self._idle[origin] = kept
            else:
                del self._idle[origin]
        self._idle_count -= len(stale)
        for connection in stale:
            await connection.stream.aclose()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle, self._idle_count = self._idle, {}, 0
        for connections in idle.values():
            for connection in connections:
                await connection.stream.aclose()


class _Body(httpx.AsyncByteStream):
    """A response's body as it arrives; the connection goes back to the transport at its end, and
    is closed when the body is left unread."""

    def __init__(
        self,
        transport: FeedTransport,
        connection: _Connection,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        try:
            while True:
                event = await connection.receive(self._timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                    break
                else:  # h11 says ConnectionClosed only after the end, which stops the loop
                    raise httpcore.RemoteProtocolError(f"unexpected {type(event).__name__}")
        except Exception as error:
            await self.aclose()
            _as_httpx(error)
        self._connection = None
        await self._transport._release(connection)

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.stream.aclose()
