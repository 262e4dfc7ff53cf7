"""Feed commands: `/feeds` with each feed's health, `/addfeed` (checked to be a feed first),
`/removefeed`, and `/importopml` (the feeds of an OPML file, each checked, through
`bot.services.feed_import`)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.chat.access import Access
from bot.chat.arguments import shown
from bot.chat.base import (
    Request,
    Target,
    command,
    refusal,
)
from bot.chat.group import CommandGroup
from bot.core.channel_address import NOT_A_CHANNEL, channel_name, channel_url, is_telegram_link
from bot.core.domain import FeedState
from bot.core.errors import FeedwatchError, RefusedError
from bot.core.limits import LONG_ARGUMENT, MAX_FEEDS_PER_CHAT
from bot.core.said import N_, said
from bot.render.digest import TELEGRAM_TEXT_LIMIT, format_moment, visible_length
from bot.render.i18n import ntr, tr, translated
from bot.services.feed_check import FeedChecker, reason_of
from bot.services.feed_import import Kept, import_feeds
from bot.sources.opml import OpmlEntry, OpmlError, read_opml

log = logging.getLogger(__name__)

OPML_LIMIT = 1024 * 1024  # bytes of an OPML file /importopml reads
# The progress message is edited at most once a second and once per tenth of the feeds: Telegram
# limits how often a bot may edit messages, in groups above all.
EDIT_GAP = timedelta(seconds=1)
EDIT_STEPS = 10


@dataclass(frozen=True, slots=True)
class _Refused:
    """An OPML entry /importopml did not add, and why (in the chat's language where we have the
    sentence: a server's answer stays as it came)."""

    entry: OpmlEntry
    reason: str


# A feed's address typed without its scheme: a host with a dot, then a path if any.
_BARE_ADDRESS = re.compile(r"[\w-]+(?:\.[\w-]+)+(?::\d+)?(?:/\S*)?")

ADDFEED_USAGE = N_(
    "Usage: /addfeed URL (an RSS or Atom feed, http:// or https://) or /addfeed @name (a public "
    "Telegram channel)"
)


class FeedCommands(CommandGroup):
    """The chat's feeds: listed with their health, added (each checked to be a feed first, one by
    one or from an OPML file) and removed."""

    def __init__(self, access: Access, *, checker: FeedChecker) -> None:
        super().__init__(access)
        self.checker = checker
        # Chats with an /importopml under way: one at a time each.
        self._importing: set[int] = set()

    def _health(self, feed: FeedState, target: Target, lang: str, *, own: bool = False) -> str:
        now, zone = self.clock(), target.chat.timezone
        name = escape(feed.display_name)
        if own and feed.name:
            # The chat's own feeds with their address, which /removefeed takes: copied by a tap.
            name += f" <code>{escape(feed.url)}</code>"
        if feed.last_error:
            # translators: a feed's health in /feeds; {error} is the server's or the parser's word, in English
            # A channel's reasons are ours and translated; a feed's server speaks for itself.
            state = tr(lang, "failing: {error}", error=escape(tr(lang, feed.last_error)))
            if feed.consecutive_failures > 1:
                state += " " + ntr(
                    lang,
                    "({count} time in a row)",
                    "({count} times in a row)",
                    feed.consecutive_failures,
                )
        elif feed.last_success_at is not None:
            when = format_moment(feed.last_success_at, zone, now, lang)
            state = tr(lang, "ok, last read {when}", when=when)
        else:
            state = tr(lang, "not read yet")
        line = f"• {name}: {state}; " + ntr(lang, "{count} item", "{count} items", feed.item_count)
        if feed.missed_posts:
            # Never silent: posts a channel's gap left unread are counted where its health is.
            line += "; " + ntr(
                lang,
                "{count} post missed after a gap longer than the read-back depth",
                "{count} posts missed after a gap longer than the read-back depth",
                feed.missed_posts,
            )
        return line

    @command("feeds", "/feeds", N_("the feeds, with their health"), acts="read")
    async def feeds(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        shared, own = await self.store.chat_feeds(target.id)
        lines = []
        if own:
            lines += [
                tr(lang, "<b>Feeds of {where}</b>", where=target.where(lang)),
                *(self._health(f, target, lang, own=True) for f in own),
                "",
            ]
        lines += [
            tr(lang, "<b>Feeds every chat gets</b>")
            if shared
            else tr(lang, "No shared feeds are configured."),
            *(self._health(f, target, lang) for f in shared),
        ]
        lines.append(
            tr(lang, "Add one with /addfeed URL, or a public channel with /addfeed @name.")
        )
        await self._answer_lines(update, lines)

    @command(
        "addfeed", "/addfeed URL", N_("add a feed or a public channel for this chat"), acts="change"
    )
    async def addfeed(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        url = ask.text.split(maxsplit=1)[0] if ask.text else ""
        if (channel := channel_name(url)) is not None:
            url = channel_url(channel)
        elif url.startswith("@") or is_telegram_link(url):
            await self._answer(
                update, tr(lang, "Not added: {reason}", reason=escape(tr(lang, NOT_A_CHANNEL)))
            )
            return
        elif not url.startswith(("http://", "https://")):
            if not _BARE_ADDRESS.fullmatch(url):
                await self._answer(update, tr(lang, ADDFEED_USAGE))
                return
            url = "https://" + url  # "frontline.example/rss", as people copy it
        try:
            found = await self.checker.find(url)
            given, url, title = url, found.url, found.title
        except FeedwatchError as error:
            # The reason alone (the user knows the address), cut short: a server may say much.
            reason = escape(shown(tr(lang, reason_of(error)), LONG_ARGUMENT))
            await self._answer(update, tr(lang, "Not added: {reason}", reason=reason))
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
        if url != given:
            # translators: /addfeed was given a web page; {url} is the feed the page names
            name += " " + tr(
                lang, "(the page's feed: {url})", url=escape(shown(url, LONG_ARGUMENT))
            )
        said = {
            "added": tr(lang, "Added {name}; its new items are matched against {where}'s "
                "watchlists from the next poll.", name=name, where=where),
            "already": tr(lang, "{url} is already one of {where}'s feeds.", url=escape(url),
                where=where),
            "shared": tr(lang, "{url} is already read for every chat.", url=escape(url)),
        }[added]  # fmt: skip
        await self._answer(update, said)

    @command("removefeed", "/removefeed URL", N_("remove one of this chat's feeds"), acts="change")
    async def removefeed(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        url = ask.text
        if not url:
            await self._answer(update, tr(lang, "Usage: /removefeed URL (as /feeds lists it)"))
            return
        if (channel := channel_name(url)) is not None:
            url = channel_url(channel)
        removed = await self.store.remove_chat_feed(target.id, url)
        await self._answer(
            update,
            tr(lang, "Removed {url}.", url=escape(url)) if removed
            else tr(lang, "{url} is not one of {where}'s feeds; /feeds lists them.",
                url=escape(url), where=target.where(lang)),
        )  # fmt: skip

    @command(
        "importopml",
        "/importopml",
        N_("add the feeds of an OPML file (reply to it)"),
        acts="change",
        files=True,
    )
    async def import_opml(self, ask: Request) -> None:
        """`/importopml` replying to an OPML file (or with one attached): the file's feeds become
        the chat's own, each checked as /addfeed checks it. The checks run as a task of their
        own, so that the bot answers other chats meanwhile."""
        update, context, target, lang = ask.update, ask.context, ask.target, ask.lang
        message = ask.message
        document = ask.document
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

            async def keep(url: str, name: str | None) -> Kept:
                added = await self.store.add_chat_feed(target.id, url, name, self.clock())
                return "added" if added == "added" else "already"

            progress = _Progress(message, lang, self.clock)
            report = await import_feeds(
                entries,
                self.checker,
                keep,
                present={feed.url for feed in own} | {feed.url for feed in shared},
                room=MAX_FEEDS_PER_CHAT - len(own),
                room_reason=said(
                    "a chat can add at most {count} feeds; /removefeed one first",
                    count=MAX_FEEDS_PER_CHAT,
                ),
                progress=progress.show,
            )
            await progress.close()
            refused = [_Refused(r.entry, translated(lang, r.reason)) for r in report.refused]
            await self._answer(
                update,
                _import_summary(
                    lang, target, len(report.added), len(report.already), refused, entries
                ),
            )
        finally:
            self._importing.discard(target.id)


def _progress(lang: str, done: int, total: int) -> str:
    return ntr(
        lang,
        "Checked {done} of {count} feed…",
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


class _Progress:
    """The message that shows how far an /importopml's checks are: sent when they begin, edited at
    most once a second and once per tenth of the feeds (Telegram limits how often a bot edits, in
    groups above all), deleted when they end, since the summary that follows says it all."""

    def __init__(self, message: Message, lang: str, clock: Callable[[], datetime]) -> None:
        self._message, self._lang, self._clock = message, lang, clock
        self._sent: Message | None = None
        self._shown = 0
        self._edited_at = clock()

    async def show(self, done: int, total: int) -> None:
        if self._sent is None:
            # The gap to the first edit counts from when the message was asked for.
            self._edited_at = self._clock()
            self._sent = await self._message.reply_text(
                _progress(self._lang, done, total), parse_mode=ParseMode.HTML, do_quote=False
            )
            return
        now = self._clock()
        if (
            done < total
            and now - self._edited_at >= EDIT_GAP
            and (done - self._shown) * EDIT_STEPS >= total
        ):
            self._shown, self._edited_at = done, now
            try:
                await self._sent.edit_text(
                    _progress(self._lang, done, total), parse_mode=ParseMode.HTML
                )
            except TelegramError as error:  # progress is a courtesy; the import goes on
                log.warning("cannot edit the /importopml progress message: %s", error)

    async def close(self) -> None:
        if self._sent is None:
            return
        try:
            await self._sent.delete()
        except TelegramError as error:
            log.warning("cannot delete the /importopml progress message: %s", error)
