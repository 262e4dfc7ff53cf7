"""Items and hits in the database: a feed's new items stored with their hits and the outbox rows
for every chat and topic that follows a list they hit, and the hits a backfill adds to old items."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, or_
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.core.channel_edits import EDIT_MARK
from bot.core.domain import (
    BackfillResult,
    FeedState,
    ItemText,
    Match,
    ParsedItem,
    Source,
    StoreResult,
)
from bot.core.errors import StorageError
from bot.storage.queries import chunks, followers_of, recipients, save_poll_states
from bot.storage.rows import CHAT_SOURCE, FEED_TABLE, join_categories, split_categories
from bot.storage.store import Store
from bot.storage.tables import DeliveryRow, FeedRow, HitRow, ItemRow, WatchlistRow
from bot.trends.stories import credible_date

STREAM_CHUNK = 1000
"""Rows fetched from the database at a time by the streaming reads."""
NEWEST_ROWS = 200
"""A channel's latest rows searched for its newest post: more than one poll's pages store."""

# The poll's statements, built once: each call finds their compiled form without building them,
# and no row they write becomes an ORM object (no identity map, no flush).
_ITEM: Table = ItemRow.metadata.tables["item"]
_WATCHLIST: Table = WatchlistRow.metadata.tables["watchlist"]
_FEED_SOURCE = sa_select(FEED_TABLE.c.source).where(FEED_TABLE.c.id == bindparam("feed_id"))
_STORED_KEYS = (
    sa_select(_ITEM.c.key)
    .where(_ITEM.c.feed_id == bindparam("feed_id"))
    .where(_ITEM.c.key.in_(bindparam("keys", expanding=True)))
)
_INSERT_ITEMS = insert(_ITEM)
_INSERT_ITEMS_IDS = insert(_ITEM).returning(_ITEM.c.id, sort_by_parameter_order=True)
_CURRENT_LISTS = sa_select(_WATCHLIST.c.name, _WATCHLIST.c.id).where(
    _WATCHLIST.c.retired.is_(False)
)
_INSERT_HITS = insert(HitRow.metadata.tables["hit"])
_INSERT_DELIVERIES = insert(DeliveryRow.metadata.tables["delivery"])


class ItemStore(Store):
    """Items, their hits, and the outbox rows a new hit makes."""

    def unseen_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` that this feed has not stored yet."""
        wanted = set(keys)
        if not wanted:
            return set()
        with self._connection() as connection:
            return wanted - _stored_keys(connection, feed_id, wanted)

    def newest_post_number(self, feed_id: int) -> int | None:
        """The highest post number among a channel's latest stored items (keys "<name>/<id>"):
        where the posts already read end. Pages are stored oldest first, so it is among the last
        rows; None when the channel has none."""
        with self._session() as session:
            keys = session.exec(
                select(ItemRow.key)
                .where(ItemRow.feed_id == feed_id)
                .order_by(col(ItemRow.id).desc())
                .limit(NEWEST_ROWS)
            )
            numbers = [int(n) for key in keys if (n := key.rpartition("/")[2]).isdigit()]
        return max(numbers, default=None)

    def stored_versions(
        self, feed_id: int, keys: Sequence[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """Each key's stored texts, (title, summary): the item's own, and those of its edits
        (stored under "<key>#edit-…", see bot/core/channel_edits.py), for keys this feed has."""
        found: dict[str, list[tuple[str, str]]] = {}
        with self._session() as session:
            for part in chunks(sorted(set(keys))):
                edits = [
                    col(ItemRow.key).startswith(f"{key}{EDIT_MARK}", autoescape=True)
                    for key in part
                ]
                rows = session.exec(
                    select(ItemRow.key, ItemRow.title, ItemRow.summary)
                    .where(ItemRow.feed_id == feed_id)
                    .where(or_(col(ItemRow.key).in_(part), *edits))
                )
                for key, title, summary in rows:
                    found.setdefault(key.partition(EDIT_MARK)[0], []).append((title, summary))
        return found

    def store_items(
        self,
        feed_id: int,
        items: Sequence[tuple[ParsedItem, Mapping[str, Sequence[Match]]]],
        now: datetime,
        *,
        state: FeedState | None = None,
        archive_before: datetime | None = None,
    ) -> StoreResult:
        """Store new items with their hits, and queue each hit for every chat that follows its
        watchlist, all in one transaction: an item is never stored without its outbox rows. With
        `state`, the feed's poll state is saved in the same transaction, so that the body hash
        that says "already read" is never saved without the items of that body. Items published
        before `archive_before` (a feed's first poll) are marked as its archive.

        Items, hits and outbox rows each go in as one executemany of a Core INSERT: no ORM object,
        flush or identity map entry per row."""
        with self._connection(durable=False) as connection:
            source = connection.scalar(_FEED_SOURCE, {"feed_id": feed_id})
            if source is None:
                raise StorageError(f"feed #{feed_id} does not exist")
            if state is not None:
                save_poll_states(connection, [replace(state, id=feed_id)])
            stored = _stored_keys(connection, feed_id, {parsed.key for parsed, _ in items})
            fresh: list[tuple[ParsedItem, Mapping[str, Sequence[Match]]]] = []
            for parsed, matches in items:
                if parsed.key not in stored:
                    stored.add(parsed.key)  # a feed that lists a key twice stores it once
                    fresh.append((parsed, matches))
            if not fresh:
                return StoreResult(0, 0, 0)
            rows = [
                {
                    "feed_id": feed_id,
                    "key": parsed.key,
                    "title": parsed.title,
                    "link": parsed.link,
                    "summary": parsed.summary,
                    "published_at": parsed.published,
                    "seen_at": now,
                    "forwarded_from": parsed.forwarded_from,
                    "views": parsed.views[:32] if parsed.views else None,
                    "media": ",".join(parsed.media)[:256],
                    "edited": parsed.edited,
                    "author": parsed.author,
                    "cites": parsed.cites,
                    "categories": join_categories(parsed.categories),
                    "archived": _archived(parsed, now, archive_before),
                }
                for parsed, _ in fresh
            ]
            if not any(found for _, matches in fresh for found in matches.values()):
                # Most items hit nothing: no ids to learn, no need to ask who follows what.
                connection.execute(_INSERT_ITEMS, rows)
                return StoreResult(len(fresh), 0, 0)
            item_ids = connection.scalars(_INSERT_ITEMS_IDS, rows).all()
            lists: dict[str, int] = {
                name: list_id for name, list_id in connection.execute(_CURRENT_LISTS)
            }
            followers = followers_of(connection, feed_id, source)
            hits: list[dict[str, object]] = []
            deliveries: list[dict[str, object]] = []
            for item_id, (_, matches) in zip(item_ids, fresh, strict=True):
                hit_lists = []
                for name, found in matches.items():
                    list_id = lists.get(name)
                    if list_id is None or not found:
                        continue
                    hit_lists.append(list_id)
                    hits.append(
                        {
                            "item_id": item_id,
                            "watchlist_id": list_id,
                            "matches": [{"term": m.term, "text": m.text} for m in found],
                            "created_at": now,
                        }
                    )
                deliveries.extend(
                    {"chat_id": chat_id, "item_id": item_id, "thread_id": topic, "created_at": now}
                    for chat_id, topic in recipients(hit_lists, followers)
                )
            if hits:
                connection.execute(_INSERT_HITS, hits)
            if deliveries:
                connection.execute(_INSERT_DELIVERIES, deliveries)
        return StoreResult(len(fresh), len(hits), len(deliveries))

    # --- backfill ---------------------------------------------------------------------------

    def count_items_seen(self, since: datetime, until: datetime) -> int:
        with self._session() as session:
            return session.exec(
                select(func.count(col(ItemRow.id)))
                .where(col(ItemRow.seen_at) >= since)
                .where(col(ItemRow.seen_at) < until)
            ).one()

    def nth_item_id_seen(self, since: datetime, until: datetime, n: int) -> int:
        """The id of the `n`th item seen in [since, until), by id (0 when there are fewer): the
        items after it are the newest, for a reader that takes only those."""
        with self._session() as session:
            found = session.exec(
                select(ItemRow.id)
                .where(col(ItemRow.seen_at) >= since)
                .where(col(ItemRow.seen_at) < until)
                .order_by(col(ItemRow.id))
                .offset(max(n - 1, 0))
                .limit(1)
            ).first()
            return found or 0

    def items_seen(
        self, since: datetime, until: datetime, *, after_id: int = 0, limit: int = 500
    ) -> list[ItemText]:
        """Up to `limit` items seen in [since, until), by id, the first after `after_id`: a
        backfill pages through them and holds one page at a time."""
        with self._session() as session:
            # Seven columns: more than sqlmodel's `select` is typed for.
            rows = session.execute(
                sa_select(
                    col(ItemRow.id),
                    col(ItemRow.title),
                    col(ItemRow.summary),
                    col(ItemRow.author),
                    col(ItemRow.categories),
                    col(FeedRow.name),
                    col(FeedRow.url),
                )
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(col(ItemRow.seen_at) >= since)
                .where(col(ItemRow.seen_at) < until)
                .where(col(ItemRow.id) > after_id)
                .order_by(col(ItemRow.id))
                .limit(limit)
            ).all()
            return [
                ItemText(
                    item_id,
                    title,
                    summary,
                    author,
                    split_categories(categories),
                    Source(name or url, url),
                )
                for item_id, title, summary, author, categories, name, url in rows
            ]

    def add_backfilled_hits(
        self,
        found: Sequence[tuple[int, Mapping[str, Sequence[Match]]]],
        now: datetime,
        *,
        deliver: bool = True,
    ) -> BackfillResult:
        """Store the hits among `found` ((item id, matches by watchlist name)) that are not
        stored yet, and, with `deliver`, queue each new hit for the chats that follow its
        watchlist and have not had the item, as `store_items` does for a new item: a chat's own
        feed reaches only its chats, inactive chats get nothing, one outbox row per chat, item and
        forum topic whose list hit. Lists retired meanwhile and items deleted meanwhile are
        skipped; a repeat adds nothing."""
        # Here, not at the top: the repository module builds on this one.

        found = [(item_id, matches) for item_id, matches in found if any(matches.values())]
        if not found:
            return BackfillResult({}, 0)
        with self._session() as session:
            lists = {
                row.name: row.id
                for row in session.exec(
                    select(WatchlistRow).where(col(WatchlistRow.retired).is_(False))
                )
                if row.id is not None
            }
            item_ids = sorted({item_id for item_id, _ in found})
            feed_of: dict[int, int] = {}
            stored: set[tuple[int, int]] = set()
            delivered: set[tuple[int, int, int]] = set()
            for part in chunks(item_ids):
                for item_id, feed_id in session.exec(
                    select(ItemRow.id, ItemRow.feed_id).where(col(ItemRow.id).in_(part))
                ):
                    assert item_id is not None
                    feed_of[item_id] = feed_id
                stored.update(
                    session.exec(
                        select(HitRow.item_id, HitRow.watchlist_id).where(
                            col(HitRow.item_id).in_(part)
                        )
                    ).all()
                )
                if deliver:
                    delivered.update(
                        session.exec(
                            select(
                                DeliveryRow.item_id, DeliveryRow.chat_id, DeliveryRow.thread_id
                            ).where(col(DeliveryRow.item_id).in_(part))
                        ).all()
                    )
            feeds: dict[int, FeedRow] = {}
            for part in chunks(sorted(set(feed_of.values()))):
                for row in session.exec(select(FeedRow).where(col(FeedRow.id).in_(part))):
                    assert row.id is not None
                    feeds[row.id] = row
            # Every configured feed has the same followers; a chat's feed, those of its chats.
            followers: dict[int | None, dict[int, list[tuple[int, int | None]]]] = {}
            new_hits: dict[str, int] = {}
            hits: list[dict[str, Any]] = []
            deliveries: list[dict[str, Any]] = []
            for item_id, matches in found:
                feed = feeds.get(feed_of.get(item_id, -1))
                if feed is None:
                    continue
                hit_lists: list[int] = []
                for name in sorted(matches):
                    list_id, words = lists.get(name), matches[name]
                    if list_id is None or not words or (item_id, list_id) in stored:
                        continue
                    stored.add((item_id, list_id))
                    new_hits[name] = new_hits.get(name, 0) + 1
                    hits.append(
                        {
                            "item_id": item_id,
                            "watchlist_id": list_id,
                            "matches": [{"term": m.term, "text": m.text} for m in words],
                            "created_at": now,
                        }
                    )
                    hit_lists.append(list_id)
                if not deliver or not hit_lists:
                    continue
                key = feed.id if feed.source == CHAT_SOURCE else None
                if key not in followers:
                    assert feed.id is not None
                    followers[key] = followers_of(session, feed.id, feed.source)
                for chat_id, topic in recipients(hit_lists, followers[key]):
                    if (item_id, chat_id, topic) in delivered:
                        continue
                    delivered.add((item_id, chat_id, topic))
                    deliveries.append(
                        {
                            "chat_id": chat_id,
                            "item_id": item_id,
                            "thread_id": topic,
                            "created_at": now,
                        }
                    )
            for rows in chunks(hits):
                session.execute(insert(HitRow), list(rows))
            for rows in chunks(deliveries):
                session.execute(insert(DeliveryRow), list(rows))
            return BackfillResult(new_hits, len(deliveries))


def _stored_keys(connection: Connection, feed_id: int, keys: set[str]) -> set[str]:
    """The keys among `keys` that the feed has stored already."""
    seen: set[str] = set()
    for part in chunks(sorted(keys)):
        seen.update(connection.scalars(_STORED_KEYS, {"feed_id": feed_id, "keys": list(part)}))
    return seen


def _archived(item: ParsedItem, now: datetime, archive_before: datetime | None) -> bool:
    """Whether an item is its feed's archive: dated before `archive_before`, by a date that can
    be right (one of 1970 says nothing of its age)."""
    if archive_before is None:
        return False
    published = credible_date(item.published, now)
    return published is not None and published < archive_before
