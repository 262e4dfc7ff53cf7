"""How SQLite commits are synced: new items with their feed's state skip the fsync (a power cut may
undo them, and the next poll reads them again), what says a message was sent does not; the
write-ahead log is synced in order, so a durable commit makes every one before it durable too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.core.domain import FeedSpec, Match, ParsedItem, Watchlist
from bot.storage.repository import Repository

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    repository = Repository.open(f"sqlite:///{tmp_path / 'feedwatch.db'}")
    repository.sync_config(
        [FeedSpec("https://a.example/rss", "A")], [Watchlist("rvc", ("РДК",))], NOW
    )
    repository.register_chat(100, "private", None, NOW)
    repository.subscribe(100, ["rvc"], NOW)
    try:
        yield repository
    finally:
        repository.close()


def _statements(repo: Repository) -> list[str]:
    """Every statement sent to SQLite from now on, as sent."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(repo.engine, "before_cursor_execute", record)
    return sent


def _synced_before(sent: list[str], write: str) -> str:
    """The synchronous setting last given before the first statement that starts with `write`."""
    first = next(i for i, s in enumerate(sent) if s.upper().startswith(write))
    pragmas = [s for s in sent[:first] if s.upper().startswith("PRAGMA SYNCHRONOUS")]
    assert pragmas, f"no PRAGMA synchronous before {write}"
    return pragmas[-1].split("=")[1].upper()


def test_new_items_skip_the_fsync_and_a_sent_mark_does_not(repo: Repository) -> None:
    feed = repo.feeds()[0].id
    sent = _statements(repo)
    found = {"rvc": (Match("rvc", "РДК", "РДК"),)}
    repo.store_items(feed, [(ParsedItem("1", "РДК", None, "", NOW), found)], NOW)
    assert _synced_before(sent, "INSERT INTO ITEM") == "NORMAL"

    sent.clear()
    ids = [p.id for p in repo.pending_deliveries(100)]
    assert repo.mark_sent(ids, NOW, message_id=7) == 1
    assert _synced_before(sent, "UPDATE") == "FULL"
