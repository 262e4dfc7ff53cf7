"""Sentences a chat reads in its own language, said in English where they arise (an argument's
check, a config problem): a `Said` is the English text, a `str` that logs, the CLI and tests read as
before, keeping its msgid and parameters so that `bot.render.i18n` can translate it. Pure."""

from __future__ import annotations

from collections.abc import Mapping


class Said(str):
    """The English sentence `msgid` (`plural` when there is one and `n` is not 1) filled with
    `params`; `bot.render.i18n.translated` says it in another language, its `Said` params too."""

    msgid: str
    plural: str | None
    n: int | None
    params: Mapping[str, object]

    def __new__(
        cls,
        msgid: str,
        params: Mapping[str, object],
        plural: str | None = None,
        n: int | None = None,
    ) -> Said:
        english = plural if plural is not None and n != 1 else msgid
        said = super().__new__(cls, english.format(**params) if params else english)
        said.msgid, said.plural, said.n, said.params = msgid, plural, n, dict(params)
        return said

    def __reduce__(
        self,
    ) -> tuple[type[Said], tuple[str, Mapping[str, object], str | None, int | None]]:
        # An error that carries one may cross to another process (a parse worker) whole.
        return (Said, (self.msgid, self.params, self.plural, self.n))


def said(msgid: str, **params: object) -> Said:
    """`msgid` (English, with str.format placeholders) filled with `params`, translatable later."""
    return Said(msgid, params)


def nsaid(singular: str, plural: str, n: int, **params: object) -> Said:
    """A sentence with a count: `singular` for 1 in English, `plural` otherwise, and the forms of
    its translations by their own rules; `n` fills {count} unless `params` names it."""
    return Said(singular, {"count": n, **params}, plural, n)


def N_(msgid: str) -> str:  # gettext's name for "translated later", as extractors know it
    """`msgid` as it is: marks a constant that is translated where it is said (`tr(lang, X)`),
    so that `make i18n-extract` finds it."""
    return msgid
