"""`feedwatch suggest --watchlists PATH [FILE]`: the names the watchlists are missing, read off the
items they nearly match (see bot.core.matching.suggestions), for a list's owner to add.

Reads the JSON lines `match` reads, `{"id", "title", "summary"}`, and prints one line per phrase:
`WATCHLIST<TAB>COUNT<TAB>PHRASE<TAB>ID`, the phrase as written, the number of items it stands in and
one of them; watchlists in file order, each one's phrases most items first.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_ERROR, EXIT_OK, JsonLines

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def add_commands(commands: Subcommands) -> None:
    sub = commands.add_parser(
        "suggest",
        help="print the phrases the watchlists nearly match: names they are missing",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    sub.add_argument(
        "--watchlists", type=Path, required=True, help="TOML file with [[watchlist]] tables"
    )
    sub.add_argument("file", nargs="?", type=Path, help="JSON lines to read (default: stdin)")
    sub.set_defaults(run=_suggest)


def _suggest(args: argparse.Namespace) -> int:
    from bot.core.matching.suggestions import suggest
    from bot.ops.watchlist_file import load_watchlists

    watchlists = load_watchlists(args.watchlists)
    lines = JsonLines(args.file)
    found = suggest(watchlists, _items(lines))
    for name, suggestions in found.items():
        for s in suggestions:
            print(f"{name}\t{s.count}\t{_one_line(s.phrase)}\t{_one_line(s.example_id)}")
    return EXIT_ERROR if lines.bad else EXIT_OK


def _items(lines: JsonLines) -> Iterator[tuple[str, str, str]]:
    """(id, title, summary) of each record, HTML read as text as `match` reads it; a record without
    an id is known by its place among the records."""
    from bot.sources.parsing import html_to_text

    for number, record in enumerate(lines, start=1):
        item_id = record.get("id")
        yield (
            f"#{number}" if item_id is None else str(item_id),
            html_to_text(str(record.get("title") or "")),
            html_to_text(str(record.get("summary") or "")),
        )


def _one_line(text: str) -> str:
    """A field of the output never holds the tab or line break that separates fields and lines."""
    return " ".join(text.split())
