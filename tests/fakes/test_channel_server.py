"""The fake channel preview: its pages read back through the real parser, its paging, landing pages,
limits, failures and the requests it records."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.sources.telegram_page import (
    channel_posts,
    is_telegram_landing,
    is_telegram_page,
    parse_telegram_page,
)
from tests.fakes.channel_server import ChannelServer, Post, hourly_posts

NEWEST = datetime(2026, 5, 20, 15, 38, 10, tzinfo=UTC)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def ids(body: bytes) -> list[int]:
    return [post.id for post in channel_posts(body, source="test")]


def test_the_newest_page_round_trips_through_the_parser(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel = channel_server.channel("durov", "Pavel <Durov>", hourly_posts(40, newest=NEWEST))
    forwarded = channel.post(
        "Line one & <two>\nsee https://example.com/a?b=1&c=2 now",
        at=NEWEST + timedelta(minutes=5),
        views="8.67M",
        forwarded_from="Пул N3",
        forwarded_from_link="https://t.me/rusvolcorps/123",
        edited=True,
        links=("https://example.com/a?b=1&c=2", "https://t.me/durov/1"),
    )

    response = client.get(channel_server.url + "/s/durov")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "etag" not in response.headers
    assert "last-modified" not in response.headers
    posts = channel_posts(response.content, source="test")
    assert [post.id for post in posts] == list(range(22, 42))
    assert all(post.channel == "durov" for post in posts)
    first = posts[0]
    assert first.published == NEWEST - timedelta(hours=18)
    assert (first.text, first.views, first.edited, first.forwarded_from) == (
        "Post 22",
        "1.2K",
        False,
        None,
    )
    last = posts[-1]
    assert last.id == forwarded.id == 41
    assert last.published == NEWEST + timedelta(minutes=5)
    assert last.text == (
        "Line one & <two>\nsee https://example.com/a?b=1&c=2 now\nhttps://t.me/durov/1"
    )
    assert last.views == "8.67M"
    assert last.edited is True
    assert last.forwarded_from == "Пул N3"
    assert last.forwarded_from_link == "https://t.me/rusvolcorps/123"
    assert last.links == ("https://example.com/a?b=1&c=2", "https://t.me/durov/1")
    feed = parse_telegram_page(response.content, source="test")
    assert (feed.title, feed.link) == ("Pavel <Durov>", "https://t.me/s/durov")


def test_the_newest_page_links_older_posts_and_no_newer(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.channel("durov", "Pavel Durov", hourly_posts(30, newest=NEWEST))

    body = client.get(channel_server.url + "/s/durov").text

    assert 'class="tme_messages_more js-messages_more" data-before="11"' in body
    assert '<link rel="prev" href="/s/durov?before=11">' in body
    assert 'rel="next"' not in body
    assert "data-after" not in body
    assert '<meta property="og:title" content="Pavel Durov">' in body
    assert body.count('<div class="tgme_widget_message_wrap js-widget_message_wrap">') == 20


def test_before_and_after_pages(channel_server: ChannelServer, client: httpx.Client) -> None:
    channel_server.channel("durov", "Pavel Durov", hourly_posts(50, newest=NEWEST))
    base = channel_server.url + "/s/durov"

    middle = client.get(base, params={"before": 31}).text
    oldest = client.get(base, params={"before": 11}).text
    after = client.get(base, params={"after": 5}).text
    newest = client.get(base, params={"after": 40}).text

    assert ids(middle.encode()) == list(range(11, 31))
    assert '<link rel="prev" href="/s/durov?before=11">' in middle
    assert '<link rel="next" href="/s/durov?after=30">' in middle
    assert 'data-before="11"' in middle
    assert 'data-after="30"' in middle
    assert ids(oldest.encode()) == list(range(1, 11))
    assert 'rel="prev"' not in oldest
    assert "data-before" not in oldest
    assert '<link rel="next" href="/s/durov?after=10">' in oldest
    assert ids(after.encode()) == list(range(6, 26))
    assert '<link rel="prev" href="/s/durov?before=6">' in after
    assert '<link rel="next" href="/s/durov?after=25">' in after
    assert ids(newest.encode()) == list(range(41, 51))
    assert 'rel="next"' not in newest


def test_pages_follow_gaps_in_ids_and_the_page_size(client: httpx.Client) -> None:
    posts = [
        Post(id=n, published=NEWEST + timedelta(minutes=n), text=f"#{n}") for n in (3, 7, 8, 20)
    ]
    with ChannelServer(page_size=2) as server:
        channel = server.channel("gaps", "Gaps", posts)
        assert channel.post("next", at=NEWEST + timedelta(hours=1)).id == 21

        newest = client.get(server.url + "/s/gaps").text
        older = client.get(server.url + "/s/gaps", params={"before": 20}).text

    assert ids(newest.encode()) == [20, 21]
    assert 'data-before="20"' in newest
    assert ids(older.encode()) == [7, 8]
    assert '<link rel="prev" href="/s/gaps?before=7">' in older
    assert '<link rel="next" href="/s/gaps?after=8">' in older


def test_ids_start_at_one_and_re_adding_an_id_replaces_the_post(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel = channel_server.channel("fresh", "Fresh")
    first = channel.post("first", at=NEWEST)
    channel.post("second", at=NEWEST + timedelta(hours=1))
    channel.add([Post(id=first.id, published=first.published, text="first, fixed", edited=True)])

    posts = channel_posts(client.get(channel_server.url + "/s/fresh").content, source="test")

    assert [(post.id, post.text, post.edited) for post in posts] == [
        (1, "first, fixed", True),
        (2, "second", False),
    ]
    assert [post.id for post in channel.posts] == [1, 2]


@pytest.mark.parametrize("query", [{"before": 1}, {"after": 30}])
def test_an_empty_page_says_no_posts_found(
    channel_server: ChannelServer, client: httpx.Client, query: dict[str, int]
) -> None:
    channel_server.channel("durov", "Pavel Durov", hourly_posts(30, newest=NEWEST))

    response = client.get(channel_server.url + "/s/durov", params=query)

    assert response.status_code == 200
    assert '<div class="tme_no_messages_found">No posts found</div>' in response.text
    assert is_telegram_page(response.content)
    assert channel_posts(response.content, source="test") == []
    assert 'rel="prev"' not in response.text
    assert "tme_messages_more" not in response.text


def test_a_channel_without_posts(channel_server: ChannelServer, client: httpx.Client) -> None:
    channel_server.channel("quiet", "Quiet")

    response = client.get(channel_server.url + "/s/quiet")

    assert response.status_code == 200
    assert "No posts found" in response.text
    assert channel_posts(response.content, source="test") == []
    assert parse_telegram_page(response.content, source="test").title == "Quiet"


def test_a_disabled_preview_redirects_to_the_channels_landing_page(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.disable_preview("hidden", "Hidden & Co")

    redirect = client.get(channel_server.url + "/s/hidden?before=5")
    landing = client.get(channel_server.url + "/hidden")

    assert redirect.status_code == 302
    assert redirect.headers["location"] == "/hidden"
    assert landing.status_code == 200
    assert landing.headers["content-type"] == "text/html; charset=utf-8"
    assert is_telegram_landing(landing.content)
    assert not is_telegram_page(landing.content)
    assert "tgme_widget_message" not in landing.text
    assert "<title>Telegram: Contact @hidden</title>" in landing.text
    assert (
        '<div class="tgme_page_title"><span dir="auto">Hidden &amp; Co</span></div>' in landing.text
    )
    assert '<div class="tgme_page_extra">1 234 subscribers</div>' in landing.text
    assert "View in Telegram" in landing.text
    assert "Preview channel" not in landing.text


def test_a_name_no_one_has_lands_on_the_contact_page(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    redirect = client.get(channel_server.url + "/s/nobody_here")
    landing = client.get(channel_server.url + "/s/nobody_here", follow_redirects=True)

    assert redirect.status_code == 302
    assert redirect.headers["location"] == "/nobody_here"
    assert landing.status_code == 200
    assert is_telegram_landing(landing.content)
    assert not is_telegram_page(landing.content)
    assert "<title>Telegram: Contact @nobody_here</title>" in landing.text
    assert (
        '<a class="tgme_username_link" href="tg://resolve?domain=nobody_here">@nobody_here</a>'
        in landing.text
    )
    assert "tgme_page_title" not in landing.text
    assert "tgme_page_extra" not in landing.text


def test_a_channel_with_its_preview_on_has_a_landing_page_too(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.channel("open", "Open")

    landing = client.get(channel_server.url + "/open")

    assert is_telegram_landing(landing.content)
    assert 'href="/s/open"' in landing.text


def test_a_limit_answers_429_with_retry_after_then_pages(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.channel("busy", "Busy", hourly_posts(3, newest=NEWEST))
    channel_server.channel("calm", "Calm", hourly_posts(3, newest=NEWEST))
    channel_server.limit("BUSY", times=2, retry_after=13)

    answers = [client.get(channel_server.url + "/s/busy") for _ in range(3)]
    calm = client.get(channel_server.url + "/s/calm")
    landing = client.get(channel_server.url + "/busy")

    assert [answer.status_code for answer in answers] == [429, 429, 200]
    assert answers[0].headers["retry-after"] == "13"
    assert ids(answers[2].content) == [1, 2, 3]
    assert calm.status_code == 200
    assert landing.status_code == 200
    assert [request.status for request in channel_server.requests] == [429, 429, 200, 200, 200]


def test_fail_answers_any_path_with_the_status(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.channel("durov", "Pavel Durov", hourly_posts(3, newest=NEWEST))
    channel_server.fail(2, status=503)

    first = client.get(channel_server.url + "/s/durov")
    second = client.get(channel_server.url + "/anything/else")
    third = client.get(channel_server.url + "/s/durov")

    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)


def test_names_are_compared_without_regard_to_case(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.channel("Sumy_Desk", "Sumy Desk", hourly_posts(2, newest=NEWEST))

    posts = channel_posts(client.get(channel_server.url + "/s/sUMY_dESK").content, source="test")

    assert [post.key for post in posts] == ["Sumy_Desk/1", "Sumy_Desk/2"]
    assert channel_server.hits("sumy_desk") == 1
    assert channel_server.requests[0].name == "sUMY_dESK"


@pytest.mark.parametrize(
    "path", ["/", "/s/", "/s/durov/1", "/durov/1", "/s/du-rov", "/favicon.ico"]
)
def test_other_paths_are_not_found(
    channel_server: ChannelServer, client: httpx.Client, path: str
) -> None:
    channel_server.channel("durov", "Pavel Durov")

    response = client.get(channel_server.url + path)

    assert response.status_code == 404
    assert channel_server.requests[-1].name is None


def test_requests_are_recorded_with_their_paging(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.channel("durov", "Pavel Durov", hourly_posts(30, newest=NEWEST))
    started = time.monotonic()

    client.get(channel_server.url + "/s/durov")
    client.get(channel_server.url + "/s/durov?before=11")
    client.get(channel_server.url + "/s/Durov?after=4&q=x")
    client.get(channel_server.url + "/durov")

    requests = channel_server.requests
    assert [(r.path, r.name, r.before, r.after, r.status, r.preview) for r in requests] == [
        ("/s/durov", "durov", None, None, 200, True),
        ("/s/durov?before=11", "durov", 11, None, 200, True),
        ("/s/Durov?after=4&q=x", "Durov", None, 4, 200, True),
        ("/durov", "durov", None, None, 200, False),
    ]
    assert started <= requests[0].at <= requests[1].at <= requests[2].at <= time.monotonic()
    assert channel_server.hits("DUROV") == 3
    assert channel_server.hits("pavel") == 0


def test_hourly_posts_end_at_newest() -> None:
    posts = hourly_posts(3, newest=NEWEST, first_id=10, text=lambda i: f"n{i}")

    assert [(post.id, post.published, post.text) for post in posts] == [
        (10, NEWEST - timedelta(hours=2), "n10"),
        (11, NEWEST - timedelta(hours=1), "n11"),
        (12, NEWEST, "n12"),
    ]


def test_a_post_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Post(id=1, published=datetime(2026, 1, 1), text="naive")  # noqa: DTZ001


def test_the_page_keeps_the_real_structure(
    channel_server: ChannelServer, client: httpx.Client
) -> None:
    channel_server.channel(
        "durov", "Pavel Durov", hourly_posts(1, newest=NEWEST, text=lambda i: "a\nb")
    )

    body = client.get(channel_server.url + "/s/durov").text

    assert '<div class="tgme_channel_info">' in body
    assert (
        '<div class="tgme_channel_info_header_title"><span dir="auto">Pavel Durov</span></div>'
        in body
    )
    assert re.search(
        r'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message '
        r'text_not_supported_wrap js-widget_message" data-post="durov/1">',
        body,
    )
    assert (
        '<a class="tgme_widget_message_date" href="https://t.me/durov/1">'
        '<time datetime="2026-05-20T15:38:10+00:00" class="time">15:38</time></a>'
    ) in body
    assert '<div class="tgme_widget_message_text js-message_text" dir="auto">a<br/>b</div>' in body
