"""`feedwatch same-story`: pairs of items in, the digest's verdict and its reason out, one JSON line
each; a bad line is told and the others still answered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

REPO = Path(__file__).resolve().parents[2]


def pair(id: str, a: dict[str, object], b: dict[str, object]) -> str:
    return json.dumps({"id": id, "a": a, "b": b}, ensure_ascii=False)


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *lines: str, watchlists: bool = False
) -> tuple[int, list[dict[str, object]], str]:
    source = tmp_path / "pairs.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["same-story", str(source)]
    if watchlists:
        args[1:1] = ["--watchlists", str(REPO / "config" / "watchlists.toml")]
    status = main(args)
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_pairs_are_judged_by_the_digests_rule_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, answers, err = run(
        tmp_path,
        capsys,
        pair(
            "towns",
            {"title": "Drone attack on Belgorod leaves two injured", "outlet": "A"},
            {"title": "Drone attack on Kursk leaves two injured", "outlet": "B"},
        ),
        pair(
            "copy",
            {
                "title": "RVC claims raid",
                "link": "https://x.example/a?utm_source=rss",
                "outlet": "A",
            },
            {"title": "Corps statement", "link": "https://x.example/a", "outlet": "B"},
        ),
        pair(
            "days",
            {"title": "Key events, day 1,000", "published": "2024-11-19T08:00:00Z"},
            {"title": "Key events, day 1,000", "published": "2024-11-22T08:00:00+00:00"},
        ),
    )
    assert (status, err) == (0, "")
    assert answers == [
        {"id": "towns", "same": False, "why": "the titles differ in names: Belgorod / Kursk"},
        {"id": "copy", "same": True, "why": "the same link"},
        {"id": "days", "same": False, "why": "published 72 hours apart"},
    ]


def test_with_watchlists_items_that_matched_different_lists_are_two_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = pair(
        "1",
        {"title": "Shelling reported overnight", "summary": "в Курской области", "outlet": "A"},
        {
            "title": "Shelling reported overnight",
            "summary": "в Белгородской области",
            "outlet": "B",
        },
    )
    _, [without], _ = run(tmp_path, capsys, line)
    assert without["same"] is True
    _, [with_lists], _ = run(tmp_path, capsys, line, watchlists=True)
    assert with_lists == {
        "id": "1",
        "same": False,
        "why": "they matched different watchlists: kursk / belgorod",
    }


def test_a_bad_line_is_told_and_the_rest_answered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, answers, err = run(
        tmp_path,
        capsys,
        "not json",
        pair("no-date", {"title": "A", "published": "yesterday"}, {"title": "B"}),
        json.dumps({"id": "no-b", "a": {"title": "A"}}),
        pair("fine", {"title": "RVC raid"}, {"title": "Weather"}),
    )
    assert status == 1
    assert "line 1: not a valid JSON object" in err
    assert answers[0] == {
        "id": "no-date",
        "error": "\"a\": published 'yesterday' is not an ISO 8601 time",
    }
    assert answers[1] == {
        "id": "no-b",
        "error": '"b" must be an object with title, summary, link, published',
    }
    assert answers[2]["id"] == "fine"
    assert answers[2]["same"] is False
