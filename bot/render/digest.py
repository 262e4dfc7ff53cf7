"""Render a chat's pending hits as digest messages: Telegram HTML, or plain text for the terminal.

Pure: every piece of feed text is escaped, messages are split between items (never inside a tag or an
entity) so each stays within Telegram's 4096 characters, and no item is ever dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from bot.core.channel_address import source_label as channel_source_label
from bot.core.domain import ArchiveCount, DigestMessage, PendingDelivery, StoredItem, Watchlist
from bot.core.matching.normalize import strip_invisible
from bot.render.i18n import ntr, tr
from bot.render.links import html_link, web_link
from bot.trends.stories import StoryUpdate, moment_of

TELEGRAM_TEXT_LIMIT = 4096
Format = Literal["html", "text"]

# Caps that keep one item's block far below the message limit, so splitting between items always works.
TITLE_CAP = 300
_FEED_NAME_CAP = 80
_MATCH_TEXT_CAP = 60
_MATCHES_SHOWN = 5
_UPDATE_TITLE_CAP = 120

_TAG = re.compile(r"<[^>]*>")


def visible_length(text: str, fmt: Format = "html") -> int:
    """Length as Telegram counts it after entity parsing, in UTF-16 code units (never less than
    the number of characters, so a message within this length is within the limit)."""
    plain = html.unescape(_TAG.sub("", text)) if fmt == "html" else text
    return len(plain.encode("utf-16-le")) // 2


TERMINAL_UNLIMITED = 10**9
"""A terminal's digest is one text, whatever its length."""


def shorten(text: str, limit: int = TITLE_CAP) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis when longer; without soft
    hyphens, which a terminal shows as they are ("Bel\u00adgorod")."""
    text = " ".join(text.replace("\u00ad", "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _when(moment: datetime, tz: tzinfo, now: datetime, lang: str = "en") -> str:
    """ "12 Mar 05:40 UTC" in the chat's language ("12 мар. 05:40 MSK"), with the year only
    when it is not this one."""
    local = moment.astimezone(tz)
    label = "UTC" if tz is UTC else (local.tzname() or "")
    pattern = "dd MMM HH:mm" if local.year == now.astimezone(tz).year else "dd MMM y HH:mm"
    # Imported here: babel is for a digest being written, not for every process that imports
    # the deliverer (`poll --once` writes none; start-up, issue 19).
    from babel.dates import format_datetime

    written = format_datetime(local, pattern, locale=_DATE_LOCALES.get(lang, lang))
    return f"{written} {label}".strip()


def pack_lines(lines: Sequence[str], limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Telegram HTML lines joined into as few messages as keep within `limit` visible
    characters each, split only between lines (a line is never longer than a message)."""
    messages: list[list[str]] = [[]]
    for line in lines:
        if messages[-1] and visible_length("\n".join([*messages[-1], line])) > limit:
            messages.append([])
        messages[-1].append(line)
    return ["\n".join(message) for message in messages if message]


def zone(name: str | None) -> tzinfo:
    """A chat's time zone by its IANA name (UTC when it set none)."""
    return ZoneInfo(name) if name else UTC


def format_moment(moment: datetime, timezone: str | None, now: datetime, lang: str = "en") -> str:
    """A moment as a chat reads it: on its clock, in its language, with the year only when it
    is not this one."""
    return _when(moment, zone(timezone), now, lang)


@dataclass(frozen=True, slots=True)
class _Block:
    body: str
    delivery_ids: tuple[int, ...] = ()


class _Writer:
    """Knows how to spell the few pieces of a digest in one output format."""

    def __init__(self, fmt: Format, lang: str = "en") -> None:
        self.fmt = fmt
        self.lang = lang

    def say(self, template: str, **params: object) -> str:
        """A sentence of the digest in the chat's language, not yet escaped."""
        return tr(self.lang, template, **params)

    def esc(self, text: str) -> str:
        return html.escape(text, quote=False) if self.fmt == "html" else text

    def bold(self, text: str) -> str:
        return f"<b>{self.esc(text)}</b>" if self.fmt == "html" else text

    def heading(self, text: str) -> str:
        return self.bold(text) if self.fmt == "html" else f"== {text} =="

    def matched(self, texts: Sequence[str]) -> str:
        if self.fmt == "html":
            return ", ".join(f"<i>{self.esc(t)}</i>" for t in texts)
        return "matched: " + ", ".join(texts)

    def title_line(self, title: str, link: str | None) -> str:
        safe_link = web_link(link)
        if self.fmt == "html":
            return f"• {html_link(self.esc(title), safe_link)}"
        return f"• {title}" + (f"\n  {safe_link}" if safe_link else "")

    def link(self, text: str, link: str | None) -> str:
        """`text` linked to `link` when it is a web address; the bare text otherwise."""
        safe_link = web_link(link)
        if self.fmt == "html":
            return html_link(self.esc(text), safe_link)
        return f"{text} ({safe_link})" if safe_link else text


def _item_block(
    writer: _Writer,
    delivery: PendingDelivery,
    group: str,
    titles: Mapping[str, str],
    tz: tzinfo,
    now: datetime,
) -> _Block:
    item = delivery.item
    # A blank title reads like a missing one: fall back to the summary, then the link.
    candidates = (shorten(text) for text in (item.title, item.summary, item.link or ""))
    title = next((text for text in candidates if text), writer.say("(untitled)"))
    texts: list[str] = []
    terms: set[tuple[str, str]] = set()
    seen_title = title.casefold()
    # The group's own words first: they are why the item stands under this heading. Words the
    # title shows already are not said again, one term's forms are one ("RVC, RVC's": RVC), and
    # words inside other matched words are not said apart («Свобода России» in «легиона «Свобода
    # России»»: a short name and the full one matched the same place).
    every = [shorten(m.text, _MATCH_TEXT_CAP) for m in delivery.matches]
    inside = {t for t in every if any(t != o and t.casefold() in o.casefold() for o in every)}
    for match in sorted(delivery.matches, key=lambda m: m.watchlist != group):
        shown = shorten(match.text, _MATCH_TEXT_CAP)
        term = (match.watchlist, match.term.casefold())
        if shown in texts or shown in inside or term in terms or shown.casefold() in seen_title:
            continue
        terms.add(term)
        texts.append(shown)
    source, when = source_name(item), _when(moment_of(item), tz, now, writer.lang)
    # A story told by several: its earliest item, the one shown, is where it began.
    origin = (
        [writer.esc(writer.say("first: {source} {time}", source=source, time=when))]
        if delivery.also
        else [writer.esc(source), writer.esc(when)]
    )
    facts = [*origin]
    if texts:
        facts.append(
            writer.matched(texts[:_MATCHES_SHOWN] + (["…"] if len(texts) > _MATCHES_SHOWN else []))
        )
    if item.forwarded_from:
        forwarded = shorten(item.forwarded_from, _FEED_NAME_CAP)
        facts.append(writer.esc(writer.say("forwarded from {name}", name=forwarded)))
    others = sorted({m.watchlist for m in delivery.matches} - {group})
    if others:
        also = ", ".join(titles.get(o, o) for o in others)
        facts.append(writer.esc(writer.say("also {names}", names=also)))
    body = writer.title_line(title, item.link) + "\n  " + " · ".join(facts)
    if delivery.also:
        moments = delivery.also_at if len(delivery.also_at) == len(delivery.also) else ()
        outlets = ", ".join(
            shorten(name, _FEED_NAME_CAP)
            + (
                f" {_then(moments[index], moment_of(item), tz, now, writer.lang)}"
                if moments
                else ""
            )
            for index, name in enumerate(delivery.also[:_MATCHES_SHOWN])
        )
        more = "…" if len(delivery.also) > _MATCHES_SHOWN else ""
        body += "\n  " + writer.esc(writer.say("then {outlets}", outlets=outlets + more))
    return _Block(body, (delivery.id, *delivery.merged_ids))


def source_name(item: StoredItem) -> str:
    """Where an item came from, shortened: the feed's name; a channel's also with its @handle,
    which is how people name channels."""
    return source_label(item.feed_name, item.link)


def source_label(feed_name: str, link: str | None) -> str:
    """`source_name` of an item from `feed_name` whose link is `link`."""
    return channel_source_label(shorten(feed_name, _FEED_NAME_CAP), link)


def _then(moment: datetime, origin: datetime, tz: tzinfo, now: datetime, lang: str) -> str:
    """When a later report came: its time alone on the origin's day, else with its date."""
    if moment.astimezone(tz).date() == origin.astimezone(tz).date():
        return moment.astimezone(tz).strftime("%H:%M")
    return _when(moment, tz, now, lang)


class _Places:
    """Where matched words stand in an item: (0, offset) in its title, (1, offset) in its summary,
    (2, 0) when they cannot be found (a match stored by an older feedwatch). The words are looked
    for as they stand first; the folded text (case, soft hyphens) is made once, if needed."""

    def __init__(self, item: StoredItem) -> None:
        self._fields = (item.title, item.summary)
        self._folded: tuple[str, ...] | None = None

    def of(self, text: str) -> tuple[int, int]:
        for place, field in enumerate(self._fields):
            at = field.find(text)
            if at >= 0:
                return place, at
        if self._folded is None:
            self._folded = tuple(strip_invisible(f).casefold() for f in self._fields)
        wanted = strip_invisible(text).casefold()
        for place, field in enumerate(self._folded):
            at = field.find(wanted)
            if at >= 0:
                return place, at
        return 2, 0


def _by_title(names: Iterable[str], titles: Mapping[str, str]) -> list[str]:
    return sorted(names, key=lambda n: ((titles.get(n) or n).casefold(), n))


def section_of(delivery: PendingDelivery, order: Sequence[str]) -> str:
    """The watchlist an item stands under: the one whose term stands earliest in it, its title
    first; between lists matched by the same words, the first in `order` (by title)."""
    rank = {name: index for index, name in enumerate(order)}
    places = _Places(delivery.item)
    first = min(
        delivery.matches,
        key=lambda m: (
            places.of(m.text),
            rank.get(m.watchlist, len(rank)),
            m.watchlist,
        ),
    )
    return first.watchlist


def render_digest(
    deliveries: Sequence[PendingDelivery],
    watchlists: Mapping[str, Watchlist],
    *,
    now: datetime,
    fmt: Format = "html",
    tz: tzinfo = UTC,
    limit: int | None = None,
    lang: str = "en",
    updates: Sequence[StoryUpdate] = (),
    archived: Sequence[PendingDelivery] = (),
) -> list[DigestMessage]:
    """Group the deliveries by watchlist (an item that hits several stands once, under the list
    whose term stands earliest in it), then the updates of stories sent before, then the count of
    the `archived` (feeds' archive items, not listed), and cut the result into messages of at most
    `limit` visible characters: Telegram's limit for HTML; plain text for a terminal is not cut
    (no "(continued)" headings) unless a limit is given."""
    if limit is None:
        limit = TELEGRAM_TEXT_LIMIT if fmt == "html" else TERMINAL_UNLIMITED
    deliveries = [d for d in deliveries if d.matches]
    archived = [d for d in archived if d.matches]
    if not deliveries and not updates and not archived:
        return []
    writer = _Writer(fmt, lang)
    titles: dict[str, str] = {name: w.display_title for name, w in watchlists.items()}
    order = _by_title({m.watchlist for d in deliveries for m in d.matches}, titles)
    groups: dict[str, list[PendingDelivery]] = {name: [] for name in order}
    # Newest first: on a phone the top of a section is what is read.
    for delivery in sorted(deliveries, key=lambda d: (moment_of(d.item), d.id), reverse=True):
        groups[section_of(delivery, order)].append(delivery)
    items = len(deliveries) + sum(len(d.merged_ids) for d in deliveries)
    header = writer.bold(_header(writer, len(deliveries), len(updates), items, len(archived)))
    messages: list[DigestMessage] = []
    parts: list[str] = [header]
    ids: list[int] = []
    dangling_heading = False  # a group heading with no item after it yet

    def flush() -> None:
        messages.append(DigestMessage("\n".join(parts).strip("\n"), tuple(ids)))
        parts.clear()
        ids.clear()

    def add(text: str, delivery_ids: tuple[int, ...], continued: str) -> None:
        nonlocal dangling_heading
        if ids and visible_length("\n".join([*parts, text]), fmt) > limit:
            # A heading never ends a message: it moves to the next one with its first item.
            moved = parts.pop() if dangling_heading else continued
            flush()
            if moved and delivery_ids:
                parts.append(moved.lstrip("\n"))
            else:
                text = text.lstrip("\n")
        parts.append(text)
        dangling_heading = not delivery_ids
        ids.extend(delivery_ids)

    for name, members in ((n, m) for n, m in groups.items() if m):
        title = titles.get(name, name)
        continued = writer.heading(writer.say("{title} (continued)", title=title))
        add("\n" + writer.heading(f"{title} ({len(members)})"), (), "")
        for delivery in members:
            block = _item_block(writer, delivery, name, titles, tz, now)
            add(block.body, block.delivery_ids, continued)
    if updates:
        heading = writer.say("Updates to stories already sent")
        continued = writer.heading(writer.say("{title} (continued)", title=heading))
        add("\n" + writer.heading(f"{heading} ({len(updates)})"), (), "")
        for block in _update_blocks(writer, updates, tz, now):
            add(block.body, block.delivery_ids, continued)
    if archived:
        add("\n" + "\n".join(_archive_lines(writer, archive_counts(archived), tz)), (), "")
    flush()
    if archived:
        messages[-1] = replace(messages[-1], archived_ids=tuple(d.id for d in archived))
    return messages


def archive_counts(deliveries: Iterable[PendingDelivery]) -> list[ArchiveCount]:
    """The archive items among `deliveries`, counted by feed: most first."""
    moments: dict[str, list[datetime]] = {}
    for delivery in deliveries:
        moments.setdefault(delivery.item.feed_name, []).append(moment_of(delivery.item))
    return sorted(
        (ArchiveCount(name, len(times), min(times), max(times)) for name, times in moments.items()),
        key=lambda c: (-c.count, c.feed_name),
    )


def _archive_lines(writer: _Writer, counts: Sequence[ArchiveCount], tz: tzinfo) -> list[str]:
    """The feeds' archive items as a digest tells them: not one by one, but a line a feed with
    how many and from when, and where to read them."""
    total = sum(c.count for c in counts)
    lines = [
        writer.heading(
            writer.say("From the archives of feeds read for the first time") + f" ({total})"
        )
    ]
    from babel.dates import format_interval  # as in _when: only a digest being written needs it

    for count in counts:
        dates = format_interval(
            count.oldest.astimezone(tz).date(),
            count.newest.astimezone(tz).date(),
            "yMMMd",
            locale=_DATE_LOCALES.get(writer.lang, writer.lang),
        )
        lines.append(
            writer.esc(
                "  "
                + ntr(
                    writer.lang,
                    "{feed}: {count} item, {dates}",
                    "{feed}: {count} items, {dates}",
                    count.count,
                    feed=shorten(count.feed_name, _FEED_NAME_CAP),
                    dates=dates,
                )
            )
        )
    if writer.fmt == "html":
        lines.append(writer.esc(writer.say("Not news, so not listed: /hits shows them.")))
    else:
        lines.append(writer.say("Not news, so not listed: `feedwatch hits export` writes them."))
    return lines


# Dates as the digest's times read them: "12 Mar", not the American "Mar 12".
_DATE_LOCALES = {"en": "en_GB"}


def _header(writer: _Writer, mentions: int, updates: int, items: int = 0, archived: int = 0) -> str:
    """ "feedwatch · 3 new mentions", with the items they stand for when stories folded copies
    ("· 5 items": one count squares with /stats, the other with what is read), the updates of
    earlier stories, and the feeds' archive items held apart, when there are any."""
    if mentions:
        parts = [
            # translators: the first line of a digest; feedwatch is the bot's name
            ntr(
                writer.lang,
                "feedwatch · {count} new mention",
                "feedwatch · {count} new mentions",
                mentions,
            )
        ]
        if items > mentions:
            parts.append(ntr(writer.lang, "{count} item", "{count} items", items))
    else:
        parts = ["feedwatch"]
    if updates:
        parts.append(
            ntr(
                writer.lang,
                "updates to stories already sent: {count}",
                "updates to stories already sent: {count}",
                updates,
            )
        )
    if archived:
        parts.append(
            ntr(
                writer.lang,
                "{count} older item from archives",
                "{count} older items from archives",
                archived,
            )
        )
    return " · ".join(parts)


def _update_blocks(
    writer: _Writer, updates: Sequence[StoryUpdate], tz: tzinfo, now: datetime
) -> list[_Block]:
    """One line per story sent before: its title, then each outlet that has carried it since,
    linked to its own item, with the time ("+ Meduza 10:40")."""
    by_story: dict[int, list[StoryUpdate]] = {}
    for update in updates:
        by_story.setdefault(update.story.id, []).append(update)
    blocks = []
    for story_updates in by_story.values():
        story = story_updates[0].story
        title = shorten(story.title or story.summary or (story.link or ""), _UPDATE_TITLE_CAP)
        outlets = []
        for update in story_updates:
            item = update.delivery.item
            outlet = shorten(item.feed_name, _FEED_NAME_CAP)
            when = _when(moment_of(item), tz, now, writer.lang)
            outlets.append(f"{writer.link(outlet, item.link)} {writer.esc(when)}")
        body = writer.title_line(title, story.link) + "\n  + " + ", ".join(outlets)
        blocks.append(_Block(body, tuple(row for u in story_updates for row in _rows(u.delivery))))
    return blocks


def _rows(delivery: PendingDelivery) -> tuple[int, ...]:
    return (delivery.id, *delivery.merged_ids)


BACKLOG_LIMIT = 50
"""More pending items than this make a summary, not a digest: counts and the newest items."""
BACKLOG_NEWEST = 10


def render_instant(
    delivery: PendingDelivery,
    watchlists: Mapping[str, Watchlist],
    *,
    now: datetime,
    fmt: Format = "html",
    tz: tzinfo = UTC,
    lang: str = "en",
) -> DigestMessage | None:
    """One hit as its own message (`/every instant`): the watchlist's title, then the item."""
    if not delivery.matches:
        return None
    writer = _Writer(fmt, lang)
    titles = {name: w.display_title for name, w in watchlists.items()}
    group = section_of(delivery, _by_title((m.watchlist for m in delivery.matches), titles))
    block = _item_block(writer, delivery, group, titles, tz, now)
    text = writer.bold(titles.get(group, group)) + "\n" + block.body
    return DigestMessage(text, block.delivery_ids, delivery.thread_id)


def render_instant_update(
    update: StoryUpdate,
    *,
    now: datetime,
    fmt: Format = "html",
    tz: tzinfo = UTC,
    lang: str = "en",
) -> DigestMessage:
    """A new outlet for a story sent before, as its own message (`/every instant`)."""
    writer = _Writer(fmt, lang)
    [block] = _update_blocks(writer, [update], tz, now)
    text = writer.bold(writer.say("Update to a story already sent")) + "\n" + block.body
    return DigestMessage(text, block.delivery_ids, update.delivery.thread_id)


def render_backlog(
    total: int,
    counts: Mapping[str, int],
    newest: Sequence[PendingDelivery],
    watchlists: Mapping[str, Watchlist],
    *,
    now: datetime,
    fmt: Format = "html",
    tz: tzinfo = UTC,
    lang: str = "en",
    archived: Sequence[ArchiveCount] = (),
) -> DigestMessage:
    """A backlog too long for a digest: one message with how many mentions wait in all, how many
    each watchlist has, and the `newest` items, newest first, then the feeds' `archived` items
    counted; the message carries the rows of the items it shows (the others close as summarised,
    and stay in /hits)."""
    writer = _Writer(fmt, lang)
    titles = {name: w.display_title for name, w in watchlists.items()}
    latest = sorted((d for d in newest if d.matches), key=lambda d: (moment_of(d.item), d.id))
    while True:
        lines = [
            writer.bold(
                ntr(
                    writer.lang,
                    "feedwatch · {count} new mentions, too many for one digest",
                    "feedwatch · {count} new mentions, too many for one digest",
                    total,
                )
            ),
            *(
                writer.esc(f"{titles.get(name, name)}: {count}")
                for name, count in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
            ),
            "",
            writer.heading(
                ntr(writer.lang, "The newest {count}", "The newest {count}", len(latest))
            ),
        ]
        for delivery in reversed(latest):
            group = section_of(delivery, _by_title((m.watchlist for m in delivery.matches), titles))
            lines.append(_item_block(writer, delivery, group, titles, tz, now).body)
        lines += ["", writer.esc(writer.say("The rest: /hits 50."))]
        if archived:
            lines += ["", *_archive_lines(writer, archived, tz)]
        text = "\n".join(lines)
        # The newest items alone could pass the limit only with extreme titles: show fewer.
        if visible_length(text, fmt) <= TELEGRAM_TEXT_LIMIT or len(latest) <= 1:
            break
        latest = latest[1:]
    thread = newest[0].thread_id if newest else None
    return DigestMessage(text, tuple(row for d in latest for row in _rows(d)), thread)
