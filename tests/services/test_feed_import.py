"""The feed check and the OPML import that /addfeed, /importopml and `feedwatch feeds import` share:
real fetches from the local feed server, real parsing, the report in the file's order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.core.errors import FetchError, ParseError, RefusedError
from bot.core.said import Said, said
from bot.services.feed_check import UNCHECKED, Checked, FeedChecker
from bot.services.feed_import import Kept, import_feeds
from bot.sources.fetch import Fetcher
from bot.sources.opml import OpmlEntry
from tests.builders import rss
from tests.fakes.feed_server import FeedServer

RAID = ("raid", "RVC fighters cross into Kursk region", "")


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(timeout=2, allow_private_addresses=True) as fetcher:
        yield fetcher


async def test_a_feed_gives_its_title_and_anything_else_says_why(
    fetcher: Fetcher, feed_server: FeedServer
) -> None:
    checker = FeedChecker(fetcher)
    good = feed_server.add("/good.rss", rss(RAID, title="Border Monitor"))
    page = feed_server.add(
        "/page.html", b"<html><body>hello</body></html>", content_type="text/html"
    )
    missing = feed_server.url + "/missing.rss"
    assert await checker.title(good) == "Border Monitor"
    with pytest.raises(ParseError):
        await checker.title(page)
    with pytest.raises(FetchError, match="404"):
        await checker.title(missing)


async def test_checking_many_reports_each_url_once_with_a_reason_alone(
    fetcher: Fetcher, feed_server: FeedServer
) -> None:
    urls = [feed_server.add(f"/{n}.rss", rss(RAID, title=f"Outlet {n}")) for n in range(6)]
    urls.append(feed_server.url + "/gone.rss")
    found = {c.url: c async for c in FeedChecker(fetcher, at_once=2).check_all(urls)}
    assert set(found) == set(urls)
    assert [found[u].title for u in urls[:6]] == [f"Outlet {n}" for n in range(6)]
    gone = found[urls[-1]]
    assert not gone.is_feed
    assert gone.problem is not None
    assert "404" in gone.problem
    assert "gone.rss" not in gone.problem  # the report names the URL already


async def test_at_most_so_many_checks_run_at_once_and_per_server(fetcher: Fetcher) -> None:
    running = 0
    most = 0

    class Counting(FeedChecker):
        async def title(self, url: str) -> str | None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0)  # let every other check that may start, start
            await asyncio.sleep(0)
            running -= 1
            return url

    urls = [f"http://host{n % 2}.example/{n}" for n in range(12)]
    checked = [c async for c in Counting(fetcher, at_once=5, per_host=2).check_all(urls)]
    assert len(checked) == 12
    assert most == 4  # two servers, two each: the overall five are never all used


async def test_a_check_that_fails_inside_feedwatch_ends_as_unchecked_and_the_rest_go_on(
    fetcher: Fetcher, feed_server: FeedServer
) -> None:
    good = feed_server.add("/good.rss", rss(RAID, title="Border Monitor"))

    def parse(content: bytes, *, source: str, headers: object = None) -> object:
        if source.endswith("bad.rss"):
            raise MemoryError
        from bot.sources.parsing import parse_feed

        return parse_feed(content, source=source)

    bad = feed_server.add("/bad.rss", rss(RAID))
    checker = FeedChecker(fetcher, parse=parse)  # type: ignore[arg-type]
    found = {c.url: c async for c in checker.check_all([bad, good])}
    assert found[bad] == Checked(bad, problem=UNCHECKED)
    assert found[good].title == "Border Monitor"


async def test_an_import_checks_only_new_feeds_keeps_the_good_and_refuses_the_rest_in_order(
    fetcher: Fetcher, feed_server: FeedServer
) -> None:
    first = feed_server.add("/first.rss", rss(RAID, title="First"))
    second = feed_server.add("/second.rss", rss(RAID, title="Second"))
    known = feed_server.add("/known.rss", rss(RAID, title="Known"))
    page = feed_server.add("/page.html", b"<html>no feed</html>", content_type="text/html")
    full = feed_server.add("/full.rss", rss(RAID, title="Full"))
    entries = [
        OpmlEntry("ftp://files.example/x", problem="only http and https feeds can be read"),
        OpmlEntry(second, title="Second, as the file names it"),
        OpmlEntry(known),
        OpmlEntry(page),
        OpmlEntry(first),
        OpmlEntry(full),
    ]
    kept: list[tuple[str, str | None]] = []

    async def keep(url: str, name: str | None) -> Kept:
        if url == full:
            raise RefusedError("a chat can add at most {count} feeds", count=3)
        kept.append((url, name))
        return "added"

    progress: list[tuple[int, int]] = []

    async def told(done: int, total: int) -> None:
        progress.append((done, total))

    report = await import_feeds(entries, FeedChecker(fetcher), keep, present={known}, progress=told)
    assert sorted(kept) == sorted([(second, "Second, as the file names it"), (first, "First")])
    assert [e.url for e in report.added] == [second, first]
    assert [e.url for e in report.already] == [known]
    assert [r.entry.url for r in report.refused] == ["ftp://files.example/x", page, full]
    reasons = [r.reason for r in report.refused]
    assert reasons[0] == "only http and https feeds can be read"
    assert isinstance(reasons[2], Said)
    assert reasons[2] == "a chat can add at most 3 feeds"
    assert progress == [(n, 4) for n in range(5)]
    assert not any(r.path == "/known.rss" for r in feed_server.requests)


async def test_an_import_fetches_no_more_feeds_than_there_is_room_for(
    fetcher: Fetcher, feed_server: FeedServer
) -> None:
    urls = [feed_server.add(f"/{n}.rss", rss(RAID, title=f"Outlet {n}")) for n in range(5)]

    async def keep(url: str, name: str | None) -> Kept:
        return "added"

    no_room = said("a chat can add at most {count} feeds; /removefeed one first", count=2)
    report = await import_feeds(
        [OpmlEntry(u) for u in urls], FeedChecker(fetcher), keep, room=2, room_reason=no_room
    )
    assert [e.url for e in report.added] == urls[:2]
    assert [(r.entry.url, r.reason) for r in report.refused] == [(u, no_room) for u in urls[2:]]
    assert len(feed_server.requests) == 2


def test_checked_is_a_feed_only_without_a_problem() -> None:
    assert Checked("u", title=None).is_feed
    assert not Checked("u", problem="the server answered 500").is_feed
