"""The commands assembled: every group installed in the order the menu and /help list them,
`/start` and `/help`, then unknown commands and the error handler.

Each group of commands lives in a module of its own and registers its handlers itself
(`bot.chat.group`): `lists`, `history`, `settings`, `feeds`, `delivery`, `files`, `channel`, and
`members` for the bot's own membership. The menu, /help and the usage answers come from the marks
on the handlers (`bot.chat.base.command`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import MessageHandler, filters

from bot.chat.access import Access
from bot.chat.arguments import clock as clock_time
from bot.chat.arguments import shown
from bot.chat.base import (
    AnyApplication,
    Context,
    Request,
    addressed_to_us,
    answer,
    command,
    language,
)
from bot.chat.channel import ChannelCommands
from bot.chat.delivery import DeliveryCommands
from bot.chat.feeds import FeedCommands
from bot.chat.files import FileCommands
from bot.chat.group import CommandGroup
from bot.chat.history import HistoryCommands
from bot.chat.lists import ListCommands, visible_names
from bot.chat.members import MemberUpdates
from bot.chat.sender import unreachable
from bot.chat.settings import SettingsCommands
from bot.chat.time_zones import offset_label
from bot.core.errors import FeedwatchError, StorageError
from bot.core.limits import (
    MAX_FEEDS_PER_CHAT,
    MAX_LISTS_PER_CHAT,
    MAX_TERMS_PER_LIST,
    SHORT_ARGUMENT,
)
from bot.core.said import N_
from bot.ops.config import format_duration
from bot.ops.logs import withheld
from bot.render.i18n import tr, translated
from bot.services.deliver import Deliverer
from bot.services.feed_check import FeedChecker
from bot.storage.asynchronous import AsyncStorage

__all__ = [
    "COMMANDS",
    "AnyApplication",
    "ChatCommands",
    "description",
    "menu",
    "short_description",
]

log = logging.getLogger(__name__)


class HelpCommands(CommandGroup):
    """`/start`, short: what feedwatch does, three steps, the shared lists by title, the chat's
    settings; `/help`: every command."""

    def __init__(self, access: Access, *, default_interval: timedelta) -> None:
        super().__init__(access)
        self.default_interval = default_interval

    @command("start", "/start", N_("what feedwatch does, and how to begin"), acts="read")
    async def start(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        shared = sorted(await self.store.shared_watchlists(), key=lambda w: w.label)
        followed = {w.label for w in await self.store.chat_watchlists(target.id)}
        chat = target.chat
        interval = chat.digest_interval or self.default_interval
        timing = (
            tr(lang, "each hit as it comes")
            if chat.instant
            else tr(lang, "a digest every {interval}", interval=format_duration(interval))
        )
        zone = offset_label(chat.timezone or "UTC")
        quiet = (
            tr(
                lang,
                "quiet {start}–{end}",
                start=clock_time(chat.quiet[0]),
                end=clock_time(chat.quiet[1]),
            )
            if chat.quiet
            else tr(lang, "no quiet hours")
        )
        # The founding case's list when there is one, else the first.
        labels = [w.label for w in shared]
        example = "rvc" if "rvc" in labels or not labels else labels[0]
        lines = [
            tr(
                lang,
                "<b>feedwatch</b> watches news feeds and public Telegram channels for the names "
                "you follow, in Russian, Ukrainian and English and in any grammatical form, and "
                "sends {where} every new mention.",
                where=target.where(lang),
            ),
            "",
            tr(lang, "<b>Three steps</b>"),
            tr(lang, "1. Follow a shared list: {command}", command=f"/subscribe {escape(example)}"),
            tr(
                lang,
                "2. Or make your own: {command}",
                command=_OWN_EXAMPLE.get(lang, _OWN_EXAMPLE["en"]),
            ),
            tr(
                lang,
                "3. Try it on a text: {command}",
                command=_TEST_EXAMPLE.get(lang, _TEST_EXAMPLE["en"]),
            ),
        ]
        if shared:
            lines += ["", tr(lang, "<b>Shared lists</b>")]
            lines += [
                f"• <code>{escape(w.label)}</code> — {escape(w.display_title)}"
                + (" ✓" if w.label in followed else "")
                for w in shared
            ]
        lines += [
            "",
            tr(
                lang,
                "<b>{where}</b>: {timing}; time zone {zone}; {quiet}.",
                where=target.where(lang, start=True),
                timing=timing,
                zone=escape(zone),
                quiet=quiet,
            ),
            tr(lang, "/help lists every command."),
        ]
        await self._answer(update, "\n".join(lines))

    @command("help", "/help", N_("every command"), acts="read")
    async def help(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        available = await visible_names(self.store, target)
        followed = {w.label for w in await self.store.chat_watchlists(target.id)}
        lines = [
            tr(lang, "<b>Watchlists</b>") if available else tr(lang, "No watchlists yet."),
            *(f"• <code>{escape(n)}</code>" + (" ✓" if n in followed else "") for n in available),
            "",
            tr(lang, "<b>Commands</b>"),
            *(f"{escape(usage)} — {escape(tr(lang, about))}" for _, usage, about in COMMANDS),
            "",
            escape(
                tr(
                    lang,
                    "A term that means other things elsewhere can ask for words near it: "
                    "{example} (near: one of them within 12 words; not near: none of them; "
                    "within N: another reach).",
                    example=_CONTEXT_EXAMPLE.get(lang, _CONTEXT_EXAMPLE["en"]),
                )
            ),
            "",
            tr(
                lang,
                "Limits: {lists} watchlists per chat, {terms} terms per list, {feeds} feeds per "
                "chat. In groups only administrators change settings.",
                lists=MAX_LISTS_PER_CHAT,
                terms=MAX_TERMS_PER_LIST,
                feeds=MAX_FEEDS_PER_CHAT,
            ),
        ]
        await self._answer(update, "\n".join(lines))


# The examples of /start in the reader's language: their own words are what they will watch.
# An own list's name no shared list has ("kursk" is one in the shipped lists).
_OWN_EXAMPLE = {
    "en": "/watch my_kursk Kursk, Kursk region",
    "ru": "/watch my_kursk Курск, Курская область",
    "uk": "/watch my_kursk Курськ, Курська область",
}
_CONTEXT_EXAMPLE = {
    "en": "/watch my_rvc RVC near fighters, raid, Belgorod* not near concert",
    "ru": "/watch my_rdk РДК рядом боец, рейд, Белгород* не рядом концерт",
    "uk": "/watch my_rdk РДК поруч боєць, рейд, Бєлгород* не поруч концерт",
}
_TEST_EXAMPLE = {
    "en": "/test The Kursk governor announced an evacuation",
    "ru": "/test Губернатор Курской области объявил эвакуацию",
    "uk": "/test Губернатор Курської області оголосив евакуацію",
}


GROUPS: tuple[type[CommandGroup], ...] = (
    HelpCommands,
    ListCommands,
    HistoryCommands,
    SettingsCommands,
    FeedCommands,
    DeliveryCommands,
    FileCommands,
    ChannelCommands,
)
"""The groups, in the order the menu and /help list their commands."""

COMMANDS: tuple[tuple[str, str, str], ...] = tuple(
    (mark.name, mark.usage, mark.about) for group in GROUPS for mark in group.commands()
)
"""(command, usage, what it does), as the menu, /help and the usage answers say them."""


def menu(lang: str = "en") -> list[BotCommand]:
    """The command menu Telegram shows, in `lang`."""
    return [BotCommand(name, tr(lang, about)) for name, _, about in COMMANDS]


def description(lang: str = "en") -> str:
    """What Telegram shows in an empty chat with the bot, before Start (at most 512 characters)."""
    return tr(
        lang,
        "feedwatch watches news feeds and public Telegram channels for the names you follow "
        "(units, officials, places) in Russian, Ukrainian and English, in any grammatical form, "
        "and sends every new mention to your chat, each story once. Press Start, then follow a "
        "shared list with /subscribe or make your own with /watch.",
    )


def short_description(lang: str = "en") -> str:
    """The bot's line on its profile page and in shared links (at most 120 characters)."""
    return tr(
        lang,
        "Every new mention of the names you follow, from news feeds and Telegram channels, in "
        "three languages.",
    )


class ChatCommands:
    """Every group of handlers, each given what it needs, and what no command handles."""

    def __init__(
        self,
        store: AsyncStorage,
        deliverer: Deliverer,
        checker: FeedChecker,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        access = Access(store, clock=clock)
        self.groups: list[CommandGroup] = [
            HelpCommands(access, default_interval=deliverer.default_interval),
            ListCommands(access),
            HistoryCommands(access, deliverer=deliverer),
            SettingsCommands(access, default_interval=deliverer.default_interval),
            FeedCommands(access, checker=checker),
            DeliveryCommands(access, deliverer=deliverer),
            FileCommands(access),
            ChannelCommands(access),
            MemberUpdates(access),
        ]

    def install(self, application: AnyApplication) -> None:
        for group in self.groups:
            group.install(application)
        # Last in the group: only commands no handler above took arrive here.
        # Channels are set up from a private chat (/channel): commands posted in one are ignored.
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, self.unknown)
        )
        application.add_error_handler(self.on_error)

    async def unknown(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or not addressed_to_us(message, context.bot.username):
            return
        command = (message.text or "").split(maxsplit=1)[0].split("@")[0]
        known = " ".join(f"/{name}" for name, _, _ in COMMANDS)
        await answer(
            update,
            tr(
                language(update),
                "There is no command {command}. Commands: {known}",
                command=escape(shown(command, SHORT_ARGUMENT)),
                known=escape(known),
            ),
        )

    async def on_error(self, update: object, context: Context) -> None:
        error = context.error
        if error is None:
            return
        try:
            await self._on_error(update, error)
        except Exception as failure:  # never raise: python-telegram-bot would log it whole
            log.error("handling %s failed too", type(error).__name__, exc_info=withheld(failure))

    async def _on_error(self, update: object, error: Exception) -> None:
        """Say what went wrong, in the chat and in the log. The log gets the exception's type, the
        command and the traceback, never a message: a message (or a cause's, or a context's) may
        quote what was typed, and the README promises that none of it is logged."""
        handling = _handling(update)
        lang = language(update) if isinstance(update, Update) else "en"
        if isinstance(error, TelegramError) and unreachable(error) and isinstance(update, Update):
            # An answer refused because the user blocked the bot (or the chat is gone): the same
            # rule as for a digest. Deactivate the chat, and send it no apology for the failure.
            chat = update.effective_chat
            if chat is not None:
                log.warning("chat %s unreachable (%s); deactivating it", chat.id, error.message)
                await self.store.deactivate_chat(chat.id, error.message)
                return
        if isinstance(error, StorageError):
            # Our own sentence around the database driver's first line, which names no value.
            log.error("storage error while handling %s: %s", handling, error)
            text = tr(
                lang, "The database cannot be reached right now; please try again in a minute."
            )
        elif isinstance(error, FeedwatchError):
            text = escape(shown(translated(lang, error), _ERROR_SHOWN))
        else:
            log.error(
                "unexpected %s while handling %s",
                type(error).__name__,
                handling,
                exc_info=withheld(error),
            )
            text = tr(lang, "Something went wrong on our side; it has been logged.")
        if isinstance(update, Update):
            try:
                await answer(update, text)
            # The error handler must never raise: Telegram may be the problem.
            except Exception as failure:
                log.error(
                    "could not tell the chat about the error while handling %s",
                    handling,
                    exc_info=withheld(failure),
                )


# Characters of a FeedwatchError's sentence a chat is shown: a whole sentence, and never more
# than fits in a message.
_ERROR_SHOWN = 1024
_NAMES = frozenset(name for name, _, _ in COMMANDS)


def _handling(update: object) -> str:
    """What the bot was doing, as the log names it: one of our commands (or a button) and the
    chat's id, never a word that was typed."""
    if not isinstance(update, Update):
        return "a task"
    chat = update.effective_chat
    where = f" in chat {chat.id}" if chat is not None else ""
    if update.callback_query is not None:
        return f"a button{where}"
    message = update.effective_message
    text = (message.text or message.caption or "") if message is not None else ""
    name = text.split(maxsplit=1)[0].partition("@")[0][1:] if text.startswith("/") else ""
    return (f"/{name}" if name in _NAMES else "a message") + where
