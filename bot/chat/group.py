"""A group of chat commands: the handlers one module writes, each marked with `command` or
`button`, registered by the group itself behind the one preamble they share (the argument's
limit, the chat registered, who may act on it)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, ClassVar

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.chat.access import Access
from bot.chat.base import (
    AnyApplication,
    Command,
    Context,
    Request,
    Target,
    addressed_to_us,
    answer,
    answer_lines,
    arguments,
    buttons_of,
    commands_of,
    language,
)
from bot.core.limits import argument_limit
from bot.core.said import N_
from bot.render.i18n import ntr, tr
from bot.storage.asynchronous import AsyncStorage

log = logging.getLogger(__name__)

Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


class CommandGroup:
    """The commands of one module. Subclasses write handlers `(self, request: Request)` marked
    with `command(…)` or `button(…)`, and take what they need beyond `access` in their
    constructor."""

    # The preamble's "you may not" for a button: a popup under the press, not a message.
    MAY_NOT_PRESS: ClassVar[str] = N_("Only administrators can change this.")

    def __init__(self, access: Access) -> None:
        self.access = access
        self.store: AsyncStorage = access.store
        self.clock: Callable[[], datetime] = access.clock

    @classmethod
    def commands(cls) -> list[Command]:
        """The commands this group handles, in the order its module writes them."""
        return [mark for mark, _ in commands_of(cls)]

    def install(self, application: AnyApplication) -> None:
        for mark, attribute in commands_of(type(self)):
            handler = self._preamble(mark, getattr(self, attribute))
            application.add_handler(CommandHandler(mark.name, handler))
            if mark.files:
                # A file sent with the command as its caption is a document message, not a text
                # command.
                application.add_handler(
                    MessageHandler(
                        filters.UpdateType.MESSAGE
                        & filters.Document.ALL
                        & filters.CaptionRegex(rf"^/{mark.name}(@\w+)?\b"),
                        handler,
                    )
                )
        for pattern, attribute in buttons_of(type(self)):
            pressed = self._pressed(getattr(self, attribute))
            application.add_handler(CallbackQueryHandler(pressed, pattern=pattern))

    def _preamble(
        self,
        mark: Command,
        handler: Callable[[Request], Awaitable[None]],
        *,
        plain_text: bool = False,
    ) -> Callback:
        """`handler` behind what every command does first: nothing for a command addressed to
        another bot; a longer argument than the command reads refused with its limit (so that no
        command quotes, fetches, stores or logs 100 KB of what somebody typed); the chat
        registered; and the chat it acts on, or a sentence saying why the sender may not."""
        limit = argument_limit(mark.name)

        async def preamble(update: Update, context: Context) -> None:
            message = update.effective_message
            if message is None:
                return
            # A command for another bot is not ours; text with no command (a private chat's, for
            # `plain_text` handlers) is.
            if not plain_text and not addressed_to_us(message, context.bot.username):
                return
            lang, text = language(update), arguments(message)
            if len(text) > limit:
                await answer(
                    update,
                    ntr(
                        lang,
                        "The text after /{command} is too long: at most {count} characters.",
                        "The text after /{command} is too long: at most {count} characters.",
                        limit,
                        command=mark.name,
                    ),
                )
                return
            if mark.acts == "self":
                target: Target | None = Target(await self.access.register(update))
            else:
                target = await self.access.target(update, context, change=mark.acts == "change")
            if target is not None:
                await handler(Request(update, context, target, lang, text))

        return preamble

    def _pressed(self, handler: Callable[[Request], Awaitable[None]]) -> Callback:
        """`handler` of a button, behind the check that the presser may change the chat."""

        async def pressed(update: Update, context: Context) -> None:
            query = update.callback_query
            if query is None:
                return
            lang = language(update)
            # The toast is the whole answer: a refusal in the group too would say it twice.
            target = await self.access.target(update, context, change=True, tell=False)
            if target is None:
                await query.answer(tr(lang, self.MAY_NOT_PRESS))
                return
            await handler(Request(update, context, target, lang, query.data or ""))

        return pressed

    @staticmethod
    async def _spend(query: CallbackQuery, target: Target, *, only: str | None = None) -> None:
        """Take a pressed button off its message (every button unless `only` names the one), so
        that nothing is left to press twice: Telegram keeps a keyboard until it is edited. A
        message too old to edit keeps its buttons; pressing one again is answered as before. A
        chat that removed the bot is sent nothing, an edit neither."""
        if not target.chat.active:
            return
        markup = query.message.reply_markup if isinstance(query.message, Message) else None
        rows = []
        if markup is not None and only is not None:
            rows = [[b for b in row if b.callback_data != only] for row in markup.inline_keyboard]
        kept = [row for row in rows if row]
        try:
            await query.edit_message_reply_markup(InlineKeyboardMarkup(kept) if kept else None)
        except TelegramError as error:
            log.info("a pressed button stays on its message: %s", error.message)

    @staticmethod
    async def _answer(
        update: Update, text: str, *, buttons: InlineKeyboardMarkup | None = None
    ) -> None:
        await answer(update, text, buttons=buttons)

    @staticmethod
    async def _answer_lines(
        update: Update, lines: Sequence[str], *, buttons: InlineKeyboardMarkup | None = None
    ) -> None:
        await answer_lines(update, lines, buttons=buttons)
