"""Watchlists as files: `/export` sends the chat's lists as TOML, `/import` reads such a file
(attached, or replied to) and says what it made of each list."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from io import BytesIO

from bot.chat import arguments as parse
from bot.chat.base import (
    Request,
    Target,
    command,
    fitted,
)
from bot.chat.group import CommandGroup
from bot.core.domain import Watchlist
from bot.core.errors import ConfigError, RefusedError
from bot.core.limits import SHORT_ARGUMENT
from bot.core.said import N_
from bot.ops.config import MAX_TOML_BYTES, TOO_LARGE, TomlRefused, size_text
from bot.ops.watchlist_file import read_watchlists_document, watchlists_document
from bot.render.i18n import ntr, tr, translated
from bot.storage.chats import TermRole

EXPORT_LIMIT = MAX_TOML_BYTES  # bytes of a TOML document /import reads
_PROBLEMS_SHOWN = 10  # problems of a refused /import file


class FileCommands(CommandGroup):
    """Watchlists out to a file and in from one."""

    @command("export", "/export", N_("this chat's watchlists as a TOML file"), acts="read")
    async def export(self, ask: Request) -> None:
        update, target, lang = ask.update, ask.target, ask.lang
        followed = await self.store.chat_watchlists(target.id)
        message = update.effective_message
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
                "{count} watchlist; send the file back with /import to restore it.",
                "{count} watchlists; send the file back with /import to restore them.",
                len(followed),
            ),
            do_quote=False,
        )

    @command(
        "import",
        "/import",
        N_("read watchlists from a TOML file (attach it, or reply to it)"),
        acts="change",
        files=True,
    )
    async def import_lists(self, ask: Request) -> None:
        """`/import` with a TOML file attached, or as a reply to one."""
        update, target, lang = ask.update, ask.target, ask.lang
        document = ask.document
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
                        contexts = watchlist.contexts if role == "terms" else ()
                        await self.store.add_terms(target.id, watchlist.name, role, terms,
                            self.clock(), thread_id=target.thread_id, contexts=contexts,
                        )  # fmt: skip
                await self.store.set_scope(target.id, watchlist.name, watchlist, self.clock())
                lines.append(
                    f"• <code>{escape(watchlist.name)}</code>: "
                    + ntr(lang, "{count} term", "{count} terms", len(watchlist.terms))
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
