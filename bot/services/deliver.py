"""Deliver digests and notices: take a chat's outbox, render it, send it through the courier, and
close each row only once sent. Whatever did not go stays in the outbox for a later round (after
Telegram's wait, or a backoff); a group that became a supergroup is moved to its new id. Paused
chats and quiet hours wait; a large backlog becomes a summary.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from bot.core.domain import (
    Backlog,
    Chat,
    DigestMessage,
    PendingDelivery,
    PendingNotice,
    Watchlist,
)
from bot.core.errors import StorageError
from bot.core.schedule import digest_due, in_quiet_hours
from bot.render.digest import (
    BACKLOG_LIMIT,
    BACKLOG_NEWEST,
    render_backlog,
    render_digest,
    render_instant,
    render_instant_update,
    zone,
)
from bot.render.i18n import language_of
from bot.render.notices import render_feed_failing
from bot.services.courier import Courier, GateStore, NotSent
from bot.trends.stories import STORY_WINDOW, Stories, group_stories

log = logging.getLogger(__name__)

CHATS_AT_ONCE = 16
"""Chats a round sends to at the same time."""

_UNRECORDED = "sent messages wait to be recorded: the database does not answer"


class DeliveryStorage(GateStore, Protocol):
    """What delivering digests and notices needs of storage (`AsyncStorage` is one)."""

    async def chat(self, chat_id: int) -> Chat | None: ...

    async def chats_with_pending(self) -> list[Chat]: ...

    async def watchlists(self) -> list[Watchlist]: ...

    async def pending_by_topic(self, chat_id: int) -> dict[int | None, int]: ...

    async def pending_deliveries(
        self, chat_id: int, limit: int = ..., *, skip_topics: Collection[int | None] = ...
    ) -> list[PendingDelivery]: ...

    async def recent_sent_deliveries(
        self, chat_id: int, since: datetime
    ) -> list[PendingDelivery]: ...

    async def backlog(self, chat_id: int, topic: int | None, newest: int) -> Backlog: ...

    async def close_backlog(
        self,
        chat_id: int,
        topic: int | None,
        backlog: Backlog,
        now: datetime,
        *,
        message_id: int | None,
    ) -> None: ...

    async def mark_sent(
        self,
        delivery_ids: Sequence[int],
        now: datetime,
        *,
        message_id: int | None = ...,
        outcome: str = ...,
        archived_ids: Sequence[int] = ...,
    ) -> int: ...

    async def set_last_digest(self, chat_id: int, now: datetime) -> None: ...

    async def migrate_chat(self, old_id: int, new_id: int) -> None: ...

    async def pending_notices(self) -> list[PendingNotice]: ...

    async def mark_notice_sent(self, notice_id: int, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """A message to send, how many items it speaks for, and how to record it once Telegram
    confirmed it (`record(at, message_id=…)`)."""

    message: DigestMessage
    items: int
    record: Callable[..., Awaitable[object]]


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    chat_id: int
    messages: int = 0
    items: int = 0
    error: str | None = None


class Deliverer:
    """Sends due digests; one round at a time, so `/digest` and the schedule never send twice."""

    def __init__(
        self,
        store: DeliveryStorage,
        courier: Courier,
        *,
        clock: Callable[[], datetime],
        default_interval: timedelta,
    ) -> None:
        self.store = store
        self.courier = courier
        self.gate = courier.gate
        self.clock = clock
        self.default_interval = default_interval
        self._lock = asyncio.Lock()
        # Messages Telegram confirmed that the database could not record yet, by chat: written
        # before anything else goes to the chat (`_confirm`).
        self._unrecorded: dict[int, list[Callable[[], Awaitable[object]]]] = {}

    async def deliver_due(self) -> list[DeliveryOutcome]:
        """One round: every chat whose digest is due, that is not paused, not in its quiet hours,
        and has something pending."""
        async with self._lock:
            # First what Telegram confirmed while the database was away, so that no replica
            # takes those rows for unsent.
            for chat_id in list(self._unrecorded):
                await self._record_confirmed(chat_id)
            await self._send_notices()
            chats = await self.store.chats_with_pending()
            # Several chats at a time: a private chat gets a message a second at most, so one
            # with many instant alerts must not hold up the others (Telegram's overall rate is
            # paced by the bot's rate limiter whatever this number).
            turns = asyncio.Semaphore(CHATS_AT_ONCE)

            async def deliver(chat: Chat) -> DeliveryOutcome | None:
                async with turns:
                    try:
                        # Decided again on the chat as it is once held: another replica may have
                        # sent its digest since the list was read.
                        return await self._deliver_held(chat.id, self._due)
                    except StorageError as error:  # one chat's trouble must not stop the round
                        log.error("chat %s: %s", chat.id, error)
                        return DeliveryOutcome(chat.id, error=str(error))

            due = [chat for chat in chats if self._due(chat)]
            outcomes = await asyncio.gather(*(deliver(chat) for chat in due))
            return [outcome for outcome in outcomes if outcome is not None]

    def _due(self, chat: Chat) -> bool:
        """Whether the chat's digest goes now: not paused, not in its quiet hours, its interval
        passed, and no wait (429, backoff) pending."""
        now = self.clock()
        if chat.paused or in_quiet_hours(now, chat.timezone, chat.quiet):
            return False
        interval = chat.digest_interval
        if interval is None:
            interval = self.default_interval
        if not digest_due(now, chat.last_digest_at, interval):
            return False
        return self.gate.wait_left(chat.id) is None

    async def _deliver_held(
        self, chat_id: int, still: Callable[[Chat], bool] = lambda chat: True
    ) -> DeliveryOutcome | None:
        """`_deliver` while this replica holds the chat; None when another replica holds it, or
        when the chat as it stands once held no longer passes `still`."""
        async with self.gate.held(chat_id) as chat:
            if chat is None or not still(chat):
                return None
            return await self._deliver(chat)

    async def _send_notices(self) -> None:
        """Notices (a feed failing for days) go at once, outside digest schedules, written in the
        chat's language of the moment they go."""
        for notice in await self.store.pending_notices():
            if not await self._record_confirmed(notice.chat_id):
                continue
            async with self.gate.held(notice.chat_id) as chat:
                # Another replica may have sent it between the list and the hold.
                if chat is None or notice.id not in {
                    n.id for n in await self.store.pending_notices()
                }:
                    continue
                text = render_feed_failing(notice, language_of(chat.language))
                sent = await self.courier.send(chat, DigestMessage(text, ()))
                if not isinstance(sent, NotSent):
                    record = partial(self.store.mark_notice_sent, notice.id)
                    await self._confirm(notice.chat_id, record)

    async def _confirm(self, chat_id: int, record: Callable[[datetime], Awaitable[object]]) -> bool:
        """Telegram confirmed a message: write it down. While the database does not answer, the
        confirmation is kept and written before anything else goes to the chat, so that a live
        process never sends a message twice (only a dead one may repeat what was in flight).
        False while it is kept."""
        self._unrecorded.setdefault(chat_id, []).append(partial(record, self.clock()))
        return await self._record_confirmed(chat_id)

    async def _record_confirmed(self, chat_id: int) -> bool:
        """Write the confirmations kept for a chat, oldest first; False while one cannot be."""
        kept = self._unrecorded.get(chat_id, [])
        while kept:
            try:
                await kept[0]()
            except StorageError as error:
                log.warning(
                    "chat %s: %d sent messages not recorded yet: %s", chat_id, len(kept), error
                )
                return False
            kept.pop(0)
        self._unrecorded.pop(chat_id, None)
        return True

    async def deliver_now(self, chat_id: int) -> DeliveryOutcome:
        """Send what is pending for one chat now, whatever its schedule (`/digest`)."""
        async with self._lock:
            chat = await self.store.chat(chat_id)
            if chat is None:
                return DeliveryOutcome(chat_id, error="this chat is not registered; send /start")
            if chat.paused:
                return DeliveryOutcome(chat_id, error="delivery is paused; /resume turns it on")
            left = self.gate.wait_left(chat_id)
            if left is not None:
                return DeliveryOutcome(
                    chat_id,
                    error=f"Telegram asked to wait; the digest goes in {left.total_seconds():.0f} s",
                )
            outcome = await self._deliver_held(chat_id)
            if outcome is None:
                return DeliveryOutcome(chat_id, error="the digest is being sent right now")
            return outcome

    async def _deliver(self, chat: Chat) -> DeliveryOutcome:
        if not await self._record_confirmed(chat.id):
            return DeliveryOutcome(chat.id, error=_UNRECORDED)
        waiting = await self.store.pending_by_topic(chat.id)
        if not waiting:
            return DeliveryOutcome(chat.id)
        # A topic with more waiting than a digest holds gets one summary of all of it.
        backlogs = [topic for topic, count in waiting.items() if count > BACKLOG_LIMIT]
        outgoing = [await self._summary(chat, topic) for topic in backlogs]
        if len(backlogs) < len(waiting):
            outgoing += await self._digests(chat, backlogs)
        sent = items = 0
        for message in outgoing:
            if sent and await self.gate.hold(chat.id) is None:
                # This replica's hold ran out and another took the chat: it sends the rest.
                return DeliveryOutcome(chat.id, sent, items)
            result = await self.courier.send(chat, message.message)
            if isinstance(result, NotSent):
                if result.kind == "moved" and result.new_chat_id is not None:
                    return await self._moved(chat, result.new_chat_id, sent, items)
                # Whatever the reason, the rows stay: a later round, after the gate's wait.
                return DeliveryOutcome(chat.id, sent, items, error=result.reason)
            sent += 1
            items += message.items
            record = partial(message.record, message_id=result.message_id)
            if not await self._confirm(chat.id, record):
                return DeliveryOutcome(chat.id, sent, items, error=_UNRECORDED)
        await self.store.set_last_digest(chat.id, self.clock())
        self.gate.succeeded(chat.id)
        return DeliveryOutcome(chat.id, sent, items)

    async def _summary(self, chat: Chat, topic: int | None) -> _Outgoing:
        """One message for a topic's whole backlog: every row up to now, counted and closed."""
        backlog = await self.store.backlog(chat.id, topic, BACKLOG_NEWEST)
        watchlists = {w.name: w for w in await self.store.watchlists()}
        message = render_backlog(
            backlog.total,
            backlog.counts,
            backlog.newest,
            watchlists,
            now=self.clock(),
            fmt=self.courier.sink.format,
            tz=zone(chat.timezone),
            lang=language_of(chat.language),
            archived=backlog.archived,
        )

        async def record(at: datetime, *, message_id: int | None) -> None:
            await self.store.close_backlog(chat.id, topic, backlog, at, message_id=message_id)

        return _Outgoing(replace(message, thread_id=topic), backlog.total, record)

    async def _digests(self, chat: Chat, backlogs: list[int | None]) -> list[_Outgoing]:
        """The digests (or instant messages) of the chat's topics that are no backlog."""
        pending = await self.store.pending_deliveries(chat.id, skip_topics=backlogs)
        now = self.clock()
        orphans = [d.id for d in pending if not d.matches]
        if orphans:
            # The chat stopped following every watchlist these items hit: nothing to tell it.
            await self.store.mark_sent(orphans, now, outcome="dropped")
        # One story from several outlets goes once; new items of one the chat (or its topic) got
        # in the last 48 hours come as updates under it.
        recent = await self.store.recent_sent_deliveries(chat.id, now - STORY_WINDOW)
        by_thread: dict[int | None, list[PendingDelivery]] = {}
        # Feeds' archive items are counted apart, never folded into stories or told as news.
        archived: dict[int | None, list[PendingDelivery]] = {}
        for delivery in pending:
            if delivery.matches:
                into = archived if delivery.item.archived else by_thread
                into.setdefault(delivery.thread_id, []).append(delivery)
        stories = {
            thread_id: group_stories(
                by_thread.get(thread_id, []), [d for d in recent if d.thread_id == thread_id]
            )
            for thread_id in by_thread.keys() | archived.keys()
        }
        watchlists = {w.name: w for w in await self.store.watchlists()}
        return [
            _Outgoing(
                message,
                len(message.delivery_ids) + len(message.archived_ids),
                partial(self._mark_sent, message),
            )
            for message in self._render(chat, stories, archived, watchlists)
        ]

    async def _mark_sent(
        self, message: DigestMessage, at: datetime, *, message_id: int | None
    ) -> None:
        await self.store.mark_sent(
            message.delivery_ids, at, message_id=message_id, archived_ids=message.archived_ids
        )

    def _render(
        self,
        chat: Chat,
        stories: dict[int | None, Stories],
        archived: dict[int | None, list[PendingDelivery]],
        watchlists: dict[str, Watchlist],
    ) -> list[DigestMessage]:
        """The messages for a chat: one digest per forum topic, or one message a hit (and one
        for the feeds' archive items, counted)."""
        now, fmt, tz = self.clock(), self.courier.sink.format, zone(chat.timezone)
        lang = language_of(chat.language)
        messages: list[DigestMessage] = []
        for thread_id, story in stories.items():
            kept = archived.get(thread_id, [])
            if chat.instant:
                for delivery in story.deliveries:
                    one = render_instant(delivery, watchlists, now=now, fmt=fmt, tz=tz, lang=lang)
                    if one is not None:
                        messages.append(one)
                messages.extend(
                    render_instant_update(update, now=now, fmt=fmt, tz=tz, lang=lang)
                    for update in story.updates
                )
            # An instant chat gets its archive items counted in a message of their own.
            shown = () if chat.instant else story.deliveries
            rendered = render_digest(
                list(shown),
                watchlists,
                now=now,
                fmt=fmt,
                tz=tz,
                lang=lang,
                updates=() if chat.instant else story.updates,
                archived=kept,
            )
            messages.extend(replace(m, thread_id=thread_id) for m in rendered)
        return messages

    async def _moved(self, chat: Chat, new_id: int, sent: int, items: int) -> DeliveryOutcome:
        """A group became a supergroup: move its data, then send what is left there at once."""
        if new_id == chat.id:
            return DeliveryOutcome(chat.id, sent, items, error=f"the chat moved to {new_id}")
        log.info("chat %s became %s; moving its data", chat.id, new_id)
        try:
            await self.store.migrate_chat(chat.id, new_id)
        except StorageError as error:
            log.error("chat %s: cannot move it to %s: %s", chat.id, new_id, error)
            self.gate.back_off(chat.id)
            return DeliveryOutcome(chat.id, sent, items, error=str(error))
        if await self.store.chat(new_id) is None:
            return DeliveryOutcome(chat.id, sent, items, error=f"the chat moved to {new_id}")
        again = await self._deliver_held(new_id)
        if again is None:
            return DeliveryOutcome(chat.id, sent, items)
        return DeliveryOutcome(chat.id, sent + again.messages, items + again.items, again.error)
