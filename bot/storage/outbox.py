"""The outbox in the database: what waits to reach each chat and forum topic, held while a chat is
paused, closed only once Telegram confirmed it; the notices to chats; and what reached a chat."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, update
from sqlmodel import Session, col, select

from bot.core.domain import (
    ArchiveCount,
    Backlog,
    Chat,
    Match,
    PastHit,
    PendingDelivery,
    PendingNotice,
)
from bot.storage.queries import chat_row, open_rows, rowcount
from bot.storage.rows import CHAT_SOURCE, chat_of, stored_item
from bot.storage.store import Store
from bot.storage.tables import (
    NO_TOPIC,
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

HELD = "held"
ARCHIVED = "archived"
"""A feed's archive item, counted in a digest without being listed (in `/hits`)."""
RECENT_SENT_LIMIT = 5000
"""Rows sent in the story window that a digest compares new items with, at most."""


class OutboxStore(Store):
    """Outbox rows and notices: what to send, holding it, and closing it once sent."""

    # --- pausing ----------------------------------------------------------------------------

    def resume(self, chat_id: int) -> int:
        """Deliver again; what came while paused is held, to be offered rather than dumped.
        Returns how many items are held."""
        with self._session() as session:
            row = chat_row(session, chat_id)
            was_paused, row.paused = row.paused, False
            if not was_paused:
                return 0
            held = session.execute(
                update(DeliveryRow)
                .where(col(DeliveryRow.chat_id) == chat_id)
                .where(open_rows())
                .values(outcome=HELD)
            )
            return rowcount(held)

    def release_held(self, chat_id: int) -> int:
        """The chat wants what was held: it goes with the next digest."""
        return self._change_held(chat_id, outcome=None)

    def skip_held(self, chat_id: int, now: datetime) -> int:
        """The chat declined what was held: close it unsent (it stays in `/hits`)."""
        return self._change_held(chat_id, outcome="skipped", sent_at=now)

    def _change_held(self, chat_id: int, **values: object) -> int:
        with self._session() as session:
            changed = session.execute(
                update(DeliveryRow)
                .where(col(DeliveryRow.chat_id) == chat_id)
                .where(col(DeliveryRow.sent_at).is_(None))
                .where(col(DeliveryRow.outcome) == HELD)
                .values(**values)
            )
            return rowcount(changed)

    # --- what waits -------------------------------------------------------------------------

    def chats_with_pending(self) -> list[Chat]:
        """Active chats that have outbox rows to send."""
        with self._session() as session:
            pending = select(DeliveryRow.chat_id).where(open_rows()).distinct()
            rows = session.exec(
                select(ChatRow)
                .where(col(ChatRow.active).is_(True))
                .where(col(ChatRow.id).in_(pending))
                .order_by(col(ChatRow.id))
            )
            return [chat_of(row) for row in rows]

    @staticmethod
    def _matches_for(
        session: Session, chat_id: int, item_ids: Sequence[int | None]
    ) -> dict[tuple[int, int], tuple[Match, ...]]:
        """The matches of the watchlists the chat follows now, by item and by the forum topic
        each list is followed from (NO_TOPIC for the chat itself)."""
        found: dict[tuple[int, int], list[Match]] = {}
        wanted = [item_id for item_id in item_ids if item_id is not None]
        if not wanted:
            return {}
        for hit, row, thread_id in session.exec(
            select(HitRow, WatchlistRow, SubscriptionRow.thread_id)
            .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
            .join(SubscriptionRow, col(SubscriptionRow.watchlist_id) == HitRow.watchlist_id)
            .where(SubscriptionRow.chat_id == chat_id)
            .where(col(WatchlistRow.retired).is_(False))
            .where(col(HitRow.item_id).in_(wanted))
            .order_by(WatchlistRow.name)
        ):
            found.setdefault((hit.item_id, thread_id or NO_TOPIC), []).extend(
                Match(row.name, m["term"], m["text"]) for m in hit.matches
            )
        return {key: tuple(matches) for key, matches in found.items()}

    def _deliveries(
        self, chat_id: int, *conditions: ColumnElement[bool], limit: int
    ) -> list[PendingDelivery]:
        """Outbox rows of a chat, oldest first, each with the matches of the lists the chat
        follows now from the row's topic (empty when it follows none the item hit there)."""
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow, ItemRow, FeedRow)
                .join(ItemRow, col(ItemRow.id) == DeliveryRow.item_id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(DeliveryRow.chat_id == chat_id, *conditions)
                .order_by(col(DeliveryRow.id))
                .limit(limit)
            ).all()
            matches = self._matches_for(session, chat_id, [item.id for _, item, _ in rows])
            result = []
            for delivery, item, feed in rows:
                assert delivery.id is not None
                result.append(
                    PendingDelivery(
                        delivery.id,
                        chat_id,
                        stored_item(item, feed),
                        matches.get((item.id or 0, delivery.thread_id), ()),
                        delivery.thread_id or None,
                    )
                )
            return result

    def pending_deliveries(
        self, chat_id: int, limit: int = 1000, *, skip_topics: Collection[int | None] = ()
    ) -> list[PendingDelivery]:
        """The chat's outbox rows to send, oldest first (see `_deliveries`), but those of the
        forum topics in `skip_topics` (None: the chat itself)."""
        conditions = [open_rows()]
        if skip_topics:
            skipped = [topic or NO_TOPIC for topic in skip_topics]
            conditions.append(col(DeliveryRow.thread_id).not_in(skipped))
        return self._deliveries(chat_id, *conditions, limit=limit)

    def pending_by_topic(self, chat_id: int) -> dict[int | None, int]:
        """How many outbox rows wait for each forum topic of the chat (None: the chat itself),
        not counting feeds' archive items (a topic with only those is listed with 0): they never
        make a backlog, since a digest counts them without listing them."""
        news = case((col(ItemRow.archived).is_(False), 1), else_=0)
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow.thread_id, func.sum(news))
                .join(ItemRow, col(ItemRow.id) == DeliveryRow.item_id)
                .where(DeliveryRow.chat_id == chat_id)
                .where(open_rows())
                .group_by(col(DeliveryRow.thread_id))
            ).all()
            return {thread_id or None: int(count or 0) for thread_id, count in rows}

    def backlog(self, chat_id: int, topic: int | None, newest: int) -> Backlog:
        """A topic's whole outbox as a summary reads it: how many rows wait, how many hit each
        list the chat follows there, and the `newest` of them by their items' time; the feeds'
        archive items apart, counted by feed. `last_id` bounds the rows the summary speaks for
        (`close_backlog`): rows that come meanwhile wait for the next digest."""
        thread = topic or NO_TOPIC
        mine = (
            (col(DeliveryRow.chat_id) == chat_id)
            & (col(DeliveryRow.thread_id) == thread)
            & open_rows()
        )
        news = mine & col(ItemRow.archived).is_(False)
        on_item = col(ItemRow.id) == DeliveryRow.item_id
        with self._session() as session:
            last_id = session.exec(select(func.max(DeliveryRow.id)).where(mine)).one()
            total = session.exec(
                select(func.count(col(DeliveryRow.id))).join(ItemRow, on_item).where(news)
            ).one()
            counts = session.exec(
                select(WatchlistRow.name, func.count(col(DeliveryRow.id)))
                .select_from(DeliveryRow)
                .join(ItemRow, on_item)
                .join(HitRow, col(HitRow.item_id) == DeliveryRow.item_id)
                .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
                .join(
                    SubscriptionRow,
                    (col(SubscriptionRow.watchlist_id) == HitRow.watchlist_id)
                    & (col(SubscriptionRow.chat_id) == chat_id),
                )
                .where(news)
                .where(func.coalesce(SubscriptionRow.thread_id, NO_TOPIC) == thread)
                .where(col(WatchlistRow.retired).is_(False))
                .group_by(col(WatchlistRow.name))
            ).all()
            moment = func.coalesce(ItemRow.published_at, ItemRow.seen_at)
            latest = session.exec(
                select(DeliveryRow.id)
                .join(ItemRow, on_item)
                .where(news)
                .order_by(moment.desc(), col(DeliveryRow.id).desc())
                .limit(newest)
            ).all()
            archive = session.exec(
                select(
                    func.coalesce(func.nullif(FeedRow.name, ""), FeedRow.url),
                    func.count(col(DeliveryRow.id)),
                    func.min(moment),
                    func.max(moment),
                )
                .select_from(DeliveryRow)
                .join(ItemRow, on_item)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(mine & col(ItemRow.archived).is_(True))
                .group_by(col(FeedRow.id), col(FeedRow.name), col(FeedRow.url))
            ).all()
        shown = self._deliveries(chat_id, col(DeliveryRow.id).in_(list(latest)), limit=newest)
        archived = sorted(
            (
                ArchiveCount(name, count, oldest, newest_at)
                for name, count, oldest, newest_at in archive
            ),
            key=lambda c: (-c.count, c.feed_name),
        )
        return Backlog(total, dict(counts), shown, last_id or 0, tuple(archived))

    def close_backlog(
        self,
        chat_id: int,
        topic: int | None,
        backlog: Backlog,
        now: datetime,
        *,
        message_id: int | None,
    ) -> None:
        """Close what a sent summary speaks for, in one transaction: the rows it showed as sent
        in its message, the feeds' archive items it counted as archived, every other row up to
        `backlog.last_id` as summarised (in `/hits`)."""
        shown = [delivery.id for delivery in backlog.newest]
        base = (
            update(DeliveryRow)
            .where(col(DeliveryRow.chat_id) == chat_id)
            .where(col(DeliveryRow.thread_id) == (topic or NO_TOPIC))
            .where(col(DeliveryRow.id) <= backlog.last_id)
            .where(open_rows())
        )
        archive_items = select(ItemRow.id).where(col(ItemRow.archived).is_(True))
        with self._session() as session:
            if shown:
                session.execute(
                    base.where(col(DeliveryRow.id).in_(shown)).values(
                        sent_at=now, outcome="sent", message_id=message_id
                    )
                )
            if backlog.archived:
                session.execute(
                    base.where(col(DeliveryRow.item_id).in_(archive_items)).values(
                        sent_at=now, outcome=ARCHIVED, message_id=message_id
                    )
                )
            session.execute(base.values(sent_at=now, outcome="summarised"))

    def count_pending(self, chat_id: int) -> int:
        with self._session() as session:
            return session.exec(
                select(func.count(col(DeliveryRow.id)))
                .where(DeliveryRow.chat_id == chat_id)
                .where(open_rows())
            ).one()

    def count_outbox_backlog(self) -> int:
        """Outbox rows still to send to active chats, all chats together, for /metrics (held rows
        of paused chats and the rows of chats that blocked the bot are not waiting on us)."""
        with self._session() as session:
            return session.exec(
                select(func.count(col(DeliveryRow.id)))
                .select_from(DeliveryRow)
                .join(ChatRow, col(ChatRow.id) == DeliveryRow.chat_id)
                .where(col(ChatRow.active).is_(True))
                .where(open_rows())
            ).one()

    def mark_sent(
        self,
        delivery_ids: Sequence[int],
        now: datetime,
        *,
        message_id: int | None = None,
        outcome: str = "sent",
        archived_ids: Sequence[int] = (),
    ) -> int:
        """Close outbox rows, and the `archived_ids` (feeds' archive items a digest counted)
        with them as archived, in one transaction; only rows still open are touched, so a
        repeat is harmless."""
        if not delivery_ids and not archived_ids:
            return 0
        archived = set(archived_ids)
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow)
                .where(col(DeliveryRow.id).in_([*delivery_ids, *archived]))
                .where(col(DeliveryRow.sent_at).is_(None))
            ).all()
            for row in rows:
                row.sent_at, row.message_id = now, message_id
                row.outcome = ARCHIVED if row.id in archived else outcome
            return len(rows)

    # --- what reached a chat ----------------------------------------------------------------

    def recent_hits(self, chat_id: int, limit: int) -> list[PastHit]:
        """The newest items that reached the chat's outbox (sent or not), newest first."""
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow, ItemRow, FeedRow)
                .join(ItemRow, col(ItemRow.id) == DeliveryRow.item_id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(DeliveryRow.chat_id == chat_id)
                .where(col(DeliveryRow.outcome).is_distinct_from("dropped"))
                .order_by(col(DeliveryRow.id).desc())
                .limit(limit)
            ).all()
            matches = self._matches_for(session, chat_id, [item.id for _, item, _ in rows])
            # An item a forum got in two topics is one hit: its matches from both.
            by_item: dict[int, dict[Match, None]] = {}
            for (item_id, _), found in matches.items():
                by_item.setdefault(item_id, {}).update(dict.fromkeys(found))
            newest: dict[int, PastHit] = {}
            for delivery, item, feed in rows:
                item_id = item.id or 0
                if item_id not in newest:
                    matched = tuple(by_item.get(item_id, ()))
                    newest[item_id] = PastHit(stored_item(item, feed), matched, delivery.sent_at)
            return list(newest.values())

    def recent_sent_deliveries(self, chat_id: int, since: datetime) -> list[PendingDelivery]:
        """The chat's rows sent since `since`, with their matches: a story among them is not
        sent again, its new items come as updates of it."""
        return self._deliveries(
            chat_id,
            col(DeliveryRow.outcome) == "sent",
            col(DeliveryRow.sent_at) >= since,
            limit=RECENT_SENT_LIMIT,
        )

    # --- notices ----------------------------------------------------------------------------

    def tell_chats_feed_is_failing(
        self, feed_id: int, reason: str, since: datetime, now: datetime
    ) -> int:
        """Queue a notice, once per run of failures, to every chat that draws on the feed (the
        chats that added it; for a configured feed, every active chat that follows a list).
        Returns how many chats are told."""
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
                select(ChatRow.id)
                .where(col(ChatRow.active).is_(True))
                .where(col(ChatRow.id).in_(chats))
            ).all()
            for chat_id in rows:
                session.add(
                    NoticeRow(
                        chat_id=chat_id,
                        feed_id=feed_id,
                        reason=reason,
                        failing_since=since,
                        created_at=now,
                    )
                )
            return len(rows)

    def pending_notices(self) -> list[PendingNotice]:
        """The notices still to send to active chats, oldest first."""
        with self._session() as session:
            rows = session.exec(
                select(NoticeRow, FeedRow)
                .join(ChatRow, col(ChatRow.id) == NoticeRow.chat_id)
                .join(FeedRow, col(FeedRow.id) == NoticeRow.feed_id)
                .where(col(NoticeRow.sent_at).is_(None))
                .where(col(ChatRow.active).is_(True))
                .order_by(col(NoticeRow.id))
            ).all()
            return [
                PendingNotice(
                    row.id or 0,
                    row.chat_id,
                    feed.name or feed.url,
                    row.reason,
                    row.failing_since or row.created_at,
                )
                for row, feed in rows
            ]

    def mark_notice_sent(self, notice_id: int, now: datetime) -> None:
        with self._session() as session:
            row = session.get(NoticeRow, notice_id)
            if row is not None:
                row.sent_at = now
