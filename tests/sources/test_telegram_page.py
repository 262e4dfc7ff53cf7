"""Tests of bot.sources.telegram_page: each page in tests/data/telegram gives exactly the messages
written beside it; each quirk of real pages has a test of its own; pages cut off, hostile or not
Telegram's are read or refused with a ParseError, in bounded time; and the shared corpus."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.errors import ParseError
from bot.sources.parsing import MAX_TITLE_LENGTH
from bot.sources.telegram_page import (
    MAX_PAGE_BYTES,
    ChannelPost,
    channel_posts,
    is_telegram_page,
    parse_telegram_page,
)
from tests.shared_corpus import corpus_documents, require_corpus

DATA = Path(__file__).parents[1] / "data" / "telegram"
EXPECTED = sorted(DATA.glob("*.expected.json"))
PAGES = sorted(DATA.glob("*.html"))
# What the page shows where it cannot show something: never a post's text.
PLACEHOLDERS = (
    "Please open Telegram to view this post",
    "Media is too big",
    "VIEW IN TELEGRAM",
    "This media is not supported in your browser",
)


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _posts(name: str) -> list[ChannelPost]:
    return channel_posts(_read(name), source=name)


def _post(name: str, key: str) -> ChannelPost:
    (found,) = [post for post in _posts(name) if post.key == key]
    return found


def _as_json(post: ChannelPost) -> dict[str, Any]:
    return {
        "id": post.key,
        "link": post.link,
        "title": post.title,
        "published": post.published.isoformat(),
        "summary": post.summary,
        "forwarded_from": post.forwarded_from,
        "forwarded_from_link": post.forwarded_from_link,
        "views": post.views,
        "media": list(post.media),
        "edited": post.edited,
        "author": post.author,
    }


def _page(*messages: str) -> bytes:
    """A channel page around messages (see `_message`)."""
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        "<section class='tgme_channel_history js-message_history'>"
        + "".join(messages)
        + "</section></body></html>"
    ).encode()


def _message(post: str, inner: str, *, when: str = "2024-05-01T10:00:00+00:00") -> str:
    """A message as t.me marks it up, with `inner` in its bubble and a footer dated `when`."""
    return (
        "<div class='tgme_widget_message_wrap js-widget_message_wrap'>"
        f"<div class='tgme_widget_message text_not_supported_wrap js-widget_message' data-post='{post}'>"
        f"<div class='tgme_widget_message_bubble'>{inner}"
        "<div class='tgme_widget_message_footer compact js-message_footer'>"
        "<div class='tgme_widget_message_info short js-message_info'>"
        "<span class='tgme_widget_message_meta'><a class='tgme_widget_message_date' "
        f"href='https://t.me/{post}'><time datetime='{when}' class='time'>10:00</time></a></span>"
        "</div></div></div></div></div>"
    )


def _text(markup: str) -> str:
    return f"<div class='tgme_widget_message_text js-message_text' dir='auto'>{markup}</div>"


# --- every page beside its expected messages -------------------------------------------------


def test_every_page_has_its_expected_messages() -> None:
    assert len(PAGES) >= 18
    assert {p.name for p in PAGES} == {p.name.removesuffix(".expected.json") for p in EXPECTED}


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_page_gives_exactly_its_expected_messages(expected_path: Path) -> None:
    page = expected_path.with_name(expected_path.name.removesuffix(".expected.json"))
    expected = json.loads(expected_path.read_text(encoding="utf-8"))

    posts = channel_posts(page.read_bytes(), source=page.name)

    assert [_as_json(post) for post in posts] == expected


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name.split(".")[0])
def test_the_feed_holds_one_item_per_message(page: Path) -> None:
    data = page.read_bytes()
    posts = channel_posts(data, source=page.name)

    feed = parse_telegram_page(data, source=page.name)

    # Keys in lower case: channel names ignore case, and one post must not become two items.
    assert [(i.key, i.link, i.title, i.summary, i.published) for i in feed.items] == [
        (p.key.lower(), p.link, p.title, p.summary, p.published) for p in posts
    ]
    assert all(item.published is not None and item.published.tzinfo is UTC for item in feed.items)


def test_the_feed_is_named_by_the_page() -> None:
    whole = parse_telegram_page(_read("sherlock_durov_1.html"), source="durov")
    assert (whole.title, whole.link) == ("Pavel Durov", "https://t.me/s/durov")
    # The page's channel, from its header, however a message spells it.
    case = parse_telegram_page(_read("handmade_case_and_emoji.html"), source="case")
    assert (case.title, case.link) == ("Kherson Daily & Co", "https://t.me/s/kherson_daily")
    # A fragment names no channel but its messages'.
    fragment = parse_telegram_page(_read("any2feed_it_begin_frag_poll.html"), source="poll")
    assert (fragment.title, fragment.link) == (None, "https://t.me/s/it_begin")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name.split(".")[0])
def test_every_page_is_recognised_by_its_content(page: Path) -> None:
    assert is_telegram_page(page.read_bytes())


# --- the quirks of real pages, one test each --------------------------------------------------


def test_the_quoted_reply_is_not_the_posts_text() -> None:
    reply = _post("handmade_reply_and_links.html", "border_watch/102")
    # The quote holds a tgme_widget_message_text of its own: the replied-to post's first line.
    assert b"js-message_reply_text" in _read("handmade_reply_and_links.html")
    assert reply.text == "Update: power is back in one of the two villages."
    assert "Shelling" not in reply.summary


def test_nested_caption_divs_of_2023_albums_give_the_text_once() -> None:
    album = _post("any2feed_anna_news_frag_photo_and_video.html", "anna_news/46908")
    assert album.text.count("Они упали на улицы города.") == 1
    page = _posts("any2feed_topwar_official_1.html")
    for post in (p for p in page if p.key in ("topwar_official/70992", "topwar_official/71000")):
        assert post.text.count(post.title) == 1, post.key
    assert _post("handmade_media_kinds.html", "media_demo/7").text == (
        "Two photos from the Kyiv metro"
    )


def test_double_escaped_hrefs_come_out_right() -> None:
    raw = _read("handmade_reply_and_links.html")
    assert raw.count(b"&amp;amp;") == 3
    post = _post("handmade_reply_and_links.html", "border_watch/103")
    assert post.forwarded_from_link == "https://t.me/s/region_news?before=20&q=%23power"
    assert post.links == ("https://news.example.org/statement?id=7&lang=en",)
    assert post.preview is not None
    assert post.preview.url == "https://news.example.org/statement?id=7&lang=en"


def test_hrefs_escaped_once_or_not_at_all_stay_as_they_are() -> None:
    page = _page(
        _message(
            "x/1",
            _text(
                "<a href='https://a.example/?p=1&amp;q=2'>a</a> "
                "<a href='https://b.example/?p=1&q=2'>b</a>"
            ),
        )
    )
    (post,) = channel_posts(page, source="x")
    assert post.links == ("https://a.example/?p=1&q=2", "https://b.example/?p=1&q=2")


def test_emoji_are_characters_whether_written_or_only_drawn() -> None:
    post = _post("handmade_case_and_emoji.html", "Kherson_Daily/7")
    # ⚡ and 🇺🇦 are only in the image's name; 🙏 is written; the custom emoji without a
    # character leaves nothing behind.
    assert post.text == "⚡ Air alert in the region 🇺🇦\nStay in shelters🙏"
    written = _post("any2feed_fighter_bomber_frag_link_preview_video.html", "fighter_bomber/11226")
    assert written.title == "Жениться вам, барин, пора! 😁"
    assert written.preview is not None
    assert written.preview.description.endswith("наводит пздц как🤓")


def test_data_post_keeps_its_case_and_the_same_post_in_another_case_is_one_message() -> None:
    posts = _posts("handmade_case_and_emoji.html")
    # Telegram writes "Kherson_Daily/7"; the channel's URL is t.me/s/kherson_daily.
    assert [post.key for post in posts] == ["Kherson_Daily/7", "kherson_daily/8"]
    assert posts[0].link == "https://t.me/Kherson_Daily/7"
    # The repeat, "kherson_daily/7", came later: the first one stays.
    assert posts[0].text.startswith("⚡ Air alert")


def test_no_posts_found_gives_no_messages_and_no_error() -> None:
    data = _read("handmade_no_posts_found.html")
    assert b"No posts found" in data
    assert channel_posts(data, source="empty") == []
    feed = parse_telegram_page(data, source="empty")
    assert (feed.items, feed.title) == ((), "Sumy Desk")


def test_placeholders_are_never_text() -> None:
    shown = b"".join(page.read_bytes() for page in PAGES)
    for placeholder in PLACEHOLDERS:
        assert placeholder.encode() in shown  # the pages do hold each of them
    for page in PAGES:
        for post in channel_posts(page.read_bytes(), source=page.name):
            for placeholder in PLACEHOLDERS:
                assert placeholder not in post.summary, (page.name, post.key)
                assert placeholder not in post.title, (page.name, post.key)


def test_a_placeholder_inside_the_text_is_no_text_either() -> None:
    placeholder = (
        "<div class='message_media_not_supported_wrap'><div class='message_media_not_supported'>"
        "<div class='message_media_not_supported_label'>Please open Telegram to view this post</div>"
        "<span class='message_media_view_in_telegram'>VIEW IN TELEGRAM</span></div></div>"
    )
    (post,) = channel_posts(_page(_message("x/1", _text(f"Before{placeholder} after"))), source="x")
    assert post.text == "Before after"


def test_service_messages_are_not_items() -> None:
    data = _read("handmade_service_messages.html")
    assert data.count(b"service_message") == 3
    assert [post.key for post in channel_posts(data, source="service")] == ["sumy_desk/3"]


def test_an_attribute_that_never_closes_costs_no_other_message() -> None:
    posts = _posts("handmade_unclosed_attribute.html")
    assert [(post.key, post.media) for post in posts] == [
        ("odesa_port/40", ()),
        ("odesa_port/41", ("location",)),
        ("odesa_port/42", ()),
    ]


def test_an_attribute_open_to_the_end_of_the_page_loses_only_its_own_message() -> None:
    data = _read("sherlock_durov_1.html")
    full = channel_posts(data, source="full")
    # Cut inside the style attribute of durov/536's photo: the rest of the page is that value.
    start = data.index(b'data-post="durov/536"')
    cut = data.index(b"background-image:url('", start) + 30
    assert channel_posts(data[:cut], source="cut") == full[:16]
    assert full[16].key == "durov/536"


def test_the_time_is_the_date_links_not_a_videos_duration() -> None:
    # The duration's <time> comes first, and here even has a datetime of its own.
    video = _post("handmade_case_and_emoji.html", "kherson_daily/8")
    assert video.published == datetime(2025, 1, 15, 19, 30, tzinfo=UTC)
    real = _post("any2feed_topwar_official_1.html", "topwar_official/71006")
    assert real.published == datetime(2023, 2, 28, 12, 48, 58, tzinfo=UTC)


def test_a_time_with_an_offset_is_told_in_utc() -> None:
    post = _post("handmade_case_and_emoji.html", "Kherson_Daily/7")
    assert post.published == datetime(2025, 1, 15, 19, 3, tzinfo=UTC)


def test_the_link_preview_is_kept_apart_and_matched_after_the_text() -> None:
    post = _post("handmade_reply_and_links.html", "border_watch/103")
    assert post.preview is not None
    assert (post.preview.site, post.preview.title) == (
        "Example News",
        "Governor: repairs will take a week",
    )
    assert post.preview.description == "Crews from Kursk are on their way.\nSchools stay closed."
    assert "Kursk" not in post.text
    assert post.summary == post.text + "\n\n" + post.preview.text


def test_a_link_previews_video_is_not_the_posts_media() -> None:
    post = _post("any2feed_fighter_bomber_frag_link_preview_video.html", "fighter_bomber/11226")
    assert b"link_preview_video_player" in _read(
        "any2feed_fighter_bomber_frag_link_preview_video.html"
    )
    assert post.media == ()


def test_forwarded_from_name_and_link() -> None:
    linked = _post("any2feed_oper_goblin_frag_file.html", "oper_goblin/16936")
    assert (linked.forwarded_from, linked.forwarded_from_link) == (
        "Кремлёвская прачка",
        "https://t.me/kremlinprachka/20294",
    )
    # A forward from a user who hides their account: a name without a link.
    hidden = _post("any2feed_oper_goblin_frag_voice.html", "oper_goblin/939")
    assert (hidden.forwarded_from, hidden.forwarded_from_link) == ("Спортивный Екб", None)
    own = _post("sherlock_durov_1.html", "durov/519")
    assert (own.forwarded_from, own.forwarded_from_link) == (None, None)


def test_views_as_shown() -> None:
    views = {post.key: post.views for post in _posts("sherlock_durov_1.html")}
    assert (views["durov/519"], views["durov/539"], views["durov/536"]) == (
        "8.67M",
        "826K",
        "4.57M",
    )
    assert _post("handmade_service_messages.html", "sumy_desk/3").views == "842"
    (no_views,) = channel_posts(_page(_message("x/1", _text("hi"))), source="x")
    assert no_views.views is None


def test_edited_flag_and_signature() -> None:
    both = _post("handmade_service_messages.html", "sumy_desk/3")
    assert (both.edited, both.author) == (True, "Olena K.")
    signed = _post("sherlock_durov_1.html", "durov/519")
    assert (signed.edited, signed.author) == (False, "Pavel Durov")
    edited = _post("any2feed_fighter_bomber_frag_link_preview_video.html", "fighter_bomber/11226")
    assert (edited.edited, edited.author) == (True, None)


def test_edited_is_read_in_any_language() -> None:
    footer = (
        "<div class='tgme_widget_message_footer compact js-message_footer'>"
        "<span class='tgme_widget_message_meta'>изменено &nbsp;<a class='tgme_widget_message_date' "
        "href='https://t.me/x/2'><time datetime='2024-05-01T10:00:00+00:00'>10:00</time></a></span>"
        "</div>"
    )
    page = (
        "<div class='tgme_widget_message js-widget_message' data-post='x/2'>"
        f"<div class='tgme_widget_message_bubble'>{_text('hi')}{footer}</div></div>"
    ).encode()
    (post,) = channel_posts(page, source="x")
    assert post.edited


def test_kinds_of_media() -> None:
    kinds = {post.key: post.media for post in _posts("handmade_media_kinds.html")}
    assert kinds == {
        "media_demo/1": ("audio",),
        "media_demo/2": ("document",),
        "media_demo/3": ("sticker",),
        "media_demo/4": ("location",),
        "media_demo/5": ("contact",),
        "media_demo/6": ("voice",),
        "media_demo/7": ("photo",),
        "media_demo/9": ("poll",),
        "media_demo/10": ("round_video",),
    }
    # An album's kinds, each once, in the order they come.
    album = _post("any2feed_topwar_official_1.html", "topwar_official/70992")
    assert album.media == ("photo", "video")


def test_a_poll_is_matched_by_its_question_and_options() -> None:
    poll = _post("any2feed_it_begin_frag_poll.html", "it_begin/488")
    assert poll.text == ""
    assert poll.poll_question == "Как лучше?"
    assert poll.poll_options == (
        "Несколько постов в день",
        "Один пост в несколько дней",
        "Свой вариант в комментарии",
    )
    assert poll.title == "Как лучше?"


def test_line_breaks_are_the_posts_and_not_the_markups() -> None:
    # The 2023 page is re-indented: its sentences break across lines of markup.
    post = _post("any2feed_topwar_official_frag_text.html", "topwar_official/70991")
    assert post.title == "Неопознанный летающий объект замечен в 160 – 200 км от Петербурга"
    assert post.text.count("\n") == 4  # two <br/><br/>
    quote = _text(
        "Said:<br/><blockquote>Hold the line</blockquote><br/>Then<blockquote>x</blockquote>y"
    )
    (post,) = channel_posts(_page(_message("x/1", quote)), source="x")
    assert post.text == "Said:\nHold the line\nThen\nx\ny"


def test_the_title_is_the_first_line_shortened() -> None:
    first = " ".join(f"word{i}" for i in range(400))
    (post,) = channel_posts(_page(_message("x/1", _text(f"{first}<br/>second line"))), source="x")
    assert len(post.title) <= MAX_TITLE_LENGTH
    assert post.title.endswith("…")
    assert first.startswith(post.title.removesuffix("…"))
    assert post.summary == f"{first}\nsecond line"


def test_a_message_inside_a_message_is_its_own_and_no_part_of_the_other() -> None:
    inner = _message("x/2", _text("inner"), when="2024-05-01T11:00:00+00:00")
    page = _page(_message("x/1", _text("outer") + inner))
    posts = channel_posts(page, source="x")
    assert [(post.key, post.text) for post in posts] == [("x/1", "outer"), ("x/2", "inner")]


# --- pages cut off -------------------------------------------------------------------------------


def test_a_real_page_cut_off_mid_tag_gives_its_complete_messages() -> None:
    data = _read("feedwatch_solokumi_1.html")
    assert data.rstrip().endswith(b"<div")  # as captured
    posts = channel_posts(data, source="solokumi")
    assert [post.key for post in posts] == [f"solokumi/{n}" for n in range(419, 425)]


@pytest.mark.parametrize("where", ["in the next message's tag", "in the message's text"])
def test_a_cut_gives_every_message_before_it_whole_and_none_in_part(where: str) -> None:
    data = _read("sherlock_durov_1.html")
    full = channel_posts(data, source="full")
    for index, post in enumerate(full):
        start = data.index(f'data-post="{post.key}"'.encode())
        if where == "in the message's text":
            if not post.text:
                continue
            text = data.index(b"js-message_text", start)
            posts = channel_posts(data[: text + 40], source="cut")
            assert posts == full[:index], post.key
        elif index + 1 < len(full):
            following = data.index(f'data-post="{full[index + 1].key}"'.encode())
            posts = channel_posts(data[: following + 14], source="cut")
            assert posts == full[: index + 1], post.key


@pytest.mark.parametrize(
    "name", ["handmade_reply_and_links.html", "handmade_unclosed_attribute.html"]
)
def test_every_cut_of_a_small_page_gives_a_beginning_of_its_messages(name: str) -> None:
    page = _read(name)
    full = channel_posts(page, source=name)
    counts = set()
    for cut in range(len(page) + 1):
        try:
            posts = channel_posts(page[:cut], source=name)
        except ParseError:
            continue
        assert posts == full[: len(posts)], cut
        counts.add(len(posts))
    assert counts == set(range(len(full) + 1))


@given(st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_cut_gives_a_beginning_of_the_whole_pages_messages(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([p.name for p in PAGES]))
    page = _read(name)
    full = channel_posts(page, source=name)
    cut = data.draw(st.integers(min_value=0, max_value=len(page)))
    try:
        posts = channel_posts(page[:cut], source=name)
    except ParseError:
        return  # too little is left to be a channel page
    assert posts == full[: len(posts)]


@given(st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_damaged_pages_give_messages_or_a_parse_error(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([p.name for p in PAGES]))
    page = bytearray(_read(name))
    for _ in range(data.draw(st.integers(min_value=1, max_value=20))):
        at = data.draw(st.integers(min_value=0, max_value=len(page)))
        junk = data.draw(st.binary(max_size=12) | st.sampled_from([b"<", b'"', b"'", b">", b"&"]))
        page[at:at] = junk
    page = page[: data.draw(st.integers(min_value=0, max_value=len(page)))]
    try:
        posts = channel_posts(bytes(page), source=name)
    except ParseError:
        return  # any other exception fails the test
    assert all(post.published.tzinfo is UTC for post in posts)


@given(st.binary(max_size=400))
@settings(max_examples=200, deadline=None)
def test_any_bytes_give_messages_or_a_parse_error(data: bytes) -> None:
    try:
        posts = channel_posts(data, source="random")
    except ParseError:
        return  # any other exception fails the test
    assert all(post.key for post in posts)


# --- hostile pages and pages that are not Telegram's --------------------------------------------


def _refused(data: bytes) -> tuple[ParseError, float]:
    started = time.perf_counter()
    with pytest.raises(ParseError) as caught:
        parse_telegram_page(data, source="hostile")
    return caught.value, time.perf_counter() - started


def test_a_page_over_the_size_cap_is_refused_before_it_is_read() -> None:
    page = _page(_message("x/1", _text("a" * (11 * 2**20))))
    assert len(page) > MAX_PAGE_BYTES
    error, took = _refused(page)
    assert error.reason == "the page is larger than 10 MB"
    assert took < 1


def test_a_page_nested_too_deep_is_refused_in_bounded_time() -> None:
    page = _page(_message("x/1", "<div>" * 200_000 + "deep" + "</div>" * 200_000))
    error, took = _refused(page)
    assert error.reason == "the page is nested more than 256 levels deep"
    assert took < 5


def test_a_text_longer_than_the_parser_reads_is_refused() -> None:
    error, took = _refused(_page(_message("x/1", _text("a" * 10_400_000))))
    assert error.reason.startswith("the page is beyond the HTML parser's limits: ")
    assert took < 5


def test_a_page_nested_within_the_limit_is_read() -> None:
    (post,) = channel_posts(
        _page(_message("x/1", _text("<span>" * 200 + "deep" + "</span>" * 200))), source="x"
    )
    assert post.text == "deep"


def test_a_page_of_many_messages_is_read_in_bounded_time() -> None:
    one = _message("x/{n}", _text("Shelling near <b>Kursk</b><br/>again"))
    page = _page(*(one.replace("{n}", str(n)) for n in range(1, 5001)))
    started = time.perf_counter()
    posts = channel_posts(page, source="many")
    assert len(posts) == 5000
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"", "the document is empty"),
        (b" \n\t", "the document is empty"),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><item><description><![CDATA['
            b'<div class="tgme_widget_message_text">quoted</div>]]></description></item>'
            b"</channel></rss>",
            "not a Telegram channel preview: an XML document (a feed?)",
        ),
        (
            b'<!DOCTYPE html><html><body><div class="tgme_page tgme_page_extra">'
            b'<div class="tgme_page_title">Some channel</div></div></body></html>',
            "not a Telegram channel preview: a Telegram page without the channel's messages "
            "(the channel may have turned its public preview off)",
        ),
        (
            b"<!DOCTYPE html><html><body><article><p>Kursk news</p></article></body></html>",
            "not a Telegram channel preview: no channel messages in it",
        ),
        (b'{"items": []}', "not a Telegram channel preview: no channel messages in it"),
        (b"\x00\x01\x02\xff" * 100, "not a Telegram channel preview: no channel messages in it"),
    ],
    ids=["empty", "blank", "feed-quoting-markup", "landing-page", "article", "json", "binary"],
)
def test_a_document_that_is_no_channel_page_is_refused_with_the_reason(
    document: bytes, reason: str
) -> None:
    assert not is_telegram_page(document)
    error, _ = _refused(document)
    assert error.reason == reason
    assert error.source == "hostile"


@pytest.mark.parametrize("name", ["00", "0B", "EFBFBE", "EFB790", "FF", "F09F"])
def test_an_emoji_image_named_for_no_character_is_nothing(name: str) -> None:
    emoji = f"<i class='emoji' style=\"background-image:url('//telegram.org/img/emoji/40/{name}.png')\"></i>"
    (post,) = channel_posts(_page(_message("x/1", _text(f"a{emoji}b"))), source="x")
    assert post.text == "ab"


def test_recognition_wants_the_classes_not_the_words() -> None:
    assert not is_telegram_page(b"<p>tgme_widget_message is a class name on t.me</p>")
    assert is_telegram_page(b"<div class='x tgme_widget_message_wrap'></div>")


# --- the shared corpus: every file, and what the ones not copied here hold ------------------------


def _corpus_files() -> list[Any]:
    files = corpus_documents("telegram")
    if not files:
        return [pytest.param(None, id="telegram-missing")]
    return [pytest.param(p, id=p.name) for p in files]


@pytest.mark.parametrize("path", _corpus_files())
def test_every_shared_page_is_recognised_and_read(path: Path | None) -> None:
    require_corpus("telegram")
    assert path is not None
    data = path.read_bytes()
    assert is_telegram_page(data)
    posts = channel_posts(data, source=path.name)
    assert len({post.key.casefold() for post in posts}) == len(posts)
    for post in posts:
        assert all(placeholder not in post.summary for placeholder in PLACEHOLDERS)


def test_copied_pages_are_the_shared_corpus_files() -> None:
    folder = require_corpus("telegram")
    copied = [page for page in PAGES if not page.name.startswith("handmade_")]
    assert len(copied) == 12
    for page in copied:
        assert page.read_bytes() == (folder / page.name).read_bytes(), page.name


def _shared(name: str) -> list[ChannelPost]:
    folder = require_corpus("telegram")
    return channel_posts((folder / name).read_bytes(), source=name)


def test_shared_tchan_pages() -> None:
    def one(name: str) -> ChannelPost:
        (post,) = _shared(f"tchan_tchantest_frag_{name}.html")
        return post

    assert _shared("tchan_frag_no_posts_found.html") == []
    assert _shared("tchan_tchantest_frag_service_channel_created.html") == []
    assert _shared("tchan_tchantest_frag_service_pinned.html") == []
    reply = one("reply_to_video")
    assert (reply.key, reply.summary) == (
        "tchantest/20",
        "Reply to a video (not recorded in telegram)",
    )
    audio = one("audio_document")
    assert (audio.media, audio.summary) == (("audio",), "Povo hebreu")
    forward = one("forwarded_text")
    assert (forward.forwarded_from, forward.forwarded_from_link, forward.text) == (
        "Some user",
        "https://t.me/some_user",
        ";)",
    )
    album = one("grouped_videos")
    assert (album.media, album.text, album.views) == (
        ("video", "photo"),
        "Multiple videos and pictures",
        "436.6K",
    )
    preview = one("link_preview")
    assert preview.preview is not None
    assert preview.preview.site == "Agência Brasil"
    assert preview.summary.startswith(preview.text + "\n\nAgência Brasil\nOperação Guardiões")
    location = one("location")
    assert (location.media, location.summary) == (("location",), "")
    assert one("poll").summary == "Let's do a quick poll quizz mode\nOpt1\nOpt2\nOpt3"
    signed = one("signed_edited_text")
    assert (signed.author, signed.edited, signed.text) == (
        "Álvaro Justen",
        True,
        "Hello! Signed and edited message",
    )
    sticker = one("sticker")
    assert (sticker.media, sticker.summary, sticker.published) == (
        ("sticker",),
        "",
        datetime(2023, 2, 24, 7, 31, 6, tzinfo=UTC),
    )


def test_shared_pages_without_a_licence() -> None:
    # A new channel's whole life: "Channel created", which is no item, and one photo post.
    (post,) = _shared("prstnk_prstnk_eprst_1.html")
    assert (post.key, post.media, post.views) == ("prstnk_eprst/2", ("photo",), "1")
    assert post.title == "Как Штапаков травит цинк в Смольном"
    news = _shared("eventhubkz_telegram_1.html")
    assert [post.key for post in news] == [f"telegram/{n}" for n in range(429, 450) if n != 434]
    assert sum(post.edited for post in news) == 6
    assert sum("video" in post.media for post in news) == 16
    # The single-post embed page: no message wrap, a poll, a footer of its own.
    (embed,) = _shared("laconickb_iosdev_embed_599.html")
    assert (embed.key, embed.media, embed.views) == ("iosdev/599", ("poll",), "2.47K")
    assert embed.published == datetime(2022, 9, 7, 18, 38, 23, tzinfo=UTC)
    assert len(embed.poll_options) == 6
