"""The repository: every read and write of feedwatch's database, in domain objects.

Tables stay behind this module. Each method is one transaction; SQLAlchemy's errors are wrapped into
`StorageError` here, at the edge, so callers never see a raw driver exception.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, event, func
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, col, select

from bot.domain import (
    CONSOLE_CHAT_ID,
    Chat,
    FeedSpec,
    FeedState,
    Match,
    ParsedItem,
    PendingDelivery,
    StoredItem,
    Watchlist,
)
from bot.errors import StorageError
from bot.storage import migrate
from bot.storage.tables import (
    ChatRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    ItemRow,
    SubscriptionRow,
    WatchlistRow,
)

log = logging.getLogger(__name__)

CONFIG_SOURCE = "config"
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
)


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


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    unknown: tuple[str, ...]


def create_db_engine(url: str, *, connect_args: Mapping[str, Any] | None = None) -> Engine:
    """An engine that behaves alike on SQLite and PostgreSQL: foreign keys on, threads allowed."""
    parsed = make_url(url)
    args: dict[str, Any] = dict(connect_args or {})
    if parsed.get_backend_name() == "sqlite":
        args.setdefault("check_same_thread", False)
        in_memory = parsed.database in (None, "", ":memory:")
        engine = create_engine(url, connect_args=args, poolclass=StaticPool if in_memory else None)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # WAL lets the scheduler read while a command handler writes.
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, connect_args=args, pool_pre_ping=True)


def _state(row: FeedRow, item_count: int = 0) -> FeedState:
    assert row.id is not None
    return FeedState(
        id=row.id,
        url=row.url,
        name=row.name,
        interval=timedelta(seconds=row.interval_seconds) if row.interval_seconds else None,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        next_poll_at=row.next_poll_at,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        item_count=item_count,
    )


def _watchlist(row: WatchlistRow) -> Watchlist:
    return Watchlist(
        name=row.name,
        title=row.title,
        terms=tuple(row.terms),
        require=tuple(row.require),
        exclude=tuple(row.exclude),
    )


def _chat(row: ChatRow) -> Chat:
    return Chat(
        id=row.id,
        type=row.type,
        title=row.title,
        active=row.active,
        digest_interval=(
            timedelta(seconds=row.digest_interval_seconds) if row.digest_interval_seconds else None
        ),
        last_digest_at=row.last_digest_at,
    )


class Repository:
    """feedwatch's storage, speaking domain objects."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, connect_args: Mapping[str, Any] | None = None) -> Repository:
        """Connect and bring the schema up to date (migrations run on every start)."""
        try:
            engine = create_db_engine(url, connect_args=connect_args)
            migrate.upgrade(engine)
        except SQLAlchemyError as error:
            raise StorageError(f"cannot open the database: {_reason(error)}") from error
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as error:
            raise StorageError(f"database error: {_reason(error)}") from error

    # --- configuration --------------------------------------------------------------------

    def sync_config(
        self, feeds: Sequence[FeedSpec], watchlists: Sequence[Watchlist], now: datetime
    ) -> None:
        """Make the configured feeds and watchlists the stored ones; those gone from the file are
        retired (kept for their history, no longer polled or matched)."""
        with self._session() as session:
            stored_feeds = {
                row.origin_url: row
                for row in session.exec(select(FeedRow).where(FeedRow.source == CONFIG_SOURCE))
            }
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
            for gone in stored_feeds.values():
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
        """Every watchlist in use, by name."""
        with self._session() as session:
            rows = session.exec(
                select(WatchlistRow)
                .where(col(WatchlistRow.retired).is_(False))
                .order_by(WatchlistRow.name)
            )
            return [_watchlist(row) for row in rows]

    # --- feeds ----------------------------------------------------------------------------

    def feeds(self) -> list[FeedState]:
        """Every enabled feed, with its number of stored items."""
        with self._session() as session:
            counts = dict(
                session.exec(
                    select(ItemRow.feed_id, func.count(col(ItemRow.id))).group_by(
                        col(ItemRow.feed_id)
                    )
                ).all()
            )
            rows = session.exec(
                select(FeedRow).where(col(FeedRow.enabled).is_(True)).order_by(col(FeedRow.id))
            )
            return [_state(row, counts.get(row.id or 0, 0)) for row in rows]

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
            return [_state(row) for row in session.exec(query)]

    def save_feed_state(self, state: FeedState) -> FeedState:
        """Store a feed's cache facts, schedule and health after a poll, and its new URL when it
        moved permanently (it keeps the URL it was configured with as its identity)."""
        with self._session() as session:
            row = session.get(FeedRow, state.id)
            if row is None:
                raise StorageError(f"feed #{state.id} does not exist")
            for name in _POLL_FIELDS:
                setattr(row, name, getattr(state, name))
            return _state(row)

    # --- items, hits, outbox ----------------------------------------------------------------

    def unseen_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` that this feed has not stored yet."""
        wanted = set(keys)
        if not wanted:
            return set()
        with self._session() as session:
            seen: set[str] = set()
            chunk = sorted(wanted)
            # Chunked so that a feed of thousands of items stays under parameter limits.
            for start in range(0, len(chunk), 500):
                part = chunk[start : start + 500]
                seen.update(
                    session.exec(
                        select(ItemRow.key)
                        .where(ItemRow.feed_id == feed_id)
                        .where(col(ItemRow.key).in_(part))
                    )
                )
            return wanted - seen

    def store_items(
        self,
        feed_id: int,
        items: Sequence[tuple[ParsedItem, Mapping[str, Sequence[Match]]]],
        now: datetime,
    ) -> StoreResult:
        """Store new items with their hits, and queue each hit for every chat that follows its
        watchlist, all in one transaction: an item is never stored without its outbox rows."""
        new_items = new_hits = new_deliveries = 0
        with self._session() as session:
            lists = {
                row.name: row.id
                for row in session.exec(
                    select(WatchlistRow).where(col(WatchlistRow.retired).is_(False))
                )
                if row.id is not None
            }
            followers: dict[int, list[int]] = {}
            for chat_id, watchlist_id in session.exec(
                select(SubscriptionRow.chat_id, SubscriptionRow.watchlist_id)
                .join(ChatRow, col(ChatRow.id) == SubscriptionRow.chat_id)
                .where(col(ChatRow.active).is_(True))
            ):
                followers.setdefault(watchlist_id, []).append(chat_id)

            for parsed, matches in items:
                exists = session.exec(
                    select(ItemRow.id)
                    .where(ItemRow.feed_id == feed_id)
                    .where(ItemRow.key == parsed.key)
                ).first()
                if exists is not None:
                    continue
                item = ItemRow(
                    feed_id=feed_id,
                    key=parsed.key,
                    title=parsed.title,
                    link=parsed.link,
                    summary=parsed.summary,
                    published_at=parsed.published,
                    seen_at=now,
                )
                session.add(item)
                session.flush()
                assert item.id is not None
                new_items += 1
                chats: set[int] = set()
                for name, found in matches.items():
                    list_id = lists.get(name)
                    if list_id is None or not found:
                        continue
                    session.add(
                        HitRow(
                            item_id=item.id,
                            watchlist_id=list_id,
                            matches=[{"term": m.term, "text": m.text} for m in found],
                            created_at=now,
                        )
                    )
                    new_hits += 1
                    chats.update(followers.get(list_id, ()))
                for chat_id in sorted(chats):
                    session.add(DeliveryRow(chat_id=chat_id, item_id=item.id, created_at=now))
                    new_deliveries += 1
        return StoreResult(new_items, new_hits, new_deliveries)

    def pending_deliveries(self, chat_id: int, limit: int = 1000) -> list[PendingDelivery]:
        """The chat's unsent outbox rows, oldest first, each with the matches of the watchlists the
        chat follows now (empty when it no longer follows any the item hit)."""
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow, ItemRow, FeedRow)
                .join(ItemRow, col(ItemRow.id) == DeliveryRow.item_id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(DeliveryRow.chat_id == chat_id)
                .where(col(DeliveryRow.sent_at).is_(None))
                .order_by(col(DeliveryRow.id))
                .limit(limit)
            ).all()
            item_ids = [item.id for _, item, _ in rows]
            matches: dict[int, list[Match]] = {}
            if item_ids:
                for hit, name in session.exec(
                    select(HitRow, WatchlistRow.name)
                    .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
                    .join(SubscriptionRow, col(SubscriptionRow.watchlist_id) == HitRow.watchlist_id)
                    .where(SubscriptionRow.chat_id == chat_id)
                    .where(col(WatchlistRow.retired).is_(False))
                    .where(col(HitRow.item_id).in_(item_ids))
                    .order_by(WatchlistRow.name)
                ):
                    matches.setdefault(hit.item_id, []).extend(
                        Match(name, m["term"], m["text"]) for m in hit.matches
                    )
            result = []
            for delivery, item, feed in rows:
                assert delivery.id is not None
                assert item.id is not None
                assert feed.id is not None
                stored = StoredItem(
                    id=item.id,
                    feed_id=feed.id,
                    feed_name=feed.name or feed.url,
                    key=item.key,
                    title=item.title,
                    link=item.link,
                    summary=item.summary,
                    published=item.published_at,
                    seen_at=item.seen_at,
                )
                result.append(
                    PendingDelivery(delivery.id, chat_id, stored, tuple(matches.get(item.id, ())))
                )
            return result

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

    # --- chats and subscriptions ------------------------------------------------------------

    def register_chat(self, chat_id: int, chat_type: str, title: str | None, now: datetime) -> Chat:
        """Create the chat, or bring it back when it had been deactivated (the user came back)."""
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is None:
                row = ChatRow(id=chat_id, type=chat_type, title=title, created_at=now)
                session.add(row)
            else:
                row.type, row.title, row.active, row.inactive_reason = chat_type, title, True, None
            return _chat(row)

    def chat(self, chat_id: int) -> Chat | None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            return _chat(row) if row else None

    def subscribe(self, chat_id: int, names: Sequence[str], now: datetime) -> SubscribeResult:
        with self._session() as session:
            lists, current = self._lists_and_subscriptions(session, chat_id)
            changed, unchanged, unknown = [], [], []
            for name in dict.fromkeys(names):
                if name not in lists:
                    unknown.append(name)
                elif lists[name] in current:
                    unchanged.append(name)
                else:
                    session.add(
                        SubscriptionRow(chat_id=chat_id, watchlist_id=lists[name], created_at=now)
                    )
                    changed.append(name)
            return SubscribeResult(tuple(changed), tuple(unchanged), tuple(unknown))

    def unsubscribe(self, chat_id: int, names: Sequence[str]) -> SubscribeResult:
        with self._session() as session:
            lists, current = self._lists_and_subscriptions(session, chat_id)
            changed, unchanged, unknown = [], [], []
            for name in dict.fromkeys(names):
                if name not in lists:
                    unknown.append(name)
                elif lists[name] not in current:
                    unchanged.append(name)
                else:
                    session.delete(current[lists[name]])
                    changed.append(name)
            return SubscribeResult(tuple(changed), tuple(unchanged), tuple(unknown))

    @staticmethod
    def _lists_and_subscriptions(
        session: Session, chat_id: int
    ) -> tuple[dict[str, int], dict[int, SubscriptionRow]]:
        if session.get(ChatRow, chat_id) is None:
            raise StorageError(f"chat {chat_id} is not registered; send /start first")
        lists = {
            row.name: row.id
            for row in session.exec(
                select(WatchlistRow).where(col(WatchlistRow.retired).is_(False))
            )
            if row.id is not None
        }
        current = {
            row.watchlist_id: row
            for row in session.exec(
                select(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id)
            )
        }
        return lists, current

    def subscribe_console_to_all(self, now: datetime) -> None:
        """With no Telegram token the terminal is the one reader, and it follows every watchlist."""
        self.register_chat(CONSOLE_CHAT_ID, "console", "terminal", now)
        self.subscribe(CONSOLE_CHAT_ID, [w.name for w in self.watchlists()], now)

    def chat_watchlists(self, chat_id: int) -> list[Watchlist]:
        with self._session() as session:
            rows = session.exec(
                select(WatchlistRow)
                .join(SubscriptionRow, col(SubscriptionRow.watchlist_id) == WatchlistRow.id)
                .where(SubscriptionRow.chat_id == chat_id)
                .where(col(WatchlistRow.retired).is_(False))
                .order_by(WatchlistRow.name)
            )
            return [_watchlist(row) for row in rows]

    def chats_with_pending(self) -> list[Chat]:
        """Active chats that have unsent outbox rows."""
        with self._session() as session:
            pending = (
                select(DeliveryRow.chat_id).where(col(DeliveryRow.sent_at).is_(None)).distinct()
            )
            rows = session.exec(
                select(ChatRow)
                .where(col(ChatRow.active).is_(True))
                .where(col(ChatRow.id).in_(pending))
                .order_by(col(ChatRow.id))
            )
            return [_chat(row) for row in rows]

    def set_last_digest(self, chat_id: int, now: datetime) -> None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is not None:
                row.last_digest_at = now

    def deactivate_chat(self, chat_id: int, reason: str) -> None:
        """Stop delivering to a chat that blocked or removed the bot; its outbox stays for later."""
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is not None:
                row.active, row.inactive_reason = False, reason

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup with a new id: move the chat, its subscriptions and outbox."""
        try:
            with self._session() as session:
                old = session.get(ChatRow, old_id)
                if old is None:
                    return
                if session.get(ChatRow, new_id) is None:
                    session.add(
                        ChatRow(
                            id=new_id,
                            type="supergroup",
                            title=old.title,
                            active=old.active,
                            digest_interval_seconds=old.digest_interval_seconds,
                            last_digest_at=old.last_digest_at,
                            created_at=old.created_at,
                        )
                    )
                    session.flush()
                for sub in session.exec(
                    select(SubscriptionRow).where(SubscriptionRow.chat_id == old_id)
                ):
                    sub.chat_id = new_id
                for delivery in session.exec(
                    select(DeliveryRow).where(DeliveryRow.chat_id == old_id)
                ):
                    delivery.chat_id = new_id
                session.flush()
                session.delete(old)
        except StorageError as error:
            if isinstance(error.__cause__, IntegrityError):
                raise StorageError(
                    f"chat {old_id} moved to {new_id}, which already has the same subscriptions"
                ) from error
            raise


def _reason(error: SQLAlchemyError) -> str:
    """The driver's own first line, without SQLAlchemy's statement dump and links."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
