"""Whether a chat gets anything now: `/spikes` alerts, `/pause` and `/resume`, whose buttons send or
skip what came meanwhile."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.access import Access
from bot.chat.base import Request, button, command
from bot.chat.group import CommandGroup
from bot.core.said import N_
from bot.render.i18n import ntr, tr
from bot.services.deliver import Deliverer
from bot.trends.spikes import COOLDOWN


class DeliveryCommands(CommandGroup):
    """Spike alerts, and delivery paused and resumed."""

    def __init__(self, access: Access, *, deliverer: Deliverer) -> None:
        super().__init__(access)
        self.deliverer = deliverer

    @command(
        "spikes",
        "/spikes on|off",
        N_("an alert at once when a watchlist's hits jump"),
        acts="change",
    )
    async def spikes(self, ask: Request) -> None:
        """`/spikes on|off`: an alert at once when a followed watchlist's hits jump; `/spikes`
        alone says whether they are on."""
        update, target, lang = ask.update, ask.target, ask.lang
        text = ask.text.lower()
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

    @command("pause", "/pause", N_("stop delivery for now"), acts="change")
    async def pause(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        await self.store.pause(target.id)
        await self._answer(
            update,
            tr(
                lang,
                "Paused: nothing is sent until /resume. Hits are still collected, and offered "
                "when you resume.",
            ),
        )

    @command(
        "resume", "/resume", N_("deliver again; what came meanwhile is offered"), acts="change"
    )
    async def resume(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
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
                "Delivery is on. {count} item came in while paused; send it now, or skip it "
                "(it stays in /hits).",
                "Delivery is on. {count} items came in while paused; send them now, or skip them "
                "(they stay in /hits).",
                held,
            ),
            buttons=buttons,
        )

    @button(r"^held:")
    async def held_button(self, ask: Request) -> None:
        """The buttons under /resume's answer: send what came while paused, or skip it."""
        update, target, lang = ask.update, ask.target, ask.lang
        query = update.callback_query
        assert query is not None
        # Either button answers the offer: both go, so that neither is pressed again.
        await self._spend(query, target)
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
                    "Skipped {count} held item; /hits lists it.",
                    "Skipped {count} held items; /hits lists them.",
                    skipped,
                ),
            )
