"""Tests of bot.render.digest.render_digest: a pure function from pending hits to digest messages.

Every HTML message is checked with the fake Bot API's strict `parse_html`, which refuses what Telegram
would refuse; lengths are counted as Telegram counts them, in UTF-16 code units after entity parsing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.domain import DigestMessage, Match, PendingDelivery, StoredItem, Watchlist
from bot.render.digest import TELEGRAM_TEXT_LIMIT, render_digest, section_of
from tests.fakes.telegram_api import parse_html

NOW = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)
PUBLISHED = datetime(2024, 3, 12, 5, 40, tzinfo=UTC)

WATCHLISTS: dict[str, Watchlist] = {
    w.name: w
    for w in (
        Watchlist("rvc", ("RVC", "Russian Volunteer Corps"), "Russian Volunteer Corps"),
        Watchlist("lsr", ("LSR",), "Freedom of Russia Legion"),
        Watchlist("kursk", ("Kursk*",), "Kursk region"),
        Watchlist("belgorod", ("Belgorod*",), "Belgorod region"),
        Watchlist("siberian", ("Siberian Battalion",), "Siberian Battalion"),
    )
}
# Group order: by display title, case-folded.
TITLE_ORDER = ["belgorod", "lsr", "kursk", "rvc", "siberian"]


# --- builders ------------------------------------------------------------------------------------


def match(watchlist: str, text: str | None = None, term: str | None = None) -> Match:
    word = text if text is not None else watchlist.upper()
    return Match(watchlist=watchlist, term=term or word, text=word)


def delivery(
    id: int,
    *matches: Match,
    title: str | None = None,
    link: str | None = "auto",
    summary: str = "",
    feed_name: str = "Kyiv Wire",
    published: datetime | None = PUBLISHED,
    seen_at: datetime = PUBLISHED,
    chat_id: int = 111,
) -> PendingDelivery:
    item = StoredItem(
        id=id,
        feed_id=1,
        feed_name=feed_name,
        key=f"key-{id}",
        title=f"Story number {id}" if title is None else title,
        link=f"https://news.example/{id}" if link == "auto" else link,
        summary=summary,
        published=published,
        seen_at=seen_at,
    )
    return PendingDelivery(id=id, chat_id=chat_id, item=item, matches=tuple(matches))


# --- reading messages the way Telegram reads them ------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    data = text.encode("utf-16-le")
    return data[offset * 2 : (offset + length) * 2].decode("utf-16-le")


def parse_all(
    messages: Sequence[DigestMessage], limit: int = TELEGRAM_TEXT_LIMIT
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Parse every message as Telegram would (raises on any refused markup) and check its length."""
    parsed = []
    for message in messages:
        plain, entities = parse_html(message.text)
        assert utf16_len(plain) <= limit, (utf16_len(plain), message.text[:200])
        assert plain.strip(), "an empty message"
        parsed.append((plain, entities))
    return parsed


def links(plain: str, entities: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(text, url) of every text_link entity."""
    return [
        (utf16_slice(plain, e["offset"], e["length"]), e["url"])
        for e in entities
        if e["type"] == "text_link"
    ]


def styled(plain: str, entities: list[dict[str, Any]], kind: str) -> list[str]:
    return [utf16_slice(plain, e["offset"], e["length"]) for e in entities if e["type"] == kind]


def all_ids(messages: Sequence[DigestMessage]) -> list[int]:
    return [i for message in messages for i in message.delivery_ids]


def is_heading(line: str) -> bool:
    # Feed text is escaped and has no newlines, so only the renderer's own bold lines start with <b>.
    return line.startswith("<b>")


def render(deliveries: Sequence[PendingDelivery], **kwargs: Any) -> list[DigestMessage]:
    return render_digest(deliveries, WATCHLISTS, now=NOW, **kwargs)


# --- basics --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["html", "text"])
def test_no_deliveries_give_no_messages(fmt: Any) -> None:
    assert render([], fmt=fmt) == []


@pytest.mark.parametrize("fmt", ["html", "text"])
def test_deliveries_without_matches_give_no_messages(fmt: Any) -> None:
    assert render([delivery(1), delivery(2)], fmt=fmt) == []


def test_a_delivery_without_matches_is_skipped_among_others() -> None:
    messages = render(
        [
            delivery(1, match("rvc", "RVC"), title="RVC claims raid"),
            delivery(2, title="Weather in Lviv"),
        ]
    )
    assert all_ids(messages) == [1]
    text = "\n".join(plain for plain, _ in parse_all(messages))
    assert "RVC claims raid" in text
    assert "Weather in Lviv" not in text
    assert "1 new mention" in text
    assert "mentions" not in text


def test_one_item_shows_linked_title_outlet_time_and_matched_words() -> None:
    messages = render(
        [
            delivery(
                7,
                match("rvc", "Russian Volunteer Corps"),
                title="Volunteer corps claims raid",
                summary="The Russian Volunteer Corps said so.",
                link="https://news.example/raid?id=7&lang=en",
                feed_name="East Report",
            )
        ]
    )
    assert len(messages) == 1
    assert messages[0].delivery_ids == (7,)
    [(plain, entities)] = parse_all(messages)
    assert links(plain, entities) == [
        ("Volunteer corps claims raid", "https://news.example/raid?id=7&lang=en")
    ]
    assert "Russian Volunteer Corps (1)" in styled(plain, entities, "bold")
    assert styled(plain, entities, "italic") == ["Russian Volunteer Corps"]
    facts = plain.splitlines()[-1]
    assert "East Report" in facts
    assert "12 Mar 05:40 UTC" in facts
    assert "Russian Volunteer Corps" in facts
    assert "also" not in facts


def test_time_is_shown_in_the_given_zone_and_with_the_year_when_not_this_year() -> None:
    kyiv = timezone(timedelta(hours=2), "EET")
    old = datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    messages = render(
        [
            delivery(1, match("rvc"), title="Now", published=PUBLISHED),
            delivery(2, match("rvc"), title="Last year", published=old),
            delivery(3, match("rvc"), title="Unknown date", published=None, seen_at=PUBLISHED),
        ],
        tz=kyiv,
    )
    [(plain, _)] = parse_all(messages)
    lines = plain.splitlines()

    def facts_of(title: str) -> str:
        return lines[lines.index(f"• {title}") + 1]

    assert "12 Mar 07:40 EET" in facts_of("Now")
    assert "12 Mar 07:40 EET" in facts_of("Unknown date")  # seen_at stands in for published
    # In Kyiv it is already 2024, this year: no year shown.
    assert "01 Jan 01:30 EET" in facts_of("Last year")
    utc = parse_all(render([delivery(2, match("rvc"), title="Last year", published=old)]))
    assert "31 Dec 2023 23:30 UTC" in utc[0][0]


def test_items_are_grouped_under_watchlist_headings_in_title_order() -> None:
    messages = render(
        [
            delivery(1, match("rvc"), title="R one"),
            delivery(2, match("kursk"), title="K one"),
            delivery(3, match("rvc"), title="R two", published=PUBLISHED + timedelta(hours=1)),
            delivery(4, match("belgorod"), title="B one"),
            delivery(5, match("unlisted", "Foo"), title="U one"),  # a watchlist gone from config
        ]
    )
    [(plain, entities)] = parse_all(messages)
    assert styled(plain, entities, "bold") == [
        "feedwatch · 5 new mentions",
        "Belgorod region (1)",
        "Kursk region (1)",
        "Russian Volunteer Corps (2)",
        "unlisted (1)",
    ]
    lines = [line for line in plain.splitlines() if line.startswith("• ")]
    assert lines == ["• B one", "• K one", "• R two", "• R one", "• U one"]  # newest first
    assert sorted(messages[0].delivery_ids) == [1, 2, 3, 4, 5]


def test_items_within_a_group_are_newest_first() -> None:
    """On a phone the top of a section is what is read."""
    base = PUBLISHED
    messages = render(
        [
            delivery(1, match("rvc"), title="Third", published=base + timedelta(hours=2)),
            delivery(2, match("rvc"), title="First", published=base),
            delivery(3, match("rvc"), title="Second", published=base + timedelta(hours=1)),
        ]
    )
    [(plain, _)] = parse_all(messages)
    assert [line for line in plain.splitlines() if line.startswith("• ")] == [
        "• Third",
        "• Second",
        "• First",
    ]


def test_an_item_hitting_two_watchlists_appears_once_and_mentions_the_other() -> None:
    messages = render(
        [
            delivery(
                1,
                match("kursk", "Kursk"),
                match("rvc", "RVC"),
                title="RVC fighters enter Kursk region",
            ),
            delivery(2, match("rvc", "RVC"), title="RVC video"),
            delivery(
                3,
                match("kursk", "Kursk"),
                match("rvc", "RVC"),
                title="Kursk governor: RVC fighters crossed the border",
            ),
        ]
    )
    assert sorted(all_ids(messages)) == [1, 2, 3]
    [(plain, entities)] = parse_all(messages)
    assert plain.count("RVC fighters enter Kursk region") == 1
    assert "3 new mentions" in plain
    # Each stands under the list whose words stand earliest in it (not the first list by
    # title), its own words first; the other list is named by its title.
    bold = styled(plain, entities, "bold")
    assert bold == ["feedwatch · 3 new mentions", "Kursk region (1)", "Russian Volunteer Corps (2)"]
    lines = plain.splitlines()
    assert lines.index("• Kursk governor: RVC fighters crossed the border") < lines.index(
        "Russian Volunteer Corps (2)"
    )
    facts = lines[lines.index("• RVC fighters enter Kursk region") + 1]
    assert "also Kursk region" in facts
    # The words the title shows are not said again: only the other list's title is.
    assert facts.endswith("· also Kursk region")
    facts = lines[lines.index("• Kursk governor: RVC fighters crossed the border") + 1]
    assert "also Russian Volunteer Corps" in facts
    assert "also" not in lines[lines.index("• RVC video") + 1]


def test_the_section_is_the_list_whose_words_stand_first_in_the_title_then_the_summary() -> None:
    order = ["belgorod", "kursk", "rvc"]  # by title: Belgorod region, Kursk region, RVC
    in_title = delivery(
        1,
        match("belgorod", "Белгородский"),
        match("rvc", "РДК"),
        title="РДК прорвался в Тёткино",
        summary="Белгородский губернатор сообщил об обстреле",
    )
    assert section_of(in_title, order) == "rvc"
    in_summary = delivery(
        2,
        match("rvc", "Russian Volunteer Corps"),
        match("kursk", "Kursk"),
        title="Raid across the border",
        summary="Fighters crossed into the Kursk region, the Russian Volunteer Corps said",
    )
    assert section_of(in_summary, order) == "kursk"
    # The same words for two lists: the first by title.
    both = delivery(3, match("rvc", "РДК"), match("belgorod", "РДК"), title="РДК у границы")
    assert section_of(both, order) == "belgorod"


def test_many_matches_are_shown_up_to_five_then_an_ellipsis() -> None:
    words = [f"word{i}" for i in range(8)]
    messages = render([delivery(1, *(match("rvc", w) for w in words), title="Busy")])
    [(plain, entities)] = parse_all(messages)
    assert styled(plain, entities, "italic") == [*words[:5], "…"]


def test_the_same_words_matched_twice_are_shown_once() -> None:
    messages = render(
        [delivery(1, match("rvc", "RVC", "RVC"), match("rvc", "RVC", "rvc"), title="Raid")]
    )
    [(plain, entities)] = parse_all(messages)
    assert styled(plain, entities, "italic") == ["RVC"]


def test_an_untitled_item_is_shown_by_its_summary_then_its_link() -> None:
    messages = render(
        [
            delivery(1, match("rvc"), title="", summary="Summary stands in"),
            delivery(2, match("rvc"), title="", summary="", link="https://news.example/x"),
            delivery(3, match("rvc"), title="", summary="", link=None),
        ]
    )
    [(plain, _)] = parse_all(messages)
    bullets = [line for line in plain.splitlines() if line.startswith("• ")]
    assert bullets == ["• (untitled)", "• https://news.example/x", "• Summary stands in"]


def test_a_blank_title_falls_back_like_an_empty_one() -> None:
    """A whitespace-only title must not leave the item with an empty, unclickable link."""
    item = StoredItem(1, 1, "Feed", "k", " \n\t ", "https://news.example/1", "Summary", None, NOW)
    [(plain, entities)] = parse_all(render([PendingDelivery(1, 111, item, (match("rvc"),))]))
    assert links(plain, entities) == [("Summary", "https://news.example/1")]


# --- hostile feed text ---------------------------------------------------------------------------

HOSTILE_TEXTS = [
    "<script>alert(1)</script>",
    "AT&T & Co",
    "He said \"stop\" and 'left'",
    "</a><b>bold?</b><a href='x'>",
    "&amp;lt; stays literal &lt; &#60; &nbsp;",
    "a > b < c",
    "Белгородская область: 😀 обстрел 𝕏 ✈️",
    "<tg-spoiler>x</tg-spoiler> <blockquote>",
    "🇺🇦" * 20,
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_hostile_feed_text_is_escaped_and_reads_as_plain_text(text: str) -> None:
    messages = render_digest(
        [
            # The matched words differ from the title, so that the meta line shows them too.
            delivery(1, match("rvc", text), title=text, feed_name=text, summary=f"{text}!"),
            delivery(2, match("kursk", "Kursk"), title="", link=None, summary=f"{text} (sum)"),
        ],
        {**WATCHLISTS, "rvc": Watchlist("rvc", ("RVC",), text)},
        now=NOW,
    )
    [(plain, entities)] = parse_all(messages)
    assert links(plain, entities) == [(text, "https://news.example/1")]
    assert f"{text} (1)" in styled(plain, entities, "bold")  # the watchlist title, escaped too
    assert "Kursk" in styled(plain, entities, "italic")
    lines = plain.splitlines()
    facts = lines[lines.index(f"• {text}") + 1]
    assert facts.strip().startswith(text)  # the outlet
    assert f"• {text} (sum)" in lines  # the summary stands in for a missing title
    # No tag of the feed text became an entity: only our bold headings, the link, the matched words.
    assert {e["type"] for e in entities} == {"bold", "text_link", "italic"}


def test_a_very_long_title_is_shortened_and_stays_inside_its_link() -> None:
    title = "Долгий заголовок " * 400  # ~6800 characters
    messages = render([delivery(1, match("rvc"), title=title)])
    [(plain, entities)] = parse_all(messages)
    [(shown, url)] = links(plain, entities)
    assert url == "https://news.example/1"
    assert shown.endswith("…")
    assert " ".join(title.split()).startswith(shown[:-1])
    assert 100 <= len(shown) <= 300


@pytest.mark.parametrize(
    "link",
    [
        'https://news.example/a?x=1&y="2"',
        "https://news.example/it's",
        "https://news.example/<script>",
        "https://news.example/a&amp;b",
        "http://news.example/пример?q=Курск",
    ],
)
def test_links_with_quotes_and_markup_are_escaped_in_the_href(link: str) -> None:
    messages = render([delivery(1, match("rvc"), title="Story", link=link)])
    [(plain, entities)] = parse_all(messages)
    assert links(plain, entities) == [("Story", link)]


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox",
        "tg://user?id=1",
        "//news.example/protocol-relative",
        "",
    ],
)
@pytest.mark.parametrize("fmt", ["html", "text"])
def test_links_that_are_not_http_never_become_links(link: str, fmt: Any) -> None:
    messages = render([delivery(1, match("rvc"), title="Story", link=link)], fmt=fmt)
    assert all_ids(messages) == [1]
    text = messages[0].text
    assert "javascript" not in text.lower()
    assert "script" not in text.lower()
    if fmt == "html":
        [(plain, entities)] = parse_all(messages)
        assert links(plain, entities) == []
        assert "• Story" in plain.splitlines()
    else:
        assert link.strip() == "" or link not in text


def test_astral_characters_count_twice_toward_the_limit() -> None:
    # Each title is 290 emoji: 290 characters but 580 UTF-16 code units.
    deliveries = [delivery(i, match("rvc"), title=f"{i} " + "😀" * 290) for i in range(1, 41)]
    messages = render(deliveries)
    parse_all(messages)  # checks the UTF-16 length of each
    assert len(messages) >= 6
    assert sorted(all_ids(messages)) == list(range(1, 41))


# --- splitting -----------------------------------------------------------------------------------


def many_deliveries(count: int) -> list[PendingDelivery]:
    names = list(WATCHLISTS)
    result = []
    for i in range(count):
        first = names[i % len(names)]
        matches = [match(first, f"{first}-word")]
        if i % 7 == 0:
            matches.append(match(names[(i + 2) % len(names)], "second-word"))
        result.append(
            delivery(
                i + 1,
                *matches,
                title=f"story-{i:04d}-end " + "filler " * (i % 23),
                feed_name=f"Outlet {i % 9}",
                published=PUBLISHED + timedelta(minutes=i * 13 % 997),
            )
        )
    return result


def expected_group(d: PendingDelivery) -> str:
    names = {m.watchlist for m in d.matches}
    return WATCHLISTS[next(n for n in TITLE_ORDER if n in names)].display_title


def walk(messages: Sequence[DigestMessage]) -> list[list[tuple[str, str]]]:
    """For each message, (group heading title, item line) pairs in order; checks heading placement."""
    result = []
    previous_group: str | None = None
    for number, message in enumerate(messages):
        lines = message.text.split("\n")
        assert not is_heading(lines[-1]), f"message {number} ends with a heading: {lines[-1]}"
        assert lines[-1].startswith("  "), f"message {number} does not end with an item"
        start = 0
        if number == 0:
            assert lines[0].startswith("<b>feedwatch · ")
            start = 1
        else:
            assert is_heading(lines[0]), f"message {number} starts without a heading"
        group: str | None = None
        pairs = []
        for i, line in enumerate(lines[start:], start):
            if is_heading(line):
                plain, _ = parse_html(line)
                group = plain.rsplit(" (", 1)[0]
                if plain.endswith("(continued)"):
                    assert i == 0, "a continued heading stands only at the top of a message"
                    assert group == previous_group
                # A heading is always followed by an item.
                assert lines[i + 1].startswith("• ")
            elif line.startswith("• "):
                assert group is not None
                pairs.append((group, parse_html(line)[0]))
        previous_group = group
        result.append(pairs)
    return result


def test_five_hundred_items_split_into_several_messages_and_lose_none() -> None:
    deliveries = many_deliveries(500)
    messages = render(deliveries)
    parse_all(messages)
    assert len(messages) >= 5
    ids = all_ids(messages)
    assert len(ids) == len(set(ids))
    assert sorted(ids) == list(range(1, 501))
    assert all(message.delivery_ids for message in messages)

    for d in deliveries:
        key = f"story-{d.id - 1:04d}-end"
        holders = [m for m in messages if key in m.text]
        assert len(holders) == 1, key
        assert holders[0].text.count(key) == 1
        assert d.id in holders[0].delivery_ids

    pairs = [pair for message_pairs in walk(messages) for pair in message_pairs]
    assert len(pairs) == 500
    by_key = {d.item.title.split()[0]: expected_group(d) for d in deliveries}
    for group, line in pairs:
        assert by_key[line.removeprefix("• ").split()[0]] == group
    # The group counts in the headings are the real counts, not the counts of one message.
    counts = Counter(group for group, _ in pairs)
    full_text = "\n".join(m.text for m in messages)
    for group, count in counts.items():
        assert f"<b>{group} ({count})</b>" in full_text
    # Each message carries exactly the items it shows.
    for message, message_pairs in zip(messages, walk(messages), strict=True):
        assert len(message.delivery_ids) == len(message_pairs)


@pytest.mark.parametrize("limit", [500, 1000, 2000])
def test_the_limit_parameter_is_honoured(limit: int) -> None:
    deliveries = many_deliveries(120)
    messages = render(deliveries, limit=limit)
    parse_all(messages, limit=limit)
    assert len(messages) > len(render(deliveries))
    assert sorted(all_ids(messages)) == list(range(1, 121))
    walk(messages)


def test_a_heading_that_would_end_a_message_moves_to_the_next() -> None:
    # Fill the first message almost to the limit with one group, then start a second group: its
    # heading fits, its first item does not. Search a filler size where that happens.
    for size in range(50, 300):
        deliveries = [
            delivery(i, match("belgorod"), title=f"b{i} " + "x" * size) for i in range(1, 13)
        ]
        deliveries.append(delivery(99, match("rvc"), title="r99 " + "y" * 250))
        messages = render(deliveries, limit=2000)
        if len(messages) == 2 and 99 in messages[1].delivery_ids and 12 in messages[0].delivery_ids:
            first_lines = messages[0].text.split("\n")
            plain_first = parse_html(messages[0].text)[0]
            with_heading = utf16_len(plain_first) + len("\n\nRussian Volunteer Corps (1)")
            if with_heading <= 2000:
                break
    else:
        pytest.fail("no filler size puts the heading at the end of the first message")
    assert not is_heading(first_lines[-1])
    assert "Russian Volunteer Corps" not in messages[0].text
    assert messages[1].text.startswith("<b>Russian Volunteer Corps (1)</b>\n• ")
    walk(messages)


def test_a_group_split_across_messages_goes_on_under_a_continued_heading() -> None:
    deliveries = [delivery(i, match("kursk"), title=f"k{i} " + "z" * 200) for i in range(1, 40)]
    messages = render(deliveries)
    assert len(messages) >= 2
    for message in messages[1:]:
        assert message.text.startswith("<b>Kursk region (continued)</b>\n• ")
    walk(messages)


# --- the terminal format -------------------------------------------------------------------------


def test_text_format_has_the_url_on_its_own_line_and_no_html() -> None:
    messages = render(
        [
            delivery(
                1,
                match("rvc", "RVC"),
                title="RVC & <friends>",
                link="https://news.example/a?b=1&c=2",
            ),
            delivery(2, match("kursk", "Kursk"), match("rvc", "RVC"), title='Kursk "raid"'),
            delivery(3, match("kursk", "Kursk"), title="No link", link=None),
        ],
        fmt="text",
    )
    [message] = messages
    lines = message.text.split("\n")
    assert lines[0] == "feedwatch · 3 new mentions"
    assert "== Kursk region (2) ==" in lines
    assert "== Russian Volunteer Corps (1) ==" in lines
    # Feed text stands as it is: nothing escaped, nothing tagged.
    assert "• RVC & <friends>" in lines
    assert '• Kursk "raid"' in lines
    assert "&amp;" not in message.text
    assert "&lt;" not in message.text
    for tag in ("<b>", "<i>", "<a ", "</a>", "href"):
        assert tag not in message.text
    url_lines = [line for line in lines if "https://" in line]
    assert [line.strip() for line in url_lines] == [
        "https://news.example/2",
        "https://news.example/a?b=1&c=2",
    ]
    assert lines[lines.index("• RVC & <friends>") + 1].strip() == "https://news.example/a?b=1&c=2"
    no_link = lines.index("• No link")
    assert "https://" not in lines[no_link + 1]
    assert "matched: Kursk" in lines[no_link + 1]
    assert "also Russian Volunteer Corps" in message.text
    assert sorted(message.delivery_ids) == [1, 2, 3]


def test_text_format_splits_by_the_limit_too() -> None:
    deliveries = many_deliveries(300)
    messages = render(deliveries, fmt="text", limit=3000)
    assert len(messages) >= 3
    for message in messages:
        assert utf16_len(message.text) <= 3000
        assert not message.text.split("\n")[-1].startswith("==")
    assert sorted(all_ids(messages)) == list(range(1, 301))


# --- properties ----------------------------------------------------------------------------------

NAMES = [*WATCHLISTS, "gone"]
_texts = st.one_of(st.text(max_size=30), st.text(min_size=100, max_size=400))
_links = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(max_size=60).map(lambda s: "https://news.example/" + s),
    st.sampled_from(
        ["javascript:alert(1)", 'https://x.example/"><b>', "http://x.example/?a=1&b=2"]
    ),
)
_matches = st.lists(
    st.builds(Match, watchlist=st.sampled_from(NAMES), term=st.text(max_size=10), text=_texts),
    max_size=4,
)
_when = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=datetime(2099, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_delivery = st.tuples(_texts, _texts, st.text(max_size=100), _links, _matches, st.none() | _when)
_watchlist_titles = st.lists(
    st.text(max_size=80), min_size=len(WATCHLISTS), max_size=len(WATCHLISTS)
)


def build(raw: list[tuple[Any, ...]]) -> list[PendingDelivery]:
    result = []
    for i, (title, summary, feed_name, link, matches, published) in enumerate(raw, start=1):
        item = StoredItem(i, 1, feed_name, f"k{i}", title, link, summary, published, NOW)
        result.append(PendingDelivery(i, 111, item, tuple(matches)))
    return result


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.lists(_delivery, max_size=60), titles=_watchlist_titles)
def test_any_digest_parses_fits_and_carries_every_matched_item_once(
    raw: list[tuple[Any, ...]], titles: list[str]
) -> None:
    deliveries = build(raw)
    watchlists = {
        name: Watchlist(name, ("x",), title or None)
        for name, title in zip(WATCHLISTS, titles, strict=True)
    }
    messages = render_digest(deliveries, watchlists, now=NOW)
    parse_all(messages)
    expected = sorted(d.id for d in deliveries if d.matches)
    ids = all_ids(messages)
    assert sorted(ids) == expected
    assert len(ids) == len(set(ids))
    assert all(message.delivery_ids for message in messages)
    for message in messages:
        last = message.text.split("\n")[-1]
        assert not is_heading(last)
        # Only http(s) links become links.
        _, entities = parse_html(message.text)
        for entity in entities:
            if entity["type"] == "text_link":
                assert entity["url"].startswith(("http://", "https://"))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.lists(_delivery, max_size=60))
def test_any_text_digest_fits_and_carries_every_matched_item_once(
    raw: list[tuple[Any, ...]],
) -> None:
    deliveries = build(raw)
    messages = render_digest(deliveries, WATCHLISTS, now=NOW, fmt="text")
    for message in messages:
        assert utf16_len(message.text) <= TELEGRAM_TEXT_LIMIT
    ids = all_ids(messages)
    assert sorted(ids) == sorted(d.id for d in deliveries if d.matches)
    assert len(ids) == len(set(ids))


def test_a_digest_reads_in_the_chats_language() -> None:
    lists = {
        "rvc": Watchlist("rvc", ("RVC",), title="РДК"),
        "kursk": Watchlist("kursk", ("Kursk",)),
    }
    both = delivery(1, match("rvc"), match("kursk"))
    [message] = render_digest([both, delivery(2, match("rvc"))], lists, now=NOW, lang="uk")
    plain, _ = parse_html(message.text)
    assert plain.startswith("feedwatch · 2 нові згадки")
    assert "також РДК" in plain
    [english] = render_digest([both], lists, now=NOW)
    assert parse_html(english.text)[0].startswith("feedwatch · 1 new mention")


# --- channel posts ---------------------------------------------------------------------------------


def test_a_channel_post_shows_the_channel_with_its_handle_and_a_forward_its_origin() -> None:
    post = delivery(
        9,
        match("rvc", "РДК"),
        title="РДК: взяты в плен 25 военнослужащих",
        link="https://t.me/RusVolCorps/1234",
        feed_name="Русский добровольческий корпус",
    )
    forwarded = PendingDelivery(
        10,
        111,
        replace(post.item, id=10, link="https://t.me/war_reporter/88", feed_name="@war_reporter",
            forwarded_from="Русский добровольческий корпус"),
        post.matches,
    )  # fmt: skip
    text = "\n".join(plain for plain, _ in parse_all(render([post, forwarded])))
    # РДК stands in the title: the meta line says no more than where and when.
    assert "  Русский добровольческий корпус (@rusvolcorps) · 12 Mar 05:40 UTC\n" in text + "\n"
    # A channel named by its handle already is not named twice.
    assert (
        "  @war_reporter · 12 Mar 05:40 UTC · forwarded from Русский добровольческий корпус"
    ) in text
    russian = "\n".join(plain for plain, _ in parse_all(render([forwarded], lang="ru")))
    assert "переслано из Русский добровольческий корпус" in russian


def test_a_story_shows_its_origin_first_and_when_each_other_source_reported_it() -> None:
    head = replace(
        delivery(1, match("rvc", "РДК"), title="РДК: 25 пленных", link="https://t.me/rusvolcorps/5",
            feed_name="RVC"),
        also=("Meduza", "Kyiv Independent"),
        also_at=(PUBLISHED + timedelta(hours=1), PUBLISHED + timedelta(days=1, minutes=5)),
        merged_ids=(2, 3),
    )  # fmt: skip
    lines = "\n".join(plain for plain, _ in parse_all(render([head]))).splitlines()
    at = lines.index("• РДК: 25 пленных")
    assert lines[at + 1] == "  first: RVC (@rusvolcorps) 12 Mar 05:40 UTC"
    # The same day: the time alone; another day: with its date.
    assert lines[at + 2] == "  then Meduza 06:40, Kyiv Independent 13 Mar 05:45 UTC"


def test_the_meta_line_says_only_words_the_title_does_not_show_each_term_once() -> None:
    messages = render(
        [
            delivery(
                1,
                match("rvc", "RVC", "RVC"),
                match("rvc", "RVC's", "RVC"),
                match("rvc", "Russian Volunteer Corps", "Russian Volunteer Corps"),
                title="RVC's statement",
                summary="The Russian Volunteer Corps said …",
            )
        ]
    )
    [(plain, entities)] = parse_all(messages)
    facts = plain.splitlines()[-1]
    # «RVC» and «RVC's» are one term, and the title shows it; the summary's words are said.
    assert styled(plain, entities, "italic") == ["Russian Volunteer Corps"]
    assert facts == "  Kyiv Wire · 12 Mar 05:40 UTC · Russian Volunteer Corps"


def test_a_short_name_matched_inside_the_full_one_is_not_said_twice() -> None:
    """«Свобода России» (a context term) and «Легион «Свобода России»» matched one place: the
    full name says both."""
    messages = render(
        [
            delivery(
                1,
                match("lsr", "легиона «Свобода России»", "Легион «Свобода России»"),
                match("lsr", "Свобода России", "Свобода России"),
                match("lsr", "ЛСР", "ЛСР"),
                title="Бои у границы",
                summary="Бойцы легиона «Свобода России» и ЛСР …",
            )
        ]
    )
    [(plain, _)] = parse_all(messages)
    assert plain.splitlines()[-1] == (
        "  Kyiv Wire · 12 Mar 05:40 UTC · легиона «Свобода России», ЛСР"
    )


def test_the_header_counts_the_items_behind_the_stories_when_copies_were_folded() -> None:
    story = replace(
        delivery(1, match("rvc", "RVC"), title="Raid"), also=("B", "C"), merged_ids=(2, 3)
    )
    [(plain, _)] = parse_all(render([story, delivery(4, match("rvc", "RVC"), title="Other")]))
    assert plain.splitlines()[0] == "feedwatch · 2 new mentions · 4 items"
    [(single, _)] = parse_all(render([delivery(5, match("rvc", "RVC"), title="Solo")]))
    assert single.splitlines()[0] == "feedwatch · 1 new mention"
