"""Feed commands: `/feeds` with each feed's health, `/addfeed` (checked to be a feed first) and
`/removefeed`, and `/channel` to manage a channel from a private chat."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from html import escape

from telegram import Chat as TelegramChat
from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.chat.base import ADMIN_STATUSES, CommandBase, Context, Target, arguments, refusal
from bot.digest import format_moment
from bot.domain import FeedState
from bot.errors import FeedwatchError, RefusedError

FeedCheck = Callable[[str], Awaitable[str | None]]
"""Fetch and parse a URL; return the feed's title, or raise a FeedwatchError saying why not."""


class FeedCommands(CommandBase):
    """The chat's feeds, and the channel a private chat manages."""

    check_feed: FeedCheck | None = None

    def _health(self, feed: FeedState, target: Target) -> str:
        now, zone = self.clock(), target.chat.timezone
        name = escape(feed.display_name)
        if feed.last_error:
            state = f"failing: {escape(feed.last_error)}"
            if feed.consecutive_failures > 1:
                state += f" ({feed.consecutive_failures} times in a row)"
        elif feed.last_success_at is not None:
            state = f"ok, last read {format_moment(feed.last_success_at, zone, now)}"
        else:
            state = "not read yet"
        return f"• {name}: {state}; {feed.item_count} items"

    async def feeds(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        shared, own = await asyncio.to_thread(self.repo.chat_feeds, target.id)
        lines = []
        if own:
            lines += [
                f"<b>Feeds of {target.where()}</b>",
                *(self._health(f, target) for f in own),
                "",
            ]
        lines += [
            "<b>Feeds every chat gets</b>" if shared else "No shared feeds are configured.",
            *(self._health(f, target) for f in shared),
        ]
        lines.append("Add one with /addfeed URL.")
        await self._answer(update, "\n".join(lines))

    async def addfeed(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        url = (
            arguments(update.effective_message).split(maxsplit=1)[0]
            if arguments(update.effective_message)
            else ""
        )
        if not url.startswith(("http://", "https://")):
            await self._answer(
                update, "Usage: /addfeed URL (an RSS or Atom feed, http:// or https://)"
            )
            return
        title = None
        if self.check_feed is not None:
            try:
                title = await self.check_feed(url)
            except FeedwatchError as error:
                await self._answer(update, f"Not added: {escape(str(error))}")
                return
        try:
            added = await asyncio.to_thread(
                self.repo.add_chat_feed, target.id, url, title, self.clock()
            )
        except RefusedError as error:
            await self._answer(update, f"Not added: {refusal(update, error)}.")
            return
        said = {
            "added": f"Added {escape(title or url)}; its new items are matched against "
            f"{target.where()}'s watchlists from the next poll.",
            "already": f"{escape(url)} is already one of {target.where()}'s feeds.",
            "shared": f"{escape(url)} is already read for every chat.",
        }[added]
        await self._answer(update, said)

    async def removefeed(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        url = arguments(update.effective_message)
        if not url:
            await self._answer(update, "Usage: /removefeed URL (as /feeds lists it)")
            return
        removed = await asyncio.to_thread(self.repo.remove_chat_feed, target.id, url)
        await self._answer(
            update,
            f"Removed {escape(url)}." if removed
            else f"{escape(url)} is not one of {target.where()}'s feeds; /feeds lists them.",
        )  # fmt: skip

    async def channel(self, update: Update, context: Context) -> None:
        """`/channel @name` in a private chat: configure that channel from here; `/channel off`."""
        chat = await self._register(update)
        user = update.effective_user
        if chat.type != TelegramChat.PRIVATE or user is None:
            await self._answer(update, "/channel works in a private chat with the bot.")
            return
        wanted = arguments(update.effective_message)
        if not wanted or wanted.lower() == "off":
            await asyncio.to_thread(self.repo.set_managing, chat.id, None)
            await self._answer(
                update,
                "Commands here now act on this chat again."
                if wanted
                else "Usage: /channel @name, or /channel off",
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
            await self._answer(update, f"Not linked: {escape(str(error))}.")
            return
        except TelegramError as error:
            await self._answer(
                update,
                f"Not linked: Telegram says «{escape(error.message)}». Add the bot to the channel "
                "as an administrator first.",
            )
            return
        if mine.status not in ADMIN_STATUSES:
            await self._answer(update, "Not linked: you are not an administrator of that channel.")
            return
        if bot_member.status not in ADMIN_STATUSES or (
            bot_member.status == ChatMemberStatus.ADMINISTRATOR
            and not getattr(bot_member, "can_post_messages", True)
        ):
            await self._answer(
                update, "Not linked: the bot must be an administrator of the channel that can post."
            )
            return
        title = found.title or found.username or str(found.id)
        await asyncio.to_thread(self.repo.register_chat, found.id, "channel", title, self.clock())
        await asyncio.to_thread(self.repo.set_managing, chat.id, found.id)
        await self._answer(
            update,
            f"Linked the channel {escape(title)}: /subscribe, /watch and the other commands you "
            "send here now set up the channel, and its digests go there. /channel off ends this.",
        )
