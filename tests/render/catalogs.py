"""The Russian and Ukrainian catalogs as a table, msgid -> (Russian, Ukrainian), for tests that
ask whether a sentence is translated; a plural entry stands under its English singular, with the
form said of 5."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property

from bot.render.i18n import catalog


class _Catalogs(Mapping[str, tuple[str, str]]):
    """Every msgid the Russian and Ukrainian catalogs translate, with both translations; a plural
    entry stands under its English singular, with the form said of 5."""

    # The catalogs are read once: the tests ask thousands of times.
    @cached_property
    def _table(self) -> dict[str, tuple[str, str]]:
        russian, ukrainian = (_entries(lang) for lang in ("ru", "uk"))
        return {msgid: (russian[msgid], ukrainian[msgid]) for msgid in russian.keys() & ukrainian}

    def __getitem__(self, msgid: str) -> tuple[str, str]:
        return self._table[msgid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


def _entries(lang: str) -> dict[str, str]:
    """msgid -> translation, of every entry of a catalog (gettext keeps a plural's forms under
    (singular, index), and its English plural nowhere)."""
    translations = catalog(lang)
    held: dict[str | tuple[str, int], str] = vars(translations).get("_catalog", {})
    entries = {key: text for key, text in held.items() if isinstance(key, str) and key}
    for key in held:
        if isinstance(key, tuple) and key[1] == 0:
            entries[key[0]] = translations.ngettext(key[0], key[0], 5)
    return entries


TRANSLATIONS: Mapping[str, tuple[str, str]] = _Catalogs()
