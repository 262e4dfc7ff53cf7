"""What came: `/hits`, the last hits with their words; `/digest`, what is pending, now; and `/stats
[NAME…] [DAYS]`, a chart of the chat's hits per day (per hour for a day or two), one line per
watchlist, in the chat's time zone, with the totals and the busiest day in its caption.

Read-only, so everyone in a group may ask. The hits are counted by `bot.trends.stats` and drawn by
`bot.render.charts` from the same counts, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from io import BytesIO

from telegram import Update
from telegram.constants import ParseMode

from bot.chat.access import Access
from bot.chat.base import Request, Target, codes, command, typed
from bot.chat.group import CommandGroup
from bot.core.domain import Watchlist
from bot.core.limits import HITS_SHOWN_AT_MOST
from bot.core.said import N_
from bot.render import charts
from bot.render.digest import format_moment, shorten, visible_length, zone
from bot.render.i18n import ntr, tr
from bot.render.links import html_link
from bot.services.deliver import Deliverer
from bot.trends.stats import HitCounts, count_hits, default_bucket, window
from bot.trends.stories import moment_of

HITS_BY_DEFAULT = 10
DEFAULT_DAYS = 14
MOST_DAYS = 90
CAPTION_LIMIT = 1024
"""Telegram's limit for a photo's caption, in characters after entity parsing."""
_TITLE_CAP = 60


@dataclass(frozen=True, slots=True)
class StatsRequest:
    """What `/stats` was asked for: watchlist names as typed (none: the chat's own choice) and
    the number of days."""

    names: tuple[str, ...]
    days: int


def stats_request(text: str) -> StatsRequest:
    """`[NAME…] [DAYS]` as typed after /stats: names split on spaces and commas, and a number of
    days (1 to `MOST_DAYS`; the one word made of digits). Raises ValueError when it is not."""
    words = [word for word in text.replace(",", " ").split() if word]
    numbers = [word for word in words if word.isdigit()]
    if len(numbers) > 1:
        raise ValueError("more than one number of days")
    days = int(numbers[0]) if numbers else DEFAULT_DAYS
    if not 1 <= days <= MOST_DAYS:
        raise ValueError(f"{days} days is out of range")
    names = tuple(dict.fromkeys(word for word in words if not word.isdigit()))
    return StatsRequest(names, days)


def heading(counts: HitCounts, zone_name: str, lang: str) -> str:
    """The chart's title and the caption's first line: what is counted, over which days, where."""
    start, end = charts.period(counts.window)
    if counts.window.bucket == "day":
        return tr(
            lang, "Hits per day, {start} – {end} ({zone})", start=start, end=end, zone=zone_name
        )
    return tr(lang, "Hits per hour, {start} – {end} ({zone})", start=start, end=end, zone=zone_name)


def caption(
    counts: HitCounts,
    series: Sequence[charts.Series],
    titles: Mapping[str, str],
    title: str,
    lang: str,
    *,
    limit: int = CAPTION_LIMIT,
) -> str:
    """The photo's caption (HTML): `title`, a line per watchlist with its total, in the order of
    the chart's lines (the lists its "other lists" line sums, each on its own), then the total
    and the busiest day or hour. Lines for lists are left out, and counted, when all would not
    fit in `limit`."""
    head = f"<b>{escape(title)}</b>"
    lines = [
        f"• {escape(_cap(titles.get(name) or name))}: {counts.total_of(name)}"
        for line in series
        for name in line.watchlists
    ]
    busiest = ""
    if counts.busiest is not None:
        start, total = counts.busiest
        when = charts.bucket_label(start, counts.window)
        if counts.window.bucket == "day":
            busiest = " " + ntr(
                lang,
                "Busiest day: {when}, hits: {count}.",
                "Busiest day: {when}, hits: {count}.",
                total,
                when=when,
            )
        else:
            busiest = " " + ntr(
                lang,
                "Busiest hour: {when}, hits: {count}.",
                "Busiest hour: {when}, hits: {count}.",
                total,
                when=when,
            )
    foot = tr(lang, "Total: {total}.", total=counts.total) + busiest

    def text(shown: list[str], left_out: int) -> str:
        more = [tr(lang, "…and {count} more.", count=left_out)] if left_out else []
        return "\n".join([head, *shown, *more, foot])

    for keep in range(len(lines), 0, -1):
        answer = text(lines[:keep], len(lines) - keep)
        if visible_length(answer) <= limit:
            return answer
    return text([], len(lines))


def _cap(text: str) -> str:
    return text if len(text) <= _TITLE_CAP else text[: _TITLE_CAP - 1] + "…"


class HistoryCommands(CommandGroup):
    """The hits a chat got, listed, charted, or sent now."""

    def __init__(self, access: Access, *, deliverer: Deliverer) -> None:
        super().__init__(access)
        self.deliverer = deliverer

    @command("hits", "/hits [N]", N_("the last N hits (10)"), acts="read")
    async def hits(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        text = ask.text
        if text.isdigit() and int(text) > HITS_SHOWN_AT_MOST:
            text = str(HITS_SHOWN_AT_MOST)  # "/hits 500": as many as are shown, not a refusal
        if text and not (text.isdigit() and 1 <= int(text) <= HITS_SHOWN_AT_MOST):
            await self._answer(
                update,
                tr(
                    lang,
                    "Usage: /hits [N], N from 1 to {most} (default {default})",
                    most=HITS_SHOWN_AT_MOST,
                    default=HITS_BY_DEFAULT,
                ),
            )
            return
        count = int(text) if text else HITS_BY_DEFAULT
        found = await self.store.recent_hits(target.id, count)
        if not found:
            await self._answer(
                update, tr(lang, "No hits for {where} yet.", where=target.where(lang))
            )
            return
        zone = target.chat.timezone
        lines = [
            ntr(lang, "<b>The last {count} hit</b>", "<b>The last {count} hits</b>", len(found))
        ]
        for past in found:
            item = past.item
            headline = html_link(escape(shorten(item.title or tr(lang, "(untitled)"))), item.link)
            words = ", ".join(f"«{escape(shorten(m.text, 60))}»" for m in past.matches[:5])
            when = format_moment(moment_of(item), zone, self.clock(), lang)
            # A feed's archive item was counted in a digest, not listed: here it is, marked.
            mark = escape(tr(lang, " · archive")) if item.archived else ""
            lines.append(
                f"• {headline} — {escape(shorten(item.feed_name, 80))}, {when}{mark}"
                + (f"\n   {words}" if words else "")
            )
        # Fifty long titles pass one message's limit: as many messages as they need.
        await self._answer_lines(update, lines)

    @command(
        "stats",
        "/stats [NAME…] [DAYS]",
        N_("a chart of the hits per day (per hour for 1–2 days)"),
        acts="read",
    )
    async def stats(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        try:
            request = stats_request(ask.text)
        except ValueError:
            await self._answer(
                update,
                tr(
                    lang,
                    "Usage: /stats [NAME…] [DAYS]: a chart of the hits of the chat's watchlists, or "
                    "of those named, over the last DAYS days (1 to {most}, {default} if not given).",
                    most=MOST_DAYS,
                    default=DEFAULT_DAYS,
                ),
            )
            return
        lists = await self._lists(update, target, request.names, lang)
        if lists is None:
            return
        # A chat's own list and a shared one may have one title: the own one says so.
        own = tr(lang, "(own)")
        titles = {
            w.name: f"{w.display_title} {own}" if w.owner is not None else w.display_title
            for w in lists
        }
        counts = await asyncio.to_thread(
            self._count, target.id, [w.name for w in lists], request.days, target.chat.timezone
        )
        zone_name = target.chat.timezone or "UTC"
        if counts.total == 0:
            start, end = charts.period(counts.window)
            await self._answer(
                update,
                tr(
                    lang,
                    "No hits for {where} from {start} to {end} ({zone}).",
                    where=target.where(lang),
                    start=start,
                    end=end,
                    zone=escape(zone_name),
                ),
            )
            return
        title = heading(counts, zone_name, lang)
        chart = await asyncio.to_thread(
            charts.draw,
            counts,
            titles,
            # The caption under the photo says it; on a phone the image's room goes to the lines.
            heading="",
            ylabel=tr(lang, "hits"),
            others=lambda count: ntr(lang, "{count} other list", "{count} other lists", count),
        )
        message = update.effective_message
        if message is not None:
            await message.reply_photo(
                BytesIO(chart.png),
                filename="stats.png",
                caption=caption(counts, chart.series, titles, title, lang),
                parse_mode=ParseMode.HTML,
                do_quote=False,
            )

    @command("digest", "/digest", N_("send what is pending now"), acts="read")
    async def digest(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        outcome = await self.deliverer.deliver_now(target.id)
        if outcome.error:
            await self._answer(
                update,
                tr(
                    lang,
                    "The digest could not be sent: {reason}",
                    reason=escape(outcome.error),
                ),
            )
        elif outcome.items == 0 and target.chat.last_digest_at is None:
            await self._answer(
                update,
                tr(
                    lang,
                    "Nothing to send: no digest has come here yet, and nothing the watchlists "
                    "{where} follows has matched since. /subscribe shows the lists, /test tries "
                    "one on a text.",
                    where=target.where(lang),
                ),
            )
        elif outcome.items == 0:
            await self._answer(update, tr(lang, "Nothing new since the last digest."))

    async def _lists(
        self, update: Update, target: Target, names: Sequence[str], lang: str
    ) -> list[Watchlist] | None:
        """The watchlists to chart: those named (the chat's own, or shared ones), else those the
        chat follows; None after saying why there are none."""
        if not names:
            followed = await self.store.chat_watchlists(target.id)
            if followed:
                return followed
            await self._answer(
                update,
                tr(
                    lang,
                    "{where} follows no watchlist yet; /stats NAME charts any of these: "
                    "{available}.",
                    where=target.where(lang, start=True),
                    available=codes(sorted(await self._chartable(target))) or tr(lang, "none yet"),
                ),
            )
            return None
        visible = await self._chartable(target)
        folded = {label.casefold(): watchlist for label, watchlist in visible.items()}
        found: dict[str, Watchlist] = {}
        unknown: list[str] = []
        for name in names:
            watchlist = visible.get(name) or folded.get(name.casefold())
            if watchlist is None:
                unknown.append(name)
            else:
                found[watchlist.name] = watchlist
        if unknown:
            await self._answer(
                update,
                tr(
                    lang,
                    "No watchlist called {names}. /stats can chart: {available}.",
                    names=typed(unknown, lang, code=True),
                    available=codes(sorted(visible)) or tr(lang, "none yet"),
                ),
            )
            return None
        return list(found.values())

    async def _chartable(self, target: Target) -> Mapping[str, Watchlist]:
        """The lists a chat may chart, by the name it uses: the shared ones and its own (which
        win should the operator later configure a name a chat gave its own list)."""
        shared = await self.store.shared_watchlists()
        own = await self.store.own_watchlists(target.id)
        return {w.label: w for w in [*shared, *own]}

    def _count(self, chat_id: int, names: list[str], days: int, timezone: str | None) -> HitCounts:
        """The chat's hits of `names` in the last `days` days, counted in its time zone, by day
        (by hour for a day or two). Runs in a worker thread: it reads the database."""
        now: datetime = self.clock()
        tz = zone(timezone)
        bucket = default_bucket(days)
        span = window(now, days, tz, bucket)
        hits = self.store.sync.chat_hit_times(chat_id, span.start, span.end, names)
        return count_hits(hits, now=now, days=days, tz=tz, bucket=bucket, watchlists=names)
