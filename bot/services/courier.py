"""One way to send to a chat, for digests, notices and spike alerts alike: a gate that holds a chat
while a sender uses it (so that replicas never send to it at once) and keeps every sender away while
Telegram's wait or a backoff lasts, and one reading of what Telegram answered."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.core.domain import Chat, DigestMessage
from bot.core.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    DeliveryUncertain,
    RateLimited,
)
from bot.ops.outages import OutageReporter
from bot.render.digest import Format

log = logging.getLogger(__name__)

RETRY_FIRST = timedelta(seconds=10)
RETRY_LONGEST = timedelta(minutes=10)


class DigestSink(Protocol):
    """Where messages go: a Telegram chat, or the terminal."""

    format: Format

    async def send(self, chat: Chat, message: DigestMessage) -> int | None:
        """Send one message; return its message id (None where there is none). Raise
        `RateLimited`, `DeliveryUncertain`, `ChatUnreachable`, `ChatMoved` or `DeliveryError`."""
        ...


class GateStore(Protocol):
    """What the gate needs of storage: the hold on a chat, and switching a chat off."""

    async def claim_chat(
        self, chat_id: int, owner: str, now: datetime, lease: timedelta
    ) -> Chat | None: ...

    async def release_chat(
        self, chat_id: int, owner: str, *, hold_until: datetime | None = None
    ) -> None: ...

    async def deactivate_chat(self, chat_id: int, reason: str) -> None: ...


class ChatGate:
    """Which chat a sender may send to now. A sender holds a chat in the database while it sends
    (renewed before each message), so that each message goes out from one replica; a chat that
    Telegram asked to wait, or that keeps failing, is left alone until then, by every sender of
    this process and, through the hold kept until then, of every replica."""

    def __init__(
        self,
        store: GateStore,
        *,
        clock: Callable[[], datetime],
        owner: str,
        lease: timedelta,
        waits: dict[int, datetime] | None = None,
        failures: dict[int, int] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self._not_before = waits if waits is not None else {}
        self._failures = failures if failures is not None else {}

    def as_sender(self, name: str) -> ChatGate:
        """The same waits under another holder's name: this replica's digests and spike alerts
        exclude each other on a chat as two replicas would, and a 429 to either keeps both away."""
        return ChatGate(
            self.store,
            clock=self.clock,
            owner=f"{self.owner}/{name}",
            lease=self.lease,
            waits=self._not_before,
            failures=self._failures,
        )

    def wait_left(self, chat_id: int) -> timedelta | None:
        """How long the chat must still be left alone, or None when it may be tried now."""
        until = self._not_before.get(chat_id)
        now = self.clock()
        return until - now if until is not None and until > now else None

    async def hold(self, chat_id: int) -> Chat | None:
        """Hold the chat (or renew the hold) for one lease from now: the chat as it stands, or
        None when another sender holds it (or it is gone or switched off)."""
        return await self.store.claim_chat(chat_id, self.owner, self.clock(), self.lease)

    async def release(self, chat_id: int) -> None:
        """Let the chat go; while Telegram's wait (or a backoff) lasts, keep every sender away."""
        left = self.wait_left(chat_id)
        hold_until = self.clock() + left if left is not None else None
        await self.store.release_chat(chat_id, self.owner, hold_until=hold_until)

    @asynccontextmanager
    async def held(self, chat_id: int) -> AsyncIterator[Chat | None]:
        """The chat held for the block (None: not ours now), released after it whatever happens;
        a chat that must still wait is not held at all."""
        if self.wait_left(chat_id) is not None:
            yield None
            return
        chat = await self.hold(chat_id)
        try:
            yield chat
        finally:
            if chat is not None:
                await self.release(chat_id)

    def wait(self, chat_id: int, seconds: float) -> timedelta:
        """Telegram said how long: exactly that."""
        return self._until(chat_id, timedelta(seconds=seconds))

    def back_off(self, chat_id: int) -> timedelta:
        """Another failure in a row: wait twice as long as after the last, up to ten minutes."""
        failures = self._failures.get(chat_id, 0) + 1
        self._failures[chat_id] = failures
        return self._until(chat_id, min(RETRY_FIRST * 2 ** (failures - 1), RETRY_LONGEST))

    def succeeded(self, chat_id: int) -> None:
        self._not_before.pop(chat_id, None)
        self._failures.pop(chat_id, None)

    def _until(self, chat_id: int, wait: timedelta) -> timedelta:
        self._not_before[chat_id] = self.clock() + wait
        return wait


def telegram_outage() -> OutageReporter:
    """The Bot API failing for every chat (network errors, 5xx), told in the log as one outage
    that every courier of the process shares."""
    return OutageReporter("the Telegram Bot API", logger=log)


NotSentKind = Literal["later", "uncertain", "refused", "unreachable", "moved"]


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int | None


@dataclass(frozen=True, slots=True)
class NotSent:
    """Why a message did not go. `later`: Telegram did not take it and asked to wait (or a refusal
    we do not understand: backed off); `uncertain`: it may have arrived (a network error, a
    timeout); `refused`: never to be tried again as it is; `unreachable`: the bot may not post
    there (the chat is switched off); `moved`: the group became a supergroup, `new_chat_id`."""

    kind: NotSentKind
    reason: str
    new_chat_id: int | None = None


class Courier:
    """Sends one message to a held chat and does what every sender does about the answer: waits
    and backoffs in the gate, a chat switched off when the bot may not post there, and the Bot API
    failing for every chat told as one outage in the log. What to do with the message itself is
    each sender's own policy."""

    def __init__(self, sink: DigestSink, gate: ChatGate, *, outage: OutageReporter) -> None:
        self.sink = sink
        self.gate = gate
        self.outage = outage

    async def send(self, chat: Chat, message: DigestMessage) -> Sent | NotSent:
        gate = self.gate
        try:
            message_id = await self.sink.send(chat, message)
        except RateLimited as error:
            wait = gate.wait(chat.id, error.retry_after)
            log.warning("chat %s: %s; trying again in %s", chat.id, error, wait)
            return NotSent("later", str(error))
        except DeliveryUncertain as error:
            wait = gate.back_off(chat.id)
            self.outage.failed(gate.clock(), str(error))
            log.debug("chat %s: %s; trying again in %s", chat.id, error, wait)
            return NotSent("uncertain", str(error))
        except ChatMoved as moved:
            return NotSent("moved", str(moved), moved.new_chat_id)
        except ChatUnreachable as error:
            log.warning("chat %s unreachable (%s); deactivating it", chat.id, error)
            await gate.store.deactivate_chat(chat.id, str(error))
            return NotSent("unreachable", str(error))
        except DeliveryError as error:
            # A refusal we do not understand: back off and let the sender decide.
            wait = gate.back_off(chat.id)
            log.warning("chat %s: %s; trying again in %s", chat.id, error, wait)
            return NotSent("refused", str(error))
        self.outage.worked(gate.clock())
        return Sent(message_id)
