"""Two changes that make feedparser faster without changing anything it returns.

feedparser's time goes mostly to Python callbacks and one `str.translate` per element; `install()`
cuts both. `tests/sources/test_feedparser_tuning.py` checks, on the shared corpora, that results are equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.sax.expatreader import ExpatParser

import feedparser.api
import feedparser.mixin

# The feedparser releases whose internals `install()` was checked against, on the corpora: the
# range pyproject.toml allows. tests/test_dependencies.py fails when another version is installed.
CHECKED_VERSIONS = ">=6.0.11,<6.1"

# Large enough that an article's text arrives in one or two calls, small enough to stay invisible.
BUFFER_SIZE = 64 * 1024

# The characters most feed text is made of: ASCII, Latin, Greek, Cyrillic, general punctuation
# (dashes, quotes), currency signs and letter-like symbols.
_COMMON_TEXT = (
    range(0x00, 0x80),
    range(0xA0, 0x530),
    range(0x2000, 0x2070),
    range(0x20A0, 0x20D0),
    range(0x2100, 0x2150),
)


class BufferedExpatParser(ExpatParser):
    """expat with `buffer_text` on: without it, expat hands over text a line or an entity at a
    time, and feedparser's Python handler ran about 12,000 times a feed on the bench corpus (a
    third of the parse time)."""

    def reset(self) -> None:
        super().reset()
        # reset() makes a new pyexpat parser each document; typeshed does not declare it.
        expat: Any = vars(self)["_parser"]
        expat.buffer_text = True
        expat.buffer_size = BUFFER_SIZE


def create_parser(*args: Any, **kwargs: Any) -> BufferedExpatParser:
    """The entry point `xml.sax.make_parser` calls on a driver module (see `install`)."""
    return BufferedExpatParser(*args, **kwargs)


def _cp1252_table() -> dict[int, Any] | None:
    table = getattr(feedparser.mixin, "_cp1252", None)
    return table if isinstance(table, dict) else None


# feedparser's table as shipped, kept before `install()` can touch it.
_SHIPPED_CP1252 = dict(_cp1252_table() or {})


def install() -> None:
    """Tune feedparser, once per process (calling again changes nothing).

    1. feedparser asks `xml.sax.make_parser` for a reader from `feedparser.api.
       PREFERRED_XML_PARSERS`, a list of module names: this module goes first, so documents are
       read by `BufferedExpatParser`.
    2. feedparser maps the C1 characters that windows-1252 puts at 0x80-0x9F with
       `text.translate(_cp1252)` on every element. For text that is not pure ASCII, CPython looks
       every character up in that dict and, for each one that is missing, raises and clears a
       KeyError: a fifth of the parse time on the bench corpus. Identity entries for the common
       characters leave the result as it was (a character mapped to itself is a character left
       alone) and spare the exceptions."""
    preferred: list[str] = feedparser.api.PREFERRED_XML_PARSERS
    if __name__ not in preferred:
        preferred.insert(0, __name__)
    table = _cp1252_table()
    if table is not None:
        for block in _COMMON_TEXT:
            for code in block:
                table.setdefault(code, code)


def installed() -> bool:
    """Whether `install()` has tuned this process's feedparser."""
    return __name__ in feedparser.api.PREFERRED_XML_PARSERS


@contextmanager
def uninstalled() -> Iterator[None]:
    """feedparser as shipped, for a while: benchmarks time their baseline with it, and the tests
    compare against it."""
    preferred: list[str] = feedparser.api.PREFERRED_XML_PARSERS
    saved_preferred = list(preferred)
    table = _cp1252_table()
    saved_table = dict(table) if table is not None else {}
    preferred[:] = [name for name in preferred if name != __name__]
    if table is not None:
        table.clear()
        table.update(_SHIPPED_CP1252)
    try:
        yield
    finally:
        preferred[:] = saved_preferred
        if table is not None:
            table.clear()
            table.update(saved_table)
