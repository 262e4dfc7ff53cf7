"""`/channel @name` in a private chat: the channel it names is set up from here (when both the user
and the bot administer it), and the commands sent here act on it; `/channel off` ends that."""

from __future__ import annotations

from html import escape

from telegram import Chat as TelegramChat
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.chat.access import ADMIN_STATUSES
from bot.chat.base import Request, command, refusal
from bot.chat.group import CommandGroup
from bot.core.errors import RefusedError
from bot.core.said import N_
from bot.render.i18n import tr


class ChannelCommands(CommandGroup):
    """Managing a channel from a private chat."""

    @command(
        "channel",
        "/channel @name|off",
        N_("set up a channel you administer from this chat"),
        acts="self",
    )
    async def channel(self, ask: Request) -> None:
        """`/channel @name` in a private chat: configure that channel from here; `/channel off`."""
        update, context, lang, chat = ask.update, ask.context, ask.lang, ask.target.chat
        user = update.effective_user
        if chat.type != TelegramChat.PRIVATE or user is None:
            await self._answer(update, tr(lang, "/channel works in a private chat with the bot."))
            return
        wanted = ask.text
        if not wanted or wanted.lower() == "off":
            await self.store.set_managing(chat.id, None)
            await self._answer(
                update,
                tr(lang, "Commands here now act on this chat again.")
                if wanted
                else tr(lang, "Usage: /channel @name, or /channel off"),
            )
            return
        try:
            found = await context.bot.get_chat(
                wanted if wanted.lstrip("-").isdigit() else "@" + wanted.lstrip("@")
            )
            if found.type != TelegramChat.CHANNEL:
                raise RefusedError("{name} is not a channel", name=wanted)
            mine = await context.bot.get_chat_member(found.id, user.id)
            bot_member = await context.bot.get_chat_member(found.id, context.bot.id)
        except RefusedError as error:
            await self._answer(
                update, tr(lang, "Not linked: {reason}.", reason=refusal(update, error))
            )
            return
        except TelegramError as error:
            await self._answer(
                update,
                tr(
                    lang,
                    "Not linked: Telegram says «{message}». Add the bot to the channel as an "
                    "administrator first.",
                    message=escape(error.message),
                ),
            )
            return
        if mine.status not in ADMIN_STATUSES:
            await self._answer(
                update, tr(lang, "Not linked: you are not an administrator of that channel.")
            )
            return
        if bot_member.status not in ADMIN_STATUSES or (
            bot_member.status == ChatMemberStatus.ADMINISTRATOR
            and not getattr(bot_member, "can_post_messages", True)
        ):
            await self._answer(
                update,
                tr(
                    lang,
                    "Not linked: the bot must be an administrator of the channel that can post.",
                ),
            )
            return
        title = found.title or found.username or str(found.id)
        await self.store.register_chat(found.id, "channel", title, self.clock())
        await self.store.set_managing(chat.id, found.id)
        await self._answer(
            update,
            tr(
                lang,
                "Linked the channel {title}: /subscribe, /watch and the other commands you send "
                "here now set up the channel, and its digests go there. /channel off ends this.",
                title=escape(title),
            ),
        )
