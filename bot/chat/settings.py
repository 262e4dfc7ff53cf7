"""When a chat gets its digests: `/every` (or each hit as it comes), `/quiet` hours and `/tz`, the time
zone they are read in."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from html import escape

from bot.chat import arguments as parse
from bot.chat.access import Access
from bot.chat.base import Request, Target, command
from bot.chat.group import CommandGroup
from bot.chat.time_zones import offset_label
from bot.core.said import N_
from bot.core.schedule import local_time
from bot.ops.config import format_duration
from bot.render.i18n import tr, translated


class SettingsCommands(CommandGroup):
    """How often and when a chat gets its digests."""

    def __init__(self, access: Access, *, default_interval: timedelta) -> None:
        super().__init__(access)
        self.default_interval = default_interval

    @command(
        "every",
        "/every DURATION|instant",
        N_("how often the digest comes (5m … 7d)"),
        acts="change",
    )
    async def every(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        text = ask.text
        usage = tr(lang, "Usage: /every DURATION (30m, 2h, 1d … 7d) or /every instant")
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
                    interval=format_duration(self.default_interval))
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

    @command("quiet", "/quiet HH:MM-HH:MM|off", N_("no messages in these hours"), acts="change")
    async def quiet(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        usage = tr(lang, "Usage: /quiet HH:MM-HH:MM (or 11pm-7am) or /quiet off")
        if not ask.text:
            # Asked, not told: the chat's quiet hours as they are.
            await self._answer(
                update, f"{self._quiet_now(target.chat.quiet, target, lang)}\n{usage}"
            )
            return
        try:
            hours = parse.quiet_hours(ask.text)
        except ValueError as error:
            await self._answer(update, f"{escape(translated(lang, error))}.\n{usage}")
            return
        await self.store.set_quiet(target.id, hours)
        await self._answer(update, self._quiet_now(hours, target, lang))

    @staticmethod
    def _quiet_now(hours: tuple[int, int] | None, target: Target, lang: str) -> str:
        if hours is None:
            return tr(lang, "No quiet hours: digests come whenever they are due.")
        return tr(
            lang,
            "Quiet from {start} to {end} ({zone}); what comes then is sent when they end. "
            "/tz CITY sets the time zone.",
            start=parse.clock(hours[0]),
            end=parse.clock(hours[1]),
            zone=escape(offset_label(target.chat.timezone or "UTC")),
        )

    @command("tz", "/tz CITY|+3", N_("this chat's time zone"), acts="change")
    async def tz(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        try:
            # The first look-up reads every zone's city names from Babel (a third of a second):
            # off the event loop.
            zone = await asyncio.to_thread(parse.timezone, ask.text)
        except ValueError as error:
            await self._answer(
                update,
                f"{escape(translated(lang, error))}.\n"
                + tr(lang, "Usage: /tz CITY, such as /tz Kyiv, or an offset from UTC: /tz +3"),
            )
            return
        await self.store.set_timezone(target.id, zone)
        now = local_time(self.clock(), zone)
        await self._answer(
            update,
            tr(
                lang,
                "Time zone {zone}: it is {time} there now.",
                zone=escape(offset_label(zone)),
                time=now.strftime("%H:%M"),
            ),
        )
