"""What every command handler shares: registering the chat, answering it, and deciding which chat a
command acts on and whether the sender may change it (group admins; a channel's admins from a
private chat)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from telegram import Chat as TelegramChat
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.chat.arguments import shown as quoted
from bot.core.domain import Chat
from bot.core.errors import RefusedError
from bot.core.limits import LISTED_AT_MOST
from bot.render.digest import TELEGRAM_TEXT_LIMIT, pack_lines, visible_length
from bot.render.i18n import language_of, tr
from bot.services.deliver import Deliverer
from bot.storage.asynchronous import AsyncStorage

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

_COMMAND = re.compile(r"^/\S*\s*")
ADMINS_KEPT_FOR = timedelta(minutes=5)
ADMIN_STATUSES = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


@dataclass(frozen=True, slots=True)
class Target:
    """The chat a command acts on: the chat itself, or the channel a private chat manages."""

    chat: Chat
    # The forum topic the command was sent in (digests of what it subscribes go there), and its
    # name when the message showed it.
    thread_id: int | None = None
    thread_title: str | None = None

    @property
    def id(self) -> int:
        return self.chat.id

    def where(self, lang: str = "en", *, start: bool = False) -> str:
        """ "this chat", or "the channel …", in `lang`; capitalised to `start` a sentence."""
        if self.is_channel:
            title = escape(self.chat.title or str(self.chat.id))
            # translators: {title} is a channel's title. "The channel …" and "This chat" (and their
            # lower-case forms) stand for {where} in other sentences
            if start:
                return tr(lang, "The channel {title}", title=title)
            return tr(lang, "the channel {title}", title=title)
        return tr(lang, "This chat") if start else tr(lang, "this chat")

    @property
    def is_channel(self) -> bool:
        return self.chat.type == "channel"


def language(update: Update) -> str:
    """The language to answer in: the sender's, where we have it."""
    user = update.effective_user
    return language_of(user.language_code if user is not None else None)


def refusal(update: Update, error: RefusedError) -> str:
    """A refusal in the sender's language, its names escaped."""
    params = {name: escape(str(value)) for name, value in error.params.items()}
    return tr(language(update), error.template, **params)


def codes(names: Sequence[str]) -> str:
    return ", ".join(f"<code>{escape(name)}</code>" for name in names)


def typed(texts: Sequence[str], lang: str, *, code: bool = False) -> str:
    """What was typed (names, terms), as an answer lists it back: the first few, each cut short,
    and how many more, so that a message of a thousand words is answered in a line."""
    first = [quoted(text) for text in texts[:LISTED_AT_MOST]]
    listed = codes(first) if code else ", ".join(escape(text) for text in first)
    more = len(texts) - LISTED_AT_MOST
    return tr(lang, "{names} and {count} more", names=listed, count=more) if more > 0 else listed


def fitted(head: str, lines: Sequence[str], lang: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """`head` and as many of `lines` (HTML) as fit in one message, the rest counted at the end."""
    kept, used = [head], visible_length(head)
    for index, line in enumerate(lines):
        cost = visible_length(line) + 1
        more = tr(lang, "…and {count} more.", count=len(lines) - index)
        reserve = 0 if index == len(lines) - 1 else visible_length(more) + 1
        if used + cost + reserve > limit:
            kept.append(more)
            break
        kept.append(line)
        used += cost
    return "\n".join(kept)


def topic_name(message: Message) -> str | None:
    """A forum topic's name, where a message shows it: Telegram makes a message sent in a topic
    a reply to the topic's first message, which holds the name (unless it replies to another)."""
    for shown in (message, message.reply_to_message):
        if shown is None:
            continue
        created = shown.forum_topic_created
        if created is not None:
            return created.name
        edited = shown.forum_topic_edited
        if edited is not None and edited.name:
            return edited.name
    return None


def topic_label(thread_id: int, title: str | None) -> str:
    """A topic as a sentence names it: «Units», or #10 when its name was never seen."""
    return f"«{escape(title)}»" if title else f"#{thread_id}"


def arguments(message: Message | None) -> str:
    """What follows the command in the message, as typed (commas and line breaks kept)."""
    if message is None:
        return ""
    text = message.text or message.caption or ""
    return _COMMAND.sub("", text, count=1).strip()


class CommandBase:
    """The services command handlers call, and the checks they share."""

    def __init__(
        self, store: AsyncStorage, deliverer: Deliverer, *, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.clock = clock
        # chat id -> (when the list was asked for, the ids of its administrators)
        self._admins: dict[int, tuple[datetime, frozenset[int]]] = {}

    async def _register(self, update: Update) -> Chat:
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

    @staticmethod
    async def _answer(
        update: Update, text: str, *, buttons: InlineKeyboardMarkup | None = None
    ) -> None:
        message = update.effective_message
        if message is not None:
            await message.reply_text(
                text, parse_mode=ParseMode.HTML, do_quote=False, reply_markup=buttons
            )

    async def _answer_lines(
        self, update: Update, lines: Sequence[str], *, buttons: InlineKeyboardMarkup | None = None
    ) -> None:
        """Answer with `lines` in as many messages as Telegram's limit needs (a long /feeds or
        /watchlists), split between lines; the buttons go under the last."""
        texts = pack_lines(lines)
        for number, text in enumerate(texts, start=1):
            await self._answer(update, text, buttons=buttons if number == len(texts) else None)

    async def _target(self, update: Update, context: Context, *, change: bool) -> Target | None:
        """The chat this command acts on, or None after telling the sender why they may not."""
        chat = await self._register(update)
        message = update.effective_message
        thread_id = (
            message.message_thread_id if message is not None and message.is_topic_message else None
        )
        if chat.type == TelegramChat.PRIVATE and chat.managing_chat_id is not None:
            channel = await self.store.chat(chat.managing_chat_id)
            if channel is not None:
                if change and not await self._is_admin(context, channel.id, update):
                    await self._answer(
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
        if change and chat.is_group and not await self._is_admin(context, chat.id, update):
            await self._answer(
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

    async def _is_admin(self, context: Context, chat_id: int, update: Update) -> bool:
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


def addressed_to_us(message: Message, username: str | None) -> bool:
    """Whether a command is for this bot: `/cmd` or `/cmd@ourbot`, never `/cmd@otherbot` (in the
    text, or in the caption of a file sent with a command)."""
    text = message.text or message.caption or ""
    command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    if not command:
        return False
    if "@" not in command:
        return True
    return bool(username) and command.split("@", 1)[1].lower() == (username or "").lower()
