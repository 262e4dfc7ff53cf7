"""`sources`, `skip_sources` and `fields` in a watchlist file: read, checked with a clear problem
for each mistake, and written back by /export."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.domain import DEFAULT_FIELDS
from bot.core.errors import ConfigError
from bot.ops.watchlist_file import load_watchlists, read_watchlists_document, watchlists_document

GOOD = """
[[watchlist]]
name = "rdk"
terms = ["РДК"]
sources = ["@rusvolcorps", "Meduza"]
skip_sources = ["example.org"]
fields = ["categories", "title", "author"]

[[watchlist]]
name = "plain"
terms = ["Kursk"]
"""


def test_scope_and_fields_are_read_and_exported(tmp_path: Path) -> None:
    path = tmp_path / "lists.toml"
    path.write_text(GOOD, encoding="utf-8")
    rdk, plain = load_watchlists(path)
    assert rdk.sources == ("@rusvolcorps", "Meduza")
    assert rdk.skip_sources == ("example.org",)
    assert rdk.fields == ("title", "author", "categories")  # read in the item's order
    assert (plain.sources, plain.skip_sources, plain.fields) == ((), (), DEFAULT_FIELDS)
    document = watchlists_document([rdk, plain])
    assert "fields" not in document.split("[[watchlist]]")[2]
    assert read_watchlists_document(document.encode(), "x.toml") == (rdk, plain)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('sources = "Meduza"', "sources: must be an array of feed names, hosts or @channels"),
        ('skip_sources = [""]', "skip_sources: must be an array of feed names, hosts or @channels"),
        ("fields = []", "fields: must be a non-empty array of fields: title, summary, author"),
        ('fields = ["body"]', "fields: unknown field 'body'; the fields are title, summary"),
    ],
)
def test_a_bad_scope_or_field_is_named(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "lists.toml"
    path.write_text(f'[[watchlist]]\nname = "x"\nterms = ["a"]\n{line}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_watchlists(path)
    [said] = raised.value.problems
    assert problem in said, said
