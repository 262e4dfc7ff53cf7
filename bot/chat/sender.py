"""Post digest messages to Telegram, translating its refusals into feedwatch's delivery errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telegram import Bot, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.core.domain import Chat, DigestMessage
from bot.core.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    DeliveryUncertain,
    RateLimited,
)
from bot.render.digest import Format

if TYPE_CHECKING:
    from bot.ops.metrics import Metrics

_GONE = ("chat not found", "bot was kicked", "user is deactivated", "bot is not a member")


class TelegramSink:
    """Sends digests as HTML messages without link previews (a digest of ten links would be noisy)."""

    format: Format = "html"

    def __init__(
        self, bot: Bot, *, clock: Callable[[], datetime], metrics: Metrics | None = None
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.metrics = metrics

    async def send(self, chat: Chat, message: DigestMessage) -> int | None:
        """Post one message (paced by the bot's rate limiter, `bot.chat.pacing`)."""
        try:
            try:
                sent = await self._post(chat, message, message.thread_id)
            except BadRequest as error:
                if message.thread_id is None or "thread not found" not in error.message.lower():
                    raise
                # The forum topic was deleted: the digest goes to the chat's general topic.
                sent = await self._post(chat, message, None)
        except RetryAfter as error:
            if self.metrics is not None:
                self.metrics.record_rate_limited()
            wait = retry_after_seconds(error)
            raise RateLimited(f"Telegram asked to wait {wait:g} s", wait) from error
        except ChatMigrated as error:
            raise ChatMoved(error.new_chat_id) from error
        except (Forbidden, BadRequest) as error:
            if unreachable(error):
                raise ChatUnreachable(error.message) from error
            raise DeliveryError(f"Telegram refused the message: {error.message}") from error
        except NetworkError as error:
            raise DeliveryUncertain(f"Telegram could not be reached: {error.message}") from error
        except TelegramError as error:
            raise DeliveryError(f"Telegram error: {error.message}") from error
        if self.metrics is not None:
            self.metrics.record_sent()
        return sent.message_id

    async def _post(self, chat: Chat, message: DigestMessage, thread_id: int | None) -> Message:
        return await self.bot.send_message(
            chat_id=chat.id,
            text=message.text,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            message_thread_id=thread_id,
            disable_notification=True if message.silent else None,
        )


def unreachable(error: TelegramError) -> bool:
    """Whether Telegram refused because the bot may not post in the chat at all (blocked, kicked,
    the chat gone), not because of this one message: the chat is then deactivated."""
    if isinstance(error, Forbidden):
        return True
    return isinstance(error, BadRequest) and any(
        reason in error.message.lower() for reason in _GONE
    )


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds to wait, whichever type this python-telegram-bot release gives `retry_after` in."""
    with warnings.catch_warnings():
        # 22.x warns that the int form will become a timedelta; both are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
