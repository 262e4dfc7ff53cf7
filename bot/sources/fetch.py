"""Fetch feeds over HTTP: conditional GET, a cap on time, size and redirects; bytes out, never items.

Bodies are decompressed here, step by step under the same cap (httpx's decoders have no output
limit); every failure becomes a `FetchError` in plain words, and nothing of httpx leaks past here.
Requests go straight to the transport (`_Client`): what httpx's client adds costs more than a 304.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Protocol

import brotli
import httpx

from bot import __version__
from bot.core.channel_address import (
    CANONICAL_BASE,
    TELEGRAM_LIMITING,
    channel_name,
    is_channel_url,
    page_before,
    page_url,
)
from bot.core.domain import FetchedFeed
from bot.core.errors import FetchError
from bot.ops.config import PollingSettings
from bot.sources.address_guard import AddressRefused, backed_transport, guarded_transport
from bot.sources.host_pace import HostPace

USER_AGENT = f"feedwatch/{__version__} (+https://github.com/feedwatch/feedwatch)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
PERMANENT_REDIRECTS = {301, 308}
# The Content-Encodings decoded here, and so the only ones offered. zstd is not: nothing in the
# dependencies decodes it under a cap. brotli before 1.2 cannot bound its output, so with it br
# is neither offered nor accepted.
_BOUNDED_BROTLI = hasattr(brotli.Decompressor, "can_accept_more_data")
ENCODINGS = ("gzip", "deflate", "br") if _BOUNDED_BROTLI else ("gzip", "deflate")
ACCEPT_ENCODING = ", ".join(ENCODINGS)
# A body compressed twice is seen in the wild (a proxy gzips what the origin gzipped); more is not.
MAX_ENCODINGS = 2
_ALIASES = {"x-gzip": "gzip"}  # RFC 9110 8.4.1.3
CHANNEL_BASES = (CANONICAL_BASE, "https://telegram.me")
"""Where channel pages are read: t.me, then telegram.me when t.me cannot be reached (it could
not be, for a while in 2026, where telegram.me could)."""
FALLBACK_HOLDS = 300.0
"""Seconds a base that could not be reached is passed over for the next one: a blocked t.me is
not waited on by every channel in turn."""


class Fetcher:
    """One shared HTTP client for all feeds; use it as an async context manager."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_bytes: int = MAX_BODY_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        allow_private_addresses: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        pace: HostPace | None = None,
        channel_bases: Sequence[str] = CHANNEL_BASES,
        proxy: str | None = None,
    ) -> None:
        self.timeout = timeout
        self._pace = pace or HostPace({})
        self._channel_bases = tuple(base.rstrip("/") for base in channel_bases) or CHANNEL_BASES
        # Monotonic time until which each base is passed over (see FALLBACK_HOLDS).
        self._unreachable: dict[str, float] = {}
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        if transport is None:
            # Feeds go through `FeedTransport` (bot/sources/http11.py), not httpcore's pool.
            build = backed_transport if allow_private_addresses else guarded_transport
            transport = build()
        limit = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._client = _Client(transport, limit, max_redirects, max_bytes)
        # Channel pages alone go through the proxy: they are read only from the configured bases,
        # never from an address a user gave, so the guard (which cannot see past a proxy) has
        # nothing to check there. Feeds still connect directly, through the guard.
        self._channel_client = self._client
        if proxy:
            proxied = httpx.AsyncHTTPTransport(proxy=proxy)
            self._channel_client = _Client(proxied, limit, max_redirects, max_bytes)

    @classmethod
    def configured(cls, polling: PollingSettings, *, allow_private: bool = False) -> Fetcher:
        """A fetcher with the limits of `[polling]` (`allow_private` lifts the address guard for
        one command, as `parse --allow-private-addresses` does)."""
        return cls(
            timeout=polling.timeout.total_seconds(),
            connect_timeout=polling.connect_timeout.total_seconds(),
            max_bytes=polling.max_body_mib * 1024 * 1024,
            max_redirects=polling.max_redirects,
            allow_private_addresses=polling.allow_private_addresses or allow_private,
            # Every channel page is paced as t.me's, whichever base serves it.
            pace=HostPace({"t.me": polling.telegram_pace.total_seconds()}),
            channel_bases=(polling.telegram_base_url, *polling.telegram_fallback_urls),
            proxy=polling.proxy or None,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._channel_client is not self._client:
            await self._channel_client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed:
        """GET `url`, conditionally when cache facts are known. A 304 comes back with no content.
        A channel's address (`https://t.me/s/<name>`) is read from the channel bases, the next
        when one cannot be reached."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if is_channel_url(url):
            return await self._fetch_channel(url, headers)
        # The wait for a paced host's turn is not the server's time: outside the timeout.
        await self._pace.turn(url)
        return await self._fetch_once(url, headers)

    async def _fetch_channel(self, url: str, headers: dict[str, str]) -> FetchedFeed:
        name = channel_name(url)
        assert name is not None
        before = page_before(url)
        now = time.monotonic()
        # The bases not passed over come first, in their order; then the others.
        bases = sorted(self._channel_bases, key=lambda b: self._unreachable.get(b, 0.0) > now)
        first_error: FetchError | None = None
        for base in bases:
            await self._pace.turn(CANONICAL_BASE)
            try:
                fetched = await self._fetch_once(
                    page_url(name, base, before=before), headers, client=self._channel_client
                )
            except FetchError as error:
                if error.status == 429:
                    raise FetchError(
                        error.url,
                        TELEGRAM_LIMITING,
                        status=429,
                        retry_after=error.retry_after,
                    ) from error
                if error.status is not None:
                    raise  # the base answered: another would answer the same
                self._unreachable[base] = time.monotonic() + FALLBACK_HOLDS
                first_error = first_error or error
                continue
            self._unreachable.pop(base, None)
            return fetched
        assert first_error is not None
        raise first_error

    async def _fetch_once(
        self, url: str, headers: dict[str, str], *, client: _Client | None = None
    ) -> FetchedFeed:
        try:
            # httpx's timeouts are per read; this bounds the whole exchange, so a server that
            # drips one byte at a time is cut off too.
            async with asyncio.timeout(self.timeout):
                return await self._get(client or self._client, url, headers)
        except TimeoutError as error:
            raise FetchError(url, f"timed out after {self.timeout:g} s") from error
        except httpx.TooManyRedirects as error:
            hops = self.max_redirects
            raise FetchError(url, f"more than {hops} redirect{'' if hops == 1 else 's'}") from error
        except httpx.TimeoutException as error:
            raise FetchError(url, f"timed out after {self.timeout:g} s") from error
        except httpx.ConnectError as error:
            if isinstance(error.__cause__, AddressRefused):
                raise FetchError(url, str(error.__cause__)) from error
            raise FetchError(url, f"cannot connect: {_first_line(error)}") from error
        except httpx.InvalidURL as error:
            raise FetchError(url, f"not a valid URL: {_first_line(error)}") from error
        except httpx.UnsupportedProtocol as error:
            raise FetchError(url, "only http and https URLs can be fetched") from error
        except httpx.HTTPError as error:
            raise FetchError(url, f"HTTP error: {_first_line(error)}") from error

    async def _get(self, client: _Client, url: str, headers: dict[str, str]) -> FetchedFeed:
        response, history = await client.get(url, headers)
        async with contextlib.aclosing(response):
            moved = bool(history) and all(status in PERMANENT_REDIRECTS for status in history)
            final_url = str(response.url)
            if response.status_code == 304:
                # Read to its end, though a 304 has no body: a response closed before its end
                # takes its connection with it, and the next request to the host connects anew.
                async for _ in response.aiter_raw():
                    pass
                return FetchedFeed(
                    url=url,
                    final_url=final_url,
                    status=304,
                    headers=_headers(response),
                    etag=response.headers.get("ETag") or None,
                    last_modified=response.headers.get("Last-Modified") or None,
                    moved_permanently=moved,
                )
            if response.status_code >= 400:
                phrase = response.reason_phrase or ""
                raise FetchError(
                    url,
                    _status_reason(response.status_code, phrase),
                    status=response.status_code,
                    retry_after=response.headers.get("Retry-After"),
                )
            if response.status_code != 200:
                raise FetchError(
                    url,
                    f"unexpected HTTP status {response.status_code}",
                    status=response.status_code,
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(url, f"the feed is larger than {_size(self.max_bytes)}")
            body = _Body(url, _encodings(url, response), self.max_bytes)
            received = 0
            # Raw bytes, decoded here: httpx would decode each chunk whole, however large it grows.
            async for chunk in response.aiter_raw():
                received += len(chunk)
                if received > self.max_bytes:
                    raise FetchError(url, f"the feed is larger than {_size(self.max_bytes)}")
                body.add(chunk)
            return FetchedFeed(
                url=url,
                final_url=final_url,
                status=200,
                content=bytes(body.content),
                headers=_headers(response),
                etag=response.headers.get("ETag") or None,
                last_modified=response.headers.get("Last-Modified") or None,
                moved_permanently=moved,
            )


# What httpx's client sent with every request, in its order (its own defaults, ours over them).
_HEADERS = (
    ("Accept", ACCEPT),
    ("Accept-Encoding", ACCEPT_ENCODING),
    ("Connection", "keep-alive"),
    ("User-Agent", USER_AGENT),
)


class _Client:
    """What `httpx.AsyncClient` did for a feed's GET, over one transport: its headers, its cookie
    jar (cookies a server sets are sent back to it, as browsers and httpx do) and its following of
    redirects, step for step; without the rest of its machinery, which cost a 304 a fifth of its
    CPU time. The response comes back unread: close it."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        timeout: httpx.Timeout,
        max_redirects: int,
        max_bytes: int,
    ) -> None:
        self.transport = transport
        self.cookies = httpx.Cookies()
        self._extensions = {"timeout": timeout.as_dict()}
        self._max_redirects = max_redirects
        self._max_bytes = max_bytes

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def get(self, url: str, headers: dict[str, str]) -> tuple[httpx.Response, list[int]]:
        """The response at the end of the redirects from `url`, and the status of each redirect."""
        request = httpx.Request(
            "GET",
            url,
            headers=[*_HEADERS, *headers.items()],
            cookies=self.cookies or None,
            extensions=self._extensions,
        )
        history: list[int] = []
        while True:
            if len(history) > self._max_redirects:
                raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
            response = await self.transport.handle_async_request(request)
            response.request = request
            try:
                # Most answers set no cookie: the jar's work for one that does not is skipped.
                if "set-cookie" in response.headers or "set-cookie2" in response.headers:
                    self.cookies.extract_cookies(response)
                if not response.has_redirect_location:
                    return response, history
                request = self._redirect(request, response)
                history.append(response.status_code)
                await self._discard(response)
            except BaseException:
                await response.aclose()
                raise

    def _redirect(self, request: httpx.Request, response: httpx.Response) -> httpx.Request:
        """The GET a redirect asks for, as httpx makes it (`AsyncClient._build_redirect_request`)."""
        try:
            url = httpx.URL(response.headers["Location"])
        except httpx.InvalidURL as error:
            raise httpx.RemoteProtocolError(
                f"Invalid URL in location header: {error}.", request=request
            ) from None
        if url.scheme and not url.host:
            url = url.copy_with(host=request.url.host)
        if url.is_relative_url:
            url = request.url.join(url)
        if request.url.fragment and not url.fragment:
            url = url.copy_with(fragment=request.url.fragment)
        headers = httpx.Headers(request.headers)
        if not _same_origin(url, request.url):
            if not _https_upgrade(request.url, url):
                headers.pop("Authorization", None)
            headers["Host"] = url.netloc.decode("ascii")
        # The jar decides the cookies of the next request, not the last request's header.
        headers.pop("Cookie", None)
        return httpx.Request(
            "GET",
            url,
            headers=headers,
            cookies=self.cookies or None,
            stream=request.stream,
            extensions=request.extensions,
        )

    async def _discard(self, response: httpx.Response) -> None:
        """Read a redirect's body to its end, so that its connection serves the next request; one
        larger than a feed may be is not read (nor decoded, as httpx did), its connection closed."""
        received = 0
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > self._max_bytes:
                break
        await response.aclose()


def _port_or_default(url: httpx.URL) -> int | None:
    return url.port if url.port is not None else {"http": 80, "https": 443}.get(url.scheme)


def _same_origin(url: httpx.URL, other: httpx.URL) -> bool:
    return (
        url.scheme == other.scheme
        and url.host == other.host
        and _port_or_default(url) == _port_or_default(other)
    )


def _https_upgrade(url: httpx.URL, location: httpx.URL) -> bool:
    """Whether `location` is `url` moved from http to https, on the same host and default ports."""
    return (
        url.host == location.host
        and url.scheme == "http"
        and _port_or_default(url) == 80
        and location.scheme == "https"
        and _port_or_default(location) == 443
    )


def _encodings(url: str, response: httpx.Response) -> list[str]:
    """The Content-Encodings of `response`, in the order they were applied; refused unless each is
    one decoded here and there are at most `MAX_ENCODINGS` of them."""
    named = response.headers.get_list("Content-Encoding", split_commas=True)
    encodings = [_ALIASES.get(e, e) for e in (n.strip().lower() for n in named)]
    encodings = [e for e in encodings if e and e != "identity"]
    unknown = [e for e in encodings if e not in ENCODINGS]
    if unknown:
        raise FetchError(
            url,
            f"the feed is compressed with {_token(unknown[0])}, which feedwatch does not decode "
            f"(it decodes {', '.join(ENCODINGS)})",
        )
    if len(encodings) > MAX_ENCODINGS:
        raise FetchError(
            url,
            f"the feed is compressed {len(encodings)} times over ({', '.join(encodings)}); "
            f"feedwatch decodes at most {MAX_ENCODINGS} encodings",
        )
    return encodings


def _token(name: str) -> str:
    """An encoding's name as a reason may quote it: a server may send anything in the header."""
    if re.fullmatch(r"[a-z0-9!#$%&'*+.^_`|~-]{1,32}", name):
        return name
    return "an encoding of unreadable name"


# A decoding step makes at most _PIECE bytes (brotli may go a block over), and a zlib step reads at
# most _STEP: zlib copies what a step leaves unread, so with whole chunks a body of many tiny gzip
# members would take time quadratic in its size.
_PIECE = 64 * 1024
_STEP = 1024
_GZIP = zlib.MAX_WBITS | 16


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]:
        """The output of the next bytes of the stream, in pieces of about `_PIECE` at most."""
        ...


class _Inflate:
    """gzip, every member of it (RFC 1952), or deflate, zlib-wrapped or raw: servers send both."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding == "gzip"
        self._inflate = zlib.decompressobj(_GZIP) if self._gzip else None
        self._start = b""
        self._next_member = False
        self._ended = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._inflate is None:
            # A zlib header is two bytes (RFC 1950) that raw deflate data practically never starts
            # with; trying one and then the other would depend on where the chunks end.
            data = self._start + data
            if len(data) < 2:
                self._start = data
                return
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        for start in range(0, len(data), _STEP):
            yield from self._inflate_step(data[start : start + _STEP])

    def _inflate_step(self, data: bytes) -> Iterator[bytes]:
        assert self._inflate is not None
        while not self._ended:
            inflate = self._inflate
            if inflate.eof:
                if not data:
                    return
                if not self._gzip:
                    self._ended = True  # bytes after the end of a deflate stream are no body
                    return
                inflate = self._inflate = zlib.decompressobj(_GZIP)
                self._next_member = True
            try:
                out = inflate.decompress(data, _PIECE)
            except zlib.error:
                if self._next_member:
                    self._ended = True  # garbage after a whole member: gzip(1) ignores it too
                    return
                raise
            if out:
                yield out
            data = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
            if not data and not inflate.eof and len(out) < _PIECE:
                return


class _Unbrotli:
    """br, with the output of each step bounded (brotli 1.2 and later)."""

    def __init__(self) -> None:
        self._brotli = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        decompressor = self._brotli
        if decompressor.is_finished() and data:
            # As brotli itself fails on them when they come in the same chunk as the end.
            raise brotli.error("data after the end of the stream")
        # The decoder keeps what it has not taken or given out yet, and gives it as it is asked
        # again: until it has nothing more to give (it may have output pending even when it could
        # take more input).
        out: bytes = decompressor.process(data, output_buffer_limit=_PIECE)
        while out or not decompressor.can_accept_more_data():
            if out:
                yield out
            out = decompressor.process(b"", output_buffer_limit=_PIECE)


class _Body:
    """A body as it arrives: raw chunks in, through the stack of decoders, each step's output
    counted against the cap (a middle step, too, could expand without limit)."""

    def __init__(self, url: str, encodings: list[str], max_bytes: int) -> None:
        self.url = url
        self.max_bytes = max_bytes
        # Decoded in the reverse of the order they were applied.
        self._steps = [(e, _decoder(e)) for e in reversed(encodings)]
        self._made = [0] * len(self._steps)
        self.content = bytearray()

    def add(self, chunk: bytes) -> None:
        self._through(0, chunk)

    def _through(self, step: int, data: bytes) -> None:
        if step == len(self._steps):
            self.content.extend(data)
            return
        encoding, decoder = self._steps[step]
        try:
            for piece in decoder.feed(data):
                self._made[step] += len(piece)
                if self._made[step] > self.max_bytes:
                    raise FetchError(
                        self.url, f"the feed decompresses to more than {_size(self.max_bytes)}"
                    )
                self._through(step + 1, piece)
        except (zlib.error, brotli.error) as error:
            raise FetchError(self.url, f"the feed's {encoding} data is damaged") from error


def _decoder(encoding: str) -> _Decoder:
    return _Unbrotli() if encoding == "br" else _Inflate(encoding)


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


def _status_reason(status: int, phrase: str) -> str:
    reason = f"HTTP {status} {phrase}".strip()
    if status == 410:
        return f"{reason}: the server says the feed is gone for good; it is no longer polled"
    return reason


def _headers(response: httpx.Response) -> dict[str, str]:
    return {key.lower(): value for key, value in response.headers.items()}


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
