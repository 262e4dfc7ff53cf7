"""Why a list whose terms a text holds would still not match it: an exclusion found (and which
words), or no required term."""

from __future__ import annotations

from bot.core.domain import Watchlist
from bot.core.matching import near_misses

KURSK = Watchlist("kursk", ("Курск*",), exclude=("Белгород-Днестровский", "курс рубля"))
RDK = Watchlist("rdk", ("РДК",), require=("боец", "корпус"))
PLAIN = Watchlist("plain", ("Курск",))


def test_an_exclusion_found_is_named_by_the_words_of_the_text() -> None:
    [miss] = near_misses([KURSK, RDK, PLAIN], "Курские новости из Белгорода-Днестровского")
    assert miss.watchlist is KURSK
    assert [m.text for m in miss.found] == ["Курские"]
    assert [m.text for m in miss.excluded_by] == ["Белгорода-Днестровского"]
    assert not miss.lacks_required


def test_a_missing_required_term_is_said_so() -> None:
    [miss] = near_misses([KURSK, RDK], "РДК провёл концерт в районном доме культуры")
    assert miss.watchlist is RDK
    assert miss.lacks_required


def test_a_list_that_matches_or_whose_terms_are_absent_is_no_near_miss() -> None:
    assert near_misses([KURSK, RDK], "Бойцы РДК вошли в Курскую область") == []
    assert near_misses([KURSK, RDK, PLAIN], "Погода во Львове") == []
    assert near_misses([PLAIN], "Курск") == []  # no exclusions, no requirements: nothing to miss
