"""Near misses that show the names a list is missing (bot.core.matching.suggestions): on real-style
headlines the founding lists lack some spellings of (tests/data/matching/suggest_missing.jsonl) and
on headlines they cover (suggest_complete.jsonl), then rule by rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import pytest

from bot.core.domain import Watchlist
from bot.core.matching.morphology import Morphology, default_morphology
from bot.core.matching.suggestions import Suggestion, suggest
from bot.ops.watchlist_file import load_watchlists

REPO = Path(__file__).parents[2]
DATA = REPO / "tests" / "data" / "matching"
FOUNDING = ("kursk", "rvc", "lsr", "bel")


def founding_lists() -> list[Watchlist]:
    """The labelled set's founding lists (the file may hold others, which these tests leave out)."""
    by_name = {w.name: w for w in load_watchlists(DATA / "watchlists.toml")}
    return [by_name[name] for name in FOUNDING]


def items_of(name: str) -> list[tuple[str, str, str]]:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
    return [(row["id"], row["title"], row["summary"]) for row in rows]


def phrases(found: dict[str, list[Suggestion]]) -> dict[str, list[tuple[str, int, str]]]:
    return {name: [(s.phrase, s.count, s.example_id) for s in ss] for name, ss in found.items()}


def one(watchlists: list[Watchlist], *texts: tuple[str, str]) -> dict[str, list[str]]:
    """The phrases found in items made of (title, summary) pairs, by watchlist."""
    items = [(str(n), title, summary) for n, (title, summary) in enumerate(texts)]
    return {name: [s.phrase for s in ss] for name, ss in suggest(watchlists, items).items()}


RVC = Watchlist(
    "rvc",
    (
        "Russian Volunteer Corps",
        "RVC",
        "Русский добровольческий корпус",
        "Російський добровольчий корпус",
    ),
)
LSR = Watchlist(
    "lsr", ("Freedom of Russia Legion", "Легион Свобода России", "Легіон Свобода Росії")
)
KURSK = Watchlist("kursk", ("Kursk", "Курск"))


# --- the two files -------------------------------------------------------------------------------


def test_the_missing_spellings_of_the_founding_names_are_found_and_ranked() -> None:
    found = phrases(suggest(founding_lists(), items_of("suggest_missing.jsonl")))
    assert list(found) == list(FOUNDING)  # every list, in the order given
    assert found == {
        "kursk": [],
        "rvc": [
            (
                "RDK",
                2,
                "m-en-06",
            ),  # "Russian Volunteer Corps (RDK)", "RDK (Russian Volunteer Corps)"
            ("Российского добровольческого корпуса", 1, "m-ru-03"),
            ("Руського добровольчого корпусу", 1, "m-uk-02"),
        ],
        "lsr": [
            ("Russian Freedom Legion", 2, "m-en-01"),
            ("Свободы России", 2, "m-ru-01"),  # «бойцы „Свободы России“», without «Легион»
            ("Free Russia Legion", 1, "m-en-03"),
            ("Legion of Free Russia", 1, "m-en-04"),
            ("LSR", 1, "m-en-05"),  # "Freedom of Russia Legion (LSR)"
            ("ЛСР", 1, "m-ru-04"),
            ("Свободи Росії", 1, "m-uk-01"),
        ],
        "bel": [],
    }


def test_lists_that_have_every_name_get_no_suggestion() -> None:
    # All the lists of the file, whatever else it holds.
    found = suggest(load_watchlists(DATA / "watchlists.toml"), items_of("suggest_complete.jsonl"))
    assert found
    assert all(ss == [] for ss in found.values()), found


def test_what_the_configured_lists_already_have_is_not_proposed() -> None:
    # config/watchlists.toml holds RDK, LSR, ЛСР, Free Russia Legion and Legion of Free Russia,
    # and since `suggest` found them, Russian Freedom Legion, «Российский добровольческий корпус»
    # and the short «Свобода России» / «Свобода Росії» (as context terms).
    found = phrases(
        suggest(
            load_watchlists(REPO / "config" / "watchlists.toml"), items_of("suggest_missing.jsonl")
        )
    )
    assert [p for p, _, _ in found["rvc"]] == ["Руського добровольчого корпусу"]
    assert found["lsr"] == []


def test_the_labelled_set_near_misses_are_the_variants_it_describes() -> None:
    found = phrases(suggest(founding_lists(), items_of_labelled()))
    assert {p for p, _, _ in found["lsr"]} == {
        "Free Russia legion",  # en-054
        "Legion 'Freedom of Russia'",  # en-023: every word, another order
        "Легион «Свободная Россия»",  # ru-041: a name some outlets use by mistake
        "Свобода России",  # ru-023
        "Свобода Росії",  # uk-025
    }
    assert {p for p, _, _ in found["rvc"]} == {
        "Russian Volunteer Corp",  # en-064: written like Corps
        "Российский добровольческий корпус",  # ru-015
        "Руський добровольчий корпус",  # uk-023
    }


def items_of_labelled() -> list[tuple[str, str, str]]:
    from bot.sources.parsing import html_to_text

    rows = [
        json.loads(line)
        for line in (DATA / "labelled.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [(r["id"], html_to_text(r["title"]), html_to_text(r["summary"])) for r in rows]


# --- the rules -----------------------------------------------------------------------------------


def test_most_content_words_close_together_in_any_form() -> None:
    assert one([LSR], ("Бойцы «Свободы России» вернулись", ""))["lsr"] == ["Свободы России"]
    # Two of three, but one is only a function word away from the other in the term's order.
    assert one([LSR], ("The Russian Freedom Legion said it had withdrawn", ""))["lsr"] == [
        "Russian Freedom Legion"
    ]


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Власти России отчитались", ""),  # one content word of three
        ("Exiled activists rally for the freedom of Russia", ""),  # no name: lower case, no quotes
        ("Свобода слова в России: доклад", ""),  # another word between, not standing for Легион
        ("Who speaks for the Freedom of", "Russia? Legion commanders disagree"),  # never across
        ("Russian volunteers and the corps of engineers", ""),  # "and the": two things
        ("Historians revisit the Volunteer Army of the Russian Civil War", ""),
        ("The legion, Freedom of Russia, says", ""),  # a comma ends a name
        ("Новый добровольческий корпус сформирован в Ростове", ""),  # a sentence's capital
        ("Український добровольчий корпус відзначив річницю", ""),
        ("Ukrainian Volunteer Corps marks its anniversary", ""),  # another corps of the kind
        ("Историки изучают Русский корпус времён войны", ""),  # «Русский корпус» is another
        ("«Добровольческий корпус» провёл набор", ""),  # quoted, but without the naming word
    ],
)
def test_what_is_no_near_miss(title: str, summary: str) -> None:
    assert one([RVC, LSR], (title, summary)) == {"rvc": [], "lsr": []}


def test_a_word_written_like_a_missing_one_or_in_its_place_stands_for_it() -> None:
    found = one(
        [RVC, LSR],
        ("Free Russia Legion releases footage", ""),  # Free for Freedom
        ("Бійці Руського добровольчого корпусу показали техніку", ""),  # Руського for Русского
        ("Видео бойцов «Российского добровольческого корпуса»", ""),  # within the quotes
        ("Так называемый легион «Свободная Россия» взял ответственность", ""),
    )
    assert found == {
        "rvc": ["Российского добровольческого корпуса", "Руського добровольчого корпусу"],
        "lsr": ["Free Russia Legion", "легион «Свободная Россия»"],
    }


def test_every_content_word_in_another_order_is_a_near_miss() -> None:
    assert one([LSR], ("Legion 'Freedom of Russia' releases new video", ""))["lsr"] == [
        "Legion 'Freedom of Russia'"
    ]
    # In lower case too; a possessive is no part of the name.
    doj = Watchlist("doj", ("Department of Justice",))
    assert one([doj], ("", "The justice department’s lawyers declined to comment")) == {
        "doj": ["justice department"]
    }


def test_an_item_that_holds_the_term_is_no_near_miss_of_it_but_may_be_of_another() -> None:
    # The full name and, later, its short form: the list already has the item.
    assert one([LSR], ("Легион «Свобода России» заявил о рейде", "Бойцы «Свободы России» …")) == {
        "lsr": []
    }
    # Another term of the list (РДК) in the item does not stop the phrase: it names the same thing.
    rdk = Watchlist("rvc", ("РДК", "Русский добровольческий корпус"))
    assert one([rdk], ("РДК: бойцы «Российского добровольческого корпуса» вернулись", "")) == {
        "rvc": ["Российского добровольческого корпуса"]
    }


def test_a_phrase_another_list_has_is_not_proposed() -> None:
    free = Watchlist("free", ("Free Russia Legion",))
    assert one([LSR, free], ("Free Russia Legion releases footage", "")) == {"lsr": [], "free": []}


def test_forms_of_one_phrase_count_as_one_shown_as_written_most_often() -> None:
    found = suggest(
        [LSR],
        [
            ("a", "Командир «Свобода России» дал интервью", ""),
            ("b", "Бойцы «Свободы России» вернулись", ""),
            ("c", "Видео бойцов «Свободы России»", "Бойцы «Свободы России» на границе"),
        ],
    )
    # Three items (c counts once), two forms: the genitive is written more often.
    assert found["lsr"] == [Suggestion("Свободы России", 3, "b", "Легион Свобода России")]


def test_ranked_by_items_then_by_phrase() -> None:
    found = suggest(
        [LSR],
        [
            ("1", "Free Russia Legion says", ""),
            ("2", "Russian Freedom Legion says", ""),
            ("3", "The Russian Freedom Legion said", ""),
            ("4", "Legion of Free Russia says", ""),
        ],
    )
    assert [(s.phrase, s.count, s.example_id) for s in found["lsr"]] == [
        ("Russian Freedom Legion", 2, "2"),
        ("Free Russia Legion", 1, "1"),
        ("Legion of Free Russia", 1, "4"),
    ]


def test_an_unknown_acronym_in_brackets_beside_a_name_of_the_list() -> None:
    found = one(
        [RVC, LSR, KURSK],
        ("Russian Volunteer Corps (RDK) claims raid", ""),
        ("", "RDK (the Russian Volunteer Corps) posted a video"),
        ("Russian Volunteer Corps (RVC) is known", ""),  # a term already
        ("Freedom of Russia Legion (VIDEO)", ""),  # a headline's tag
        ("Freedom of Russia (LSR) says", ""),  # beside no name of the list
        ("Kursk (AP) - officials said", ""),  # a one-word term is no name with an acronym
        ("Russian Freedom Legion (LSR) says", ""),  # beside a near miss
    )
    assert found == {
        "rvc": ["RDK"],
        "lsr": ["LSR", "Russian Freedom Legion"],
        "kursk": [],
    }


def test_words_are_analysed_once_not_once_per_item() -> None:
    real = default_morphology()

    class Counting:
        """The morphology, counting the words it is asked about."""

        def __init__(self) -> None:
            self.calls = 0
            self.term_keys = real.term_keys
            self.key_stems = real.key_stems
            self.is_proper_name = real.is_proper_name

        def token_keys(self, word: str) -> frozenset[str]:
            self.calls += 1
            return real.token_keys(word)

    def calls(count: int) -> int:
        counting = Counting()
        items = [
            (str(n), "Бойцы «Свободы России» вернулись из рейда", "Погода в регионе")
            for n in range(count)
        ]
        found = suggest([LSR], items, morphology=cast(Morphology, counting))
        assert found["lsr"] == [Suggestion("Свободы России", count, "0", "Легион Свобода России")]
        return counting.calls

    assert calls(2000) == calls(2) > 0
