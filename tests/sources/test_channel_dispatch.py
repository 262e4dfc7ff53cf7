"""Tests of `parse_feed` on Telegram channel pages: a page is known by its content, whatever its
Content-Type or URL, and read by bot.sources.telegram_page, with each post's forward, views, media,
edited flag and signature on its item; feeds are read as before; a Telegram page without messages
is refused with the reason; and the poller reads a served page as a source."""

from __future__ import annotations

import gzip
import json
import pickle
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.domain import CONSOLE_CHAT_ID, FeedSpec, ParsedItem, Watchlist
from bot.core.errors import ParseError
from bot.services.poll import Poller
from bot.sources.fetch import Fetcher
from bot.sources.parsing import parse_feed
from bot.sources.telegram_page import channel_posts
from bot.storage.asynchronous import AsyncStorage
from bot.storage.repository import Repository
from tests.builders import Clock, rss
from tests.fakes.channel_server import render_landing, render_page
from tests.fakes.feed_server import FeedServer

DATA = Path(__file__).parents[1] / "data" / "telegram"
PAGE = "any2feed_topwar_official_1.html"  # 12 messages: forwards, photos, videos, views


def _expected(name: str) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(
        (DATA / f"{name}.expected.json").read_text(encoding="utf-8")
    )
    return loaded


def _facts(item: ParsedItem) -> dict[str, Any]:
    """An item as the page's expected messages are written."""
    assert item.published is not None
    return {
        "id": item.key,
        "link": item.link,
        "title": item.title,
        "published": item.published.isoformat(),
        "summary": item.summary,
        "forwarded_from": item.forwarded_from,
        "views": item.views,
        "media": list(item.media),
        "edited": item.edited,
        "author": item.author,
    }


def _without_forward_links(expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k != "forwarded_from_link"} for m in expected]


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/html; charset=utf-8"},
        {},
        {"Content-Type": "application/rss+xml"},  # a server that lies: the content decides
    ],
    ids=["text-html", "no-headers", "feed-content-type"],
)
@pytest.mark.parametrize("source", ["https://t.me/s/topwar_official", "saved/page.html"])
def test_a_channel_page_is_read_by_its_content(headers: dict[str, str], source: str) -> None:
    feed = parse_feed((DATA / PAGE).read_bytes(), source=source, headers=headers)
    assert [_facts(item) for item in feed.items] == _without_forward_links(_expected(PAGE))
    assert feed.link == "https://t.me/s/topwar_official"
    assert feed.title


@pytest.mark.parametrize(
    "name",
    [
        "sherlock_durov_1.html",  # signatures and edited posts
        "handmade_media_kinds.html",
        "feedwatch_solokumi_1.html",
        "any2feed_oper_goblin_frag_forwarded_from.html",  # a fragment, not a whole page
    ],
)
def test_every_fact_of_a_post_reaches_its_item(name: str) -> None:
    feed = parse_feed((DATA / name).read_bytes(), source=name)
    assert [_facts(item) for item in feed.items] == _without_forward_links(_expected(name))


def test_a_page_with_no_posts_found_is_a_channel_with_no_items() -> None:
    feed = parse_feed((DATA / "handmade_no_posts_found.html").read_bytes(), source="x")
    assert feed.items == ()


def test_a_gzipped_page_is_read_as_well() -> None:
    data = (DATA / PAGE).read_bytes()
    plain = parse_feed(data, source="x")
    assert parse_feed(gzip.compress(data), source="x") == plain


def test_a_feed_is_read_as_before_with_no_channel_facts() -> None:
    document = rss(
        ("raid", "RVC claims raid", "Fighters crossed the border"),
        ("weather", "Sunny in Lviv", "A warm week ahead"),
    )
    feed = parse_feed(document, source="https://news.example/feed.rss")
    assert feed.items == (
        ParsedItem(
            "raid",
            "RVC claims raid",
            "https://news.example/raid",
            "Fighters crossed the border",
            feed.items[0].published,
        ),
        ParsedItem(
            "weather",
            "Sunny in Lviv",
            "https://news.example/weather",
            "A warm week ahead",
            feed.items[1].published,
        ),
    )
    assert all(
        (i.forwarded_from, i.views, i.media, i.edited, i.author) == (None, None, (), False, None)
        for i in feed.items
    )


def test_a_feed_quoting_a_posts_markup_is_still_a_feed() -> None:
    quoted = '<div class="tgme_widget_message_text">quoted</div>'
    document = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><guid>q</guid><title>Quote</title><description><![CDATA["
        + quoted.encode()
        + b"]]></description></item></channel></rss>"
    )
    [item] = parse_feed(document, source="x").items
    assert (item.key, item.title, item.summary) == ("q", "Quote", "quoted")
    assert (item.views, item.media) == (None, ())


LANDING = (
    b'<!DOCTYPE html><html><body><div class="tgme_page tgme_page_extra">'
    b'<div class="tgme_page_title">Some channel</div></div></body></html>'
)
ARTICLE = b"<!DOCTYPE html><html><body><article><p>Kursk news</p></article></body></html>"


def test_a_page_with_no_channel_messages_is_not_a_feed_and_says_why() -> None:
    def reason(document: bytes) -> str:
        with pytest.raises(ParseError) as raised:
            parse_feed(
                document, source="https://t.me/s/some", headers={"Content-Type": "text/html"}
            )
        assert raised.value.source == "https://t.me/s/some"
        return raised.value.reason

    assert reason(LANDING) == "the channel has no public preview"
    # What t.me serves for a channel whose preview is off, and for a name nobody has.
    assert reason(render_landing("rusvolcorps", "RVC").encode()) == (
        "the channel has no public preview"
    )
    assert reason(render_landing("no_such_name", None).encode()) == "no such channel"
    assert reason(ARTICLE) == "not a feed: looks like an HTML page"  # as before


def test_a_channels_newest_page_without_messages_means_no_public_preview() -> None:
    """t.me shows an empty page, as well as a redirect, for a channel whose preview is off; an
    older page with nothing in it is only the end of the channel."""
    empty = render_page("rusvolcorps", "RVC", []).encode()
    with pytest.raises(ParseError) as raised:
        parse_feed(empty, source="https://t.me/s/rusvolcorps")
    assert raised.value.reason == "the channel has no public preview"
    assert parse_feed(empty, source="https://t.me/s/rusvolcorps?before=5").items == ()
    assert parse_feed(empty, source="saved-page.html").items == ()


def test_items_with_channel_facts_pickle_across_the_parse_pool() -> None:
    feed = parse_feed((DATA / PAGE).read_bytes(), source="x")
    assert pickle.loads(pickle.dumps(feed)) == feed  # noqa: S301 (our own bytes)
    assert any(item.forwarded_from and item.media for item in feed.items)


# --- the poller reads a served page as a source ------------------------------------------------

WAGNER = Watchlist("wagner", ("Вагнер",))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def poller(repo: Repository, clock: Clock) -> AsyncIterator[Poller]:
    async with Fetcher(timeout=2, allow_private_addresses=True) as fetcher:
        yield Poller(
            AsyncStorage(repo), fetcher, clock=clock, default_interval=timedelta(minutes=10)
        )


async def test_a_served_channel_page_is_polled_and_its_posts_become_hits(
    repo: Repository, poller: Poller, feed_server: FeedServer, clock: Clock
) -> None:
    url = feed_server.add_file("/s/topwar_official", DATA / PAGE, content_type="text/html")
    repo.sync_config([FeedSpec(url)], [WAGNER], clock())
    repo.subscribe_console_to_all(clock())
    [outcome] = await poller.poll()
    posts = channel_posts((DATA / PAGE).read_bytes(), source=PAGE)
    wagner = [post for post in posts if "Вагнер" in post.summary]
    assert wagner
    assert (outcome.error, outcome.new_items, outcome.new_hits) == (None, len(posts), len(wagner))
    pending = repo.pending_deliveries(CONSOLE_CHAT_ID)
    assert sorted(p.item.key for p in pending) == sorted(post.key for post in wagner)
    [first] = [p for p in pending if p.item.key == wagner[0].key]
    assert first.item.link == wagner[0].link
    assert first.item.published == wagner[0].published
    assert isinstance(first.item.published, datetime)
    assert {m.term for m in first.matches} == {"Вагнер"}
