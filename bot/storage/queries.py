"""Query pieces several stores share: IN lists in slices, who follows a feed's hits and where
their outbox rows go, which feeds a chat may see, open outbox rows, a chat's row, the UPDATE that
saves feeds' poll states."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, Connection, Update, bindparam, func, null, update
from sqlmodel import Session, col, select

from bot.core.domain import FeedState
from bot.core.errors import StorageError
from bot.storage.rows import CHAT_SOURCE, FEED_TABLE, SHARED_SOURCES, poll_values
from bot.storage.tables import (
    NO_TOPIC,
    ChatFeedRow,
    ChatRow,
    DeliveryRow,
    FeedRow,
    ItemRow,
    SubscriptionRow,
)

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`values` in slices that keep an IN list under every driver's parameter limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def followers_of(
    db: Session | Connection, feed_id: int, source: str
) -> dict[int, list[tuple[int, int | None]]]:
    """Who follows each list (by list id), and in which forum topic; a feed a chat added (its
    `source`) reaches only the chats that added it."""
    query = (
        select(SubscriptionRow.chat_id, SubscriptionRow.watchlist_id, SubscriptionRow.thread_id)
        .join(ChatRow, col(ChatRow.id) == SubscriptionRow.chat_id)
        .where(col(ChatRow.active).is_(True))
        .order_by(col(SubscriptionRow.watchlist_id))
    )
    if source == CHAT_SOURCE:
        query = query.where(
            col(SubscriptionRow.chat_id).in_(
                select(ChatFeedRow.chat_id).where(ChatFeedRow.feed_id == feed_id)
            )
        )
    followers: dict[int, list[tuple[int, int | None]]] = {}
    for chat_id, watchlist_id, thread_id in db.execute(query):
        followers.setdefault(watchlist_id, []).append((chat_id, thread_id))
    return followers


def recipients(
    list_ids: Iterable[int], followers: dict[int, list[tuple[int, int | None]]]
) -> list[tuple[int, int]]:
    """Where an item that hit `list_ids` goes: each (chat, topic) that follows one of them. A
    forum that follows one list in a topic and another in a second topic gets the item in both."""
    return sorted(
        {
            (chat_id, thread_id or NO_TOPIC)
            for list_id in list_ids
            for chat_id, thread_id in followers.get(list_id, ())
        }
    )


def visible_to(chat_id: int | None) -> ColumnElement[bool]:
    """Feeds a chat may see items of: those everyone reads, and those the chat added itself
    (another chat's own feed never shows, not even as a count). None: every chat's view."""
    shared = col(FeedRow.source).in_(SHARED_SOURCES)
    if chat_id is None:
        return shared
    own = select(ChatFeedRow.feed_id).where(ChatFeedRow.chat_id == chat_id)
    return shared | col(FeedRow.id).in_(own)


def open_rows() -> ColumnElement[bool]:
    """Outbox rows still to send: not sent and not held back."""
    return col(DeliveryRow.sent_at).is_(None) & col(DeliveryRow.outcome).is_(None)


def rowcount(result: object) -> int:
    """Rows an UPDATE touched (SQLAlchemy types `execute` as a plain `Result`)."""
    return int(getattr(result, "rowcount", 0) or 0)


def chat_row(session: Session, chat_id: int) -> ChatRow:
    """A chat's row, or `StorageError` when the chat never talked to the bot."""
    row = session.get(ChatRow, chat_id)
    if row is None:
        raise StorageError(f"chat {chat_id} is not registered; send /start first")
    return row


def item_counts(session: Session) -> dict[int, int]:
    """How many items each feed has stored, by feed id."""
    return dict(
        session.exec(
            select(ItemRow.feed_id, func.count(col(ItemRow.id))).group_by(col(ItemRow.feed_id))
        ).all()
    )


def save_poll_states(connection: Connection, states: Iterable[FeedState]) -> None:
    """Write each feed's `poll_values` by a plain UPDATE by id, one executemany per set of columns
    (no ORM object, no bulk update machinery: for a 304 that costs more than the poll did). A
    value that is None is a NULL in the statement, not a parameter bound for every row."""
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[dict[str, object]]] = {}
    for state in states:
        row: dict[str, object] = {"feed_id": state.id}
        nulls: list[str] = []
        for name, value in poll_values(state).items():
            if value is None:
                nulls.append(name)
            else:
                row[f"v_{name}"] = value
        groups.setdefault((tuple(row), tuple(nulls)), []).append(row)
    for (bound, nulled), rows in groups.items():
        connection.execute(_poll_update(bound, nulled), rows)


@functools.cache
def _poll_update(bound: tuple[str, ...], nulls: tuple[str, ...]) -> Update:
    """The UPDATE for rows of `bound` parameters ("feed_id", then "v_<column>"), built once per
    set of columns: a statement built anew would be hashed again to find its compiled form."""
    table = FEED_TABLE
    values: dict[str, object] = {name: null() for name in nulls}
    for key in bound[1:]:
        name = key.removeprefix("v_")
        values[name] = bindparam(key, type_=table.c[name].type)
    return update(table).where(table.c.id == bindparam("feed_id")).values(values)
