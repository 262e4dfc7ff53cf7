"""What a poll's storage calls send: rows written once go in by plain Core statements, never as ORM
objects (no identity map, no flush), and a saved state binds only the values it has."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Mapper, Session

from bot.core.domain import FeedSpec, Match, ParsedItem, Watchlist
from bot.storage.repository import Repository

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)


@pytest.fixture
def seeded(repo: Repository) -> Repository:
    repo.sync_config(
        [FeedSpec("https://a.example/rss", "A"), FeedSpec("https://b.example/rss", "B")],
        [Watchlist("rvc", ("РДК",))],
        NOW,
    )
    repo.register_chat(100, "private", None, NOW)
    repo.subscribe(100, ["rvc"], NOW)
    return repo


@pytest.fixture
def orm_work() -> Iterator[list[str]]:
    """Every row loaded as an ORM object and every flush, from now on."""
    seen: list[str] = []

    def loaded(target: Any, _context: Any) -> None:
        seen.append(f"load {type(target).__name__}")

    def flushed(_session: Any, _context: Any, _instances: Any) -> None:
        seen.append("flush")

    event.listen(Mapper, "load", loaded)
    event.listen(Session, "before_flush", flushed)
    try:
        yield seen
    finally:
        event.remove(Mapper, "load", loaded)
        event.remove(Session, "before_flush", flushed)


def test_storing_items_and_the_feed_state_makes_no_orm_object(
    seeded: Repository, orm_work: list[str]
) -> None:
    feed = seeded.feeds()[0]
    items = [
        (ParsedItem("1", "РДК", None, "", NOW), {"rvc": (Match("rvc", "РДК", "РДК"),)}),
        (ParsedItem("2", "Nothing", None, "", NOW), {}),
    ]
    state = replace(feed, etag='"v1"', body_hash="h", last_polled_at=NOW, next_poll_at=NOW)
    assert seeded.unseen_keys(feed.id, ["1", "2"]) == {"1", "2"}
    stored = seeded.store_items(feed.id, items, NOW, state=state)
    assert (stored.new_items, stored.new_hits, stored.new_deliveries) == (2, 1, 1)
    assert orm_work == []
    assert seeded.feeds()[0].etag == '"v1"'


def test_unchanged_feeds_bind_only_the_values_they_set(seeded: Repository) -> None:
    feeds = seeded.feeds_after(0, 10)
    later = NOW + timedelta(hours=1)
    healthy = [replace(f, etag='"v1"', last_polled_at=later, last_success_at=later) for f in feeds]
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(seeded.engine, "before_cursor_execute", record)
    assert seeded.save_feed_states(healthy) == 2
    updates = [(s, p) for s, p in sent if s.lstrip().upper().startswith("UPDATE")]
    # One executemany for the batch; the health a 304 clears is NULL in the statement.
    assert len(updates) == 1
    statement, rows = updates[0]
    assert len(rows) == 2
    assert all(None not in (row.values() if isinstance(row, dict) else row) for row in rows)
    assert "last_error=NULL" in statement.replace(" ", "")
    assert [f.etag for f in seeded.feeds()] == ['"v1"', '"v1"']
