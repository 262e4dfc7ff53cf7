"""What the bot says, in the chat's language: English msgids, and gettext catalogs for Russian and
Ukrainian in bot/render/locales (made with Babel: `make i18n-extract`, `i18n-update`, `i18n-compile`).
Pure: it reads nothing but its own .mo files, each once, when a chat first needs it.

A msgid is a string literal in one of the calls the Makefile's I18N_KEYWORDS name: `tr` and `ntr`
here, `said`, `nsaid` and `N_` of `bot.core.said` (for the layers below this one, which say
English and let a chat read it translated), the digest writer's `say`, and RefusedError and
OpmlError, which keep their template and parameters.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from bot.core.said import Said

__all__ = ["DOMAIN", "LANGUAGES", "LOCALES", "catalog", "language_of", "ntr", "tr", "translated"]

LANGUAGES = ("en", "ru", "uk")
DOMAIN = "feedwatch"
LOCALES = Path(__file__).resolve().with_name("locales")


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The translations of `lang`: English, and any language we do not have, says the msgids.
    A catalog missing from the installed package is an error, not a silent English."""
    if lang not in LANGUAGES or lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALES, languages=[lang])


def language_of(code: str | None) -> str:
    """The language we answer in for a Telegram `language_code` (IETF tag such as "ru" or "uk-UA")."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def tr(lang: str, msgid: str, **params: object) -> str:
    """`msgid` in `lang` (English when there is no translation), with `params` filled in (those
    that are a `Said` translated too); the caller escapes what goes into HTML. A `Said` as the
    msgid is said in `lang` with its own parameters."""
    if isinstance(msgid, Said):
        return translated(lang, msgid)
    template = catalog(lang).gettext(msgid)
    return template.format(**_in(lang, params)) if params else template


def ntr(lang: str, singular: str, plural: str, n: int, **params: object) -> str:
    """A sentence with a count, in the form `lang` uses for `n` (Russian and Ukrainian have three:
    1 and 21, 2 to 4 and 22, 5 to 20 and 25); `n` fills {count} unless `params` names it."""
    template = catalog(lang).ngettext(singular, plural, n)
    return template.format(**_in(lang, {"count": n, **params}))


def translated(lang: str, text: object) -> str:
    """`text` as a chat reads it in `lang`: a `Said`, an error whose one argument is one, or an
    error that keeps its `template` and `params` (RefusedError, OpmlError) translated; anything
    else as it is."""
    if isinstance(text, BaseException):
        template, params = getattr(text, "template", None), getattr(text, "params", None)
        if isinstance(template, str) and isinstance(params, Mapping):
            return tr(lang, template, **params)
        args = text.args
        text = args[0] if len(args) == 1 and isinstance(args[0], Said) else str(text)
    if not isinstance(text, Said):
        return str(text)
    if text.plural is None or text.n is None:
        template = catalog(lang).gettext(text.msgid)
    else:
        template = catalog(lang).ngettext(text.msgid, text.plural, text.n)
    return template.format(**_in(lang, text.params)) if text.params else template


def _in(lang: str, params: Mapping[str, object]) -> dict[str, object]:
    return {name: translated(lang, v) if isinstance(v, Said) else v for name, v in params.items()}
