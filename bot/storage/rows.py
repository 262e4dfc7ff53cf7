"""Rows of the database as domain objects, and the values the stores share: one module for every
store's row mappers, so that a table's reading is written once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, Table

from bot.core.domain import (
    CONTEXT_WITHIN,
    DEFAULT_FIELDS,
    Chat,
    FeedState,
    StoredItem,
    TermContext,
    Watchlist,
)
from bot.storage.tables import ChatRow, FeedRow, ItemRow, WatchlistRow

CONFIG_SOURCE = "config"
CHAT_SOURCE = "chat"
# Imported from an OPML file by the operator: read for every chat like a configured feed, but not
# retired when it is missing from the config file.
IMPORT_SOURCE = "import"
SHARED_SOURCES = (CONFIG_SOURCE, IMPORT_SOURCE)


def watchlist_of(row: WatchlistRow) -> Watchlist:
    return Watchlist(
        name=row.name,
        title=row.title,
        terms=tuple(row.terms),
        require=tuple(row.require),
        exclude=tuple(row.exclude),
        owner=row.owner_chat_id,
        contexts=tuple(
            TermContext(
                str(c["term"]),
                tuple(c.get("near", ())),
                tuple(c.get("not_near", ())),
                int(c.get("within", CONTEXT_WITHIN)),
            )
            for c in row.contexts or ()
        ),
        sources=tuple(row.sources or ()),
        skip_sources=tuple(row.skip_sources or ()),
        fields=tuple(row.fields or ()) or DEFAULT_FIELDS,
    )


def join_categories(categories: Sequence[str]) -> str | None:
    """An item's categories as the item row keeps them: a line each (None: none)."""
    kept = [" ".join(c.split()) for c in categories if c.strip()]
    return "\n".join(kept) if kept else None


def split_categories(stored: str | None) -> tuple[str, ...]:
    return tuple(stored.split("\n")) if stored else ()


def contexts_row(contexts: Sequence[TermContext]) -> list[dict[str, Any]]:
    """Terms' contexts as the watchlist row keeps them (JSON)."""
    return [
        {"term": c.term, "near": list(c.near), "not_near": list(c.not_near), "within": c.within}
        for c in contexts
    ]


def chat_of(row: ChatRow) -> Chat:
    interval = row.digest_interval_seconds
    quiet = None
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = (row.quiet_start, row.quiet_end)
    return Chat(
        id=row.id,
        type=row.type,
        title=row.title,
        active=row.active,
        digest_interval=timedelta(seconds=interval) if interval is not None else None,
        last_digest_at=row.last_digest_at,
        paused=row.paused,
        timezone=row.timezone,
        quiet=quiet,
        language=row.language,
        managing_chat_id=row.managing_chat_id,
    )


# A feed's state as plain columns: a page of thousands of feeds is read without an ORM object, an
# identity map entry and change tracking for each row (what polling them reads and nothing more).
FEED_TABLE: Table = FeedRow.metadata.tables["feed"]
# What a poll changes in a feed: where it is, its HTTP cache facts, its schedule and its health.
POLL_FIELDS = (
    "url",
    "etag",
    "last_modified",
    "body_hash",
    "next_poll_at",
    "last_polled_at",
    "last_success_at",
    "last_error",
    "consecutive_failures",
    "failing_since",
    "missed_posts",
)
_STATE_NAMES = ("id", "name", "interval_seconds", *POLL_FIELDS)
STATE_COLUMNS: tuple[Column[Any], ...] = tuple(FEED_TABLE.c[name] for name in _STATE_NAMES)


def state_of(row: FeedRow, item_count: int = 0) -> FeedState:
    assert row.id is not None
    return _state({name: getattr(row, name) for name in _STATE_NAMES}, item_count)


def state_of_columns(row: Sequence[Any], item_count: int = 0) -> FeedState:
    """`state_of` for a row of `STATE_COLUMNS` (a page of them at a time: one dict a row)."""
    feed_id, name, seconds, *polled = row
    return FeedState(
        id=feed_id,
        name=name,
        interval=timedelta(seconds=seconds) if seconds else None,
        item_count=item_count,
        **dict(zip(POLL_FIELDS, polled, strict=True)),
    )


def _state(values: dict[str, Any], item_count: int) -> FeedState:
    seconds = values["interval_seconds"]
    return FeedState(
        id=values["id"],
        name=values["name"],
        interval=timedelta(seconds=seconds) if seconds else None,
        item_count=item_count,
        **{name: values[name] for name in POLL_FIELDS},
    )


def stored_item(item: ItemRow, feed: FeedRow) -> StoredItem:
    assert item.id is not None
    assert feed.id is not None
    return StoredItem(
        id=item.id,
        feed_id=feed.id,
        feed_name=feed.name or feed.url,
        key=item.key,
        title=item.title,
        link=item.link,
        summary=item.summary,
        published=item.published_at,
        seen_at=item.seen_at,
        forwarded_from=item.forwarded_from,
        views=item.views,
        media=tuple(kind for kind in item.media.split(",") if kind),
        edited=item.edited,
        author=item.author,
        cites=item.cites,
        archived=item.archived,
    )


def poll_values(state: FeedState) -> dict[str, object]:
    """The columns a poll writes; a healthy feed also forgets that its failure was told, so that a
    new run of failures is news."""
    values: dict[str, object] = {name: getattr(state, name) for name in POLL_FIELDS}
    # The poll is over: the claim on the feed ends with it.
    values["lease_owner"] = values["lease_until"] = None
    if state.failing_since is None:
        values["failure_notified_at"] = None
    return values
