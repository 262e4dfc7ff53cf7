"""Two changes that make feedparser faster without changing anything it returns.

feedparser's time goes mostly to Python callbacks and one `str.translate` per element; `install()`
cuts both. `tests/sources/test_feedparser_tuning.py` checks, on the shared corpora, that results are equal.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sources.buffered_expat import BufferedExpatParser

# The feedparser releases whose internals `install()` was checked against, on the corpora: the
# range pyproject.toml allows. tests/test_dependencies.py fails when another version is installed.
CHECKED_VERSIONS = ">=6.0.11,<6.1"

# The characters most feed text is made of: ASCII, Latin, Greek, Cyrillic, general punctuation
# (dashes, quotes), currency signs and letter-like symbols.
_COMMON_TEXT = (
    range(0x00, 0x80),
    range(0xA0, 0x530),
    range(0x2000, 0x2070),
    range(0x20A0, 0x20D0),
    range(0x2100, 0x2150),
)


def create_parser(*args: Any, **kwargs: Any) -> BufferedExpatParser:
    """The entry point `xml.sax.make_parser` calls on a driver module (see `install`)."""
    from bot.sources.buffered_expat import BufferedExpatParser

    return BufferedExpatParser(*args, **kwargs)


def _cp1252_table() -> dict[int, Any] | None:
    import feedparser.mixin

    table = getattr(feedparser.mixin, "_cp1252", None)
    return table if isinstance(table, dict) else None


_shipped_cp1252: dict[int, Any] | None = None
"""feedparser's table as shipped, kept before `install()` first touches it."""

_pending = False
"""`install()` was called before feedparser was imported: `load()` tunes it when it is."""


def load() -> Any:
    """feedparser, imported here rather than at the top of the modules that parse: a process that
    parses nothing (`poll --once` on an unchanged feed) never loads it (start-up, issue 19). Tuned
    first if `install()` asked for it before it was imported."""
    global _pending
    import feedparser

    if _pending:
        _pending = False
        _tune()
    return feedparser


def install() -> None:
    """Tune feedparser, once per process (calling again changes nothing). Before feedparser is
    imported, only noted: `load()`, which the parser reaches feedparser through, tunes it then.

    1. feedparser asks `xml.sax.make_parser` for a reader from `feedparser.api.
       PREFERRED_XML_PARSERS`, a list of module names: this module goes first, so documents are
       read by `BufferedExpatParser` (bot/sources/buffered_expat.py).
    2. feedparser maps the C1 characters that windows-1252 puts at 0x80-0x9F with
       `text.translate(_cp1252)` on every element. For text that is not pure ASCII, CPython looks
       every character up in that dict and, for each one that is missing, raises and clears a
       KeyError: a fifth of the parse time on the bench corpus. Identity entries for the common
       characters leave the result as it was (a character mapped to itself is a character left
       alone) and spare the exceptions."""
    global _pending
    if "feedparser.api" in sys.modules:
        _pending = False
        _tune()
    else:
        _pending = True


def _tune() -> None:
    import feedparser.api

    global _shipped_cp1252
    table = _cp1252_table()
    if _shipped_cp1252 is None:
        _shipped_cp1252 = dict(table or {})
    preferred: list[str] = feedparser.api.PREFERRED_XML_PARSERS
    if __name__ not in preferred:
        preferred.insert(0, __name__)
    if table is not None:
        for block in _COMMON_TEXT:
            for code in block:
                table.setdefault(code, code)


def installed() -> bool:
    """Whether `install()` has tuned this process's feedparser (importing it, as a parse would)."""
    return __name__ in load().api.PREFERRED_XML_PARSERS


@contextmanager
def uninstalled() -> Iterator[None]:
    """feedparser as shipped, for a while: benchmarks time their baseline with it, and the tests
    compare against it."""
    preferred: list[str] = load().api.PREFERRED_XML_PARSERS
    saved_preferred = list(preferred)
    table = _cp1252_table()
    shipped = _shipped_cp1252 if _shipped_cp1252 is not None else dict(table or {})
    saved_table = dict(table) if table is not None else {}
    preferred[:] = [name for name in preferred if name != __name__]
    if table is not None:
        table.clear()
        table.update(shipped)
    try:
        yield
    finally:
        preferred[:] = saved_preferred
        if table is not None:
            table.clear()
            table.update(saved_table)
