"""Watchlist commands: follow shared lists, keep the chat's own (`/watch`, `/exclude`, `/require`,
`/unwatch`), see them with buttons (`/watchlists`), try them on text (`/test`) and find the names
they miss (`/suggest`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import MessageHandler, filters

from bot.chat import arguments as parse
from bot.chat.base import (
    AnyApplication,
    Request,
    Target,
    button,
    codes,
    command,
    commands_of,
    fitted,
    refusal,
    topic_label,
    typed,
)
from bot.chat.group import CommandGroup
from bot.core.domain import Match, TermContext, Watchlist
from bot.core.errors import RefusedError
from bot.core.matching import Matcher, NearMiss, near_misses
from bot.core.matching.spellings import other_spellings
from bot.core.matching.suggestions import Suggester, Suggestion
from bot.core.said import N_
from bot.render.digest import TELEGRAM_TEXT_LIMIT, shorten, visible_length
from bot.render.i18n import ntr, tr, translated
from bot.sources.parsing import html_to_text
from bot.storage.asynchronous import AsyncStorage
from bot.storage.chats import TermRole
from bot.storage.repository import SubscribeResult

_CALLBACK_LIMIT = 64  # bytes of callback data Telegram keeps
_SPELLINGS_OFFERED = 8  # buttons under a /watch answer, at most
SUGGEST_DAYS = 30
SUGGEST_ITEMS = 50_000  # the newest items /suggest reads, at most: a few seconds of work
SUGGESTIONS_SHOWN = 10
_WORDS_SHOWN = 10  # matched words /test shows per watchlist


def _list_line(watchlist: Watchlist) -> str:
    title = f" — {escape(watchlist.title)}" if watchlist.title else ""
    return f"• <code>{escape(watchlist.label)}</code>{title}"


TERMS_SHOWN_AT_MOST = 600
"""Characters of a list's terms `/watchlists` shows."""


def context_sentence(context: TermContext, lang: str) -> str:
    """What a term's context means, as a chat reads it."""
    parts = []
    if context.near:
        parts.append(
            ntr(
                lang,
                "«{term}» is a hit only within {count} word of: {words}.",
                "«{term}» is a hit only within {count} words of: {words}.",
                context.within,
                term=context.term,
                words=", ".join(context.near),
            )
        )
    if context.not_near:
        parts.append(
            ntr(
                lang,
                "«{term}» is not a hit within {count} word of: {words}.",
                "«{term}» is not a hit within {count} words of: {words}.",
                context.within,
                term=context.term,
                words=", ".join(context.not_near),
            )
        )
    return " ".join(parts)


def _term_shown(term: str, contexts: Mapping[str, TermContext], lang: str) -> str:
    """A term as /watchlists lists it, with its context: РДК (near боец, корпус)."""
    context = contexts.get(term)
    if context is None:
        return term
    parts = [tr(lang, "near {words}", words=", ".join(context.near))] if context.near else []
    if context.not_near:
        parts.append(tr(lang, "not near {words}", words=", ".join(context.not_near)))
    return f"{term} ({'; '.join(parts)})"


def _terms_line(watchlist: Watchlist, lang: str) -> str:
    """A list's terms on one line, cut short when long: 200 terms of 200 characters would not
    fit in a message (/export gives them all)."""
    contexts = {context.term: context for context in watchlist.contexts}
    parts = [", ".join(_term_shown(term, contexts, lang) for term in watchlist.terms)]
    if watchlist.require:
        parts.append(tr(lang, "requires: {terms}", terms=", ".join(watchlist.require)))
    if watchlist.exclude:
        parts.append(tr(lang, "except: {terms}", terms=", ".join(watchlist.exclude)))
    return "   " + escape(shorten("; ".join(parts), TERMS_SHOWN_AT_MOST))


def _sentence(text: str) -> str:
    """Capitalised as a sentence, the rest as typed (a term is quoted as the user wrote it)."""
    return text[:1].upper() + text[1:]


async def visible_names(store: AsyncStorage, target: Target) -> list[str]:
    """The watchlists a chat may follow: the shared ones and its own."""
    shared = await store.shared_watchlists()
    own = await store.own_watchlists(target.id)
    return sorted({w.label for w in shared} | {w.label for w in own})


def _list_name(watchlist: Watchlist) -> str:
    """A list as /test names it: its name, then its title when it has one of its own."""
    name = f"<code>{escape(watchlist.label)}</code>"
    title = watchlist.display_title
    return name if title == watchlist.label else f"{name} {escape(title)}"


def _words(matches: Sequence[Match], lang: str = "en") -> str:
    """The words a list matched, each with its term, and the context word that let it match:
    «РДК» (РДК, near «бойцы»)."""
    return ", ".join(
        f"«{escape(parse.shown(m.text))}» ({escape(m.term)}"
        + (", " + tr(lang, "near «{word}»", word=escape(parse.shown(m.near))) if m.near else "")
        + ")"
        for m in matches[:_WORDS_SHOWN]
    )


def _found_line(watchlist: Watchlist, matches: Sequence[Match], lang: str) -> str:
    return f"• {_list_name(watchlist)}: {_words(matches, lang)}"


def _near_line(miss: NearMiss, lang: str) -> str:
    """A list whose terms are in the text, and why it still would not match."""
    name = _list_name(miss.watchlist)
    if miss.excluded_by:
        return "• " + tr(
            lang,
            "{name} would not match: {words} are there, but it is excluded by {excluded}.",
            name=name,
            words=_words(miss.found),
            excluded=", ".join(f"«{escape(parse.shown(m.text))}»" for m in miss.excluded_by),
        )
    return "• " + tr(
        lang,
        "{name} would not match: {words} are there, but none of its required terms ({required}).",
        name=name,
        words=_words(miss.found),
        required=escape(", ".join(miss.watchlist.require)),
    )


# Examples in the reader's language, each sensible for its command: an exclusion takes out another
# meaning of a name (Курская, the Moscow metro station), a required term narrows it.
_EXAMPLES: dict[str, dict[str, str]] = {
    "terms": {
        "en": "/watch kursk Kursk, Kursk region",
        "ru": "/watch kursk Курск, Курская область",
        "uk": "/watch kursk Курськ, Курська область",
    },
    "exclude": {
        "en": "/exclude kursk Kurskaya metro station",
        "ru": "/exclude kursk станция метро Курская, Курский вокзал",
        "uk": "/exclude kursk станція метро Курська, Курський вокзал",
    },
    "require": {
        "en": "/require rdk raid, border, prisoners",
        "ru": "/require rdk рейд, граница, пленные",
        "uk": "/require rdk рейд, кордон, полонені",
    },
}


def _example(role: TermRole, lang: str) -> str:
    examples = _EXAMPLES[role]
    return examples.get(lang, examples["en"])


class ListCommands(CommandGroup):
    """The watchlist commands."""

    @command(
        "subscribe",
        "/subscribe NAME…",
        N_("follow shared watchlists, e.g. /subscribe rvc kursk"),
        acts="change",
    )
    async def subscribe(self, ask: Request) -> None:
        await self._change_subscriptions(ask, subscribe=True)

    @command("unsubscribe", "/unsubscribe NAME…", N_("stop following watchlists"), acts="change")
    async def unsubscribe(self, ask: Request) -> None:
        await self._change_subscriptions(ask, subscribe=False)

    async def _change_subscriptions(self, ask: Request, *, subscribe: bool) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        names = [part for part in ask.text.replace(",", " ").split()]
        command = "subscribe" if subscribe else "unsubscribe"
        if not names:
            await self._answer(
                update,
                tr(lang, "Usage: /{command} NAME…", command=command)
                + "\n"
                + tr(
                    lang,
                    "Watchlists: {available}",
                    available=codes(await visible_names(self.store, target))
                    or tr(lang, "none yet"),
                ),
            )
            return
        if subscribe:
            result = await self.store.subscribe(
                target.id, names, self.clock(), thread_id=target.thread_id
            )
        else:
            result = await self.store.unsubscribe(target.id, names)
        await self._answer(update, await self._describe(target, result, lang, subscribe=subscribe))

    async def _describe(
        self, target: Target, result: SubscribeResult, lang: str, *, subscribe: bool
    ) -> str:
        lines = []
        if result.changed:
            names = codes(result.changed)
            lines.append(
                tr(lang, "Now following: {names}.", names=names)
                if subscribe
                else tr(lang, "No longer following: {names}.", names=names)
            )
        if result.unchanged:
            names = codes(result.unchanged)
            lines.append(
                tr(lang, "Already following: {names}.", names=names)
                if subscribe
                else tr(lang, "Was not following: {names}.", names=names)
            )
        if result.unknown:
            available = codes(await visible_names(self.store, target)) or tr(lang, "none yet")
            lines.append(
                tr(
                    lang,
                    "No watchlist called {names}. Available: {available}. Make your own with "
                    "/watch NAME TERM, TERM…",
                    names=typed(result.unknown, lang, code=True),
                    available=available,
                )
            )
        if subscribe and result.changed and target.thread_id is not None:
            lines.append(
                tr(
                    lang,
                    "New mentions from now on come to the topic {topic}.",
                    topic=topic_label(target.thread_id, target.thread_title),
                )
            )
        elif subscribe and result.changed:
            lines.append(
                tr(
                    lang,
                    "New mentions from now on come in {where}'s digest.",
                    where=target.where(lang),
                )
            )
        return "\n".join(lines)

    # --- the chat's own lists ---------------------------------------------------------------

    @command(
        "watch",
        "/watch NAME TERM[, TERM…]",
        N_("make your own watchlist or add terms to it"),
        acts="change",
    )
    async def watch(self, ask: Request) -> None:
        await self._add_terms(ask, "terms", "watch")

    @command(
        "exclude",
        "/exclude NAME TERM[, …]",
        N_("an item with one of these is not a hit"),
        acts="change",
    )
    async def exclude(self, ask: Request) -> None:
        await self._add_terms(ask, "exclude", "exclude")

    @command(
        "require",
        "/require NAME TERM[, …]",
        N_("an item must also have one of these"),
        acts="change",
    )
    async def require(self, ask: Request) -> None:
        await self._add_terms(ask, "require", "require")

    async def _add_terms(self, ask: Request, role: TermRole, command: str) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        phrase = None
        contexts: list[TermContext] = []
        try:
            in_context = parse.watch_in_context(ask.text) if role == "terms" else None
            if in_context is not None:
                label, context = in_context
                terms, contexts = [context.term], [context]
            else:
                if role == "terms":
                    own = [w.label for w in await self.store.own_watchlists(target.id)]
                    phrase = parse.phrase_watch(ask.text, own)
                label, terms = phrase or parse.name_and_terms(ask.text)
        except ValueError as error:
            await self._answer(
                update,
                f"{_sentence(escape(translated(lang, error)))}.\n"
                + tr(lang, "Usage: /{command} NAME TERM[, TERM…]", command=command)
                + "\n"
                + tr(lang, "For example: {example}", example=_example(role, lang)),
            )
            return
        try:
            result = await self.store.add_terms(
                target.id,
                label,
                role,
                terms,
                self.clock(),
                thread_id=target.thread_id,
                contexts=contexts,
            )
        except RefusedError as error:
            await self._answer(
                update, tr(lang, "Not done: {reason}.", reason=refusal(update, error))
            )
            return
        lines = []
        if result.created:
            lines.append(
                tr(
                    lang,
                    "Created the watchlist {name} for {where}.",
                    name=codes([label]),
                    where=target.where(lang),
                )
            )
        if result.added:
            said = ", ".join(escape(t) for t in result.added)
            lines.append(
                {
                    "terms": tr(lang, "Added to its terms: {terms}.", terms=said),
                    "require": tr(lang, "Added to its required terms: {terms}.", terms=said),
                    "exclude": tr(lang, "Added to its exclusions: {terms}.", terms=said),
                }[role]
            )
        if result.already and not contexts:
            lines.append(
                tr(
                    lang,
                    "Already there: {terms}.",
                    terms=", ".join(escape(t) for t in result.already),
                )
            )
        lines.extend(escape(context_sentence(context, lang)) for context in contexts)
        if phrase is not None and result.created:
            lines.append(
                tr(
                    lang,
                    "The whole phrase is one term. To name the list yourself and give several "
                    "terms: /watch NAME TERM, TERM…",
                )
            )
        if result.created:
            lines.append(
                tr(lang, "New mentions come in the digest; /test TEXT tries it on any text.")
            )
        offers = await self._spellings(target.id, label, result.added) if role == "terms" else []
        keyboard = None
        if offers:
            lines.append(tr(lang, "The same name in the other scripts; add these too?"))
            keyboard = InlineKeyboardMarkup([[offer] for offer in offers])
        await self._answer(update, "\n".join(lines), buttons=keyboard)

    async def _spellings(
        self, chat_id: int, label: str, added: Sequence[str]
    ) -> list[InlineKeyboardButton]:
        """A button for each spelling in the other scripts of the names just added that the list
        lacks (Kursk → Курск, Курськ); none is added until pressed."""
        if not added:
            return []
        own = {w.label: w for w in await self.store.own_watchlists(chat_id)}.get(label)
        held = {term.casefold() for term in own.terms} if own is not None else set()
        offered = await asyncio.to_thread(
            lambda: [s.text for term in added for s in other_spellings(term)]
        )
        buttons = []
        for text in dict.fromkeys(offered):
            data = f"also:{label}:{text}"
            if text.casefold() not in held and len(data.encode()) <= _CALLBACK_LIMIT:
                buttons.append(InlineKeyboardButton(f"+ {text}", callback_data=data))
        return buttons[:_SPELLINGS_OFFERED]

    @command(
        "suggest",
        "/suggest NAME",
        N_("names your list is missing, seen in the last 30 days"),
        acts="read",
    )
    async def suggest(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        label = ask.text.strip()
        own = {w.label: w for w in await self.store.own_watchlists(target.id)}
        shared = {w.label: w for w in await self.store.shared_watchlists()}
        watchlist = own.get(label) or shared.get(label)
        if watchlist is None:
            names = ", ".join(sorted(own)) or "—"
            await self._answer(
                update,
                escape(
                    tr(lang, "Usage: /suggest NAME, one of this chat's lists: {names}", names=names)
                ),
            )
            return
        now = self.clock()
        found, read = await asyncio.to_thread(self._suggestions, watchlist, now)
        if not found:
            await self._answer(
                update,
                escape(
                    ntr(
                        lang,
                        "Nothing {name} misses in the {count} item of the last {days} days.",
                        "Nothing {name} misses in the {count} items of the last {days} days.",
                        read,
                        name=label,
                        days=SUGGEST_DAYS,
                    )
                ),
            )
            return
        lines = [
            escape(
                ntr(
                    lang,
                    "Names {name} nearly matched in the {count} item of the last {days} days:",
                    "Names {name} nearly matched in the {count} items of the last {days} days:",
                    read,
                    name=label,
                    days=SUGGEST_DAYS,
                )
            )
        ]
        buttons = []
        for suggestion in found:
            lines.append(
                "• «"
                + escape(parse.shown(suggestion.phrase))
                + "» "
                + escape(
                    ntr(
                        lang,
                        "({count} item, nearly {term})",
                        "({count} items, nearly {term})",
                        suggestion.count,
                        term=suggestion.term,
                    )
                )
            )
            data = f"also:{label}:{suggestion.phrase}"
            if watchlist.owner is not None and len(data.encode()) <= _CALLBACK_LIMIT:
                buttons.append([InlineKeyboardButton(f"+ {suggestion.phrase}", callback_data=data)])
        if watchlist.owner is None:
            lines.append(escape(tr(lang, "A shared list: its operator adds terms to it.")))
        await self._answer(
            update, "\n".join(lines), buttons=InlineKeyboardMarkup(buttons) if buttons else None
        )

    def _suggestions(self, watchlist: Watchlist, now: datetime) -> tuple[list[Suggestion], int]:
        """The near misses of `watchlist` in the items seen in the last `SUGGEST_DAYS` days (at
        most `SUGGEST_ITEMS` of them, the newest), the best first; and how many items were read.
        Runs in a worker thread: it reads pages of items and matches them."""
        suggester = Suggester([watchlist])
        # The window ends just after now: an item stored this second counts.
        since, now = now - timedelta(days=SUGGEST_DAYS), now + timedelta(seconds=1)
        total = self.store.sync.count_items_seen(since, now)
        after, read = 0, 0
        if total > SUGGEST_ITEMS:
            # The newest: skip the oldest pages by id, one query, none of their text.
            after = self.store.sync.nth_item_id_seen(since, now, total - SUGGEST_ITEMS)
        while read < SUGGEST_ITEMS:
            page = self.store.sync.items_seen(since, now, after_id=after, limit=1000)
            if not page:
                break
            for item in page:
                suggester.add(str(item.id), item.title, item.summary)
            read += len(page)
            after = page[-1].id
        ranked = suggester.ranked().get(watchlist.name, [])
        return ranked[:SUGGESTIONS_SHOWN], read

    @button(r"^also:")
    async def spelling_button(self, ask: Request) -> None:
        """ "Add these too": one spelling of a name offered after /watch goes into the list."""
        update, target, lang = ask.update, ask.target, ask.lang
        query = update.callback_query
        assert query is not None
        _, label, term = ask.text.split(":", 2)
        try:
            result = await self.store.add_terms(target.id, label, "terms", [term], self.clock())
            text = (
                tr(lang, "Added {term} to {name}.", term=term, name=label)
                if result.added
                else tr(lang, "Already there: {terms}.", terms=term)
            )
        except RefusedError as error:
            text = tr(lang, "Not done: {reason}.", reason=tr(lang, error.template, **error.params))
        await query.answer(text[:200])
        await self._spend(query, target, only=ask.text)
        await self._answer(update, escape(text))

    @command(
        "unwatch", "/unwatch NAME [TERM, …]", N_("remove terms, or the whole list"), acts="change"
    )
    async def unwatch(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        label, _, rest = ask.text.partition(" ")
        if not label:
            await self._answer(
                update,
                tr(
                    lang,
                    "Usage: /unwatch NAME [TERM, …]: without terms, the whole list goes",
                ),
            )
            return
        try:
            parse.label(label)
        except ValueError as error:
            await self._answer(update, f"{_sentence(escape(translated(lang, error)))}.")
            return
        try:
            if rest.strip():
                terms = [t.strip() for t in rest.split(",") if t.strip()]
                removed, missing = await self.store.remove_terms(
                    target.id, label, terms, self.clock()
                )
                lang, name = lang, f"<code>{escape(label)}</code>"
                lines = []
                if removed:
                    said = ", ".join(escape(t) for t in removed)
                    lines.append(tr(lang, "Removed from {name}: {terms}.", name=name, terms=said))
                if missing:
                    said = typed(missing, lang)
                    lines.append(tr(lang, "Not in {name}: {terms}.", name=name, terms=said))
                await self._answer(update, "\n".join(lines))
            else:
                await self._confirm_removal(update, target, label, lang)
        except RefusedError as error:
            reason = refusal(update, error)
            await self._answer(update, tr(lang, "Not done: {reason}.", reason=reason))

    # --- seeing them ------------------------------------------------------------------------

    @command("watchlists", "/watchlists", N_("what this chat follows, with buttons"), acts="read")
    async def watchlists(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        followed = await self.store.chat_watchlists(target.id)
        shared = await self.store.shared_watchlists()
        topics = await self.store.followed_topics(target.id)
        lines: list[str] = []
        buttons: list[list[InlineKeyboardButton]] = []
        if followed:
            lines.append(tr(lang, "<b>{where} follows</b>", where=target.where(lang, start=True)))
            for watchlist in followed:
                # translators: after a watchlist's name in /watchlists: the chat made it, it is not shared
                own = " " + tr(lang, "(own)") if watchlist.owner is not None else ""
                topic = topics.get(watchlist.name)
                where = (
                    " · " + tr(lang, "in the topic {topic}", topic=topic_label(*topic))
                    if topic is not None
                    else ""
                )
                lines.append(f"{_list_line(watchlist)}{own}{where}\n{_terms_line(watchlist, lang)}")
                action = "rm" if watchlist.owner is not None else "unsub"
                data = f"{action}:{watchlist.label}"
                if len(data.encode()) <= _CALLBACK_LIMIT:
                    verb = (
                        tr(lang, "Remove {name}", name=watchlist.label)
                        if watchlist.owner is not None
                        else tr(lang, "Unsubscribe {name}", name=watchlist.label)
                    )
                    buttons.append([InlineKeyboardButton(verb, callback_data=data)])
        else:
            lines.append(
                # translators: {where} is "This chat" or "The channel …", as translated on their own
                tr(lang, "{where} follows no watchlist yet.", where=target.where(lang, start=True))
            )
        following = {w.name for w in followed}
        others = [w for w in shared if w.name not in following]
        if others:
            lines += ["", tr(lang, "<b>Also available</b>"), *(_list_line(w) for w in others)]
            lines.append(
                tr(lang, "Follow one with /subscribe NAME, or make your own with /watch NAME TERM.")
            )
        await self._answer_lines(
            update, lines, buttons=InlineKeyboardMarkup(buttons) if buttons else None
        )

    async def _confirm_removal(self, update: Update, target: Target, label: str, lang: str) -> None:
        """Ask before a whole list goes: a slip of the finger must not cost a list of 40 terms.
        (A name too long for a button's data is removed at once, as before.)"""
        own = {w.label: w for w in await self.store.own_watchlists(target.id)}
        watchlist = own.get(label)
        data = f"rmyes:{label}"
        if watchlist is None or len(data.encode()) > _CALLBACK_LIMIT:
            await self.store.remove_list(target.id, label)  # refuses an unknown name with why
            await self._answer(
                update,
                tr(
                    lang,
                    "Removed the watchlist {name}; its past hits stay in /hits.",
                    name=codes([label]),
                ),
            )
            return
        count = len(watchlist.terms) + len(watchlist.require) + len(watchlist.exclude)
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(tr(lang, "Remove {name}", name=label), callback_data=data),
                    InlineKeyboardButton(tr(lang, "Keep it"), callback_data=f"keep:{label}"),
                ]
            ]
        )
        await self._answer(
            update,
            ntr(
                lang,
                "Remove the watchlist {name} and its {count} term? Its past hits stay in /hits.",
                "Remove the watchlist {name} and its {count} terms? Its past hits stay in /hits.",
                count,
                name=codes([label]),
            ),
            buttons=keyboard,
        )

    @button(r"^(rmyes|keep):")
    async def removal_button(self, ask: Request) -> None:
        """The answer to `_confirm_removal`: remove the list, or keep it; the question's buttons go."""
        update, target, lang = ask.update, ask.target, ask.lang
        query = update.callback_query
        assert query is not None
        action, _, label = ask.text.partition(":")
        await self._spend(query, target)
        if action == "keep":
            await query.answer(tr(lang, "Kept {name}.", name=label)[:200])
            return
        try:
            await self.store.remove_list(target.id, label)
            text = tr(
                lang, "Removed the watchlist {name}; its past hits stay in /hits.", name=label
            )
        except RefusedError as error:
            text = tr(lang, "Not done: {reason}.", reason=tr(lang, error.template, **error.params))
        await query.answer(text[:200])
        await self._answer(update, escape(text))

    @button(r"^(rm|unsub):")
    async def list_button(self, ask: Request) -> None:
        """The buttons under /watchlists: unsubscribe from a shared list, or ask before an own one
        is removed."""
        update, target, lang = ask.update, ask.target, ask.lang
        query = update.callback_query
        assert query is not None
        action, _, label = ask.text.partition(":")
        if action == "rm":
            await query.answer()
            await self._spend(query, target, only=ask.text)
            await self._confirm_removal(update, target, label, lang)
            return
        try:
            result = await self.store.unsubscribe(target.id, [label])
            text = (
                tr(lang, "No longer following {name}.", name=label)
                if result.changed
                else tr(lang, "Was not following {name}.", name=label)
            )
        except RefusedError as error:
            text = tr(lang, "Not done: {reason}.", reason=tr(lang, error.template, **error.params))
        await query.answer(text[:200])
        await self._spend(query, target, only=ask.text)
        await self._answer(update, escape(text))

    @command(
        "test",
        "/test TEXT",
        N_("which watchlists would match TEXT, and the words that did"),
        acts="read",
    )
    async def test(self, ask: Request) -> None:
        await self._try(ask, hint="")

    async def free_text(self, ask: Request) -> None:
        """Text sent in a private chat with no command: tried as /test, and said so."""
        hint = tr(ask.lang, "Any text sent here is tried as with /test; /help lists the commands.")
        await self._try(ask, hint="\n\n" + hint)

    def install(self, application: AnyApplication) -> None:
        super().install(application)
        [test] = [mark for mark, attribute in commands_of(type(self)) if mark.name == "test"]
        application.add_handler(
            MessageHandler(
                filters.UpdateType.MESSAGE
                & filters.ChatType.PRIVATE
                & filters.TEXT
                & ~filters.COMMAND,
                self._preamble(test, self.free_text, plain_text=True),
            )
        )

    async def _try(self, ask: Request, *, hint: str) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        text = ask.text
        if not text:
            await self._answer(update, tr(lang, "Usage: /test TEXT"))
            return
        followed = await self.store.chat_watchlists(target.id)
        shared = await self.store.shared_watchlists()
        own = bool(followed)
        if not followed:
            followed = shared
        plain = html_to_text(text)
        others = [w for w in shared if w.name not in {f.name for f in followed}]

        def judge() -> tuple[dict[str, tuple[Match, ...]], list[NearMiss], list[Watchlist]]:
            # Compiling reads the dictionaries for new terms: off the event loop, like the match.
            found = Matcher(followed).match(plain)
            misses = near_misses([w for w in followed if w.name not in found], plain)
            would = Matcher(others).match(plain) if others else {}
            return found, misses, [w for w in others if w.name in would]

        found, misses, suggested = await asyncio.to_thread(judge)
        where = target.where(lang)
        lines = [_found_line(w, found[w.name], lang) for w in followed if w.name in found]
        lines += [_near_line(miss, lang) for miss in misses]
        lines += [
            tr(
                lang,
                "/subscribe {name} would also catch this ({title}).",
                name=escape(w.label),
                title=escape(w.display_title),
            )
            for w in suggested
        ]
        if found:
            head = (
                tr(lang, "Would match, of {where}'s watchlists:", where=where)
                if own
                else tr(
                    lang,
                    "Would match, of the available watchlists ({where} follows none yet):",
                    where=where,
                )
            )
        elif own:
            head = tr(lang, "None of {where}'s watchlists would match.", where=where)
        else:
            head = tr(
                lang,
                "None of the available watchlists would match ({where} follows none yet).",
                where=where,
            )
        room = TELEGRAM_TEXT_LIMIT - visible_length(hint)
        await self._answer(update, fitted(head, lines, lang, room) + hint)
