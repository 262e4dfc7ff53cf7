"""Delivery settings and history: `/every`, `/quiet`, `/tz`, `/pause`, `/resume` (held hits offered
with buttons), `/spikes`, `/digest` and `/hits`."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.chat import arguments as parse
from bot.chat.base import CommandBase, Context, arguments, language
from bot.core.limits import HITS_SHOWN_AT_MOST
from bot.core.schedule import local_time
from bot.ops.config import format_duration
from bot.render.digest import format_moment, shorten
from bot.render.i18n import ntr, tr, translated
from bot.render.links import html_link
from bot.trends.spikes import COOLDOWN
from bot.trends.stories import moment_of

HITS_BY_DEFAULT = 10


class SettingsCommands(CommandBase):
    """How and when a chat gets its hits."""

    async def every(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        lang = language(update)
        text = arguments(update.effective_message)
        usage = tr(lang, "Usage: /every DURATION (5m … 7d) or /every instant")
        try:
            interval = parse.digest_interval(text) if text else None
        except ValueError as error:
            await self._answer(update, f"{escape(translated(lang, error))}.\n{usage}")
            return
        if interval is None:
            current = target.chat.digest_interval
            where = target.where(lang, start=True)
            said = tr(lang, "{where} gets each hit as it comes.", where=where) if target.chat.instant else (
                tr(lang, "{where} gets a digest every {interval}.", where=where,
                    interval=format_duration(current)) if current else
                tr(lang, "{where} gets a digest every {interval} (the default).", where=where,
                    interval=format_duration(self.deliverer.default_interval))
            )  # fmt: skip
            await self._answer(update, f"{said}\n{usage}")
            return
        await self.store.set_digest_interval(target.id, interval)
        if interval == parse.INSTANT:
            await self._answer(
                update,
                tr(
                    lang,
                    "{where} now gets each hit as it comes.",
                    where=target.where(lang, start=True),
                ),
            )
        else:
            await self._answer(
                update,
                tr(
                    lang,
                    "{where} now gets a digest every {interval}.",
                    where=target.where(lang, start=True),
                    interval=format_duration(interval),
                ),
            )

    async def quiet(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        lang = language(update)
        try:
            hours = parse.quiet_hours(arguments(update.effective_message))
        except ValueError as error:
            await self._answer(
                update,
                f"{escape(translated(lang, error))}.\n"
                + tr(lang, "Usage: /quiet HH:MM-HH:MM or /quiet off"),
            )
            return
        await self.store.set_quiet(target.id, hours)
        if hours is None:
            await self._answer(
                update, tr(lang, "No quiet hours: digests come whenever they are due.")
            )
            return
        zone = target.chat.timezone or "UTC"
        await self._answer(
            update,
            tr(
                lang,
                "Quiet from {start} to {end} ({zone}); what comes then is sent when they end. "
                "/tz Area/City sets the time zone.",
                start=parse.clock(hours[0]),
                end=parse.clock(hours[1]),
                zone=escape(zone),
            ),
        )

    async def tz(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        try:
            zone = parse.timezone(arguments(update.effective_message))
        except ValueError as error:
            lang = language(update)
            await self._answer(
                update,
                f"{escape(translated(lang, error))}.\n"
                + tr(lang, "Usage: /tz Area/City, such as /tz Europe/Kyiv"),
            )
            return
        await self.store.set_timezone(target.id, zone)
        now = local_time(self.clock(), zone)
        await self._answer(
            update,
            tr(
                language(update),
                "Time zone {zone}: it is {time} there now.",
                zone=escape(zone),
                time=now.strftime("%H:%M"),
            ),
        )

    async def spikes(self, update: Update, context: Context) -> None:
        """`/spikes on|off`: an alert at once when a followed watchlist's hits jump; `/spikes`
        alone says whether they are on."""
        target = await self._target(update, context, change=True)
        if target is None:
            return
        lang = language(update)
        text = arguments(update.effective_message).lower()
        if text not in ("", "on", "off"):
            await self._answer(update, tr(lang, "Usage: /spikes on|off"))
            return
        if text:
            await self.store.set_spike_alerts(target.id, text == "on")
            on = text == "on"
        else:
            on = await self.store.spike_alerts_on(target.id)
        where = target.where(lang)
        if on:
            answer = tr(
                lang,
                "Spike alerts are on for {where}: when a watchlist it follows gets far more hits "
                "in an hour than usual at that hour, an alert comes at once (silently in quiet "
                "hours), at most one per watchlist in {hours} hours. /spikes off turns them off.",
                where=where,
                hours=int(COOLDOWN.total_seconds() // 3600),
            )
        else:
            answer = tr(
                lang,
                "Spike alerts are off for {where}. /spikes on sends an alert at once when a "
                "watchlist gets far more hits in an hour than usual at that hour.",
                where=where,
            )
        await self._answer(update, answer)

    async def pause(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        await self.store.pause(target.id)
        await self._answer(
            update,
            tr(
                language(update),
                "Paused: nothing is sent until /resume. Hits are still collected, and offered "
                "when you resume.",
            ),
        )

    async def resume(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        lang = language(update)
        held = await self.store.resume(target.id)
        if not held:
            await self._answer(update, tr(lang, "Delivery is on."))
            return
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        # translators: a button under "Delivery is on. … items came in while paused": send them
                        ntr(lang, "Send the {count}", "Send the {count}", held),
                        callback_data="held:send",
                    ),
                    InlineKeyboardButton(tr(lang, "Skip them"), callback_data="held:skip"),
                ]
            ]
        )
        await self._answer(
            update,
            ntr(
                lang,
                "Delivery is on. {count} items came in while paused; send them now, or skip them "
                "(they stay in /hits).",
                "Delivery is on. {count} items came in while paused; send them now, or skip them "
                "(they stay in /hits).",
                held,
            ),
            buttons=buttons,
        )

    async def held_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        lang = language(update)
        target = await self._target(update, context, change=True)
        if target is None:
            await query.answer(tr(lang, "Only administrators can change this."))
            return
        if query.data == "held:send":
            released = await self.store.release_held(target.id)
            await query.answer(tr(lang, "Sending {count}.", count=released))
            if released:
                await self.deliverer.deliver_now(target.id)
        else:
            skipped = await self.store.skip_held(target.id, self.clock())
            await query.answer(tr(lang, "Skipped {count}.", count=skipped))
            await self._answer(
                update,
                ntr(
                    lang,
                    "Skipped {count} held items; /hits lists them.",
                    "Skipped {count} held items; /hits lists them.",
                    skipped,
                ),
            )

    async def digest(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        outcome = await self.deliverer.deliver_now(target.id)
        if outcome.error:
            await self._answer(
                update,
                tr(
                    language(update),
                    "The digest could not be sent: {reason}",
                    reason=escape(outcome.error),
                ),
            )
        elif outcome.items == 0:
            await self._answer(update, tr(language(update), "Nothing new since the last digest."))

    async def hits(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        text = arguments(update.effective_message)
        if text and not (text.isdigit() and 1 <= int(text) <= HITS_SHOWN_AT_MOST):
            await self._answer(
                update,
                tr(
                    language(update),
                    "Usage: /hits [N], N from 1 to {most} (default {default})",
                    most=HITS_SHOWN_AT_MOST,
                    default=HITS_BY_DEFAULT,
                ),
            )
            return
        count = int(text) if text else HITS_BY_DEFAULT
        found = await self.store.recent_hits(target.id, count)
        if not found:
            lang = language(update)
            await self._answer(
                update, tr(lang, "No hits for {where} yet.", where=target.where(lang))
            )
            return
        zone = target.chat.timezone
        lang = language(update)
        lines = [
            ntr(lang, "<b>The last {count} hits</b>", "<b>The last {count} hits</b>", len(found))
        ]
        for past in found:
            item = past.item
            headline = html_link(escape(shorten(item.title or tr(lang, "(untitled)"))), item.link)
            words = ", ".join(f"«{escape(shorten(m.text, 60))}»" for m in past.matches[:5])
            when = format_moment(moment_of(item), zone, self.clock())
            lines.append(
                f"• {headline} — {escape(shorten(item.feed_name, 80))}, {when}"
                + (f"\n   {words}" if words else "")
            )
        # Fifty long titles pass one message's limit: as many messages as they need.
        await self._answer_lines(update, lines)
