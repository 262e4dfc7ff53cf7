"""Stories across outlets: the same link (tracking taken off) or a near-identical title within 48
hours is one story, shown once with the other outlets; one a chat already got is not sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Match, PendingDelivery, StoredItem
from bot.stories import group_stories, link_key, same_title, title_words

NOON = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)


def pending(
    id: int, title: str, link: str, outlet: str, *, hours: float = 0, watchlist: str = "rvc"
) -> PendingDelivery:
    item = StoredItem(
        id=id,
        feed_id=id,
        feed_name=outlet,
        key=f"k{id}",
        title=title,
        link=link,
        summary="",
        published=NOON + timedelta(hours=hours),
        seen_at=NOON + timedelta(hours=hours),
    )
    return PendingDelivery(id, 111, item, (Match(watchlist, "RVC", "RVC"),))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://www.news.example/a/1?utm_source=rss&utm_medium=feed", "http://news.example/a/1"),
        ("https://news.example/a/1/#comments", "https://news.example/a/1"),
        ("https://news.example/a?id=7&fbclid=x", "https://news.example/a?id=7"),
        ("https://news.example/a?b=2&a=1", "https://news.example/a?a=1&b=2"),
    ],
)
def test_copies_of_one_page_have_one_link_key(first: str, second: str) -> None:
    assert link_key(first) == link_key(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://news.example/a?id=7", "https://news.example/a?id=8"),
        ("https://news.example/a/1", "https://other.example/a/1"),
    ],
)
def test_different_pages_keep_different_link_keys(first: str, second: str) -> None:
    assert link_key(first) != link_key(second)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        # Measured pairs from shared/corpus/bench (see bot/stories.py).
        (
            "US civil rights leader Jesse Jackson dies aged 84",
            "Jesse Jackson, veteran US civil rights activist, dies at 84",
            True,
        ),
        (
            "Australia won't repatriate 34 women and children from Syria",
            "Australia won't repatriate 34 women and children linked to IS from Syria",
            True,
        ),
        ("Models All the Way Down", "Workflows All the Way Down", False),
        ("2025: Another SaaSy Year In Review", "2025 Year in Review", False),
        (
            "Ukraine says Russian drones hit an energy plant in the Odesa region",
            "Russia says Ukrainian drones hit an oil depot in the Belgorod region",
            False,
        ),
        (
            "Бойцы РДК заявили о рейде в Курской области",
            "Бойцы РДК заявили о новом рейде в Курской области",
            True,
        ),
    ],
)
def test_near_identical_titles(first: str, second: str, same: bool) -> None:
    assert same_title(title_words(first), title_words(second)) is same


def test_one_story_from_three_outlets_is_shown_once_with_the_others() -> None:
    stories = group_stories(
        [
            pending(1, "RVC fighters claim a raid into the Kursk region", "https://a.example/1", "A"),
            pending(2, "Weather in Lviv", "https://b.example/w", "B", hours=1),
            pending(3, "RVC raid", "https://www.a.example/1?utm_source=x", "C", hours=2),
            pending(
                4, "RVC fighters claim a raid into the Kursk region", "https://d.example/9", "D",
                hours=3,
            ),
        ]
    )  # fmt: skip
    assert [d.id for d in stories.deliveries] == [1, 2]
    assert stories.deliveries[0].also == ("C", "D")
    assert stories.deliveries[0].merged_ids == (3, 4)
    assert stories.repeats == ()


def test_titles_two_days_apart_are_two_stories() -> None:
    title = "RVC fighters claim a raid into the Kursk region"
    stories = group_stories(
        [
            pending(1, title, "https://a.example/1", "A"),
            pending(2, title, "https://b.example/1", "B", hours=49),
        ]
    )
    assert [d.id for d in stories.deliveries] == [1, 2]


def test_a_story_the_chat_already_got_is_a_repeat() -> None:
    got = pending(1, "RVC fighters claim a raid into the Kursk region", "https://a.example/1", "A")
    later = pending(
        2, "RVC fighters claim a raid into the Kursk region", "https://b.example/2", "B", hours=5
    )
    other = pending(3, "Legion statement", "https://b.example/3", "B", hours=5)
    stories = group_stories([later, other], [got.item])
    assert [d.id for d in stories.deliveries] == [3]
    assert stories.repeats == (2,)
