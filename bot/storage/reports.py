"""Stored data read in bulk and matched again: hits for export and statistics, the items a backfill
matches against today's watchlists and the hits and outbox rows it adds, and the schema revision.

Reads that may cover millions of rows stream them (`yield_per`) rather than load them at once.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import ColumnElement, func, insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from bot.domain import Match
from bot.errors import StorageError
from bot.storage import migrate
from bot.storage.chats import CHAT_SOURCE
from bot.storage.queries import chunks, followers_of, recipients, visible_to
from bot.storage.store import Store, create_db_engine, reason
from bot.storage.tables import (
    DeliveryRow,
    FeedRow,
    HitRow,
    ItemRow,
    WatchlistRow,
)

STREAM_CHUNK = 1000
"""Rows fetched from the database at a time by the streaming reads."""


@dataclass(frozen=True, slots=True)
class ExportedHit:
    """One stored hit as `feedwatch hits export` writes it: an item, its outlet, one watchlist."""

    item_id: int
    title: str
    link: str | None
    outlet: str
    feed_url: str
    published: datetime | None
    seen: datetime
    watchlist: str
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class ItemText:
    """A stored item as the matcher reads it."""

    id: int
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What one `add_backfilled_hits` added: hits by watchlist name, and outbox rows."""

    new_hits: Mapping[str, int]
    new_deliveries: int


class ReportStore(Store):
    """Bulk reads of hits and items, and the hits a backfill adds."""

    # --- hits, streamed ---------------------------------------------------------------------

    def export_hits(
        self,
        since: datetime,
        until: datetime | None = None,
        watchlists: Sequence[str] | None = None,
    ) -> Generator[ExportedHit, None, None]:
        """Every hit of an item seen from `since` (inclusive) to `until` (exclusive), in the
        order the items were seen, one per item and watchlist; only `watchlists` when named.

        Streamed in one transaction: the caller writes each row before the next is read."""
        query = (
            sa_select(
                col(ItemRow.id),
                col(ItemRow.title),
                col(ItemRow.link),
                col(FeedRow.name),
                col(FeedRow.url),
                col(ItemRow.published_at),
                col(ItemRow.seen_at),
                col(WatchlistRow.name),
                col(HitRow.matches),
            )
            .select_from(HitRow)
            .join(ItemRow, col(ItemRow.id) == HitRow.item_id)
            .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
            .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
            .where(*_span(since, until, watchlists))
            .order_by(col(ItemRow.seen_at), col(ItemRow.id), col(WatchlistRow.name))
            .execution_options(yield_per=STREAM_CHUNK)
        )
        with self._session() as session:
            for (
                item_id,
                title,
                link,
                feed_name,
                feed_url,
                published,
                seen,
                name,
                matches,
            ) in session.execute(query):
                assert item_id is not None
                yield ExportedHit(
                    item_id=item_id,
                    title=title,
                    link=link,
                    outlet=feed_name or feed_url,
                    feed_url=feed_url,
                    published=published,
                    seen=seen,
                    watchlist=name,
                    matches=tuple(Match(name, m["term"], m["text"]) for m in matches),
                )

    def hit_times(
        self,
        since: datetime,
        until: datetime | None = None,
        watchlists: Sequence[str] | None = None,
    ) -> Generator[tuple[str, datetime], None, None]:
        """(watchlist name, when the item was seen) of every hit in the span, as `export_hits`
        selects them: what `bot.stats.count_hits` counts. Streamed in one transaction."""
        query = (
            sa_select(col(WatchlistRow.name), col(ItemRow.seen_at))
            .select_from(HitRow)
            .join(ItemRow, col(ItemRow.id) == HitRow.item_id)
            .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
            .where(*_span(since, until, watchlists))
            .execution_options(yield_per=STREAM_CHUNK)
        )
        with self._session() as session:
            yield from ((name, seen) for name, seen in session.execute(query))

    def chat_hit_times(
        self, chat_id: int, since: datetime, until: datetime, watchlists: Sequence[str]
    ) -> Generator[tuple[str, datetime], None, None]:
        """(watchlist name, when the item was seen) of the hits of `watchlists` in [since, until)
        that the chat could have had: items of the shared feeds and of the feeds it added, never of
        a feed only other chats added (those reach only them). What `/stats` counts. Streamed."""
        if not watchlists:
            return
        query = (
            sa_select(col(WatchlistRow.name), col(ItemRow.seen_at))
            .select_from(HitRow)
            .join(ItemRow, col(ItemRow.id) == HitRow.item_id)
            .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
            .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
            .where(*_span(since, until, watchlists))
            .where(visible_to(chat_id))
            .execution_options(yield_per=STREAM_CHUNK)
        )
        with self._session() as session:
            yield from ((name, seen) for name, seen in session.execute(query))

    def watchlist_names(self) -> set[str]:
        """Every watchlist stored, retired ones included (their hits stay)."""
        with self._session() as session:
            return set(session.exec(select(WatchlistRow.name)))

    # --- backfill ---------------------------------------------------------------------------

    def count_items_seen(self, since: datetime, until: datetime) -> int:
        with self._session() as session:
            return session.exec(
                select(func.count(col(ItemRow.id)))
                .where(col(ItemRow.seen_at) >= since)
                .where(col(ItemRow.seen_at) < until)
            ).one()

    def items_seen(
        self, since: datetime, until: datetime, *, after_id: int = 0, limit: int = 500
    ) -> list[ItemText]:
        """Up to `limit` items seen in [since, until), by id, the first after `after_id`: a
        backfill pages through them and holds one page at a time."""
        with self._session() as session:
            rows = session.execute(
                select(ItemRow.id, ItemRow.title, ItemRow.summary)
                .where(col(ItemRow.seen_at) >= since)
                .where(col(ItemRow.seen_at) < until)
                .where(col(ItemRow.id) > after_id)
                .order_by(col(ItemRow.id))
                .limit(limit)
            ).all()
            return [ItemText(item_id, title, summary) for item_id, title, summary in rows]

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
                    followers[key] = followers_of(session, feed)
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


def _span(
    since: datetime, until: datetime | None, watchlists: Sequence[str] | None
) -> list[ColumnElement[bool]]:
    """Hits of the items seen in [since, until), of `watchlists` when named."""
    conditions = [col(ItemRow.seen_at) >= since]
    if until is not None:
        conditions.append(col(ItemRow.seen_at) < until)
    if watchlists is not None:
        conditions.append(col(WatchlistRow.name).in_(list(watchlists)))
    return conditions


# --- the schema -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaRevision:
    """Where a database's schema stands: its Alembic revision (None: no schema yet) and the
    newest revision this feedwatch knows."""

    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def head_revision() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def schema_revision(url: str) -> SchemaRevision:
    """The database's revision, read without changing anything."""
    try:
        engine = create_db_engine(url)
        try:
            with engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        finally:
            engine.dispose()
    except SQLAlchemyError as error:
        raise StorageError(f"cannot read the database: {reason(error)}") from error
    return SchemaRevision(current, head_revision())


def upgrade_schema(url: str) -> tuple[SchemaRevision, SchemaRevision]:
    """Apply the migrations the database lacks; its revision before and after."""
    before = schema_revision(url)
    try:
        engine = create_db_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
    except SQLAlchemyError as error:
        raise StorageError(f"cannot migrate the database: {reason(error)}") from error
    except CommandError as error:
        # A revision this feedwatch does not know: the database was migrated by a newer one.
        raise StorageError(f"cannot migrate the database: {error}") from error
    return before, schema_revision(url)
