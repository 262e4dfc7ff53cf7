"""Stories across outlets: two items are one story only when they report the same event. The same
cleaned link from two feeds, or alike titles within 48 hours, unless the titles differ in a name,
a place, a number or a date, or the items matched different watchlists."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.domain import Match, PendingDelivery, StoredItem
from bot.core.matching.morphology import default_morphology
from bot.trends.stories import StoryItem, group_stories, link_key, moment_of, same_story

NOON = datetime(2024, 3, 12, 12, 0, tzinfo=UTC)


def stored(
    id: int,
    title: str,
    link: str | None = None,
    outlet: str = "A",
    *,
    hours: float = 0,
    feed: int | None = None,
    published: datetime | None = None,
) -> StoredItem:
    moment = NOON + timedelta(hours=hours)
    return StoredItem(
        id=id,
        feed_id=feed if feed is not None else id,
        feed_name=outlet,
        key=f"k{id}",
        title=title,
        link=link,
        summary="",
        published=published or moment,
        seen_at=moment,
    )


def pending(
    id: int,
    title: str,
    link: str | None,
    outlet: str,
    *,
    hours: float = 0,
    watchlists: tuple[str, ...] = ("rvc",),
    thread_id: int | None = None,
) -> PendingDelivery:
    item = stored(id, title, link, outlet, hours=hours)
    matches = tuple(Match(name, name.upper(), f"{name} words") for name in watchlists)
    return PendingDelivery(id, 111, item, matches, thread_id)


def story(item: StoredItem, watchlists: tuple[str, ...] | None = None) -> StoryItem:
    return StoryItem.of(item, default_morphology(), watchlists)


def judge(first: str, second: str, **kwargs: object) -> tuple[bool, str]:
    verdict = same_story(story(stored(1, first)), story(stored(2, second, outlet="B")))
    return verdict.same, verdict.why


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("https://www.news.example/a/1?utm_source=rss&utm_medium=feed", "http://news.example/a/1"),
        ("https://news.example/a/1/#comments", "https://news.example/a/1"),
        ("https://news.example/a?id=7&fbclid=x", "https://news.example/a?id=7"),
        ("https://news.example/a?b=2&a=1", "https://news.example/a?a=1&b=2"),
        ("https://news.example/a/1?traffic_source=rss", "https://news.example/a/1"),
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
    "home", ["https://meduza.io/", "https://meduza.io", "http://www.x.example"]
)
def test_a_home_page_is_no_item_link(home: str) -> None:
    assert link_key(home) is None


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        (
            "Drone attack on Belgorod leaves two injured, governor says",
            "Drone attack on Kursk leaves two injured, governor says",
            "names: Belgorod / Kursk",
        ),
        (
            "Губернатор Белгородской области сообщил о погибших при обстреле",
            "Губернатор Курской области сообщил о погибших при обстреле",
            "names: Белгородской / Курской",
        ),
        (
            "Russia-Ukraine war: List of key events, day 1,000",
            "Russia-Ukraine war: List of key events, day 1,001",
            "numbers: 1,000 / 1,001",
        ),
        ("2 грудня – яке сьогодні свято", "3 грудня – яке сьогодні свято", "numbers: 2 / 3"),
        (
            "Новости дня: что случилось в понедельник в Курской области",
            "Новости дня: что случилось во вторник в Курской области",
            "dates: понедельник / вторник",
        ),
        ("Episode 6 of the border podcast", "Episode 7 of the border podcast", "numbers: 6 / 7"),
        (
            "Belgorod governor says two injured in drone attack",
            "Kursk governor says two injured in drone attack",
            "names: Belgorod / Kursk",
        ),
        (
            "Drone Attack On Belgorod Leaves Two Injured",
            "Drone Attack On Kursk Leaves Two Injured",
            "names: Belgorod / Kursk",
        ),
        (
            "Шебекино обстреляли из РСЗО, ранены двое",
            "Грайворон обстреляли из РСЗО, ранены двое",
            "names: Шебекино / Грайворон",
        ),
        (
            "Rylsk: two houses damaged in overnight shelling, officials say",
            "Lgov: two houses damaged in overnight shelling, officials say",
            "names: Rylsk / Lgov",
        ),
    ],
)
def test_templated_titles_of_different_events_are_two_stories(
    first: str, second: str, why: str
) -> None:
    same, reason = judge(first, second)
    assert not same
    assert reason == f"the titles differ in {why}"


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
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
        # Short Russian headlines of one event share few words, in other forms.
        (
            "Бойцы РДК заявили о рейде в Курской области",
            "РДК сообщил о рейде в Курскую область",
            True,
        ),
    ],
)
def test_alike_titles(first: str, second: str, same: bool) -> None:
    assert judge(first, second)[0] is same


def test_items_that_matched_different_watchlists_are_two_stories() -> None:
    title = "Drone attack on the border region leaves two injured, governor says"
    kursk = story(stored(1, title), ("kursk",))
    belgorod = story(stored(2, title, outlet="B"), ("belgorod",))
    verdict = same_story(kursk, belgorod)
    assert not verdict.same
    assert verdict.why == "they matched different watchlists: kursk / belgorod"


def test_one_link_from_two_feeds_is_one_story_but_a_live_page_is_not() -> None:
    live = "https://news.example/live/kursk"
    first = stored(1, "Kursk live: drones over the city", live, feed=1)
    later = stored(2, "Kursk live: governor lifts the alert", live, feed=1, hours=3)
    copy = stored(3, "Border live blog", live, "B", feed=2, hours=1)
    assert not same_story(story(first), story(later)).same
    assert same_story(story(first), story(copy)) == same_story(story(copy), story(first))
    assert same_story(story(first), story(copy)).why == "the same link"


def test_a_date_before_any_news_is_read_as_missing() -> None:
    """A feed that dates every item 1970 must not put them all in one 48-hour window."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    item = stored(1, "Title", published=epoch, hours=5)
    assert moment_of(item) == item.seen_at
    future = stored(2, "Title", published=NOON + timedelta(days=30))
    assert moment_of(future) == future.seen_at
    assert moment_of(stored(3, "Title", hours=-3)) == NOON - timedelta(hours=3)


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
    assert stories.updates == ()


def test_a_story_keeps_its_own_matches_never_those_of_an_item_folded_into_it() -> None:
    first = pending(1, "RVC fighters claim a raid", "https://a.example/1", "A")
    copy = pending(2, "RVC fighters claim a raid", "https://a.example/1", "B", hours=1)
    copy = PendingDelivery(copy.id, 111, copy.item, (Match("rvc", "RVC", "RVC fighters"),))
    [head] = group_stories([first, copy]).deliveries
    assert head.matches == first.matches
    assert head.merged_ids == (2,)


def test_titles_two_days_apart_are_two_stories() -> None:
    title = "RVC fighters claim a raid into the Kursk region"
    stories = group_stories(
        [
            pending(1, title, "https://a.example/1", "A"),
            pending(2, title, "https://b.example/1", "B", hours=49),
        ]
    )
    assert [d.id for d in stories.deliveries] == [1, 2]


def test_new_items_of_a_story_the_chat_already_got_are_updates_of_it() -> None:
    got = pending(1, "RVC fighters claim a raid into the Kursk region", "https://a.example/1", "A")
    later = pending(
        2, "RVC fighters claim a raid into the Kursk region", "https://b.example/2", "B", hours=5
    )
    other = pending(3, "Legion statement", "https://b.example/3", "B", hours=5)
    stories = group_stories([later, other], [got])
    assert [d.id for d in stories.deliveries] == [3]
    [update] = stories.updates
    assert update.delivery.id == 2
    assert update.story == got.item


def test_many_pending_items_are_grouped_without_comparing_every_pair() -> None:
    """2,000 distinct items and 2,000 copies of them: each copy finds its story among the ones
    that share a word with it."""
    rows = []
    for n in range(2000):
        title = f"Report {n}: village{n} shelled, mayor{n} says"
        rows.append(pending(n, title, f"https://a.example/{n}", "A"))
        rows.append(pending(10_000 + n, title, f"https://b.example/{n}", "B", hours=1))
    stories = group_stories(rows)
    assert len(stories.deliveries) == 2000
    assert all(d.merged_ids == (10_000 + d.id,) for d in stories.deliveries)


# --- channel posts: the origin of a story -------------------------------------------------------


def test_an_item_that_cites_a_channel_post_is_one_story_with_it_whatever_the_titles() -> None:
    post = stored(1, "РДК: взяты в плен 25 военнослужащих", "https://t.me/rusvolcorps/1234")
    report = replace(
        stored(2, "Russian Volunteer Corps says it captured soldiers", "https://kyiv.example/x",
            "Kyiv Independent", hours=1),
        cites="rusvolcorps/1234",
    )  # fmt: skip
    forward = replace(
        stored(3, "Видео с пленными", "https://t.me/war_reporter/88", "War reporter", hours=2),
        cites="rusvolcorps/1234",
    )
    other_post = stored(4, "РДК: обращение к жителям", "https://t.me/rusvolcorps/1235", hours=1)
    assert same_story(story(post), story(report)).why == (
        "one reports the channel post rusvolcorps/1234"
    )
    assert same_story(story(report), story(post)).same
    assert same_story(story(forward), story(report)).why == (
        "both report the channel post rusvolcorps/1234"
    )
    assert not same_story(story(other_post), story(report)).same
    # Beyond the window, a citation joins nothing.
    late = replace(report, published=NOON + timedelta(days=3), seen_at=NOON + timedelta(days=3))
    assert not same_story(story(post), story(late)).same


def test_a_story_begun_by_a_channel_post_lists_the_others_in_the_order_they_reported() -> None:
    def cited(delivery: PendingDelivery, post: str) -> PendingDelivery:
        return replace(delivery, item=replace(delivery.item, cites=post))

    stories = group_stories(
        [
            cited(pending(3, "Видео с пленными", "https://t.me/war_reporter/88", "War reporter",
                hours=2), "rusvolcorps/1234"),
            pending(1, "РДК: взяты в плен 25 военнослужащих", "https://t.me/rusvolcorps/1234",
                "RVC"),
            cited(pending(2, "Corps says it captured soldiers", "https://kyiv.example/x",
                "Kyiv Independent", hours=1), "rusvolcorps/1234"),
        ]
    )  # fmt: skip
    [origin] = stories.deliveries
    assert origin.id == 1
    assert origin.also == ("Kyiv Independent", "War reporter (@war_reporter)")
    assert origin.also_at == (NOON + timedelta(hours=1), NOON + timedelta(hours=2))
    assert origin.merged_ids == (2, 3)
