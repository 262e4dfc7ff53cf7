"""The repository: every read and write of feedwatch's database, in domain objects.

Tables stay behind this module. Each method is one transaction; SQLAlchemy's errors are wrapped into
`StorageError` here, at the edge, so callers never see a raw driver exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, update
from sqlmodel import Session, col, select

from bot.domain import FeedSpec, FeedState, Match, ParsedItem, Watchlist
from bot.errors import StorageError
from bot.storage.alerts import AlertStore
from bot.storage.chats import (
    CHAT_SOURCE,
    CONFIG_SOURCE,
    IMPORT_SOURCE,
    SHARED_SOURCES,
    ChatStore,
    FeedImport,
    PastHit,
    SubscribeResult,
    TermsResult,
    item_counts,
    state_of,
)
from bot.storage.queries import chunks, followers_of, recipients
from bot.storage.reports import ReportStore
from bot.storage.tables import (
    ChatFeedRow,
    ChatRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    ItemRow,
    NoticeRow,
    SubscriptionRow,
    WatchlistRow,
)

__all__ = ["PastHit", "Repository", "StoreResult", "SubscribeResult", "TermsResult"]

log = logging.getLogger(__name__)


# What a poll changes in a feed: where it is, its HTTP cache facts, its schedule and its health.
_POLL_FIELDS = (
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
)


def _poll_values(state: FeedState) -> dict[str, object]:
    """The columns a poll writes; a healthy feed also forgets that its failure was told, so that a
    new run of failures is news."""
    values: dict[str, object] = {name: getattr(state, name) for name in _POLL_FIELDS}
    # The poll is over: the claim on the feed ends with it.
    values["lease_owner"] = values["lease_until"] = None
    if state.failing_since is None:
        values["failure_notified_at"] = None
    return values


@dataclass(frozen=True, slots=True)
class Counts:
    feeds: int
    items: int
    hits: int


@dataclass(frozen=True, slots=True)
class StoreResult:
    new_items: int
    new_hits: int
    new_deliveries: int


class Repository(ChatStore, ReportStore, AlertStore):
    """feedwatch's storage, speaking domain objects: configuration, feeds, items and the outbox
    here; chats and their settings, subscriptions and own lists in `ChatStore`."""

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
                list_row.source = CONFIG_SOURCE
                list_row.retired = False
                list_row.updated_at = now
            for gone_list in stored_lists.values():
                if gone_list.source == CONFIG_SOURCE:
                    gone_list.retired = True

    def watchlists(self) -> list[Watchlist]:
        """Every watchlist in use, by name: the configured ones and every chat's own."""
        return self._live_lists()

    # --- feeds imported from OPML -----------------------------------------------------------

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

    # --- feeds ----------------------------------------------------------------------------

    def feeds(self) -> list[FeedState]:
        """Every enabled feed, with its number of stored items."""
        with self._session() as session:
            counts = item_counts(session)
            rows = session.exec(
                select(FeedRow).where(col(FeedRow.enabled).is_(True)).order_by(col(FeedRow.id))
            )
            return [state_of(row, counts.get(row.id or 0, 0)) for row in rows]

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

    def tell_chats_feed_is_failing(
        self, feed_id: int, text: Callable[[str | None], str], now: datetime
    ) -> int:
        """Queue a notice, once per run of failures, to every chat that draws on the feed (the
        chats that added it; for a configured feed, every active chat that follows a list).
        `text` writes it in a chat's language. Returns how many chats are told."""
        with self._session() as session:
            feed = session.get(FeedRow, feed_id)
            if feed is None or feed.failure_notified_at is not None:
                return 0
            feed.failure_notified_at = now
            if feed.source == CHAT_SOURCE:
                chats = select(ChatFeedRow.chat_id).where(ChatFeedRow.feed_id == feed_id)
            else:
                chats = select(SubscriptionRow.chat_id).distinct()
            rows = session.exec(
                select(ChatRow)
                .where(col(ChatRow.active).is_(True))
                .where(col(ChatRow.id).in_(chats))
            ).all()
            for chat in rows:
                session.add(NoticeRow(chat_id=chat.id, text=text(chat.language), created_at=now))
            return len(rows)

    def pending_notices(self) -> list[tuple[int, int, str]]:
        """(notice id, chat id, text) of the notices still to send, to active chats."""
        with self._session() as session:
            rows = session.exec(
                select(NoticeRow)
                .join(ChatRow, col(ChatRow.id) == NoticeRow.chat_id)
                .where(col(NoticeRow.sent_at).is_(None))
                .where(col(ChatRow.active).is_(True))
                .order_by(col(NoticeRow.id))
            ).all()
            return [(row.id or 0, row.chat_id, row.text) for row in rows]

    def mark_notice_sent(self, notice_id: int, now: datetime) -> None:
        with self._session() as session:
            row = session.get(NoticeRow, notice_id)
            if row is not None:
                row.sent_at = now

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
            for name, value in _poll_values(state).items():
                setattr(row, name, value)
            return state_of(row)

    def save_feed_states(self, states: Sequence[FeedState]) -> int:
        """`save_feed_state` for many feeds in one transaction (the feeds a cycle found unchanged:
        one commit for hundreds of them, not one each). A feed deleted meanwhile is skipped.
        Returns how many were saved."""
        if not states:
            return 0
        with self._session() as session:
            known: set[int] = set()
            for part in chunks(sorted({s.id for s in states})):
                found = session.exec(select(FeedRow.id).where(col(FeedRow.id).in_(part)))
                known.update(i for i in found if i is not None)
            rows = [{"id": s.id, **_poll_values(s)} for s in states if s.id in known]
            if rows:
                session.execute(update(FeedRow), rows)
            return len(rows)

    # --- items, hits, outbox ----------------------------------------------------------------

    def unseen_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` that this feed has not stored yet."""
        wanted = set(keys)
        if not wanted:
            return set()
        with self._session() as session:
            return wanted - _stored_keys(session, feed_id, wanted)

    def store_items(
        self,
        feed_id: int,
        items: Sequence[tuple[ParsedItem, Mapping[str, Sequence[Match]]]],
        now: datetime,
        *,
        state: FeedState | None = None,
    ) -> StoreResult:
        """Store new items with their hits, and queue each hit for every chat that follows its
        watchlist, all in one transaction: an item is never stored without its outbox rows. With
        `state`, the feed's poll state is saved in the same transaction, so that the body hash
        that says "already read" is never saved without the items of that body.

        Items, hits and outbox rows each go in as one multi-row INSERT, not a flush per item."""
        with self._session() as session:
            feed = session.get(FeedRow, feed_id)
            if feed is None:
                raise StorageError(f"feed #{feed_id} does not exist")
            if state is not None:
                for name, value in _poll_values(state).items():
                    setattr(feed, name, value)
            stored = _stored_keys(session, feed_id, {parsed.key for parsed, _ in items})
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
                }
                for parsed, _ in fresh
            ]
            if not any(found for _, matches in fresh for found in matches.values()):
                # Most items hit nothing: no ids to learn, no need to ask who follows what.
                session.execute(insert(ItemRow), rows)
                return StoreResult(len(fresh), 0, 0)
            item_ids = session.scalars(
                insert(ItemRow).returning(col(ItemRow.id), sort_by_parameter_order=True), rows
            ).all()
            lists = {
                row.name: row.id
                for row in session.exec(
                    select(WatchlistRow).where(col(WatchlistRow.retired).is_(False))
                )
                if row.id is not None
            }
            followers = followers_of(session, feed)
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
                session.execute(insert(HitRow), hits)
            if deliveries:
                session.execute(insert(DeliveryRow), deliveries)
        return StoreResult(len(fresh), len(hits), len(deliveries))

    def mark_sent(
        self,
        delivery_ids: Sequence[int],
        now: datetime,
        *,
        message_id: int | None = None,
        outcome: str = "sent",
    ) -> int:
        """Close outbox rows; only rows still open are touched, so a repeat is harmless."""
        if not delivery_ids:
            return 0
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow)
                .where(col(DeliveryRow.id).in_(list(delivery_ids)))
                .where(col(DeliveryRow.sent_at).is_(None))
            ).all()
            for row in rows:
                row.sent_at, row.message_id, row.outcome = now, message_id, outcome
            return len(rows)

    def counts(self) -> Counts:
        with self._session() as session:
            feeds = session.exec(select(func.count(col(FeedRow.id)))).one()
            items = session.exec(select(func.count(col(ItemRow.id)))).one()
            hits = session.exec(select(func.count(col(HitRow.id)))).one()
            return Counts(feeds, items, hits)

    def count_failing_feeds(self) -> int:
        """Enabled feeds whose last poll failed (one failure or more in a row), for /metrics."""
        with self._session() as session:
            return session.exec(
                select(func.count(col(FeedRow.id)))
                .where(col(FeedRow.enabled).is_(True))
                .where(col(FeedRow.consecutive_failures) > 0)
            ).one()

    def ping(self) -> None:
        """Ask the database something real (a table of ours, not just SELECT 1, which an empty
        SQLite file would answer); raise `StorageError` with the reason when it cannot say."""
        with self._session() as session:
            session.exec(select(FeedRow.id).limit(1)).first()


def _stored_keys(session: Session, feed_id: int, keys: set[str]) -> set[str]:
    """The keys among `keys` that the feed has stored already."""
    seen: set[str] = set()
    for part in chunks(sorted(keys)):
        seen.update(
            session.exec(
                select(ItemRow.key)
                .where(ItemRow.feed_id == feed_id)
                .where(col(ItemRow.key).in_(part))
            )
        )
    return seen
