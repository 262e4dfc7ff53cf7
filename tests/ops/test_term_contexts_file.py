"""Terms with a context in a watchlist file: a term is a string or an inline table
`{ term, near, not_near, within }`; every mistake in one is named with its place; /export writes
them back so that /import reads the same lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.domain import TermContext
from bot.core.errors import ConfigError
from bot.ops.watchlist_file import load_watchlists, read_watchlists_document, watchlists_document

GOOD = """
[[watchlist]]
name = "rvc"
terms = [
    "Russian Volunteer Corps",
    { term = "РДК", near = ["боец", "корпус", "Белгород*"], within = 10 },
    { term = "RDK", not_near = ["culture"] },
]
"""


def test_a_term_may_be_an_inline_table_with_its_context(tmp_path: Path) -> None:
    path = tmp_path / "lists.toml"
    path.write_text(GOOD, encoding="utf-8")
    [rvc] = load_watchlists(path)
    assert rvc.terms == ("Russian Volunteer Corps", "РДК", "RDK")
    assert rvc.contexts == (
        TermContext("РДК", ("боец", "корпус", "Белгород*"), (), 10),
        TermContext("RDK", (), ("culture",), 12),
    )
    # /export writes them back, and /import reads the same list.
    document = watchlists_document([rvc])
    assert read_watchlists_document(document.encode(), "export.toml") == (rvc,)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('{ term = "РДК" }', "terms[1]: 'РДК' has no near or not_near words"),
        ('{ near = ["боец"] }', "terms[1]: a term's table needs its term"),
        ('{ term = "РДК", near = "боец" }', "terms[1]: near must be an array of strings"),
        ('{ term = "РДК", near = ["боец", ""] }', "terms[1]: near[2]: term '' is empty"),
        ('{ term = "РДК", near = ["боец"], within = 0 }', "within must be a number of words"),
        ('{ term = "РДК", nearby = ["боец"] }', "unknown key 'nearby' in a term's table"),
        ("5", "terms[1]: must be a string or a table such as"),
    ],
)
def test_each_mistake_in_a_terms_table_is_named_with_its_place(
    tmp_path: Path, entry: str, problem: str
) -> None:
    path = tmp_path / "lists.toml"
    path.write_text(f'[[watchlist]]\nname = "bad"\nterms = [{entry}]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_watchlists(path)
    [said] = raised.value.problems
    assert said.startswith(f"{path}: [[watchlist]] #1 (bad) "), said
    assert problem in said, said
