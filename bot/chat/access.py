"""Who may do what in a chat: the chat registered as it writes, the chat a command acts on (the
chat itself, or the channel a private chat manages), and whether the sender may change it (a
group's administrators, asked of Telegram and kept a few minutes; a channel's, from a private
chat)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import Chat as TelegramChat
from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.chat.base import Context, Target, answer, language, topic_name
from bot.core.domain import Chat
from bot.render.i18n import tr
from bot.storage.asynchronous import AsyncStorage

log = logging.getLogger(__name__)

ADMINS_KEPT_FOR = timedelta(minutes=5)
ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


class Access:
    """The checks every handler runs before it acts, shared by all of them (one cache of each
    group's administrators)."""

    def __init__(self, store: AsyncStorage, *, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        # chat id -> (when the list was asked for, the ids of its administrators)
        self._admins: dict[int, tuple[datetime, frozenset[int]]] = {}

    async def register(self, update: Update) -> Chat:
        chat = update.effective_chat
        assert chat is not None
        user = update.effective_user
        title = chat.title or chat.username or chat.full_name
        language = (
            user.language_code if user is not None and chat.type == TelegramChat.PRIVATE else None
        )
        # A chat that blocked or removed the bot comes back when it writes (or Telegram says the
        # bot is in again), never by a press of a button under an old message: that message
        # outlives the bot's membership, and the bot may still not post there.
        return await self.store.register_chat(
            chat.id,
            chat.type,
            title,
            self.clock(),
            language=language,
            reactivate=update.callback_query is None,
        )

    async def target(
        self, update: Update, context: Context, *, change: bool, tell: bool = True
    ) -> Target | None:
        """The chat this command acts on, or None after telling the sender why they may not (in
        the chat; with `tell` off, not at all: a button's toast says it)."""
        chat = await self.register(update)
        message = update.effective_message
        thread_id = (
            message.message_thread_id if message is not None and message.is_topic_message else None
        )
        if chat.type == TelegramChat.PRIVATE and chat.managing_chat_id is not None:
            channel = await self.store.chat(chat.managing_chat_id)
            if channel is not None:
                if change and not await self.is_admin(context, channel.id, update):
                    if not tell:
                        return None
                    await answer(
                        update,
                        tr(
                            language(update),
                            "You are no longer an administrator of {where}, so you cannot change "
                            "it. /channel off goes back to this chat.",
                            where=Target(channel).where(language(update)),
                        ),
                    )
                    return None
                return Target(channel)
        if change and chat.is_group and not await self.is_admin(context, chat.id, update):
            if not tell:
                return None
            await answer(
                update,
                tr(
                    language(update),
                    "Sorry, in a group only its administrators can change what feedwatch does. "
                    "Everyone may use /watchlists, /hits, /stats, /test and /help.",
                ),
            )
            return None
        title = None
        if message is not None and thread_id is not None:
            title = await self.store.topic_title(
                chat.id, thread_id, topic_name(message), self.clock()
            )
        return Target(chat, thread_id, title)

    async def is_admin(self, context: Context, chat_id: int, update: Update) -> bool:
        message = update.effective_message
        # An anonymous administrator writes as the group itself.
        if (
            message is not None
            and message.sender_chat is not None
            and message.sender_chat.id == chat_id
        ):
            return True
        user = update.effective_user
        if user is None:
            return False
        return user.id in await self.administrators(context, chat_id)

    async def administrators(self, context: Context, chat_id: int) -> frozenset[int]:
        """The chat's administrators, asked of Telegram at most every few minutes."""
        now = self.clock()
        known = self._admins.get(chat_id)
        if known is not None and now - known[0] < ADMINS_KEPT_FOR:
            return known[1]
        try:
            members = await context.bot.get_chat_administrators(chat_id)
        except TelegramError as error:
            log.warning("chat %s: cannot list administrators: %s", chat_id, error)
            return frozenset()
        admins = frozenset(member.user.id for member in members if member.status in ADMIN_STATUSES)
        self._admins[chat_id] = (now, admins)
        return admins
