"""Stored hits read in bulk, for export and statistics: reads that may cover millions of rows
stream them (`yield_per`) rather than load them at once."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.core.domain import Match
from bot.storage.items import STREAM_CHUNK
from bot.storage.queries import visible_to
from bot.storage.store import Store
from bot.storage.tables import FeedRow, HitRow, ItemRow, WatchlistRow


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
class Counts:
    feeds: int
    items: int
    hits: int
    matched: int = 0  # items with at least one hit (an item may hit several lists)


class ReportStore(Store):
    """Bulk reads of hits, and the database's size."""

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
        selects them: what `bot.trends.stats.count_hits` counts. Streamed in one transaction."""
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

    def counts(self) -> Counts:
        with self._session() as session:
            feeds = session.exec(select(func.count(col(FeedRow.id)))).one()
            items = session.exec(select(func.count(col(ItemRow.id)))).one()
            hits = session.exec(select(func.count(col(HitRow.id)))).one()
            matched = session.exec(select(func.count(func.distinct(col(HitRow.item_id))))).one()
            return Counts(feeds, items, hits, matched)


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
