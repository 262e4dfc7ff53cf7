"""What every command handler shares: the chat a command acts on (`Target`), a command as its
handler gets it (`Request`), the `command` and `button` marks a group's handlers carry, and
answering."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape
from inspect import isfunction
from typing import Any, Literal, TypeVar

from telegram import Document, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes

from bot.chat.arguments import shown as quoted
from bot.core.domain import Chat
from bot.core.errors import RefusedError
from bot.core.limits import LISTED_AT_MOST
from bot.render.digest import TELEGRAM_TEXT_LIMIT, pack_lines, visible_length
from bot.render.i18n import language_of, tr

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

_COMMAND = re.compile(r"^/\S*\s*")


Acts = Literal["read", "change", "self"]


@dataclass(frozen=True, slots=True)
class Command:
    """One chat command as people see it: `/name`, its usage and what it does (the menu, /help and
    the usage answers say these), and what it acts on: `"read"`, the chat (or the channel a
    private chat manages); `"change"`, the same, which in a group only administrators may;
    `"self"`, the chat it was sent in. `files`: it also comes as a file's caption."""

    name: str
    usage: str
    about: str
    acts: Acts
    files: bool = False


@dataclass(frozen=True, slots=True)
class Request:
    """A command or a button press past the preamble every handler shares: the chat registered,
    the argument within its limit, the sender allowed to act on `target`."""

    update: Update
    context: Context
    target: Target
    lang: str
    text: str
    """What follows the command (its argument), stripped; a button's data."""

    @property
    def message(self) -> Message:
        message = self.update.effective_message
        assert message is not None  # the preamble lets no update without one through
        return message

    @property
    def document(self) -> Document | None:
        """The file sent with the command, or the one the command replies to."""
        message = self.message
        replied = message.reply_to_message
        return message.document or (replied.document if replied is not None else None)


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[None]])
_COMMANDS = "feedwatch_commands"
_BUTTON = "feedwatch_button"


def command(
    name: str, usage: str, about: str, *, acts: Acts, files: bool = False
) -> Callable[[Handler], Handler]:
    """Marks a group's method `(self, request: Request)` as the handler of `/name` (one method may
    handle several); the group's `install` puts it behind the shared preamble."""

    def mark(handler: Handler) -> Handler:
        marks = vars(handler).setdefault(_COMMANDS, [])
        marks.insert(0, Command(name, usage, about, acts, files))  # decorators apply bottom-up
        return handler

    return mark


def button(pattern: str) -> Callable[[Handler], Handler]:
    """Marks a group's method `(self, request: Request)` as the handler of the buttons whose data
    matches `pattern`; pressing one changes the chat, so only those who may change it can."""

    def mark(handler: Handler) -> Handler:
        vars(handler)[_BUTTON] = pattern
        return handler

    return mark


def commands_of(group: type) -> list[tuple[Command, str]]:
    """The commands a group's class handles, in the order its methods are written, each with the
    name of its method."""
    found = []
    for cls in reversed(group.__mro__):
        for attribute, member in vars(cls).items():
            for mark in vars(member).get(_COMMANDS, []) if isfunction(member) else []:
                found.append((mark, attribute))
    return found


def buttons_of(group: type) -> list[tuple[str, str]]:
    """The button patterns a group's class handles, with the name of each method."""
    return [
        (vars(member)[_BUTTON], attribute)
        for cls in reversed(group.__mro__)
        for attribute, member in vars(cls).items()
        if isfunction(member) and _BUTTON in vars(member)
    ]


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


async def answer(update: Update, text: str, *, buttons: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the chat the update came from, in Telegram's HTML, not as a quote."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(
            text, parse_mode=ParseMode.HTML, do_quote=False, reply_markup=buttons
        )


async def answer_lines(
    update: Update, lines: Sequence[str], *, buttons: InlineKeyboardMarkup | None = None
) -> None:
    """Answer with `lines` in as many messages as Telegram's limit needs (a long /feeds or
    /watchlists), split between lines; the buttons go under the last."""
    texts = pack_lines(lines)
    for number, text in enumerate(texts, start=1):
        await answer(update, text, buttons=buttons if number == len(texts) else None)


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
