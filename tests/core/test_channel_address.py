"""A public channel by any of its addresses: one stored spelling, and what is not a channel."""

from __future__ import annotations

import pytest

from bot.core.channel_address import (
    channel_name,
    channel_url,
    cited_post,
    is_channel_url,
    page_before,
    page_url,
    post_key,
    source_label,
)


@pytest.mark.parametrize(
    "address",
    [
        "@RusVolCorps",
        "t.me/rusvolcorps",
        "https://t.me/RusVolCorps",
        "https://t.me/s/rusvolcorps",
        "http://t.me/s/rusvolcorps/",
        "https://telegram.me/rusvolcorps",
        "https://www.t.me/s/RUSVOLCORPS?before=120",
        "t.me/rusvolcorps/1234",  # a post's link names its channel
        "  https://t.me/s/rusvolcorps  ",
    ],
)
def test_every_spelling_names_one_channel(address: str) -> None:
    assert channel_name(address) == "rusvolcorps"
    assert channel_url(channel_name(address) or "") == "https://t.me/s/rusvolcorps"


@pytest.mark.parametrize(
    "address",
    [
        "https://t.me/+AbCdEfGhIjKl",  # an invite link
        "https://t.me/joinchat/AbCdEf",
        "https://t.me/c/1234567/89",  # a private channel's post
        "https://t.me/addstickers/pack",
        "https://t.me/abc",  # too short for a public name
        "@1abcde",  # a name starts with a letter
        "https://t.me/rusvolcorps/notanumber",
        "https://meduza.io/rss/all",
        "https://t.me.evil.example/s/rusvolcorps",
        "ftp://t.me/rusvolcorps",
        "",
    ],
)
def test_what_is_not_a_public_channel(address: str) -> None:
    assert channel_name(address) is None


def test_a_stored_address_is_a_channel_url_and_a_handle_is_not() -> None:
    assert is_channel_url("https://t.me/s/rusvolcorps")
    assert not is_channel_url("@rusvolcorps")
    assert not is_channel_url("https://news.example/rss")


def test_pages_are_built_on_any_base_and_read_back() -> None:
    assert (
        page_url("RusVolCorps", "http://127.0.0.1:8080/") == "http://127.0.0.1:8080/s/rusvolcorps"
    )
    older = page_url("rusvolcorps", before=120)
    assert older == "https://t.me/s/rusvolcorps?before=120"
    assert page_before(older) == 120
    assert page_before("https://t.me/s/rusvolcorps") is None


def test_posts_are_known_by_their_link_and_found_in_text() -> None:
    assert post_key("https://t.me/RusVolCorps/1234?single") == "rusvolcorps/1234"
    assert post_key("https://t.me/s/rusvolcorps/1234") == "rusvolcorps/1234"
    assert post_key("https://t.me/rusvolcorps") is None
    assert post_key("https://news.example/1234") is None
    assert cited_post("As the corps wrote (t.me/RusVolCorps/0012), …") == "rusvolcorps/12"
    assert cited_post("see https://notthe.me/rusvolcorps/12 and t.me/joinchat/12") is None


def test_a_channel_is_named_with_its_handle_once() -> None:
    link = "https://t.me/rusvolcorps/1"
    assert source_label("RVC", link) == "RVC (@rusvolcorps)"
    assert source_label("@RusVolCorps", link) == "@RusVolCorps"
    assert source_label("Meduza", "https://meduza.io/news/1") == "Meduza"
