"""Whole-text matching (issue 13): a name anywhere in an item's summary or content is a hit, however
long the item (live blogs and round-ups name places late), in RSS, Atom and JSON Feed, parsed by
`parse_feed` and matched by `Matcher` as the poller does."""

from __future__ import annotations

import functools
import html
import json
import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.domain import ParsedItem, Watchlist
from bot.core.matching import Matcher
from bot.sources.parsing import html_to_text, parse_feed

# Words that none of the terms below matches, in any form: English and Russian/Ukrainian news text.
FILLER_TEXT = (
    "the army said on Monday that drones struck a depot near the border overnight and officials "
    "reported damage to power lines while talks continued in Geneva with no date set "
    "войска сообщили что ночью беспилотники атаковали склад у границы власти заявили о "
    "повреждении линий электропередачи переговоры продолжаются в Женеве область город "
    "військові повідомили що вночі дрони атакували склад біля кордону влада заявила"
)
FILLER = tuple(FILLER_TEXT.split())
# The place as a live blog writes it, and the term a watchlist holds for it.
PLACES = [("Kursk", "Kursk"), ("Kursk's", "Kursk"), ("Курской", "Курск"), ("Курську", "Курськ")]
TERMS = ("Kursk", "Курск", "Курськ")
# (format, the field that holds the place); the other text field of the item holds filler.
FIELDS = [
    ("rss", "description"),
    ("rss", "content:encoded"),
    ("atom", "summary"),
    ("atom", "content"),
    ("json", "summary"),
    ("json", "content_html"),
    ("json", "content_text"),
]
CONTENT_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'


@functools.cache
def matcher() -> Matcher:
    return Matcher([Watchlist("kursk", TERMS)])


def hits(item: ParsedItem) -> dict[str, tuple[str, ...]]:
    """What the poller's call finds: the terms that hit, by watchlist."""
    found = matcher().match(item.title, item.summary)
    return {name: tuple(match.term for match in matches) for name, matches in found.items()}


def filler(seed: int, length: int) -> list[str]:
    """Words of the filler until they hold `length` characters with their spaces."""
    rng = random.Random(seed)
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(FILLER)
        words.append(word)
        size += len(word) + 1
    return words


def as_html(words: list[str]) -> str:
    """The words as an article: paragraphs of forty words, some in bold, an entity or two."""
    paragraphs = [words[i : i + 40] for i in range(0, len(words), 40)] or [[]]
    return "".join(
        "<p>" + " ".join(f"<b>{w}</b>" if n % 7 == 3 else w for n, w in enumerate(p)) + " &amp;</p>"
        for p in paragraphs
    )


def rss(description: str, content: str | None) -> bytes:
    encoded = "" if content is None else f"<content:encoded>{_cdata(content)}</content:encoded>"
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {CONTENT_NS}><channel>'
        "<title>Live</title><link>https://news.example/</link><item><title>Ukraine war latest</title>"
        f"<link>https://news.example/live</link><description>{_cdata(description)}</description>"
        f"{encoded}</item></channel></rss>"
    ).encode()


def _cdata(text: str) -> str:
    return f"<![CDATA[{text}]]>"


def atom(summary: str, content: str, kind: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Live</title><entry><id>urn:live:1</id><title>Ukraine war latest</title>"
        f'<summary type="{kind}">{html.escape(summary)}</summary>'
        f'<content type="{kind}">{html.escape(content)}</content></entry></feed>'
    ).encode()


def json_feed(**fields: str) -> bytes:
    item = {"id": "urn:live:1", "url": "https://news.example/live", "title": "Ukraine war latest"}
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Live",
            "items": [{**item, **fields}],
        }
    ).encode()


def document(field: tuple[str, str], with_place: str, other: str, *, markup: bool) -> bytes:
    """A feed of one item whose `field` holds `with_place` and whose other text field `other`."""
    kind, name = field
    if kind == "rss":
        if name == "description":
            return rss(with_place, other)
        return rss(other, with_place)
    if kind == "atom":
        summary, content = (with_place, other) if name == "summary" else (other, with_place)
        return atom(summary, content, "html" if markup else "text")
    other_field = "content_html" if name == "summary" else "summary"
    return json_feed(**{name: with_place, other_field: other})


def is_markup(field: tuple[str, str], markup: bool) -> bool:
    """JSON Feed's summary and content_text are plain text by definition, content_html is HTML."""
    if field[0] == "json":
        return field[1] == "content_html"
    return markup


@example(
    length=8_000,
    seed=0,
    where=0.9,
    place=PLACES[0],
    field=FIELDS[0],
    other_length=300,
    markup=False,
)
@example(
    length=300, seed=1, where=0.5, place=PLACES[2], field=FIELDS[1], other_length=300, markup=True
)
@example(
    length=200_000,
    seed=2,
    where=1.0,
    place=PLACES[3],
    field=FIELDS[3],
    other_length=3_000,
    markup=True,
)
@given(
    # Short items and long ones alike: drawn from 0 to 200,000 alone, most would be short.
    length=st.one_of(st.integers(0, 5_000), st.integers(5_000, 200_000)),
    seed=st.integers(0, 2**32 - 1),
    where=st.floats(0, 1),
    place=st.sampled_from(PLACES),
    field=st.sampled_from(FIELDS),
    other_length=st.integers(0, 3_000),
    markup=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_a_place_anywhere_in_the_summary_or_the_content_is_a_hit(
    length: int,
    seed: int,
    where: float,
    place: tuple[str, str],
    field: tuple[str, str],
    other_length: int,
    markup: bool,
) -> None:
    written, term = place
    words = filler(seed, length)
    words.insert(round(where * len(words)), written)
    text = as_html(words) if is_markup(field, markup) else " ".join(words)
    other = " ".join(filler(seed + 1, other_length))
    data = document(field, text, other, markup=markup)

    (item,) = parse_feed(data, source="https://news.example/live.xml").items

    assert hits(item) == {"kursk": (term,)}
    assert len(item.summary) <= len(data)


def test_a_name_at_character_7143_of_an_8000_character_summary_is_a_hit() -> None:
    # The Kyiv Independent's "Ukraine war latest" that named Kursk at character 7,143.
    head = " ".join(filler(7, 7_200))[:7_142]
    summary = head.rstrip() + "a" * (7_142 - len(head.rstrip())) + " Kursk "
    summary = (summary + " ".join(filler(8, 900)))[:7_999] + "."
    assert summary.index("Kursk") == 7_143
    assert len(summary) == 8_000

    (item,) = parse_feed(rss(summary, None), source="kyivindependent").items

    assert item.summary.index("Kursk") == 7_143
    assert hits(item) == {"kursk": ("Kursk",)}


def test_a_name_only_in_content_encoded_is_a_hit() -> None:
    article = as_html([*filler(3, 400), "Kursk", *filler(4, 400)])
    data = rss("Drones struck a depot overnight, officials said.", article)

    (item,) = parse_feed(data, source="rss").items

    assert item.summary.startswith("Drones struck a depot overnight, officials said. ")
    assert hits(item) == {"kursk": ("Kursk",)}


def test_a_name_only_in_the_atom_content_is_a_hit() -> None:
    data = atom("Drones struck a depot.", as_html([*filler(5, 3_000), "Курской"]), "html")

    (item,) = parse_feed(data, source="atom").items

    assert hits(item) == {"kursk": ("Курск",)}


@pytest.mark.parametrize("content", ["content_html", "content_text"])
def test_a_name_only_in_the_json_feed_content_is_a_hit(content: str) -> None:
    words = [*filler(6, 5_000), "Курську"]
    body = as_html(words) if content == "content_html" else " ".join(words)
    data = json_feed(summary="Drones struck a depot.", **{content: body})

    (item,) = parse_feed(data, source="feed.json").items

    assert hits(item) == {"kursk": ("Курськ",)}


@pytest.mark.parametrize(
    ("ellipsis", "after"),
    [("…", ""), (" […]", ""), (" [...]", ""), ("... Read more", " Read more")],
)
def test_a_name_past_the_cut_of_a_teaser_is_a_hit_and_the_teaser_is_not_repeated(
    ellipsis: str, after: str
) -> None:
    words = [*filler(9, 6_000), "Kursk", *filler(10, 100)]
    article = html_to_text(as_html(words))
    teaser = article[:480].rsplit(" ", 1)[0] + ellipsis

    (item,) = parse_feed(rss(teaser, as_html(words)), source="rss").items

    assert hits(item) == {"kursk": ("Kursk",)}
    # What follows the ellipsis is text of the item too, unless the article has it.
    assert item.summary == article + after
