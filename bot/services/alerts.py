"""Send spike alerts: after a poll round that stored hits, check each watchlist that got them for
each chat with `/spikes on` that follows it, and alert the chat at once, outside its digest schedule.

An alert is recorded before it is sent (`AlertStore.reserve_spike_alert`): the record is what keeps
a chat to one alert per watchlist in six hours, on every replica. It is sent at most once: it is
tried again only when Telegram said it did not take it (429, with the wait it asked for); after a
network error or a timeout, which may have delivered it, it is not. The hits themselves still come
in the digest. In quiet hours an alert goes at once, without a notification sound; paused chats get
none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.domain import (
    Chat,
    DigestMessage,
    PendingAlert,
    SpikeHistory,
    SpikeTarget,
    StoredItem,
)
from bot.core.errors import StorageError
from bot.core.schedule import in_quiet_hours
from bot.render.alerts import render_alert
from bot.render.i18n import language_of
from bot.services.courier import Courier, GateStore, NotSent
from bot.trends.spikes import Spike, detect_spike, spike_stories, window_counts

log = logging.getLogger(__name__)


class AlertStorage(GateStore, Protocol):
    """What spike alerts need of storage (`AsyncStorage` is one)."""

    async def last_hit_id(self) -> int: ...

    async def spike_targets(self, after_hit_id: int, now: datetime) -> list[SpikeTarget]: ...

    async def spike_history(
        self, watchlist_id: int, chat_id: int | None, now: datetime
    ) -> SpikeHistory: ...

    async def spike_items(
        self,
        watchlist_id: int,
        chat_id: int | None,
        start: datetime,
        end: datetime,
        limit: int = ...,
    ) -> list[StoredItem]: ...

    async def reserve_spike_alert(
        self,
        chat_id: int,
        watchlist_id: int,
        spike: Spike,
        now: datetime,
        *,
        thread_id: int | None = ...,
        own_feeds: bool = ...,
    ) -> int | None: ...

    async def take_spike_alert(self, alert_id: int, now: datetime) -> bool: ...

    async def finish_spike_alert(
        self, alert_id: int, now: datetime, outcome: str, *, message_id: int | None = ...
    ) -> None: ...

    async def retry_spike_alert(self, alert_id: int) -> None: ...

    async def pending_spike_alerts(self, now: datetime) -> list[PendingAlert]: ...

    async def migrate_chat(self, old_id: int, new_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What one alert did: sent (with its message id where there is one) or why not."""

    chat_id: int
    watchlist: str
    sent: bool
    error: str | None = None


class Alerter:
    """Detects spikes for the chats that want alerts and sends them; one round at a time."""

    def __init__(
        self, store: AlertStorage, courier: Courier, *, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.courier = courier
        self.gate = courier.gate
        self.clock = clock
        self._lock = asyncio.Lock()
        # Spikes found for a chat that another sender held, or Telegram told to wait: checked
        # again next round, whether or not that round brings new hits.
        self._deferred: dict[tuple[int, int], SpikeTarget] = {}

    async def mark(self) -> int:
        """Where a poll round begins: the hits stored after this are the round's."""
        return await self.store.last_hit_id()

    async def run(self, after_hit_id: int | None = None) -> list[AlertOutcome]:
        """Send the alerts Telegram asked to wait for, check again the spikes a chat could not
        get last round, and, with `after_hit_id`, check every watchlist that got hits after it
        for every chat that wants spike alerts."""
        async with self._lock:
            outcomes = await self._retry()
            now = self.clock()
            targets = list(self._deferred.values())
            self._deferred.clear()
            if after_hit_id is not None:
                fresh = await self.store.spike_targets(after_hit_id, now)
                known = {(t.chat_id, t.watchlist_id) for t in targets}
                targets += [t for t in fresh if (t.chat_id, t.watchlist_id) not in known]
            # One watchlist looks the same to every chat without feeds of its own.
            spikes: dict[tuple[int, int | None], Spike | None] = {}
            for target in targets:
                view = target.chat_id if target.own_feeds else None
                key = (target.watchlist_id, view)
                try:
                    if key not in spikes:
                        spikes[key] = await self._detect(target, view, now)
                    spike = spikes[key]
                    outcome = None if spike is None else await self._alert(target, view, spike)
                except StorageError as error:  # one chat's trouble must not stop the round
                    log.error("chat %s: spike alert: %s", target.chat_id, error)
                    outcome = AlertOutcome(target.chat_id, target.watchlist.name, False, str(error))
                if outcome is not None:
                    outcomes.append(outcome)
            return outcomes

    async def _detect(self, target: SpikeTarget, view: int | None, now: datetime) -> Spike | None:
        history = await self.store.spike_history(target.watchlist_id, view, now)
        return detect_spike(
            target.watchlist.name,
            window_counts(history.times, now),
            now,
            watching_since=history.watching_since,
        )

    async def _alert(
        self, target: SpikeTarget, view: int | None, spike: Spike
    ) -> AlertOutcome | None:
        """Hold the chat, record the alert, send it; None when the chat is held elsewhere or
        asked to wait (deferred to the next round), or may not have it (cooldown, paused, alerts
        turned off meanwhile)."""
        chat_id = target.chat_id
        async with self.gate.held(chat_id) as chat:
            if chat is None:
                # Another sender has the chat, or Telegram asked to wait: next round, if the
                # hour still holds the spike then.
                self._deferred[(chat_id, target.watchlist_id)] = target
                return None
            if chat.paused:
                return None
            alert_id = await self.store.reserve_spike_alert(
                chat_id,
                target.watchlist_id,
                spike,
                self.clock(),
                thread_id=target.thread_id,
                own_feeds=target.own_feeds,
            )
            if alert_id is None:
                return None
            log.info(
                "chat %s: spike of %s: %d hits in an hour, usually %g",
                chat_id,
                target.watchlist.name,
                spike.count,
                spike.baseline,
            )
            pending = PendingAlert(
                alert_id,
                chat_id,
                target.watchlist,
                target.watchlist_id,
                target.thread_id,
                spike.count,
                spike.baseline,
                spike.start,
                spike.end,
                target.own_feeds,
            )
            error = await self._send(chat, pending)
            return AlertOutcome(chat_id, target.watchlist.name, error is None, error)

    async def _retry(self) -> list[AlertOutcome]:
        """The alerts Telegram refused with a wait, once the wait is over."""
        outcomes = []
        for alert in await self.store.pending_spike_alerts(self.clock()):
            try:
                async with self.gate.held(alert.chat_id) as chat:
                    # A paused chat gets no alerts: this one is left to expire.
                    if chat is None or chat.paused:
                        continue
                    if not await self.store.take_spike_alert(alert.id, self.clock()):
                        continue
                    error = await self._send(chat, alert)
                    outcomes.append(
                        AlertOutcome(chat.id, alert.watchlist.name, error is None, error)
                    )
            except StorageError as error:
                log.error("chat %s: spike alert: %s", alert.chat_id, error)
        return outcomes

    async def _text(self, chat: Chat, alert: PendingAlert) -> str:
        """The alert written from its facts, in the chat's language of this moment: its story
        lines are read again from the items of the hour it counted."""
        view = alert.chat_id if alert.own_feeds else None
        items = await self.store.spike_items(
            alert.watchlist_id, view, alert.counted_from, alert.counted_until
        )
        return render_alert(
            alert.count,
            alert.baseline,
            alert.watchlist.display_title,
            spike_stories(items),
            lang=language_of(chat.language),
            fmt=self.courier.sink.format,
        )

    async def _send(self, chat: Chat, alert: PendingAlert) -> str | None:
        """One try of a recorded alert: None when Telegram took it, else why not. It is tried
        again only when Telegram said it did not take it; one that may have arrived never is."""
        alert_id = alert.id
        quiet = in_quiet_hours(self.clock(), chat.timezone, chat.quiet)
        text = await self._text(chat, alert)
        message = DigestMessage(text, (), alert.thread_id, silent=quiet)
        result = await self.courier.send(chat, message)
        if not isinstance(result, NotSent):
            await self.store.finish_spike_alert(
                alert_id, self.clock(), "sent", message_id=result.message_id
            )
            self.gate.succeeded(chat.id)
            return None
        if result.kind == "later":
            await self.store.retry_spike_alert(alert_id)
        elif result.kind == "moved":
            # Refused, so not delivered: it goes to the new chat in the next round.
            await self.store.retry_spike_alert(alert_id)
            if result.new_chat_id is not None and result.new_chat_id != chat.id:
                log.info("chat %s became %s; moving its data", chat.id, result.new_chat_id)
                await self.store.migrate_chat(chat.id, result.new_chat_id)
        else:
            # It may have arrived ("uncertain"): never twice. Or it never will ("refused",
            # "unreachable").
            outcome = "unsure" if result.kind == "uncertain" else "failed"
            await self.store.finish_spike_alert(alert_id, self.clock(), outcome)
        log.warning("chat %s: spike alert: %s", chat.id, result.reason)
        return result.reason
