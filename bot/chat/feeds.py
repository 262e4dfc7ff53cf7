"""Feed commands: `/feeds` with each feed's health, `/addfeed` (checked to be a feed first),
`/importopml` (the feeds of an OPML file, each checked), `/removefeed`, and `/channel` to manage a
channel from a private chat."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Any

from telegram import Chat as TelegramChat
from telegram import Message, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError

from bot.chat.arguments import shown
from bot.chat.base import (
    ADMIN_STATUSES,
    CommandBase,
    Context,
    Target,
    addressed_to_us,
    arguments,
    language,
    refusal,
)
from bot.core.domain import FeedState
from bot.core.errors import FeedwatchError, RefusedError
from bot.core.limits import LONG_ARGUMENT, MAX_FEEDS_PER_CHAT
from bot.ops.logs import withheld
from bot.render.digest import TELEGRAM_TEXT_LIMIT, format_moment, visible_length
from bot.render.i18n import ntr, tr, translated
from bot.sources.opml import OpmlEntry, OpmlError, read_opml

log = logging.getLogger(__name__)

OPML_LIMIT = 1024 * 1024  # bytes of an OPML file /importopml reads
CHECKS_AT_ONCE = 4  # feeds one /importopml fetches at once
# The progress message is edited at most once a second and once per tenth of the feeds: Telegram
# limits how often a bot may edit messages, in groups above all.
EDIT_GAP = timedelta(seconds=1)
EDIT_STEPS = 10

FeedCheck = Callable[[str], Awaitable[str | None]]
"""Fetch and parse a URL; return the feed's title, or raise a FeedwatchError saying why not."""


@dataclass(frozen=True, slots=True)
class _Refused:
    """An OPML entry /importopml did not add, and why (in the chat's language where we have the
    sentence: a server's answer stays as it came)."""

    entry: OpmlEntry
    reason: str


class FeedCommands(CommandBase):
    """The chat's feeds, and the channel a private chat manages."""

    check_feed: FeedCheck | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Chats with an /importopml under way: one at a time each.
        self._importing: set[int] = set()

    def _health(self, feed: FeedState, target: Target, lang: str) -> str:
        now, zone = self.clock(), target.chat.timezone
        name = escape(feed.display_name)
        if feed.last_error:
            # translators: a feed's health in /feeds; {error} is the server's or the parser's word, in English
            state = tr(lang, "failing: {error}", error=escape(feed.last_error))
            if feed.consecutive_failures > 1:
                state += " " + ntr(
                    lang,
                    "({count} time in a row)",
                    "({count} times in a row)",
                    feed.consecutive_failures,
                )
        elif feed.last_success_at is not None:
            when = format_moment(feed.last_success_at, zone, now)
            state = tr(lang, "ok, last read {when}", when=when)
        else:
            state = tr(lang, "not read yet")
        return f"• {name}: {state}; " + ntr(lang, "{count} items", "{count} items", feed.item_count)

    async def feeds(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        shared, own = await self.store.chat_feeds(target.id)
        lang = language(update)
        lines = []
        if own:
            lines += [
                tr(lang, "<b>Feeds of {where}</b>", where=target.where(lang)),
                *(self._health(f, target, lang) for f in own),
                "",
            ]
        lines += [
            tr(lang, "<b>Feeds every chat gets</b>")
            if shared
            else tr(lang, "No shared feeds are configured."),
            *(self._health(f, target, lang) for f in shared),
        ]
        lines.append(tr(lang, "Add one with /addfeed URL."))
        await self._answer_lines(update, lines)

    async def addfeed(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        url = (
            arguments(update.effective_message).split(maxsplit=1)[0]
            if arguments(update.effective_message)
            else ""
        )
        lang = language(update)
        if not url.startswith(("http://", "https://")):
            await self._answer(
                update, tr(lang, "Usage: /addfeed URL (an RSS or Atom feed, http:// or https://)")
            )
            return
        title = None
        if self.check_feed is not None:
            try:
                title = await self.check_feed(url)
            except FeedwatchError as error:
                # It quotes the URL, maybe twice: cut short, it still fits in a message.
                said = escape(shown(translated(lang, error), LONG_ARGUMENT))
                await self._answer(update, tr(lang, "Not added: {reason}", reason=said))
                return
        try:
            added = await self.store.add_chat_feed(target.id, url, title, self.clock())
        except RefusedError as error:
            reason = refusal(update, error) + "."
            await self._answer(update, tr(lang, "Not added: {reason}", reason=reason))
            return
        # The feed's own title may be any length; the URL is within the command's limit.
        name = escape(shown(title) if title else url)
        where = target.where(lang)
        said = {
            "added": tr(lang, "Added {name}; its new items are matched against {where}'s "
                "watchlists from the next poll.", name=name, where=where),
            "already": tr(lang, "{url} is already one of {where}'s feeds.", url=escape(url),
                where=where),
            "shared": tr(lang, "{url} is already read for every chat.", url=escape(url)),
        }[added]  # fmt: skip
        await self._answer(update, said)

    async def import_opml(self, update: Update, context: Context) -> None:
        """`/importopml` replying to an OPML file (or with one attached): the file's feeds become
        the chat's own, each checked as /addfeed checks it. The checks run as a task of their
        own, so that the bot answers other chats meanwhile."""
        message = update.effective_message
        if message is None or not addressed_to_us(message, context.bot.username):
            return
        target = await self._target(update, context, change=True)
        if target is None:
            return
        lang = language(update)
        document = message.document or (
            message.reply_to_message.document if message.reply_to_message else None
        )
        if document is None:
            await self._answer(
                update,
                tr(
                    lang,
                    "Usage: reply /importopml to an OPML file (the list of feeds a feed reader "
                    "exports), or send the file with /importopml as its caption.",
                ),
            )
            return
        if document.file_size is not None and document.file_size > OPML_LIMIT:
            await self._answer(
                update, tr(lang, "That file is too large for an OPML list (over 1 MiB).")
            )
            return
        if target.id in self._importing:
            await self._answer(
                update,
                tr(
                    lang,
                    "An OPML import is under way already ({where}); its summary comes when it is "
                    "done.",
                    where=target.where(lang),
                ),
            )
            return
        try:
            file = await document.get_file()
            data = bytes(await file.download_as_bytearray())
        except TelegramError as error:
            log.warning("chat %s: cannot download an OPML file: %s", target.id, error)
            await self._answer(update, tr(lang, "The file could not be downloaded from Telegram."))
            return
        try:
            entries = await asyncio.to_thread(read_opml, data, limit=OPML_LIMIT)
        except OpmlError as error:
            reason = tr(lang, error.template, **error.params)
            await self._answer(
                update, tr(lang, "Nothing was imported: {reason}.", reason=escape(reason))
            )
            return
        if not entries:
            await self._answer(update, tr(lang, "That OPML file lists no feeds."))
            return
        self._importing.add(target.id)
        context.application.create_task(
            self._import_opml(update, message, target, entries, lang), update=update
        )

    async def _import_opml(
        self,
        update: Update,
        message: Message,
        target: Target,
        entries: list[OpmlEntry],
        lang: str,
    ) -> None:
        try:
            shared, own = await self.store.chat_feeds(target.id)
            have = {feed.url for feed in own}
            everyone = {feed.url for feed in shared}
            room = MAX_FEEDS_PER_CHAT - len(own)
            already: list[OpmlEntry] = []
            refused: list[_Refused] = []
            to_check: list[OpmlEntry] = []
            for entry in entries:
                if entry.problem is not None:
                    refused.append(_Refused(entry, tr(lang, entry.problem)))
                elif entry.url in have or entry.url in everyone:
                    already.append(entry)
                elif len(to_check) >= room:
                    # Not fetched at all: a file of thousands must not make the bot fetch them.
                    refused.append(
                        _Refused(
                            entry,
                            tr(
                                lang,
                                "a chat can add at most {count} feeds; /removefeed one first",
                                count=MAX_FEEDS_PER_CHAT,
                            ),
                        )
                    )
                else:
                    to_check.append(entry)
            titles = await self._check_all(message, to_check, refused, lang)
            added = 0
            for entry in to_check:
                if entry.url not in titles:
                    continue
                try:
                    outcome = await self.store.add_chat_feed(
                        target.id,
                        entry.url,
                        entry.title or titles[entry.url],
                        self.clock(),
                    )
                except RefusedError as error:
                    refused.append(_Refused(entry, tr(lang, error.template, **error.params)))
                    continue
                if outcome == "added":
                    added += 1
                else:
                    already.append(entry)
            await self._answer(
                update, _import_summary(lang, target, added, len(already), refused, entries)
            )
        finally:
            self._importing.discard(target.id)

    async def _check_all(
        self, message: Message, entries: list[OpmlEntry], refused: list[_Refused], lang: str
    ) -> dict[str, str | None]:
        """Check `entries` a few at once, editing one progress message as they finish; return the
        titles of those that are feeds, and add the others to `refused`."""
        if not entries:
            return {}
        total = len(entries)
        # The gap to the first edit counts from when the message was asked for.
        shown, edited_at = 0, self.clock()
        progress = await message.reply_text(
            _progress(lang, 0, total), parse_mode=ParseMode.HTML, do_quote=False
        )
        turns = asyncio.Semaphore(CHECKS_AT_ONCE)

        async def check(entry: OpmlEntry) -> tuple[OpmlEntry, str | None, str | None]:
            async with turns:
                if self.check_feed is None:
                    return entry, None, None
                try:
                    return entry, await self.check_feed(entry.url), None
                except FeedwatchError as error:
                    reason = getattr(error, "reason", None)
                    return entry, None, reason if isinstance(reason, str) else str(error)
                except Exception as error:  # one feed's surprise must not end the import
                    # The URL came from a user's file: it stays out of the log, as chat content,
                    # and so does the error's message, which may quote it.
                    log.error(
                        "chat %s: checking a feed of an OPML file failed",
                        message.chat_id,
                        exc_info=withheld(error),
                    )
                    return entry, None, tr(lang, "it could not be checked; the error is logged")

        titles: dict[str, str | None] = {}
        failed: dict[str, str] = {}
        checks = asyncio.as_completed([check(entry) for entry in entries])
        for done, finished in enumerate(checks, start=1):
            entry, title, problem = await finished
            if problem is None:
                titles[entry.url] = title
            else:
                failed[entry.url] = problem
            now = self.clock()
            if (
                done < total
                and now - edited_at >= EDIT_GAP
                and (done - shown) * EDIT_STEPS >= total
            ):
                shown, edited_at = done, now
                try:
                    await progress.edit_text(
                        _progress(lang, done, total), parse_mode=ParseMode.HTML
                    )
                except TelegramError as error:  # progress is a courtesy; the import goes on
                    log.warning("cannot edit the /importopml progress message: %s", error)
        # In the file's order, as the summary lists them.
        refused.extend(_Refused(e, failed[e.url]) for e in entries if e.url in failed)
        try:
            # The summary that follows says it all; an edit would not notify the chat anyway.
            await progress.delete()
        except TelegramError as error:
            log.warning("cannot delete the /importopml progress message: %s", error)
        return titles

    async def removefeed(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        url = arguments(update.effective_message)
        lang = language(update)
        if not url:
            await self._answer(update, tr(lang, "Usage: /removefeed URL (as /feeds lists it)"))
            return
        removed = await self.store.remove_chat_feed(target.id, url)
        await self._answer(
            update,
            tr(lang, "Removed {url}.", url=escape(url)) if removed
            else tr(lang, "{url} is not one of {where}'s feeds; /feeds lists them.",
                url=escape(url), where=target.where(lang)),
        )  # fmt: skip

    async def channel(self, update: Update, context: Context) -> None:
        """`/channel @name` in a private chat: configure that channel from here; `/channel off`."""
        chat = await self._register(update)
        user = update.effective_user
        lang = language(update)
        if chat.type != TelegramChat.PRIVATE or user is None:
            await self._answer(update, tr(lang, "/channel works in a private chat with the bot."))
            return
        wanted = arguments(update.effective_message)
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


def _progress(lang: str, done: int, total: int) -> str:
    return ntr(
        lang,
        "Checked {done} of {count} feeds…",
        "Checked {done} of {count} feeds…",
        total,
        done=done,
    )


def _import_summary(
    lang: str,
    target: Target,
    added: int,
    already: int,
    refused: list[_Refused],
    entries: list[OpmlEntry],
) -> str:
    """What /importopml did, the refused entries each with its reason, as many as fit in one
    message."""
    lines = [
        tr(
            lang,
            "OPML import ({where}): {added} added, {already} already there, {refused} refused.",
            where=target.where(lang),
            added=added,
            already=already,
            refused=len(refused),
        )
    ]
    if added:
        lines.append(tr(lang, "The new feeds are read from the next poll; /feeds lists them."))
    if not refused:
        return "\n".join(lines)
    order = {entry.url: index for index, entry in enumerate(entries)}
    refused = sorted(refused, key=lambda r: order.get(r.entry.url, len(order)))
    lines += ["", tr(lang, "<b>Refused</b>")]
    used = visible_length("\n".join(lines))
    reserve = visible_length(tr(lang, "…and {count} more.", count=len(refused))) + 1
    for index, item in enumerate(refused):
        line = _refused_line(item)
        cost = visible_length(line) + 1
        last = index == len(refused) - 1
        if used + cost + (0 if last else reserve) > TELEGRAM_TEXT_LIMIT:
            lines.append(tr(lang, "…and {count} more.", count=len(refused) - index))
            break
        lines.append(line)
        used += cost
    return "\n".join(lines)


def _refused_line(item: _Refused) -> str:
    url = item.entry.url if len(item.entry.url) <= 200 else item.entry.url[:199] + "…"
    name = f"{escape(item.entry.title)} — " if item.entry.title else ""
    reason = item.reason if len(item.reason) <= 300 else item.reason[:299] + "…"
    return f"• {name}{escape(url)}: {escape(reason)}"
