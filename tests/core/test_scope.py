"""A watchlist's scope and fields: `sources` names feeds by name, host or address, and channels by
@handle; `skip_sources` keeps a list out of some; `fields` makes it read an item's author and
categories too (or its title alone). Lists that read the same fields share one index."""

from __future__ import annotations

import pytest

from bot.core.domain import Match, Source, Watchlist
from bot.core.matching.scope import ScopedMatcher, in_scope, names_source

MEDUZA = Source("Meduza", "https://meduza.io/rss/all")
CHANNEL = Source("Русский добровольческий корпус", "https://t.me/s/rusvolcorps")
WIRE = Source("Kyiv Wire", "https://news.kyiv-wire.example/feed.xml")


@pytest.mark.parametrize(
    ("spec", "source", "named"),
    [
        ("Meduza", MEDUZA, True),
        ("meduza", MEDUZA, True),  # case does not count
        ("meduza.io", MEDUZA, True),  # a host
        ("https://meduza.io/rss/all", MEDUZA, True),  # the address
        ("@rusvolcorps", CHANNEL, True),
        ("@RusVolCorps", CHANNEL, True),
        ("@rusvolcorps", MEDUZA, False),
        ("kyiv-wire.example", WIRE, True),  # a subdomain of the host named
        ("wire.example", WIRE, False),  # not a parent of it
        ("Kyiv", WIRE, False),  # a name is named whole
        ("Meduza", WIRE, False),
    ],
)
def test_a_source_is_named_by_its_name_host_address_or_handle(
    spec: str, source: Source, named: bool
) -> None:
    assert names_source(spec, source) is named


def test_sources_limit_a_list_and_skip_sources_keep_it_out() -> None:
    only = Watchlist("only", ("РДК",), sources=("@rusvolcorps", "Meduza"))
    skipping = Watchlist("skipping", ("РДК",), skip_sources=("meduza.io",))
    assert [in_scope(only, s) for s in (MEDUZA, CHANNEL, WIRE)] == [True, True, False]
    assert [in_scope(skipping, s) for s in (MEDUZA, CHANNEL, WIRE)] == [False, True, True]


def test_an_item_hits_only_the_lists_whose_scope_holds_its_source() -> None:
    matcher = ScopedMatcher(
        [
            Watchlist("everywhere", ("РДК",)),
            Watchlist("channel", ("РДК",), sources=("@rusvolcorps",)),
            Watchlist("not_meduza", ("РДК",), skip_sources=("Meduza",)),
        ]
    )
    text = "Бойцы РДК заявили о рейде"
    assert set(matcher.match_item(text, "", source=CHANNEL)) == {
        "everywhere",
        "channel",
        "not_meduza",
    }
    assert set(matcher.match_item(text, "", source=MEDUZA)) == {"everywhere"}
    assert set(matcher.match_item(text, "", source=WIRE)) == {"everywhere", "not_meduza"}
    # With no source (/test, a text on its own) every list is tried.
    assert set(matcher.match_item(text, "")) == {"everywhere", "channel", "not_meduza"}


def test_fields_make_a_list_read_the_author_and_categories_or_the_title_alone() -> None:
    matcher = ScopedMatcher(
        [
            Watchlist("plain", ("Kursk",)),
            Watchlist("tagged", ("Kursk",), fields=("title", "summary", "categories")),
            Watchlist("byline", ("Ilya Ponomarev",), fields=("author",)),
            Watchlist("headline", ("Kursk",), fields=("title",)),
        ]
    )
    found = matcher.match_item(
        "Border villages evacuated",
        "Buses leave every two hours",
        author="Ilya Ponomarev",
        categories=("Kursk region", "War"),
    )
    assert found == {
        "byline": (Match("byline", "Ilya Ponomarev", "Ilya Ponomarev"),),
        "tagged": (Match("tagged", "Kursk", "Kursk"),),
    }
    found = matcher.match_item("Kursk governor speaks", "Kursk again", categories=("Kursk",))
    assert set(found) == {"plain", "tagged", "headline"}
    assert set(matcher.match_item("Governor speaks", "In Kursk today")) == {"plain", "tagged"}


def test_a_phrase_never_runs_from_one_category_into_the_next() -> None:
    matcher = ScopedMatcher([Watchlist("tagged", ("Kursk region",), fields=("categories",))])
    assert matcher.match_item("", "", categories=("Kursk", "Region news")) == {}
    assert set(matcher.match_item("", "", categories=("Kursk region",))) == {"tagged"}
