"""Spike alerts in the database: which chats want them, the hits a spike is counted from (only those
of feeds the chat may see), and the record of each alert, written before it is sent.

The record keeps every replica to one alert per chat and watchlist in `bot.trends.spikes.COOLDOWN`: the
check and the insert run in one transaction that first locks the chat's row (PostgreSQL; SQLite has
one writer at a time), and a unique key allows one alert per chat, watchlist and clock hour in any
case. `Repository` builds on this store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, exists, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.core.domain import PendingAlert, SpikeHistory, SpikeTarget, StoredItem
from bot.core.errors import StorageError
from bot.storage.queries import visible_to
from bot.storage.rows import stored_item, watchlist_of
from bot.storage.store import Store
from bot.storage.tables import (
    ChatFeedRow,
    ChatRow,
    FeedRow,
    HitRow,
    ItemRow,
    SpikeAlertRow,
    SubscriptionRow,
    WatchlistRow,
)
from bot.trends.spikes import (
    ALERT_STALE,
    COOLDOWN,
    HOUR,
    Spike,
    alert_hour,
    cooldown_over,
    window_starts,
)

SPIKE_ITEMS_SHOWN = 1000
"""The most items of one spike read to make its story lines (a message holds far fewer)."""


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert as recorded, for `/spikes` and tests."""

    watchlist: str
    hour: datetime
    count: int
    baseline: float
    created_at: datetime
    sent_at: datetime | None
    outcome: str | None


def _hits_of(watchlist_id: int, chat_id: int | None) -> list[ColumnElement[bool]]:
    return [col(HitRow.watchlist_id) == watchlist_id, visible_to(chat_id)]


class AlertStore(Store):
    """The spike alert setting of chats, the counts behind a spike, and the alerts."""

    # --- the setting ------------------------------------------------------------------------

    def set_spike_alerts(self, chat_id: int, on: bool) -> None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is None:
                raise StorageError(f"chat {chat_id} is not registered; send /start first")
            row.spike_alerts = on

    def spike_alerts_on(self, chat_id: int) -> bool:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            return row is not None and row.spike_alerts

    # --- what to look at --------------------------------------------------------------------

    def last_hit_id(self) -> int:
        """The newest hit's id (0 without hits): the hits stored after it are a round's own."""
        with self._session() as session:
            return session.exec(select(func.max(col(HitRow.id)))).one() or 0

    def spike_targets(self, after_hit_id: int, now: datetime) -> list[SpikeTarget]:
        """Every (chat, watchlist) to check: the chat has spike alerts on, is active and not
        paused, follows the watchlist, has had no alert for it within the cooldown, and the
        watchlist has hits newer than `after_hit_id`."""
        fresh = select(HitRow.watchlist_id).where(col(HitRow.id) > after_hit_id).distinct()
        alerted = (
            exists()
            .where(col(SpikeAlertRow.chat_id) == col(SubscriptionRow.chat_id))
            .where(col(SpikeAlertRow.watchlist_id) == col(SubscriptionRow.watchlist_id))
            .where(col(SpikeAlertRow.created_at) > now - COOLDOWN)
        )
        own_feeds = exists().where(col(ChatFeedRow.chat_id) == col(SubscriptionRow.chat_id))
        query = (
            select(SubscriptionRow, WatchlistRow, own_feeds)
            .join(ChatRow, col(ChatRow.id) == SubscriptionRow.chat_id)
            .join(WatchlistRow, col(WatchlistRow.id) == SubscriptionRow.watchlist_id)
            .where(col(ChatRow.spike_alerts).is_(True))
            .where(col(ChatRow.active).is_(True))
            .where(col(ChatRow.paused).is_(False))
            .where(col(WatchlistRow.retired).is_(False))
            .where(col(WatchlistRow.id).in_(fresh))
            .where(~alerted)
            .order_by(col(SubscriptionRow.chat_id), col(WatchlistRow.name))
        )
        with self._session() as session:
            targets = []
            for subscription, watchlist, own in session.exec(query):
                assert watchlist.id is not None
                targets.append(
                    SpikeTarget(
                        subscription.chat_id,
                        watchlist.id,
                        watchlist_of(watchlist),
                        subscription.thread_id,
                        bool(own),
                    )
                )
            return targets

    def spike_history(self, watchlist_id: int, chat_id: int | None, now: datetime) -> SpikeHistory:
        """The hits of the hours `bot.trends.spikes.window_starts(now)` compares, as `chat_id` may see
        them (None: from the feeds every chat reads)."""
        starts = window_starts(now)
        hours = or_(
            *(
                (col(ItemRow.seen_at) > start) & (col(ItemRow.seen_at) <= start + HOUR)
                for start in starts
            )
        )
        oldest = min(starts)

        def hits() -> Any:
            return (
                select(ItemRow.seen_at)
                .select_from(HitRow)
                .join(ItemRow, col(ItemRow.id) == HitRow.item_id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(*_hits_of(watchlist_id, chat_id))
            )

        with self._session() as session:
            times = tuple(session.exec(hits().where(hours)).all())
            # Reading only whether there were hits before the oldest hour (not the very first)
            # keeps this a bounded query, however long the watchlist's history.
            before = session.exec(hits().where(col(ItemRow.seen_at) <= oldest).limit(1)).first()
            if before is not None:
                return SpikeHistory(times, oldest)
            first = session.exec(
                select(func.min(col(ItemRow.seen_at)))
                .select_from(HitRow)
                .join(ItemRow, col(ItemRow.id) == HitRow.item_id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(*_hits_of(watchlist_id, chat_id))
                .where(col(ItemRow.seen_at) > oldest)
            ).one()
            return SpikeHistory(times, first)

    def spike_items(
        self,
        watchlist_id: int,
        chat_id: int | None,
        start: datetime,
        end: datetime,
        limit: int = SPIKE_ITEMS_SHOWN,
    ) -> list[StoredItem]:
        """The items that hit the watchlist and were seen in (start, end], with their feeds'
        names, as `chat_id` may see them; the newest first."""
        with self._session() as session:
            rows = session.exec(
                select(ItemRow, FeedRow)
                .join(HitRow, col(HitRow.item_id) == ItemRow.id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(*_hits_of(watchlist_id, chat_id))
                .where(col(ItemRow.seen_at) > start)
                .where(col(ItemRow.seen_at) <= end)
                .order_by(col(ItemRow.seen_at).desc(), col(ItemRow.id).desc())
                .limit(limit)
            ).all()
            return [stored_item(item, feed) for item, feed in rows]

    # --- the alerts -------------------------------------------------------------------------

    def reserve_spike_alert(
        self,
        chat_id: int,
        watchlist_id: int,
        spike: Spike,
        now: datetime,
        *,
        thread_id: int | None = None,
        own_feeds: bool = False,
    ) -> int | None:
        """Record an alert that is about to be sent (its first try marked as begun), or None when
        the chat may not have it: spike alerts off, paused or gone, or an alert for the list
        within the cooldown (by any replica: the chat's row is locked while this is decided)."""
        try:
            with self._session() as session:
                chat = session.exec(
                    select(ChatRow).where(col(ChatRow.id) == chat_id).with_for_update()
                ).first()
                if chat is None or not chat.active or chat.paused or not chat.spike_alerts:
                    return None
                last = session.exec(
                    select(func.max(col(SpikeAlertRow.created_at)))
                    .where(col(SpikeAlertRow.chat_id) == chat_id)
                    .where(col(SpikeAlertRow.watchlist_id) == watchlist_id)
                ).one()
                if not cooldown_over(last, now):
                    return None
                row = SpikeAlertRow(
                    chat_id=chat_id,
                    watchlist_id=watchlist_id,
                    thread_id=thread_id,
                    hour=alert_hour(spike),
                    count=spike.count,
                    baseline=spike.baseline,
                    spread=spike.spread,
                    counted_from=spike.start,
                    counted_until=spike.end,
                    own_feeds=own_feeds,
                    created_at=now,
                    attempted_at=now,
                )
                session.add(row)
                session.flush()
                assert row.id is not None
                return row.id
        except StorageError as error:
            if isinstance(error.__cause__, IntegrityError):
                return None  # another replica recorded this hour's alert first
            raise

    def finish_spike_alert(
        self, alert_id: int, now: datetime, outcome: str, *, message_id: int | None = None
    ) -> None:
        """Close an alert: "sent" (with its message), "failed" or "unsure"."""
        with self._session() as session:
            row = session.get(SpikeAlertRow, alert_id)
            if row is not None and row.outcome is None:
                row.outcome, row.message_id = outcome, message_id
                if outcome == "sent":
                    row.sent_at = now

    def retry_spike_alert(self, alert_id: int) -> None:
        """Telegram refused the alert for now and said so (429): it may be tried again."""
        with self._session() as session:
            session.execute(
                update(SpikeAlertRow)
                .where(col(SpikeAlertRow.id) == alert_id)
                .where(col(SpikeAlertRow.outcome).is_(None))
                .values(attempted_at=None)
            )

    def pending_spike_alerts(self, now: datetime) -> list[PendingAlert]:
        """Alerts to try again, oldest first. Those older than `ALERT_STALE` are closed instead:
        "expired" when waiting, "unsure" when a try began and never ended (a crash mid-send)."""
        with self._session() as session:
            rows = session.exec(
                select(SpikeAlertRow, WatchlistRow, ChatRow.active)
                .join(ChatRow, col(ChatRow.id) == SpikeAlertRow.chat_id)
                .join(WatchlistRow, col(WatchlistRow.id) == SpikeAlertRow.watchlist_id)
                .where(col(SpikeAlertRow.outcome).is_(None))
                .where(col(SpikeAlertRow.sent_at).is_(None))
                .order_by(col(SpikeAlertRow.id))
            ).all()
            pending = []
            for row, watchlist, active in rows:
                if row.created_at <= now - ALERT_STALE or row.counted_from is None:
                    row.outcome = "expired" if row.attempted_at is None else "unsure"
                elif row.attempted_at is None and active:
                    pending.append(
                        PendingAlert(
                            id=row.id or 0,
                            chat_id=row.chat_id,
                            watchlist=watchlist_of(watchlist),
                            watchlist_id=row.watchlist_id,
                            thread_id=row.thread_id,
                            count=row.count,
                            baseline=row.baseline,
                            counted_from=row.counted_from,
                            counted_until=row.counted_until or row.counted_from,
                            own_feeds=row.own_feeds,
                        )
                    )
            return pending

    def take_spike_alert(self, alert_id: int, now: datetime) -> bool:
        """Mark a try of a pending alert as begun; False when it is not pending any more (another
        replica took it, or it was closed)."""
        with self._session() as session:
            taken = session.execute(
                update(SpikeAlertRow)
                .where(col(SpikeAlertRow.id) == alert_id)
                .where(col(SpikeAlertRow.outcome).is_(None))
                .where(col(SpikeAlertRow.sent_at).is_(None))
                .where(col(SpikeAlertRow.attempted_at).is_(None))
                .values(attempted_at=now)
            )
            return cast("CursorResult[Any]", taken).rowcount == 1

    def spike_alert_log(self, chat_id: int, limit: int = 20) -> list[AlertRecord]:
        """The chat's alerts, newest first."""
        with self._session() as session:
            rows: Sequence[tuple[SpikeAlertRow, WatchlistRow]] = session.exec(
                select(SpikeAlertRow, WatchlistRow)
                .join(WatchlistRow, col(WatchlistRow.id) == SpikeAlertRow.watchlist_id)
                .where(col(SpikeAlertRow.chat_id) == chat_id)
                .order_by(col(SpikeAlertRow.created_at).desc(), col(SpikeAlertRow.id).desc())
                .limit(limit)
            ).all()
            return [
                AlertRecord(
                    watchlist_of(watchlist).label,
                    alert.hour,
                    alert.count,
                    alert.baseline,
                    alert.created_at,
                    alert.sent_at,
                    alert.outcome,
                )
                for alert, watchlist in rows
            ]
