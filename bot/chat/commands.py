"""Thin Telegram command handlers: parse the command, call the repository or a use case, answer.

Every answer is HTML with every piece of user or feed text escaped; a wrong command gets its usage,
an unknown one the list of commands, and an error a sentence, never silence.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape
from typing import Any

from telegram import BotCommand, Message, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.domain import Watchlist
from bot.errors import FeedwatchError, StorageError
from bot.matching import Matcher
from bot.parsing import html_to_text
from bot.pipeline.deliver import Deliverer
from bot.storage.repository import Repository, SubscribeResult

log = logging.getLogger(__name__)

COMMANDS: tuple[tuple[str, str, str], ...] = (
    # (command, usage, what it does) — the menu, /help and the usage answers all come from here.
    ("start", "/start", "register this chat and show this help"),
    ("help", "/help", "show this help"),
    ("subscribe", "/subscribe NAME…", "follow watchlists, e.g. /subscribe rvc kursk"),
    ("unsubscribe", "/unsubscribe NAME…", "stop following watchlists"),
    ("watchlists", "/watchlists", "what this chat follows and what it could"),
    ("digest", "/digest", "send what is pending now"),
    ("test", "/test TEXT", "which watchlists would match TEXT, and the words that did"),
)
_USAGE = {name: usage for name, usage, _ in COMMANDS}

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def menu() -> list[BotCommand]:
    return [BotCommand(name, about) for name, _, about in COMMANDS]


def _names(args: Sequence[str] | None) -> list[str]:
    """Watchlist names from arguments written with spaces, commas or both."""
    return [part for arg in args or () for part in arg.split(",") if part]


def _list_line(watchlist: Watchlist) -> str:
    title = f" — {escape(watchlist.title)}" if watchlist.title else ""
    return f"• <code>{escape(watchlist.name)}</code>{title}"


class ChatCommands:
    """The handlers of feedwatch's commands, bound to the services they call."""

    def __init__(
        self, repo: Repository, deliverer: Deliverer, *, clock: Callable[[], datetime]
    ) -> None:
        self.repo = repo
        self.deliverer = deliverer
        self.clock = clock

    def install(self, application: AnyApplication) -> None:
        handlers = {
            "start": self.start,
            "help": self.start,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "watchlists": self.watchlists,
            "digest": self.digest,
            "test": self.test,
        }
        for name, callback in handlers.items():
            application.add_handler(CommandHandler(name, callback))
        # Last in the group: only commands no handler above took arrive here.
        application.add_handler(MessageHandler(filters.COMMAND, self.unknown))
        application.add_error_handler(self.on_error)

    async def _register(self, update: Update) -> int:
        chat = update.effective_chat
        assert chat is not None
        title = chat.title or chat.username or chat.full_name
        await asyncio.to_thread(self.repo.register_chat, chat.id, chat.type, title, self.clock())
        return chat.id

    @staticmethod
    async def _answer(update: Update, text: str) -> None:
        message = update.effective_message
        if message is not None:
            await message.reply_text(text, parse_mode=ParseMode.HTML, do_quote=False)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = await self._register(update)
        available = await asyncio.to_thread(self.repo.shared_watchlists)
        followed = {w.name for w in await asyncio.to_thread(self.repo.chat_watchlists, chat_id)}
        lines = [
            "<b>feedwatch</b> watches news feeds for the names you follow and sends this chat "
            "a digest of every new mention.",
            "",
            "<b>Watchlists</b>" if available else "No watchlists are configured yet.",
            *(_list_line(w) + (" ✓" if w.name in followed else "") for w in available),
            "",
            "<b>Commands</b>",
            *(f"{escape(usage)} — {escape(about)}" for _, usage, about in COMMANDS),
        ]
        await self._answer(update, "\n".join(lines))

    async def subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._change(update, context, subscribe=True)

    async def unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._change(update, context, subscribe=False)

    async def _change(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, *, subscribe: bool
    ) -> None:
        command = "subscribe" if subscribe else "unsubscribe"
        chat_id = await self._register(update)
        names = _names(context.args)
        if not names:
            available = await asyncio.to_thread(self.repo.shared_watchlists)
            listing = ", ".join(f"<code>{escape(w.name)}</code>" for w in available) or "none yet"
            await self._answer(
                update,
                f"Usage: {escape(_USAGE[command])}\nWatchlists: {listing}",
            )
            return
        if subscribe:
            result = await asyncio.to_thread(self.repo.subscribe, chat_id, names, self.clock())
        else:
            result = await asyncio.to_thread(self.repo.unsubscribe, chat_id, names)
        await self._answer(update, await self._describe(result, subscribe=subscribe))

    async def _describe(self, result: SubscribeResult, *, subscribe: bool) -> str:
        def codes(names: Sequence[str]) -> str:
            return ", ".join(f"<code>{escape(n)}</code>" for n in names)

        lines = []
        if result.changed:
            verb = "Now following" if subscribe else "No longer following"
            lines.append(f"{verb}: {codes(result.changed)}.")
        if result.unchanged:
            state = "Already following" if subscribe else "Was not following"
            lines.append(f"{state}: {codes(result.unchanged)}.")
        if result.unknown:
            available = [w.name for w in await asyncio.to_thread(self.repo.shared_watchlists)]
            lines.append(
                f"No watchlist called {codes(result.unknown)}. "
                f"Available: {codes(available) or 'none yet'}."
            )
        if subscribe and result.changed:
            lines.append("New mentions from now on come in this chat's digest.")
        return "\n".join(lines)

    async def watchlists(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = await self._register(update)
        followed = await asyncio.to_thread(self.repo.chat_watchlists, chat_id)
        available = await asyncio.to_thread(self.repo.shared_watchlists)
        lines = []
        if followed:
            lines.append("<b>This chat follows</b>")
            for watchlist in followed:
                terms = ", ".join(escape(t) for t in watchlist.terms)
                lines.append(f"{_list_line(watchlist)}\n   {terms}")
        else:
            lines.append("This chat follows no watchlist yet.")
        others = [w for w in available if w.name not in {f.name for f in followed}]
        if others:
            lines += ["", "<b>Also available</b>", *(_list_line(w) for w in others)]
            lines.append("Follow one with /subscribe NAME.")
        await self._answer(update, "\n".join(lines))

    async def digest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = await self._register(update)
        outcome = await self.deliverer.deliver_now(chat_id)
        if outcome.error:
            await self._answer(update, f"The digest could not be sent: {escape(outcome.error)}")
        elif outcome.items == 0:
            await self._answer(update, "Nothing new since the last digest.")

    async def test(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat_id = await self._register(update)
        message = update.effective_message
        text = (message.text or "").partition(" ")[2].strip() if message else ""
        if not text:
            await self._answer(update, f"Usage: {escape(_USAGE['test'])}")
            return
        followed = await asyncio.to_thread(self.repo.chat_watchlists, chat_id)
        scope = "this chat's watchlists"
        if not followed:
            followed = await asyncio.to_thread(self.repo.shared_watchlists)
            scope = "the available watchlists (this chat follows none yet)"
        # Compiling reads the dictionaries for new terms: off the event loop, like the match.
        found = await asyncio.to_thread(lambda: Matcher(followed).match(html_to_text(text)))
        if not found:
            await self._answer(update, f"None of {scope} would match.")
            return
        titles = {w.name: w.display_title for w in followed}
        lines = [f"Would match, of {scope}:"]
        for name, matches in found.items():
            words = ", ".join(f"«{escape(m.text)}» ({escape(m.term)})" for m in matches)
            lines.append(f"• <code>{escape(name)}</code> {escape(titles[name])}: {words}")
        await self._answer(update, "\n".join(lines))

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not _addressed_to_us(message, context.bot.username):
            return
        command = (message.text or "").split()[0].split("@")[0]
        known = " ".join(f"/{name}" for name, _, _ in COMMANDS)
        await self._answer(
            update, f"There is no command {escape(command)}. Commands: {escape(known)}"
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
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


def _addressed_to_us(message: Message, username: str | None) -> bool:
    """Whether a command is for this bot: `/cmd` or `/cmd@ourbot`, never `/cmd@otherbot`."""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            command = message.parse_entity(entity)
            if "@" not in command:
                return True
            return bool(username) and command.split("@", 1)[1].lower() == (username or "").lower()
    return False
