"""Whether a URL is a feed, found as the poller would find it: fetched under the address guard and
the caps, then parsed. `/addfeed`, `/importopml` and `feedwatch feeds import` all ask it here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from bot.core.domain import FetchedFeed, ParsedFeed
from bot.core.errors import FeedwatchError, ParseError
from bot.core.said import N_, said
from bot.ops.logs import withheld
from bot.sources.feed_discovery import announced_feeds
from bot.sources.parsing import parse_feed

log = logging.getLogger(__name__)

MOST_ANNOUNCED = 3
"""A page's announced feeds tried in turn, at most (the first that reads as a feed is taken)."""

UNCHECKED = N_("it could not be checked; the error is logged")
"""The reason given for a URL whose check failed inside feedwatch, not by the feed's fault."""


class FeedFetcher(Protocol):
    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedFeed: ...


class FeedParser(Protocol):
    def __call__(
        self, content: bytes, *, source: str, headers: Mapping[str, str] | None = None
    ) -> ParsedFeed: ...


@dataclass(frozen=True, slots=True)
class Checked:
    """What checking one URL found: the feed's title (None when it has none), or why it is no
    feed (`problem`: the reason alone, since whoever reads it knows the URL)."""

    url: str
    title: str | None = None
    problem: str | None = None

    @property
    def is_feed(self) -> bool:
        return self.problem is None


class FeedChecker:
    """Checks URLs as feeds: one at a time for /addfeed, or many, `at_once` together and at most
    `per_host` on one server, for an OPML import."""

    def __init__(
        self,
        fetcher: FeedFetcher,
        *,
        parse: FeedParser = parse_feed,
        at_once: int = 4,
        per_host: int = 4,
    ) -> None:
        self._fetcher = fetcher
        self._parse = parse
        self._at_once = max(1, at_once)
        self._per_host = max(1, per_host)

    async def title(self, url: str) -> str | None:
        """The feed's title; a FeedwatchError (fetch or parse) saying why `url` is not a feed."""
        fetched = await self._fetcher.fetch(url)
        parsed = await asyncio.to_thread(
            self._parse, fetched.content, source=url, headers=fetched.headers
        )
        return parsed.title

    async def find(self, url: str) -> Checked:
        """The feed at `url`, or the first feed the web page at `url` announces (a site's address
        given for its feed, as readers take it); a FeedwatchError saying why `url` is neither,
        the page's own when it announces no feed."""
        fetched = await self._fetcher.fetch(url)
        try:
            parsed = await asyncio.to_thread(
                self._parse, fetched.content, source=url, headers=fetched.headers
            )
        except ParseError as error:
            announced = await asyncio.to_thread(announced_feeds, fetched.content, fetched.final_url)
            for feed_url in announced[:MOST_ANNOUNCED]:
                try:
                    return Checked(feed_url, title=await self.title(feed_url))
                except FeedwatchError:
                    continue
            raise error from None
        return Checked(url, title=parsed.title)

    async def check_all(self, urls: Sequence[str]) -> AsyncIterator[Checked]:
        """Each URL checked, as the checks finish. A check that fails inside feedwatch (a bug, not
        the feed) is logged without the URL, which came from a user, and ends as `UNCHECKED`;
        the others go on."""
        turns = asyncio.Semaphore(self._at_once)
        hosts: dict[str, asyncio.Semaphore] = {}

        async def check(url: str) -> Checked:
            host = (urlsplit(url).hostname or "").lower()
            per_host = hosts.setdefault(host, asyncio.Semaphore(self._per_host))
            # The server's turn first: waiting for it must not hold one of the overall turns.
            async with per_host, turns:
                try:
                    return Checked(url, title=await self.title(url))
                except FeedwatchError as error:
                    return Checked(url, problem=reason_of(error))
                except Exception as error:  # one feed's surprise must not end the others
                    log.error("checking a feed failed", exc_info=withheld(error))
                    return Checked(url, problem=said(UNCHECKED))

        for finished in asyncio.as_completed([check(url) for url in urls]):
            yield await finished


def reason_of(error: FeedwatchError) -> str:
    """The reason alone: fetch and parse errors name the URL, which a report names already."""
    reason = getattr(error, "reason", None)
    return reason if isinstance(reason, str) else str(error)
