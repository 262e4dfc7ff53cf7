"""Context terms: a term that matches only with one of its `near` words within reach, or only with
none of its `not_near` words there. Distance counts words of the title and summary read as one;
context words have every power of a term (forms, prefixes, look-alike letters). Properties: a
context never adds a hit, and `near` never matches where the plain term would not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import Match, TermContext, Watchlist
from bot.core.matching import Matcher

NEAR = TermContext("РДК", near=("боец", "корпус", "Белгород*"))
NOT_NEAR = TermContext("РДК", not_near=("культур*", "концерт", "сцена"))


def rvc(*contexts: TermContext, terms: tuple[str, ...] = ("РДК",)) -> Watchlist:
    return Watchlist("rvc", terms, contexts=contexts)


@pytest.mark.parametrize(
    ("title", "summary", "near"),
    [
        ("Бойцы РДК вошли в Тёткино", "", "Бойцы"),  # a form of «боец»
        ("РДК заявил о рейде в Белгородскую область", "", "Белгородскую"),  # a prefix
        ("РДК заявил о рейде", "Бойцы подразделения показали видео", "Бойцы"),  # across texts
        ("Бoйцы PДK вышли на связь", "", "Бoйцы"),  # look-alike Latin letters in both
    ],
)
def test_a_term_with_near_words_matches_with_one_of_them_in_reach_and_names_it(
    title: str, summary: str, near: str
) -> None:
    [match] = Matcher([rvc(NEAR)]).match(title, summary)["rvc"]
    assert match.term == "РДК"
    assert match.near == near


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("РДК", ""),
        ("„Рождественские встречи“ в РДК", "Выступят местные коллективы"),
        # «бойцы» 13 words after «РДК»: one word too far for the default reach of 12.
        ("РДК " + "слово " * 12 + "бойцы", ""),
    ],
)
def test_a_term_with_near_words_does_not_match_without_them_in_reach(
    title: str, summary: str
) -> None:
    assert Matcher([rvc(NEAR)]).match(title, summary) == {}


def test_the_reach_is_counted_in_words_and_can_be_set() -> None:
    eleven_between = "РДК " + "слово " * 11 + "бойцы"
    assert "rvc" in Matcher([rvc(NEAR)]).match(eleven_between)
    assert Matcher([rvc(replace(NEAR, within=5))]).match(eleven_between) == {}
    assert "rvc" in Matcher([rvc(replace(NEAR, within=5))]).match("бойцы и РДК")


def test_not_near_words_refuse_a_term_in_the_title_and_summary_read_as_one() -> None:
    matcher = Matcher([rvc(NOT_NEAR)])
    # The example: the headline has РДК, the lede says it is the house of culture.
    assert matcher.match("„Рождественские встречи“ в РДК", "в районном Доме культуры") == {}
    assert matcher.match("В РДК прошёл концерт", "") == {}
    [match] = matcher.match("РДК заявил о рейде", "")["rvc"]
    assert (match.text, match.near) == ("РДК", None)


def test_a_name_that_stands_twice_matches_where_it_stands_in_context() -> None:
    """The first РДК is the house of culture, the second, far away, the corps: the second
    counts."""
    far = " ".join(["слово"] * 20)
    text = f"В РДК прошёл концерт. {far} Бойцы РДК заявили о рейде."
    [match] = Matcher([rvc(NEAR)]).match(text)["rvc"]
    assert match.near == "Бойцы"
    [match] = Matcher([rvc(NOT_NEAR)]).match(text)["rvc"]
    assert match.text == "РДК"


def test_the_other_terms_of_the_list_and_other_lists_keep_matching_as_before() -> None:
    lists = [
        rvc(TermContext("РДК", near=("боец",)), terms=("РДК", "Русский добровольческий корпус")),
        Watchlist("plain", ("РДК",)),
    ]
    found = Matcher(lists).match("Русский добровольческий корпус и бойцы РДК", "")
    assert [m.term for m in found["rvc"]] == ["Русский добровольческий корпус", "РДК"]
    assert found["plain"] == (Match("plain", "РДК", "РДК"),)
    # Without a near word only the plain list and the full name match.
    found = Matcher(lists).match("Русский добровольческий корпус", "РДК")
    assert [m.term for m in found["rvc"]] == ["Русский добровольческий корпус"]


def test_a_list_that_shares_a_term_with_a_context_term_gets_each_match_once() -> None:
    """РДК is found at every place for the list with a context; the plain list sharing the term
    still reads each of its words once."""
    lists = [rvc(NEAR), Watchlist("plain", ("РДК",))]
    found = Matcher(lists).match("РДК и снова РДК", "Бойцы РДК")
    assert found["plain"] == (Match("plain", "РДК", "РДК"),)
    assert [m.text for m in found["rvc"]] == ["РДК"]


def test_a_context_word_that_is_itself_a_term_of_another_list_still_matches_there() -> None:
    lists = [rvc(NEAR), Watchlist("bel", ("Белгород*",))]
    found = Matcher(lists).match("РДК вошёл в Белгородскую область", "")
    assert set(found) == {"rvc", "bel"}


# --- properties -------------------------------------------------------------------------------

VOCABULARY = ["РДК", "бойцы", "корпус", "концерт", "культуры", "Белгород", "рейд", "в", "и", "хор"]
texts = st.lists(st.sampled_from(VOCABULARY), max_size=40).map(" ".join)
contexts = st.builds(
    TermContext,
    st.just("РДК"),
    near=st.lists(st.sampled_from(["боец", "корпус", "Белгород*", "рейд"]), max_size=3).map(tuple),
    not_near=st.lists(st.sampled_from(["культур*", "концерт", "хор"]), max_size=3).map(tuple),
    within=st.integers(1, 15),
)


@settings(max_examples=300, deadline=None)
@given(title=texts, summary=texts, context=contexts)
def test_a_context_never_makes_a_hit_the_plain_term_would_not(
    title: str, summary: str, context: TermContext
) -> None:
    plain = Matcher([rvc()]).match(title, summary)
    with_context = Matcher([rvc(context)]).match(title, summary)
    assert set(with_context) <= set(plain)
    for match in with_context.get("rvc", ()):
        assert replace(match, near=None) in plain["rvc"]


@settings(max_examples=300, deadline=None)
@given(title=texts, summary=texts, context=contexts, more=st.sampled_from(["бойцы", "рейд"]))
def test_adding_a_near_word_never_adds_hits_to_a_term_that_has_none(
    title: str, summary: str, context: TermContext, more: str
) -> None:
    """`near` narrows: a list with near words hits no more than the plain list; and a term whose
    context lists no near word at all is not narrowed by giving it one."""
    if not context.near:
        narrowed = replace(context, near=(more,))
        assert set(Matcher([rvc(narrowed)]).match(title, summary)) <= set(
            Matcher([rvc(context)]).match(title, summary)
        )


def test_a_hostile_item_of_thousands_of_names_and_context_words_is_read_in_one_go() -> None:
    """60,000 РДК, then 60,000 «бойцы» (an item's text may hold 10 MB): each place looks only at
    the context words within its reach. Each place weighed against every other took 3.6 billion
    distances, past the suite's two-minute timeout; a bisection takes a fraction of a second."""
    matcher = Matcher([rvc(NEAR)])
    far = "РДК " * 60_000 + "слово " * 13 + "бойцы " * 60_000
    assert matcher.match(far, "") == {}
    near = "РДК " * 60_000 + "слово " * 11 + "бойцы " * 60_000
    [match] = matcher.match(near, "")["rvc"]
    assert match.near == "бойцы"
