"""Feeds in the database: the configured ones and those chats and operators add, their schedule
and health, and the claims replicas take on them while polling."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, bindparam, func, update
from sqlalchemy import select as select_columns
from sqlmodel import col, select

from bot.core.domain import DEFAULT_FIELDS, FeedSpec, FeedState, Watchlist
from bot.core.errors import RefusedError, StorageError
from bot.core.limits import MAX_FEEDS_PER_CHAT
from bot.storage.queries import chat_row, chunks, item_counts, save_poll_states
from bot.storage.rows import (
    CHAT_SOURCE,
    CONFIG_SOURCE,
    FEED_TABLE,
    IMPORT_SOURCE,
    SHARED_SOURCES,
    STATE_COLUMNS,
    contexts_row,
    poll_values,
    state_of,
    state_of_columns,
)
from bot.storage.store import Store
from bot.storage.tables import ChatFeedRow, ChatRow, FeedRow, WatchlistRow

log = logging.getLogger(__name__)

FeedImport = Literal["added", "already"]

# The poll's statements, built once: each call finds their compiled form without building them.
_ENABLED_FEEDS = (
    select_columns(*STATE_COLUMNS).where(FEED_TABLE.c.enabled.is_(True)).order_by(FEED_TABLE.c.id)
)
_FEEDS_AFTER = _ENABLED_FEEDS.where(FEED_TABLE.c.id > bindparam("after")).limit(bindparam("limit"))
_KNOWN_FEEDS = select_columns(FEED_TABLE.c.id).where(
    FEED_TABLE.c.id.in_(bindparam("ids", expanding=True))
)


class FeedStore(Store):
    """Feeds, as configuration, chats and imports name them, and as polling finds them."""

    # --- configuration --------------------------------------------------------------------

    def sync_config(
        self, feeds: Sequence[FeedSpec], watchlists: Sequence[Watchlist], now: datetime
    ) -> None:
        """Make the configured feeds and watchlists the stored ones; those gone from the file are
        retired (kept for their history, no longer polled or matched)."""
        with self._session() as session:
            # Every source: a URL the operator now configures may be one a chat added before.
            stored_feeds = {row.origin_url: row for row in session.exec(select(FeedRow))}
            for spec in feeds:
                interval = int(spec.interval.total_seconds()) if spec.interval else None
                feed_row = stored_feeds.pop(spec.url, None)
                if feed_row is None:
                    session.add(
                        FeedRow(
                            origin_url=spec.url,
                            url=spec.url,
                            name=spec.name,
                            interval_seconds=interval,
                            next_poll_at=now,
                            created_at=now,
                        )
                    )
                else:
                    feed_row.name, feed_row.interval_seconds, feed_row.enabled = (
                        spec.name,
                        interval,
                        True,
                    )
                    # A feed a chat added and the operator now configures is everyone's.
                    feed_row.source = CONFIG_SOURCE
            for gone in stored_feeds.values():
                if gone.source == CONFIG_SOURCE:
                    gone.enabled = False

            stored_lists = {row.name: row for row in session.exec(select(WatchlistRow))}
            for watchlist in watchlists:
                list_row = stored_lists.pop(watchlist.name, None)
                if list_row is None:
                    list_row = WatchlistRow(
                        name=watchlist.name, terms=[], require=[], exclude=[], updated_at=now
                    )
                    session.add(list_row)
                list_row.title = watchlist.title
                list_row.terms = list(watchlist.terms)
                list_row.require = list(watchlist.require)
                list_row.exclude = list(watchlist.exclude)
                list_row.contexts = contexts_row(watchlist.contexts)
                list_row.sources = list(watchlist.sources) or None
                list_row.skip_sources = list(watchlist.skip_sources) or None
                fields = list(watchlist.fields)
                list_row.fields = None if tuple(fields) == DEFAULT_FIELDS else fields
                list_row.source = CONFIG_SOURCE
                list_row.retired = False
                list_row.updated_at = now
            for gone_list in stored_lists.values():
                if gone_list.source == CONFIG_SOURCE:
                    gone_list.retired = True

    def shared_feed_urls(self) -> set[str]:
        """The URLs of the enabled feeds every chat gets (configured or imported): each as it was
        configured and as it is fetched now."""
        with self._session() as session:
            rows = session.exec(
                select(FeedRow.origin_url, FeedRow.url)
                .where(col(FeedRow.source).in_(SHARED_SOURCES))
                .where(col(FeedRow.enabled).is_(True))
            ).all()
            return {url for pair in rows for url in pair}

    def import_feeds(
        self, feeds: Sequence[tuple[str, str | None]], now: datetime
    ) -> dict[str, FeedImport]:
        """Make the (URL, name) feeds ones every chat gets, as configured feeds are, but kept when
        the config file does not list them: "already" for a URL every chat gets now. A chat's own
        feed, or one retired, becomes everyone's. One transaction."""
        outcome: dict[str, FeedImport] = {}
        with self._session() as session:
            for url, name in feeds:
                if url in outcome:
                    continue
                row = session.exec(select(FeedRow).where(FeedRow.origin_url == url)).first()
                if row is None:
                    session.add(
                        FeedRow(
                            origin_url=url,
                            url=url,
                            name=name,
                            source=IMPORT_SOURCE,
                            next_poll_at=now,
                            created_at=now,
                        )
                    )
                elif row.source in SHARED_SOURCES and row.enabled:
                    outcome[url] = "already"
                    continue
                else:
                    if not row.enabled:
                        row.next_poll_at = now
                    row.source, row.enabled, row.name = IMPORT_SOURCE, True, row.name or name
                outcome[url] = "added"
        return outcome

    # --- polling --------------------------------------------------------------------------

    def feeds(self) -> list[FeedState]:
        """Every enabled feed, with its number of stored items."""
        with self._session() as session:
            counts = item_counts(session)
            rows = session.execute(_ENABLED_FEEDS)
            return [state_of_columns(row, counts.get(row[0], 0)) for row in rows]

    def feeds_after(self, after: int, limit: int) -> list[FeedState]:
        """The first `limit` enabled feeds whose id is above `after`, by id, without their item
        counts: every feed a page at a time (`poll --all` polls them as it reads them)."""
        with self._connection() as connection:
            rows = connection.execute(_FEEDS_AFTER, {"after": after, "limit": limit})
            return [state_of_columns(row) for row in rows]

    def due_feeds(self, now: datetime, limit: int | None = None) -> list[FeedState]:
        """Enabled feeds whose next poll time has come, the longest-waiting first."""
        with self._session() as session:
            query = (
                select(FeedRow)
                .where(col(FeedRow.enabled).is_(True))
                .where((col(FeedRow.next_poll_at).is_(None)) | (col(FeedRow.next_poll_at) <= now))
                .order_by(col(FeedRow.next_poll_at).asc().nulls_first(), col(FeedRow.id))
            )
            if limit is not None:
                query = query.limit(limit)
            return [state_of(row) for row in session.exec(query)]

    def claim_due_feeds(
        self, now: datetime, owner: str, lease: timedelta, limit: int
    ) -> list[FeedState]:
        """Claim up to `limit` due feeds that no replica holds, for `owner` until `now + lease`,
        the longest-waiting first. On PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so
        replicas that ask at once get different feeds; a replica that dies leaves its claims to
        expire. Saving a feed's state after its poll ends the claim."""
        with self._session() as session:
            query = (
                select(FeedRow)
                .where(col(FeedRow.enabled).is_(True))
                .where((col(FeedRow.next_poll_at).is_(None)) | (col(FeedRow.next_poll_at) <= now))
                .where((col(FeedRow.lease_until).is_(None)) | (col(FeedRow.lease_until) <= now))
                .order_by(col(FeedRow.next_poll_at).asc().nulls_first(), col(FeedRow.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            rows = list(session.exec(query))
            for row in rows:
                row.lease_owner, row.lease_until = owner, now + lease
            return [state_of(row) for row in rows]

    def clear_leases(self) -> int:
        """Drop every claim on feeds and chats: for a process that knows it is the only one (the
        SQLite default) and restarts after a crash, so that its own dead claims do not hold it up
        for a lease. Returns how many there were."""
        with self._session() as session:
            cleared = 0
            for table in (FeedRow, ChatRow):
                result = session.execute(
                    update(table)
                    .where(col(table.lease_until).is_not(None))
                    .values(lease_owner=None, lease_until=None)
                )
                cleared += cast("CursorResult[Any]", result).rowcount
            return cleared

    def disable_feed(self, feed_id: int, reason: str, now: datetime) -> None:
        """Stop polling a feed the server says is gone; `/feeds` shows why."""
        with self._session() as session:
            row = session.get(FeedRow, feed_id)
            if row is not None:
                row.enabled, row.last_error, row.last_polled_at = False, reason, now
                row.consecutive_failures += 1
                row.lease_owner = row.lease_until = None

    def save_feed_state(self, state: FeedState) -> FeedState:
        """Store a feed's cache facts, schedule and health after a poll, and its new URL when it
        moved permanently (it keeps the URL it was configured with as its identity)."""
        with self._session() as session:
            row = session.get(FeedRow, state.id)
            if row is None:
                raise StorageError(f"feed #{state.id} does not exist")
            for name, value in poll_values(state).items():
                setattr(row, name, value)
            return state_of(row)

    def save_feed_states(self, states: Sequence[FeedState]) -> int:
        """`save_feed_state` for many feeds in one transaction (the feeds a cycle found unchanged:
        one commit for hundreds of them, not one each). A feed deleted meanwhile is skipped.
        Returns how many were saved."""
        if not states:
            return 0
        # Not synced to disk (SQLite): what a power cut undoes, the next poll writes again.
        with self._connection(durable=False) as connection:
            known: set[int] = set()
            for part in chunks(sorted({s.id for s in states})):
                known.update(connection.scalars(_KNOWN_FEEDS, {"ids": list(part)}))
            saved = [state for state in states if state.id in known]
            save_poll_states(connection, saved)
            return len(saved)

    def count_failing_feeds(self) -> int:
        """Enabled feeds whose last poll failed (one failure or more in a row), for /metrics."""
        with self._session() as session:
            return session.exec(
                select(func.count(col(FeedRow.id)))
                .where(col(FeedRow.enabled).is_(True))
                .where(col(FeedRow.consecutive_failures) > 0)
            ).one()

    # --- a chat's own feeds -----------------------------------------------------------------

    def add_chat_feed(
        self, chat_id: int, url: str, name: str | None, now: datetime
    ) -> Literal["added", "already", "shared"]:
        """Add a feed for this chat: "shared" when every chat gets it already."""
        with self._session() as session:
            chat_row(session, chat_id)
            feed = session.exec(select(FeedRow).where(FeedRow.origin_url == url)).first()
            if feed is not None and feed.source in SHARED_SOURCES and feed.enabled:
                return "shared"
            count = session.exec(
                select(func.count(col(ChatFeedRow.id))).where(ChatFeedRow.chat_id == chat_id)
            ).one()
            if feed is None:
                feed = FeedRow(
                    origin_url=url,
                    url=url,
                    name=name,
                    source=CHAT_SOURCE,
                    next_poll_at=now,
                    created_at=now,
                )
                session.add(feed)
                session.flush()
            if feed.source in SHARED_SOURCES:
                # Left out of the configuration: from now on it is a feed of the chats that add it.
                feed.source = CHAT_SOURCE
            feed.enabled = True
            assert feed.id is not None
            link = session.exec(
                select(ChatFeedRow)
                .where(ChatFeedRow.chat_id == chat_id)
                .where(ChatFeedRow.feed_id == feed.id)
            ).first()
            if link is not None:
                return "already"
            if count >= MAX_FEEDS_PER_CHAT:
                raise RefusedError(
                    "a chat can add at most {count} feeds; /removefeed one first",
                    count=MAX_FEEDS_PER_CHAT,
                )
            session.add(ChatFeedRow(chat_id=chat_id, feed_id=feed.id, created_at=now))
            return "added"

    def remove_chat_feed(self, chat_id: int, url: str) -> bool:
        """Remove the chat's feed; a feed no chat has any more stops being polled."""
        with self._session() as session:
            found = session.exec(
                select(ChatFeedRow, FeedRow)
                .join(FeedRow, col(FeedRow.id) == ChatFeedRow.feed_id)
                .where(ChatFeedRow.chat_id == chat_id)
                .where((FeedRow.origin_url == url) | (FeedRow.url == url))
            ).first()
            if found is None:
                return False
            link, feed = found
            session.delete(link)
            session.flush()
            others = session.exec(
                select(func.count(col(ChatFeedRow.id))).where(ChatFeedRow.feed_id == feed.id)
            ).one()
            if not others and feed.source == CHAT_SOURCE:
                feed.enabled = False
            return True

    def chat_feeds(self, chat_id: int) -> tuple[list[FeedState], list[FeedState]]:
        """(shared feeds, the chat's own feeds), each with its health and item count."""
        with self._session() as session:
            counts = item_counts(session)
            # Configured feeds in use, and those the server said are gone (410), so that /feeds
            # tells why they stopped.
            shared = session.exec(
                select(FeedRow)
                .where(col(FeedRow.source).in_(SHARED_SOURCES))
                .where(
                    col(FeedRow.enabled).is_(True) | col(FeedRow.last_error).like("%gone for good%")
                )
                .order_by(col(FeedRow.id))
            ).all()
            own = session.exec(
                select(FeedRow)
                .join(ChatFeedRow, col(ChatFeedRow.feed_id) == FeedRow.id)
                .where(ChatFeedRow.chat_id == chat_id)
                .order_by(col(ChatFeedRow.id))
            ).all()
            return (
                [state_of(row, counts.get(row.id or 0, 0)) for row in shared],
                [state_of(row, counts.get(row.id or 0, 0)) for row in own],
            )
