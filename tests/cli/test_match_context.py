"""`feedwatch match --explain` and `match --text` name the context word that let a term with a
context match; an item with the term out of its context is no hit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

LISTS = """
[[watchlist]]
name = "rdk"
terms = [{ term = "РДК", near = ["боец", "рейд"], not_near = ["культур*"] }]
"""


def test_match_explain_names_the_context_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lists = tmp_path / "lists.toml"
    lists.write_text(LISTS, encoding="utf-8")
    items = tmp_path / "items.jsonl"
    items.write_text(
        json.dumps({"id": "raid", "title": "Бойцы РДК заявили о рейде", "summary": ""})
        + "\n"
        + json.dumps({"id": "hall", "title": "Концерт в РДК", "summary": "Дом культуры"})
        + "\n",
        encoding="utf-8",
    )
    assert main(["match", "--watchlists", str(lists), "--explain", str(items)]) == 0
    raid, hall = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert raid["matched"] == [{"watchlist": "rdk", "term": "РДК", "text": "РДК", "near": "Бойцы"}]
    assert hall == {"id": "hall", "watchlists": [], "matched": []}

    assert main(["match", "--watchlists", str(lists), "--text", "РДК начал рейд"]) == 0
    assert capsys.readouterr().out == "rdk: «РДК» (РДК, near «рейд»)\n"
