"""The command table and the handlers' assembly: every command, its usage and what it does, the
menu Telegram shows, `/start` and `/help`, unknown commands and errors.

Each group of commands lives in its own module (`lists`, `settings`, `feeds`, `stats`); they
share `base`. Every command reads an argument up to its limit (`bot.core.limits`), checked here once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from html import escape
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.chat.arguments import shown
from bot.chat.base import AnyApplication, Context, addressed_to_us, arguments, language
from bot.chat.feeds import FeedCommands
from bot.chat.lists import ListCommands
from bot.chat.members import MemberUpdates
from bot.chat.sender import unreachable
from bot.chat.settings import SettingsCommands
from bot.chat.stats import StatsCommands
from bot.core.domain import Watchlist
from bot.core.errors import FeedwatchError, StorageError
from bot.core.limits import (
    MAX_FEEDS_PER_CHAT,
    MAX_LISTS_PER_CHAT,
    MAX_TERMS_PER_LIST,
    SHORT_ARGUMENT,
    argument_limit,
)
from bot.core.said import N_
from bot.ops.logs import withheld
from bot.render.i18n import ntr, tr, translated

__all__ = ["COMMANDS", "AnyApplication", "ChatCommands", "menu"]

log = logging.getLogger(__name__)

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]

COMMANDS: tuple[tuple[str, str, str], ...] = (
    # (command, usage, what it does): the menu, /help and the usage answers all come from here.
    ("start", "/start", N_("register this chat and show this help")),
    ("help", "/help", N_("show this help")),
    ("subscribe", "/subscribe NAME…", N_("follow shared watchlists, e.g. /subscribe rvc kursk")),
    ("unsubscribe", "/unsubscribe NAME…", N_("stop following watchlists")),
    ("watch", "/watch NAME TERM[, TERM…]", N_("make your own watchlist or add terms to it")),
    ("exclude", "/exclude NAME TERM[, …]", N_("an item with one of these is not a hit")),
    ("require", "/require NAME TERM[, …]", N_("an item must also have one of these")),
    ("unwatch", "/unwatch NAME [TERM, …]", N_("remove terms, or the whole list")),
    ("watchlists", "/watchlists", N_("what this chat follows, with buttons")),
    ("test", "/test TEXT", N_("which watchlists would match TEXT, and the words that did")),
    ("hits", "/hits [N]", N_("the last N hits (10)")),
    ("stats", "/stats [NAME…] [DAYS]", N_("a chart of the hits per day (per hour for 1–2 days)")),
    ("digest", "/digest", N_("send what is pending now")),
    ("every", "/every DURATION|instant", N_("how often the digest comes (5m … 7d)")),
    ("quiet", "/quiet HH:MM-HH:MM|off", N_("no messages in these hours")),
    ("tz", "/tz Area/City", N_("this chat's time zone")),
    ("feeds", "/feeds", N_("the feeds, with their health")),
    ("addfeed", "/addfeed URL", N_("add a feed for this chat")),
    ("removefeed", "/removefeed URL", N_("remove one of this chat's feeds")),
    ("importopml", "/importopml", N_("add the feeds of an OPML file (reply to it)")),
    ("spikes", "/spikes on|off", N_("an alert at once when a watchlist's hits jump")),
    ("pause", "/pause", N_("stop delivery for now")),
    ("resume", "/resume", N_("deliver again; what came meanwhile is offered")),
    ("export", "/export", N_("this chat's watchlists as a TOML file")),
    ("import", "/import", N_("read watchlists from a TOML file (attach it, or reply to it)")),
    ("channel", "/channel @name|off", N_("set up a channel you administer from this chat")),
)


def menu(lang: str = "en") -> list[BotCommand]:
    """The command menu Telegram shows, in `lang`."""
    return [BotCommand(name, tr(lang, about)) for name, _, about in COMMANDS]


class ChatCommands(ListCommands, SettingsCommands, FeedCommands, StatsCommands, MemberUpdates):
    """Every command handler, bound to the services they call."""

    def install(self, application: AnyApplication) -> None:
        handlers = {
            "start": self.start,
            "help": self.start,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "watch": self.watch,
            "exclude": self.exclude,
            "require": self.require,
            "unwatch": self.unwatch,
            "watchlists": self.watchlists,
            "test": self.test,
            "hits": self.hits,
            "stats": self.stats,
            "digest": self.digest,
            "every": self.every,
            "quiet": self.quiet,
            "tz": self.tz,
            "feeds": self.feeds,
            "addfeed": self.addfeed,
            "removefeed": self.removefeed,
            "importopml": self.import_opml,
            "spikes": self.spikes,
            "pause": self.pause,
            "resume": self.resume,
            "export": self.export,
            "import": self.import_lists,
            "channel": self.channel,
        }
        assert set(handlers) == {name for name, _, _ in COMMANDS}
        for name, callback in handlers.items():
            application.add_handler(CommandHandler(name, self._within_limit(name, callback)))
        # A file sent with /import as its caption is a document message, not a text command.
        application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE
                & filters.Document.ALL
                & filters.CaptionRegex(r"^/import(@\w+)?\b"),
                self._within_limit("import", self.import_lists),
            )
        )
        application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE
                & filters.Document.ALL
                & filters.CaptionRegex(r"^/importopml(@\w+)?\b"),
                self._within_limit("importopml", self.import_opml),
            )
        )
        application.add_handler(CallbackQueryHandler(self.list_button, pattern=r"^(rm|unsub):"))
        application.add_handler(CallbackQueryHandler(self.held_button, pattern=r"^held:"))
        # The bot blocked, removed, unblocked or added back: whether it may post in the chat.
        application.add_handler(ChatMemberHandler(self.bot_membership))
        # Last in the group: only commands no handler above took arrive here.
        # Channels are set up from a private chat (/channel): commands posted in one are ignored.
        application.add_handler(
            MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, self.unknown)
        )
        application.add_error_handler(self.on_error)

    def _within_limit(self, name: str, callback: Callback) -> Callback:
        """`callback`, behind the one check of the argument's length: a longer argument than the
        command reads is refused with its limit before the command sees it, so that no command
        quotes, fetches, stores or logs 100 KB of what somebody typed."""
        limit = argument_limit(name)

        async def within_limit(update: Update, context: Context) -> None:
            message = update.effective_message
            if message is not None and len(arguments(message)) > limit:
                if addressed_to_us(message, context.bot.username):
                    await self._answer(
                        update,
                        ntr(
                            language(update),
                            "The text after /{command} is too long: at most {count} characters.",
                            "The text after /{command} is too long: at most {count} characters.",
                            limit,
                            command=name,
                        ),
                    )
                return
            await callback(update, context)

        return within_limit

    async def start(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        lang = language(update)
        available = await self._visible_names(target)
        followed = {w.label for w in await self._followed(target.id)}
        lines = [
            tr(
                lang,
                "<b>feedwatch</b> watches news feeds for the names you follow and sends this chat "
                "a digest of every new mention, in Russian, Ukrainian and English, in any "
                "grammatical form.",
            ),
            "",
            tr(lang, "<b>Watchlists</b>") if available else tr(lang, "No watchlists yet."),
            *(f"• <code>{escape(n)}</code>" + (" ✓" if n in followed else "") for n in available),
            "",
            tr(lang, "<b>Try</b>"),
            "/subscribe rvc — " + tr(lang, "follow a shared watchlist"),
            "/watch kursk_news Курск, Курская область, Курськ, Kursk — "
            + tr(lang, "make your own"),
            "/test Губернатор Курской области объявил эвакуацию — "
            + tr(lang, "see what would match"),
            "",
            tr(lang, "<b>Commands</b>"),
            *(f"{escape(usage)} — {escape(tr(lang, about))}" for _, usage, about in COMMANDS),
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

    async def _followed(self, chat_id: int) -> list[Watchlist]:
        return await self.store.chat_watchlists(chat_id)

    async def unknown(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or not addressed_to_us(message, context.bot.username):
            return
        command = (message.text or "").split(maxsplit=1)[0].split("@")[0]
        known = " ".join(f"/{name}" for name, _, _ in COMMANDS)
        await self._answer(
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
                await self._answer(update, text)
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
