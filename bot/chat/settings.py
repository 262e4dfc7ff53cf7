"""Delivery settings and history: `/every`, `/quiet`, `/tz`, `/pause`, `/resume` (held hits offered
with buttons), `/digest` and `/hits`."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.chat import arguments as parse
from bot.chat.base import CommandBase, Context, arguments
from bot.config import format_duration
from bot.digest import format_moment
from bot.limits import HITS_SHOWN_AT_MOST
from bot.schedule import local_time

HITS_BY_DEFAULT = 10


class SettingsCommands(CommandBase):
    """How and when a chat gets its hits."""

    async def every(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        text = arguments(update.effective_message)
        try:
            interval = parse.digest_interval(text) if text else None
        except ValueError as error:
            await self._answer(
                update, f"{escape(str(error))}.\nUsage: /every DURATION (5m … 7d) or /every instant"
            )
            return
        if interval is None:
            current = target.chat.digest_interval
            said = "each hit as it comes" if target.chat.instant else (
                f"a digest every {format_duration(current)}" if current else
                f"a digest every {format_duration(self.deliverer.default_interval)} (the default)"
            )  # fmt: skip
            await self._answer(
                update,
                f"{target.where().capitalize()} gets {said}.\nUsage: /every DURATION (5m … 7d) or /every instant",
            )
            return
        await asyncio.to_thread(self.repo.set_digest_interval, target.id, interval)
        if interval == parse.INSTANT:
            await self._answer(
                update, f"{target.where().capitalize()} now gets each hit as it comes."
            )
        else:
            await self._answer(
                update,
                f"{target.where().capitalize()} now gets a digest every {format_duration(interval)}.",
            )

    async def quiet(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        try:
            hours = parse.quiet_hours(arguments(update.effective_message))
        except ValueError as error:
            await self._answer(
                update, f"{escape(str(error))}.\nUsage: /quiet HH:MM-HH:MM or /quiet off"
            )
            return
        await asyncio.to_thread(self.repo.set_quiet, target.id, hours)
        if hours is None:
            await self._answer(update, "No quiet hours: digests come whenever they are due.")
            return
        zone = target.chat.timezone or "UTC"
        await self._answer(
            update,
            f"Quiet from {parse.clock(hours[0])} to {parse.clock(hours[1])} ({escape(zone)}); what "
            "comes then is sent when they end. /tz Area/City sets the time zone.",
        )

    async def tz(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        try:
            zone = parse.timezone(arguments(update.effective_message))
        except ValueError as error:
            await self._answer(
                update, f"{escape(str(error))}.\nUsage: /tz Area/City, such as /tz Europe/Kyiv"
            )
            return
        await asyncio.to_thread(self.repo.set_timezone, target.id, zone)
        now = local_time(self.clock(), zone)
        await self._answer(update, f"Time zone {escape(zone)}: it is {now:%H:%M} there now.")

    async def pause(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        await asyncio.to_thread(self.repo.pause, target.id)
        await self._answer(
            update,
            "Paused: nothing is sent until /resume. Hits are still collected, and offered when "
            "you resume.",
        )

    async def resume(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        held = await asyncio.to_thread(self.repo.resume, target.id)
        if not held:
            await self._answer(update, "Delivery is on.")
            return
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(f"Send the {held}", callback_data="held:send"),
                    InlineKeyboardButton("Skip them", callback_data="held:skip"),
                ]
            ]
        )
        await self._answer(
            update,
            f"Delivery is on. {held} items came in while paused; send them now, or skip them "
            "(they stay in /hits).",
            buttons=buttons,
        )

    async def held_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        target = await self._target(update, context, change=True)
        if target is None:
            await query.answer("Only administrators can change this.")
            return
        if query.data == "held:send":
            released = await asyncio.to_thread(self.repo.release_held, target.id)
            await query.answer(f"Sending {released}.")
            if released:
                await self.deliverer.deliver_now(target.id)
        else:
            skipped = await asyncio.to_thread(self.repo.skip_held, target.id, self.clock())
            await query.answer(f"Skipped {skipped}.")
            await self._answer(update, f"Skipped {skipped} held items; /hits lists them.")

    async def digest(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        outcome = await self.deliverer.deliver_now(target.id)
        if outcome.error:
            await self._answer(update, f"The digest could not be sent: {escape(outcome.error)}")
        elif outcome.items == 0:
            await self._answer(update, "Nothing new since the last digest.")

    async def hits(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        text = arguments(update.effective_message)
        if text and not (text.isdigit() and 1 <= int(text) <= HITS_SHOWN_AT_MOST):
            await self._answer(
                update,
                f"Usage: /hits [N], N from 1 to {HITS_SHOWN_AT_MOST} (default {HITS_BY_DEFAULT})",
            )
            return
        count = int(text) if text else HITS_BY_DEFAULT
        found = await asyncio.to_thread(self.repo.recent_hits, target.id, count)
        if not found:
            await self._answer(update, f"No hits for {target.where()} yet.")
            return
        zone = target.chat.timezone
        lines = [f"<b>The last {len(found)} hits</b>"]
        for past in found:
            item = past.item
            title = escape(item.title or "(untitled)")
            headline = (
                f'<a href="{escape(item.link, quote=True)}">{title}</a>' if item.link else title
            )
            words = ", ".join(f"«{escape(m.text)}»" for m in past.matches[:5])
            when = format_moment(item.published or item.seen_at, zone, self.clock())
            lines.append(
                f"• {headline} — {escape(item.feed_name)}, {when}"
                + (f"\n   {words}" if words else "")
            )
        await self._answer(update, "\n".join(lines))
