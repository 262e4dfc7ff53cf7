"""Fetch feeds over HTTP: conditional GET, a cap on time, size and redirects; bytes out, never items.

Every failure becomes a `FetchError` with a reason in plain words; nothing of httpx leaks past here.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

import httpx

from bot import __version__
from bot.address_guard import AddressRefused, guarded_transport
from bot.config import PollingSettings
from bot.domain import FetchedFeed
from bot.errors import FetchError

USER_AGENT = f"feedwatch/{__version__} (+https://github.com/feedwatch/feedwatch)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
PERMANENT_REDIRECTS = {301, 308}


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
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        if transport is None and not allow_private_addresses:
            transport = guarded_transport()
        self._client = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT},
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            follow_redirects=True,
            max_redirects=max_redirects,
            transport=transport,
        )

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

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed:
        """GET `url`, conditionally when cache facts are known. A 304 comes back with no content."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            # httpx's timeouts are per read; this bounds the whole exchange, so a server that
            # drips one byte at a time is cut off too.
            async with asyncio.timeout(self.timeout):
                return await self._get(url, headers)
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

    async def _get(self, url: str, headers: dict[str, str]) -> FetchedFeed:
        async with self._client.stream("GET", url, headers=headers) as response:
            moved = bool(response.history) and all(
                r.status_code in PERMANENT_REDIRECTS for r in response.history
            )
            final_url = str(response.url)
            if response.status_code == 304:
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
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > self.max_bytes:
                    raise FetchError(url, f"the feed is larger than {_size(self.max_bytes)}")
            return FetchedFeed(
                url=url,
                final_url=final_url,
                status=200,
                content=bytes(body),
                headers=_headers(response),
                etag=response.headers.get("ETag") or None,
                last_modified=response.headers.get("Last-Modified") or None,
                moved_permanently=moved,
            )


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
