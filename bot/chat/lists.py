"""Watchlist commands: follow shared lists, keep the chat's own (`/watch`, `/exclude`, `/require`,
`/unwatch`), see them with buttons, try them on text (`/test`), and move them as TOML."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from html import escape
from io import BytesIO

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.chat import arguments as parse
from bot.chat.base import (
    CommandBase,
    Context,
    Target,
    addressed_to_us,
    arguments,
    codes,
    fitted,
    language,
    refusal,
    topic_label,
    typed,
)
from bot.core.domain import Watchlist
from bot.core.errors import ConfigError, RefusedError
from bot.core.limits import SHORT_ARGUMENT
from bot.core.matching import Matcher
from bot.ops.config import MAX_TOML_BYTES, TOO_LARGE, TomlRefused, size_text
from bot.ops.watchlist_file import read_watchlists_document, watchlists_document
from bot.render.digest import shorten
from bot.render.i18n import ntr, tr, translated
from bot.sources.parsing import html_to_text
from bot.storage.chats import TermRole
from bot.storage.repository import SubscribeResult

EXPORT_LIMIT = MAX_TOML_BYTES  # bytes of a TOML document /import reads
_CALLBACK_LIMIT = 64  # bytes of callback data Telegram keeps
_WORDS_SHOWN = 10  # matched words /test shows per watchlist
_PROBLEMS_SHOWN = 10  # problems of a refused /import file


def _list_line(watchlist: Watchlist) -> str:
    title = f" — {escape(watchlist.title)}" if watchlist.title else ""
    return f"• <code>{escape(watchlist.label)}</code>{title}"


TERMS_SHOWN_AT_MOST = 600
"""Characters of a list's terms `/watchlists` shows."""


def _terms_line(watchlist: Watchlist, lang: str) -> str:
    """A list's terms on one line, cut short when long: 200 terms of 200 characters would not
    fit in a message (/export gives them all)."""
    parts = [", ".join(watchlist.terms)]
    if watchlist.require:
        parts.append(tr(lang, "requires: {terms}", terms=", ".join(watchlist.require)))
    if watchlist.exclude:
        parts.append(tr(lang, "except: {terms}", terms=", ".join(watchlist.exclude)))
    return "   " + escape(shorten("; ".join(parts), TERMS_SHOWN_AT_MOST))


def _sentence(text: str) -> str:
    """Capitalised as a sentence, the rest as typed (a term is quoted as the user wrote it)."""
    return text[:1].upper() + text[1:]


class ListCommands(CommandBase):
    """The watchlist commands."""

    async def subscribe(self, update: Update, context: Context) -> None:
        await self._change_subscriptions(update, context, subscribe=True)

    async def unsubscribe(self, update: Update, context: Context) -> None:
        await self._change_subscriptions(update, context, subscribe=False)

    async def _change_subscriptions(
        self, update: Update, context: Context, *, subscribe: bool
    ) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        names = [part for part in arguments(update.effective_message).replace(",", " ").split()]
        command = "subscribe" if subscribe else "unsubscribe"
        if not names:
            lang = language(update)
            await self._answer(
                update,
                tr(lang, "Usage: /{command} NAME…", command=command)
                + "\n"
                + tr(
                    lang,
                    "Watchlists: {available}",
                    available=codes(await self._visible_names(target)) or tr(lang, "none yet"),
                ),
            )
            return
        if subscribe:
            result = await self.store.subscribe(
                target.id, names, self.clock(), thread_id=target.thread_id
            )
        else:
            result = await self.store.unsubscribe(target.id, names)
        await self._answer(
            update, await self._describe(target, result, language(update), subscribe=subscribe)
        )

    async def _visible_names(self, target: Target) -> list[str]:
        shared = await self.store.shared_watchlists()
        own = await self.store.own_watchlists(target.id)
        return sorted({w.label for w in shared} | {w.label for w in own})

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
            available = codes(await self._visible_names(target)) or tr(lang, "none yet")
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

    async def watch(self, update: Update, context: Context) -> None:
        await self._add_terms(update, context, "terms", "watch")

    async def exclude(self, update: Update, context: Context) -> None:
        await self._add_terms(update, context, "exclude", "exclude")

    async def require(self, update: Update, context: Context) -> None:
        await self._add_terms(update, context, "require", "require")

    async def _add_terms(
        self, update: Update, context: Context, role: TermRole, command: str
    ) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        lang = language(update)
        try:
            label, terms = parse.name_and_terms(arguments(update.effective_message))
        except ValueError as error:
            await self._answer(
                update,
                f"{_sentence(escape(translated(lang, error)))}.\n"
                + tr(lang, "Usage: /{command} NAME TERM[, TERM…]", command=command)
                + "\n"
                + tr(
                    lang,
                    "For example: /{command} kursk Курск, Курская область, Kursk",
                    command=command,
                ),
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
        if result.already:
            lines.append(
                tr(
                    lang,
                    "Already there: {terms}.",
                    terms=", ".join(escape(t) for t in result.already),
                )
            )
        if result.created:
            lines.append(
                tr(lang, "New mentions come in the digest; /test TEXT tries it on any text.")
            )
        await self._answer(update, "\n".join(lines))

    async def unwatch(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=True)
        if target is None:
            return
        label, _, rest = arguments(update.effective_message).partition(" ")
        if not label:
            await self._answer(
                update,
                tr(
                    language(update),
                    "Usage: /unwatch NAME [TERM, …]: without terms, the whole list goes",
                ),
            )
            return
        try:
            parse.label(label)
        except ValueError as error:
            await self._answer(update, f"{_sentence(escape(translated(language(update), error)))}.")
            return
        try:
            if rest.strip():
                terms = [t.strip() for t in rest.split(",") if t.strip()]
                removed, missing = await self.store.remove_terms(
                    target.id, label, terms, self.clock()
                )
                lang, name = language(update), f"<code>{escape(label)}</code>"
                lines = []
                if removed:
                    said = ", ".join(escape(t) for t in removed)
                    lines.append(tr(lang, "Removed from {name}: {terms}.", name=name, terms=said))
                if missing:
                    said = typed(missing, lang)
                    lines.append(tr(lang, "Not in {name}: {terms}.", name=name, terms=said))
                await self._answer(update, "\n".join(lines))
            else:
                await self.store.remove_list(target.id, label)
                await self._answer(
                    update,
                    tr(
                        language(update),
                        "Removed the watchlist {name}; its past hits stay in /hits.",
                        name=codes([label]),
                    ),
                )
        except RefusedError as error:
            reason = refusal(update, error)
            await self._answer(update, tr(language(update), "Not done: {reason}.", reason=reason))

    # --- seeing them ------------------------------------------------------------------------

    async def watchlists(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        followed = await self.store.chat_watchlists(target.id)
        shared = await self.store.shared_watchlists()
        topics = await self.store.followed_topics(target.id)
        lang = language(update)
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

    async def list_button(self, update: Update, context: Context) -> None:
        """The buttons under /watchlists: unsubscribe from a shared list, remove an own one."""
        query = update.callback_query
        assert query is not None
        assert query.data is not None
        action, _, label = query.data.partition(":")
        lang = language(update)
        target = await self._target(update, context, change=True)
        if target is None:
            await query.answer(tr(lang, "Only administrators can change this."))
            return
        try:
            if action == "rm":
                await self.store.remove_list(target.id, label)
                text = tr(lang, "Removed the watchlist {name}.", name=label)
            else:
                result = await self.store.unsubscribe(target.id, [label])
                text = (
                    tr(lang, "No longer following {name}.", name=label)
                    if result.changed
                    else tr(lang, "Was not following {name}.", name=label)
                )
        except RefusedError as error:
            text = tr(lang, "Not done: {reason}.", reason=tr(lang, error.template, **error.params))
        await query.answer(text[:200])
        await self._answer(update, escape(text))

    async def test(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        text = arguments(update.effective_message)
        lang = language(update)
        if not text:
            await self._answer(update, tr(lang, "Usage: /test TEXT"))
            return
        followed = await self.store.chat_watchlists(target.id)
        own = bool(followed)
        if not followed:
            followed = await self.store.shared_watchlists()
        # Compiling reads the dictionaries for new terms: off the event loop, like the match.
        found = await asyncio.to_thread(lambda: Matcher(followed).match(html_to_text(text)))
        if not found:
            where = target.where(lang)
            await self._answer(
                update,
                tr(lang, "None of {where}'s watchlists would match.", where=where)
                if own
                else tr(
                    lang,
                    "None of the available watchlists would match ({where} follows none yet).",
                    where=where,
                ),
            )
            return
        labels = {w.name: w for w in followed}
        lines = []
        for name, matches in found.items():
            words = ", ".join(
                f"«{escape(parse.shown(m.text))}» ({escape(m.term)})"
                for m in matches[:_WORDS_SHOWN]
            )
            watchlist = labels[name]
            lines.append(
                f"• <code>{escape(watchlist.label)}</code> {escape(watchlist.display_title)}: {words}"
            )
        where = target.where(lang)
        head = (
            tr(lang, "Would match, of {where}'s watchlists:", where=where)
            if own
            else tr(
                lang,
                "Would match, of the available watchlists ({where} follows none yet):",
                where=where,
            )
        )
        await self._answer(update, fitted(head, lines, lang))

    # --- moving them ------------------------------------------------------------------------

    async def export(self, update: Update, context: Context) -> None:
        target = await self._target(update, context, change=False)
        if target is None:
            return
        followed = await self.store.chat_watchlists(target.id)
        message = update.effective_message
        lang = language(update)
        if not followed or message is None:
            await self._answer(
                update,
                tr(lang, "{where} follows no watchlist yet.", where=target.where(lang, start=True)),
            )
            return
        document = watchlists_document(followed).encode()
        await message.reply_document(
            BytesIO(document),
            filename="watchlists.toml",
            caption=ntr(
                lang,
                "{count} watchlists; send the file back with /import to restore them.",
                "{count} watchlists; send the file back with /import to restore them.",
                len(followed),
            ),
            do_quote=False,
        )

    async def import_lists(self, update: Update, context: Context) -> None:
        """`/import` with a TOML file attached, or as a reply to one."""
        message = update.effective_message
        if message is None or not addressed_to_us(message, context.bot.username):
            return
        target = await self._target(update, context, change=True)
        if target is None:
            return
        document = message.document or (
            message.reply_to_message.document if message.reply_to_message else None
        )
        lang = language(update)
        if document is None:
            await self._answer(
                update,
                tr(
                    lang,
                    "Usage: send /import with a watchlists TOML file attached, or reply /import "
                    "to such a file (/export makes one).",
                ),
            )
            return
        if document.file_size is not None and document.file_size > EXPORT_LIMIT:
            # Refused before the download, in the words a document refused after it gets.
            await self._answer(update, _refused(lang, TOO_LARGE, {"size": size_text(EXPORT_LIMIT)}))
            return
        file = await document.get_file()
        data = bytes(await file.download_as_bytearray())
        name = parse.shown(document.file_name or tr(lang, "the file"), SHORT_ARGUMENT)
        try:
            watchlists = read_watchlists_document(data, name)
        except TomlRefused as error:
            await self._answer(update, _refused(lang, error.template, error.params))
            return
        except ConfigError as error:
            problems = [
                f"• {escape(translated(lang, p))}" for p in error.problems[:_PROBLEMS_SHOWN]
            ]
            await self._answer(update, fitted(tr(lang, "Nothing was imported:"), problems, lang))
            return
        await self._answer(update, await self._import(target, watchlists, lang))

    async def _import(self, target: Target, watchlists: tuple[Watchlist, ...], lang: str) -> str:
        shared = {w.label for w in await self.store.shared_watchlists()}
        lines = []
        for watchlist in watchlists:
            try:
                if watchlist.name in shared:
                    await self.store.subscribe(target.id, [watchlist.name], self.clock(),
                        thread_id=target.thread_id,
                    )  # fmt: skip
                    lines.append(
                        f"• <code>{escape(watchlist.name)}</code>: "
                        + tr(lang, "following the shared list")
                    )
                    continue
                parts: tuple[tuple[TermRole, tuple[str, ...]], ...] = (
                    ("terms", watchlist.terms),
                    ("require", watchlist.require),
                    ("exclude", watchlist.exclude),
                )
                for role, terms in parts:
                    if terms:
                        await self.store.add_terms(target.id, watchlist.name, role, terms,
                            self.clock(), thread_id=target.thread_id,
                        )  # fmt: skip
                lines.append(
                    f"• <code>{escape(watchlist.name)}</code>: "
                    + ntr(lang, "{count} terms", "{count} terms", len(watchlist.terms))
                )
            except RefusedError as error:
                reason = tr(lang, error.template, **error.params)
                lines.append(
                    f"• <code>{escape(watchlist.name)}</code>: "
                    + escape(tr(lang, "not imported, {reason}", reason=reason))
                )
        # A file may hold thousands of lists: the summary says what fits in a message.
        return fitted(tr(lang, "Imported:"), lines, lang)


def _refused(lang: str, template: str, params: Mapping[str, object]) -> str:
    """Why a watchlist file was refused unread, in the chat's language."""
    reason = tr(lang, template, **params)
    return tr(lang, "Nothing was imported: {reason}.", reason=escape(reason))
