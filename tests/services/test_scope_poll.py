"""A watchlist's scope and fields through the real pipeline, on SQLite and PostgreSQL: feeds on a
local server, lists from a config file; a list limited to one source hits only its items, a list
that skips one never hits its items, a list that reads categories hits an item tagged with its
term; a backfill keeps the same scope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from html import escape
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.core.matching.scope import ScopedMatcher
from bot.ops.config import load_settings
from bot.services.backfill import backfill
from tests.builders import Clock, write_settings
from tests.conftest import Database
from tests.fakes.feed_server import FeedServer

LISTS = """
[[watchlist]]
name = "everywhere"
terms = ["РДК"]

[[watchlist]]
name = "meduza_only"
terms = ["РДК"]
sources = ["Meduza"]

[[watchlist]]
name = "not_wire"
terms = ["РДК"]
skip_sources = ["kyiv wire"]

[[watchlist]]
name = "tagged"
terms = ["Kursk"]
fields = ["title", "summary", "categories"]
"""


def rss(title: str, *items: tuple[str, str, str]) -> bytes:
    body = "".join(
        f"<item><guid>{guid}</guid><title>{escape(heading)}</title>"
        + "".join(f"<category>{escape(c)}</category>" for c in tags.split("|") if c)
        + "<pubDate>Tue, 12 Mar 2024 05:40:00 GMT</pubDate></item>"
        for guid, heading, tags in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}'
        "</channel></rss>"
    ).encode()


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, database: Database
) -> AsyncIterator[FeedwatchApp]:
    meduza = feed_server.add("/meduza.rss", rss("Meduza", ("m1", "РДК заявил о рейде", "")))
    wire = feed_server.add(
        "/wire.rss",
        rss(
            "Wire",
            ("w1", "Бойцы РДК в Тёткино", ""),
            ("w2", "Border villages evacuated", "Kursk region|War"),
        ),
    )
    settings = write_settings(
        tmp_path, [meduza, wire], watchlists=LISTS, database_url=database.config_url
    )
    # The feeds' names in the config: what `sources` names (write_settings calls them Feed 1, 2).
    config = tmp_path / "feedwatch.toml"
    text = config.read_text(encoding="utf-8").replace('"Feed 1"', '"Meduza"')
    config.write_text(text.replace('"Feed 2"', '"Kyiv Wire"'), encoding="utf-8")
    async with FeedwatchApp(load_settings(config, env={}), clock=Clock()) as running:
        yield running
    assert settings.watchlists  # the file as written, before the names were changed


def hits(app: FeedwatchApp) -> dict[str, set[str]]:
    """The titles each list hit, from storage."""
    found: dict[str, set[str]] = {}
    for hit in app.repo.export_hits(Clock().now - timedelta(days=1)):
        found.setdefault(hit.watchlist, set()).add(hit.title)
    return found


EXPECTED = {
    "everywhere": {"РДК заявил о рейде", "Бойцы РДК в Тёткино"},
    "meduza_only": {"РДК заявил о рейде"},
    "not_wire": {"РДК заявил о рейде"},
    "tagged": {"Border villages evacuated"},
}


async def test_each_list_hits_only_where_its_scope_and_fields_say(app: FeedwatchApp) -> None:
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    assert hits(app) == EXPECTED


async def test_a_backfill_keeps_each_lists_scope(app: FeedwatchApp) -> None:
    """The items stored first under lists that hit nothing; a backfill with the scoped lists
    finds what polling would have."""
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    lists = app.repo.watchlists()
    now = Clock().now + timedelta(minutes=1)
    # Take the stored hits away by matching again from scratch: a second backfill adds none.
    done = backfill(app.repo, ScopedMatcher(lists), now - timedelta(days=1), now, deliver=False)
    assert done.scanned == 3
    assert done.new_hits == {}  # polling stored exactly what the scoped backfill finds
    assert hits(app) == EXPECTED
