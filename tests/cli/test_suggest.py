"""`feedwatch suggest --watchlists PATH [FILE]`: the phrases the lists nearly match, one a line,
`WATCHLIST<TAB>COUNT<TAB>PHRASE<TAB>ID`, watchlists in file order."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.ops.watchlist_file import load_watchlists

REPO = Path(__file__).parents[2]
DATA = REPO / "tests" / "data" / "matching"
WATCHLISTS = DATA / "watchlists.toml"
FOUNDING = ("kursk", "rvc", "lsr", "bel")


def rows(out: str) -> list[list[str]]:
    return [line.split("\t") for line in out.splitlines()]


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text(
        "".join(
            (r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records
        ),
        encoding="utf-8",
    )
    return path


def test_suggest_prints_the_missing_spellings_of_the_founding_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = DATA / "suggest_missing.jsonl"
    assert main(["suggest", "--watchlists", str(WATCHLISTS), str(file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    found = rows(out)
    assert all(len(row) == 4 for row in found)
    # The file may hold lists other than the founding four; theirs are left out here.
    assert [row for row in found if row[0] in FOUNDING] == [
        ["rvc", "2", "RDK", "m-en-06"],
        ["rvc", "1", "Российского добровольческого корпуса", "m-ru-03"],
        ["rvc", "1", "Руського добровольчого корпусу", "m-uk-02"],
        ["lsr", "2", "Russian Freedom Legion", "m-en-01"],
        ["lsr", "2", "Свободы России", "m-ru-01"],
        ["lsr", "1", "Free Russia Legion", "m-en-03"],
        ["lsr", "1", "Legion of Free Russia", "m-en-04"],
        ["lsr", "1", "LSR", "m-en-05"],
        ["lsr", "1", "ЛСР", "m-ru-04"],
        ["lsr", "1", "Свободи Росії", "m-uk-01"],
    ]
    # Watchlists in the order of the file.
    names = list(dict.fromkeys(row[0] for row in found))
    assert names == [w.name for w in load_watchlists(WATCHLISTS) if w.name in names]


def test_suggest_prints_nothing_where_the_lists_are_complete(
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = DATA / "suggest_complete.jsonl"
    assert main(["suggest", "--watchlists", str(WATCHLISTS), str(file)]) == 0
    assert capsys.readouterr() == ("", "")


def test_suggest_reads_stdin_html_as_text_and_reports_bad_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": 7, "title": "<b>Russian</b> Freedom&nbsp;Legion says"},
            "not json",
            {"title": "Fighters of the Russian Freedom Legion", "summary": "<p>Kursk</p>"},
        ],
    )
    with file.open(encoding="utf-8") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        assert main(["suggest", "--watchlists", str(WATCHLISTS)]) == 1
    out, err = capsys.readouterr()
    assert rows(out) == [["lsr", "2", "Russian Freedom Legion", "7"]]
    [problem] = err.splitlines()
    assert problem.startswith("feedwatch: line 2:")


def test_suggest_with_a_missing_file_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.jsonl"
    assert main(["suggest", "--watchlists", str(WATCHLISTS), str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = err.splitlines()
    assert str(missing) in problem

    file = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "title": "Russian Freedom Legion"}])
    assert main(["suggest", "--watchlists", str(tmp_path / "nope.toml"), str(file)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = err.splitlines()
    assert "nope.toml" in problem
    assert "Traceback" not in err


def test_a_phrase_is_printed_on_one_line_whatever_the_id_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_jsonl(
        tmp_path / "in.jsonl", [{"id": "a\tb\nc", "title": "Russian Freedom Legion says"}]
    )
    assert main(["suggest", "--watchlists", str(WATCHLISTS), str(file)]) == 0
    assert rows(capsys.readouterr().out) == [["lsr", "1", "Russian Freedom Legion", "a b c"]]
