"""The bot's own membership of chats (`my_chat_member` updates): a user who blocks the bot, or a group
or channel that removes it, is deactivated at once, before any send fails; unblocked or added back,
it is active again. Nothing is sent in answer."""

from __future__ import annotations

import logging

from telegram import Chat as TelegramChat
from telegram import (
    ChatMember,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    Update,
)
from telegram.ext import ChatMemberHandler

from bot.chat.base import AnyApplication, Context
from bot.chat.group import CommandGroup

log = logging.getLogger(__name__)


def may_post(chat_type: str, member: ChatMember) -> bool:
    """Whether the bot, with this membership of a chat of `chat_type`, can post there."""
    if isinstance(member, ChatMemberRestricted):
        return member.is_member and member.can_send_messages
    if chat_type == TelegramChat.CHANNEL:
        # In a channel only its administrators post, and only those allowed to.
        return isinstance(member, ChatMemberOwner) or (
            isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages)
        )
    return isinstance(member, ChatMemberMember | ChatMemberAdministrator | ChatMemberOwner)


class MemberUpdates(CommandGroup):
    """Keeps a chat's `active` in step with what Telegram says of the bot's membership."""

    def install(self, application: AnyApplication) -> None:
        # The bot blocked, removed, unblocked or added back: whether it may post in the chat.
        application.add_handler(ChatMemberHandler(self.bot_membership))

    async def bot_membership(self, update: Update, context: Context) -> None:
        changed = update.my_chat_member
        if changed is None:
            return
        chat, member = changed.chat, changed.new_chat_member
        if may_post(chat.type, member):
            # Unblocked, or added back: sending works again, as when the chat writes. A chat
            # never seen starts when it writes (/start); made here, it would be an empty one
            # that a group's move to a supergroup could not carry its settings into.
            if await self.store.chat(chat.id) is not None:
                await self.access.register(update)
                log.info("chat %s: the bot may post there again (%s)", chat.id, member.status)
            return
        if chat.type == TelegramChat.PRIVATE:
            reason = "the user blocked the bot"
        elif member.status in (ChatMember.LEFT, ChatMember.BANNED):
            reason = "the bot was removed from the chat"
        else:
            reason = "the bot may not post in the chat"
        log.info("chat %s: %s (%s); deactivating it", chat.id, reason, member.status)
        await self.store.deactivate_chat(chat.id, reason)
