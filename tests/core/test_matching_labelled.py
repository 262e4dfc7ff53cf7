"""A labelled set for the keyword matcher: news-like items in Russian, Ukrainian and English, each with
the watchlists it must hit, judged by the matching rules rather than by what the matcher does.

The data is in tests/data/matching/: `watchlists.toml` (kursk, rvc, lsr, bel, from the raid of
12 March 2024 into the Kursk and Belgorod regions; rdk, РДК away from words of a house of culture)
and `labelled.jsonl`, one item a line:
{"id", "lang", "title", "summary", "expected", "why"}. Title and summary go through html_to_text, as
feed items do, and are matched as two texts, so a phrase never spans from one into the other.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.core.matching import Matcher
from bot.ops.watchlist_file import load_watchlists
from bot.sources.parsing import html_to_text

DATA = Path(__file__).parents[1] / "data" / "matching"
LANGUAGES = ("ru", "uk", "en")
FIELDS = {"id", "lang", "title", "summary", "expected", "why"}

WATCHLISTS = load_watchlists(DATA / "watchlists.toml")
ITEMS: list[dict[str, Any]] = [
    json.loads(line)
    for line in (DATA / "labelled.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(WATCHLISTS)


def hits(matcher: Matcher, item: dict[str, Any]) -> list[str]:
    """The watchlists the item hits, as a feed item's title and summary would be matched."""
    return sorted(matcher.match(html_to_text(item["title"]), html_to_text(item["summary"])))


def test_the_set_is_large_balanced_and_well_formed() -> None:
    assert [w.name for w in WATCHLISTS] == ["kursk", "rvc", "lsr", "bel", "rdk"]
    names = {w.name for w in WATCHLISTS}
    assert len(ITEMS) >= 180
    ids = [item["id"] for item in ITEMS]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    assert not duplicates, f"duplicate ids: {duplicates}"
    per_language = Counter(item["lang"] for item in ITEMS)
    assert set(per_language) == set(LANGUAGES)
    for language in LANGUAGES:
        assert per_language[language] >= 50, f"{language}: only {per_language[language]} items"
    positives = sum(1 for item in ITEMS if item["expected"])
    assert positives >= 0.4 * len(ITEMS)
    for item in ITEMS:
        assert set(item) == FIELDS, item["id"]
        assert item["id"].startswith(item["lang"] + "-"), item["id"]
        assert item["expected"] == sorted(set(item["expected"])), item["id"]
        assert set(item["expected"]) <= names, item["id"]
        assert item["title"].strip(), item["id"]
        assert item["why"].strip(), item["id"]


@pytest.mark.parametrize("item", ITEMS, ids=[item["id"] for item in ITEMS])
def test_item(matcher: Matcher, item: dict[str, Any]) -> None:
    got = hits(matcher, item)
    assert got == item["expected"], (
        f"{item['id']} ({item['why']}): got {got}, expected {item['expected']}\n"
        f"  title:   {html_to_text(item['title'])!r}\n"
        f"  summary: {html_to_text(item['summary'])!r}"
    )


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def test_recall_and_precision_per_language(matcher: Matcher) -> None:
    """Counted over (item, watchlist) pairs; printed per language (see it with `pytest -s`)."""
    counts: dict[str, Counter[str]] = {language: Counter() for language in (*LANGUAGES, "all")}
    for item in ITEMS:
        expected, got = set(item["expected"]), set(hits(matcher, item))
        for key in (item["lang"], "all"):
            counts[key]["tp"] += len(expected & got)
            counts[key]["fp"] += len(got - expected)
            counts[key]["fn"] += len(expected - got)
            counts[key]["items"] += 1
            counts[key]["wrong"] += expected != got
    for key, c in counts.items():
        recall = _ratio(c["tp"], c["tp"] + c["fn"])
        precision = _ratio(c["tp"], c["tp"] + c["fp"])
        print(
            f"{key:>3}: {c['items']:3d} items, {c['wrong']:3d} wrong; "
            f"recall {recall:6.1%} ({c['tp']}/{c['tp'] + c['fn']}), "
            f"precision {precision:6.1%} ({c['tp']}/{c['tp'] + c['fp']})"
        )
    total = counts["all"]
    assert total["fp"] == 0, f"{total['fp']} false hits"
    assert total["fn"] == 0, f"{total['fn']} missed hits"
