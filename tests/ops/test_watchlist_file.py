"""Tests of bot.ops.watchlist_file: watchlist files and the documents of /import and /export, read
exactly, with every problem in one sentence."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from bot.core.domain import Watchlist
from bot.core.errors import ConfigError
from bot.ops.config import TOO_DEEP, TomlRefused
from bot.ops.watchlist_file import load_watchlists, read_watchlists_document, watchlists_document

REPO = Path(__file__).resolve().parents[2]

WATCHLISTS = """\
    [[watchlist]]
    name = "kursk-2"
    terms = ["Kursk", "Курськ"]

    [[watchlist]]
    name = "fleet_ua"
    title = ""
    terms = ["Black Sea Fleet"]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path


# --- load_watchlists --------------------------------------------------------------------------


def test_load_watchlists_reads_a_watchlist_file(tmp_path: Path) -> None:
    lists = write(tmp_path / "lists.toml", WATCHLISTS)
    assert load_watchlists(lists) == (
        Watchlist(name="kursk-2", terms=("Kursk", "Курськ")),
        Watchlist(name="fleet_ua", terms=("Black Sea Fleet",)),
    )


def test_load_watchlists_reads_a_config_file_and_its_watchlist_files(tmp_path: Path) -> None:
    config = write(
        tmp_path / "feedwatch.toml",
        """\
        watchlist_files = ["lists/watchlists.toml"]

        [polling]
        interval = "15m"

        [[watchlist]]
        name = "rvc"
        terms = ["RVC"]
        """,
    )
    write(tmp_path / "lists" / "watchlists.toml", WATCHLISTS)
    assert [w.name for w in load_watchlists(config)] == ["rvc", "kursk-2", "fleet_ua"]


def test_load_watchlists_reports_every_problem(tmp_path: Path) -> None:
    lists = write(
        tmp_path / "lists.toml",
        '[[watchlist]]\nname = "a"\nterms = []\n[[watchlst]]\nname = "b"\n',
    )
    with pytest.raises(ConfigError) as raised:
        load_watchlists(lists)
    assert raised.value.problems == [
        f"{lists}: unknown table [[watchlst]]; did you mean [[watchlist]]?",
        f"{lists}: [[watchlist]] #1 (a) terms: the list is empty",
    ]


def test_load_watchlists_wants_at_least_one(tmp_path: Path) -> None:
    lists = write(tmp_path / "lists.toml", "# nothing yet\n")
    with pytest.raises(ConfigError) as raised:
        load_watchlists(lists)
    assert raised.value.problems == [f"{lists}: no [[watchlist]] tables found"]


def test_load_watchlists_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_watchlists(tmp_path / "nope.toml")
    assert raised.value.problems == [f"watchlist file not found: {tmp_path / 'nope.toml'}"]


def test_the_shipped_watchlists_load() -> None:
    assert load_watchlists(REPO / "config" / "watchlists.toml")


# --- the documents of /export and /import ------------------------------------------------------


def test_an_exported_document_imports_as_the_same_watchlists() -> None:
    watchlists = (
        Watchlist(name="rvc", terms=("RVC", "РДК"), title="Russian Volunteer Corps"),
        Watchlist(
            name="kursk@42", terms=("Kursk",), require=("raid",), exclude=("film*",), owner=42
        ),
    )
    document = watchlists_document(watchlists)
    assert read_watchlists_document(document.encode(), "lists.toml") == (
        watchlists[0],
        Watchlist(name="kursk", terms=("Kursk",), require=("raid",), exclude=("film*",)),
    )


def test_an_imported_document_holds_only_watchlists_and_every_problem_is_named() -> None:
    document = b'watchlist_files = ["x.toml"]\n[[watchlist]]\nname = "a b"\nterms = ["ok", 7]\n'
    with pytest.raises(ConfigError) as raised:
        read_watchlists_document(document, "lists.toml")
    assert raised.value.problems == [
        "lists.toml: unknown key 'watchlist_files'; did you mean [[watchlist]] tables?",
        "lists.toml: [[watchlist]] #1 (a b) name: 'a b' is not a valid name; use 1 to 64 letters,"
        " digits, - and _",
        "lists.toml: [[watchlist]] #1 (a b) terms[2]: must be a string or a table such as "
        '{ term = "РДК", near = ["боец", "корпус"], within = 12 }, not an integer',
    ]


def test_an_imported_document_nested_too_deep_is_refused_unparsed() -> None:
    with pytest.raises(TomlRefused) as raised:
        read_watchlists_document(b"a = " + b"[" * 40 + b"]" * 40 + b"\n", "lists.toml")
    assert raised.value.template == TOO_DEEP
