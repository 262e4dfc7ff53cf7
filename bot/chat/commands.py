"""The command table and the handlers' assembly: every command, its usage and what it does, the
menu Telegram shows, `/start` and `/help`, unknown commands and errors.

Each group of commands lives in its own module (`lists`, `settings`, `feeds`, `stats`); they
share `base`.
"""

from __future__ import annotations

import asyncio
import logging
from html import escape

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.chat.base import AnyApplication, Context, addressed_to_us, language
from bot.chat.feeds import FeedCommands
from bot.chat.lists import ListCommands
from bot.chat.members import MemberUpdates
from bot.chat.sender import unreachable
from bot.chat.settings import SettingsCommands
from bot.chat.stats import StatsCommands
from bot.domain import Watchlist
from bot.errors import FeedwatchError, StorageError
from bot.limits import MAX_FEEDS_PER_CHAT, MAX_LISTS_PER_CHAT, MAX_TERMS_PER_LIST
from bot.texts import tr

__all__ = ["COMMANDS", "AnyApplication", "ChatCommands", "menu"]

log = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str, str], ...] = (
    # (command, usage, what it does): the menu, /help and the usage answers all come from here.
    ("start", "/start", "register this chat and show this help"),
    ("help", "/help", "show this help"),
    ("subscribe", "/subscribe NAME…", "follow shared watchlists, e.g. /subscribe rvc kursk"),
    ("unsubscribe", "/unsubscribe NAME…", "stop following watchlists"),
    ("watch", "/watch NAME TERM[, TERM…]", "make your own watchlist or add terms to it"),
    ("exclude", "/exclude NAME TERM[, …]", "an item with one of these is not a hit"),
    ("require", "/require NAME TERM[, …]", "an item must also have one of these"),
    ("unwatch", "/unwatch NAME [TERM, …]", "remove terms, or the whole list"),
    ("watchlists", "/watchlists", "what this chat follows, with buttons"),
    ("test", "/test TEXT", "which watchlists would match TEXT, and the words that did"),
    ("hits", "/hits [N]", "the last N hits (10)"),
    ("stats", "/stats [NAME…] [DAYS]", "a chart of the hits per day (per hour for 1–2 days)"),
    ("digest", "/digest", "send what is pending now"),
    ("every", "/every DURATION|instant", "how often the digest comes (5m … 7d)"),
    ("quiet", "/quiet HH:MM-HH:MM|off", "no messages in these hours"),
    ("tz", "/tz Area/City", "this chat's time zone"),
    ("feeds", "/feeds", "the feeds, with their health"),
    ("addfeed", "/addfeed URL", "add a feed for this chat"),
    ("removefeed", "/removefeed URL", "remove one of this chat's feeds"),
    ("importopml", "/importopml", "add the feeds of an OPML file (reply to it)"),
    ("spikes", "/spikes on|off", "an alert at once when a watchlist's hits jump"),
    ("pause", "/pause", "stop delivery for now"),
    ("resume", "/resume", "deliver again; what came meanwhile is offered"),
    ("export", "/export", "this chat's watchlists as a TOML file"),
    ("import", "/import", "read watchlists from a TOML file (attach it, or reply to it)"),
    ("channel", "/channel @name|off", "set up a channel you administer from this chat"),
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
            application.add_handler(CommandHandler(name, callback))
        # A file sent with /import as its caption is a document message, not a text command.
        application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE
                & filters.Document.ALL
                & filters.CaptionRegex(r"^/import(@\w+)?\b"),
                self.import_lists,
            )
        )
        application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE
                & filters.Document.ALL
                & filters.CaptionRegex(r"^/importopml(@\w+)?\b"),
                self.import_opml,
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
            f"/subscribe rvc — {tr(lang, 'follow a shared watchlist')}",
            f"/watch kursk_news Курск, Курская область, Курськ, Kursk — {tr(lang, 'make your own')}",
            f"/test Губернатор Курской области объявил эвакуацию — {tr(lang, 'see what would match')}",
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
        return await asyncio.to_thread(self.repo.chat_watchlists, chat_id)

    async def unknown(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or not addressed_to_us(message, context.bot.username):
            return
        command = (message.text or "").split()[0].split("@")[0]
        known = " ".join(f"/{name}" for name, _, _ in COMMANDS)
        await self._answer(
            update,
            tr(
                language(update),
                "There is no command {command}. Commands: {known}",
                command=escape(command),
                known=escape(known),
            ),
        )

    async def on_error(self, update: object, context: Context) -> None:
        error = context.error
        if isinstance(error, TelegramError) and unreachable(error) and isinstance(update, Update):
            # An answer refused because the user blocked the bot (or the chat is gone): the same
            # rule as for a digest. Deactivate the chat, and send it no apology for the failure.
            chat = update.effective_chat
            if chat is not None:
                log.warning("chat %s unreachable (%s); deactivating it", chat.id, error.message)
                await asyncio.to_thread(self.repo.deactivate_chat, chat.id, error.message)
                return
        if isinstance(error, StorageError):
            log.error("storage error while handling an update: %s", error)
            text = "The database cannot be reached right now; please try again in a minute."
        elif isinstance(error, FeedwatchError):
            text = escape(str(error))
        else:
            log.error("unexpected error while handling an update", exc_info=error)
            text = "Something went wrong on our side; it has been logged."
        if isinstance(update, Update):
            try:
                await self._answer(update, text)
            except Exception:  # the error handler must never raise; Telegram may be the problem
                log.exception("could not tell the chat about the error")
