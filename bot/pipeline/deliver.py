"""Deliver digests: take a chat's outbox, render it, send it, and close each row only once sent.

A refusal or rate limit leaves the rows in the outbox for the next round; a chat that blocked the bot
is deactivated; a group that became a supergroup is moved to its new id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.digest import Format, render_digest
from bot.domain import Chat, DigestMessage
from bot.errors import ChatMoved, ChatUnreachable, DeliveryError, RetryLater
from bot.schedule import digest_due
from bot.storage.repository import Repository

log = logging.getLogger(__name__)


class DigestSink(Protocol):
    """Where digests go: a Telegram chat, or the terminal."""

    format: Format

    async def send(self, chat: Chat, message: DigestMessage) -> int | None:
        """Send one message; return its message id (None where there is none). Raise
        `RetryLater`, `ChatUnreachable`, `ChatMoved` or `DeliveryError`."""
        ...


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
        repo: Repository,
        sink: DigestSink,
        *,
        clock: Callable[[], datetime],
        default_interval: timedelta,
    ) -> None:
        self.repo = repo
        self.sink = sink
        self.clock = clock
        self.default_interval = default_interval
        self._lock = asyncio.Lock()
        self._not_before: dict[int, datetime] = {}

    async def deliver_due(self) -> list[DeliveryOutcome]:
        """One round: every chat whose digest interval has passed and that has something pending."""
        async with self._lock:
            now = self.clock()
            chats = await asyncio.to_thread(self.repo.chats_with_pending)
            outcomes = []
            for chat in chats:
                interval = chat.digest_interval or self.default_interval
                if not digest_due(now, chat.last_digest_at, interval):
                    continue
                if self._not_before.get(chat.id, now) > now:
                    continue
                outcomes.append(await self._deliver(chat))
            return outcomes

    async def deliver_now(self, chat_id: int) -> DeliveryOutcome:
        """Send what is pending for one chat now, whatever its schedule (`/digest`)."""
        async with self._lock:
            chat = await asyncio.to_thread(self.repo.chat, chat_id)
            if chat is None:
                return DeliveryOutcome(chat_id, error="this chat is not registered; send /start")
            return await self._deliver(chat)

    async def _deliver(self, chat: Chat) -> DeliveryOutcome:
        pending = await asyncio.to_thread(self.repo.pending_deliveries, chat.id)
        if not pending:
            return DeliveryOutcome(chat.id)
        now = self.clock()
        orphans = [d.id for d in pending if not d.matches]
        if orphans:
            # The chat stopped following every watchlist these items hit: nothing to tell it.
            await asyncio.to_thread(self.repo.mark_sent, orphans, now, outcome="dropped")
        watchlists = {w.name: w for w in await asyncio.to_thread(self.repo.watchlists)}
        messages = render_digest(pending, watchlists, now=now, fmt=self.sink.format)
        sent = items = 0
        for message in messages:
            try:
                message_id = await self.sink.send(chat, message)
            except RetryLater as error:
                wait = timedelta(seconds=error.retry_after or 60)
                self._not_before[chat.id] = self.clock() + wait
                log.warning("chat %s: %s; retrying in %s", chat.id, error, wait)
                return DeliveryOutcome(chat.id, sent, items, error=str(error))
            except ChatMoved as moved:
                log.info("chat %s became %s; moving its data", chat.id, moved.new_chat_id)
                await asyncio.to_thread(self.repo.migrate_chat, chat.id, moved.new_chat_id)
                return DeliveryOutcome(chat.id, sent, items, error=str(moved))
            except ChatUnreachable as error:
                log.warning("chat %s unreachable (%s); deactivating it", chat.id, error)
                await asyncio.to_thread(self.repo.deactivate_chat, chat.id, str(error))
                return DeliveryOutcome(chat.id, sent, items, error=str(error))
            except DeliveryError as error:
                # Kept in the outbox: a refusal we do not understand must not lose the hits.
                log.error("chat %s: delivery failed: %s", chat.id, error)
                self._not_before[chat.id] = self.clock() + timedelta(minutes=5)
                return DeliveryOutcome(chat.id, sent, items, error=str(error))
            await asyncio.to_thread(
                self.repo.mark_sent, message.delivery_ids, self.clock(), message_id=message_id
            )
            sent += 1
            items += len(message.delivery_ids)
        await asyncio.to_thread(self.repo.set_last_digest, chat.id, self.clock())
        self._not_before.pop(chat.id, None)
        return DeliveryOutcome(chat.id, sent, items)
