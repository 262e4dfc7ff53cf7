"""One rule for every link that leaves the bot: only http(s) is made clickable. A feed's
`javascript:`, `tg://`, `data:` or `file:` link never becomes a text_link, in any message kind:
digests, instant messages, story updates, backlog summaries, spike alerts and /hits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.core.domain import Match, PendingDelivery, StoredItem, Watchlist
from bot.render.alerts import render_alert
from bot.render.digest import render_backlog, render_digest, render_instant, render_instant_update
from bot.render.links import html_link, web_link
from bot.trends.spikes import Spike, SpikeStory
from bot.trends.stories import StoryUpdate
from tests.builders import Clock, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi, parse_html

HOSTILE = [
    "javascript:alert(1)",
    " JaVaScRiPt:alert(document.cookie)",
    "tg://user?id=1",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
    "http://",
    "https://ok.example/a b",
    "https://ok.example/\x00",
]
NOW = datetime(2024, 3, 12, 12, tzinfo=UTC)
RVC = Watchlist("rvc", ("RVC",), "Russian Volunteer Corps")


@pytest.mark.parametrize("link", HOSTILE)
def test_only_web_addresses_are_links(link: str) -> None:
    assert web_link(link) is None
    assert html_link("title", link) == "title"


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://ok.example/a?b=1#c", "https://ok.example/a?b=1#c"),
        ("  HTTP://ok.example/x  ", "HTTP://ok.example/x"),
        ("http://[2001:db8::1]/feed", "http://[2001:db8::1]/feed"),
    ],
)
def test_web_addresses_are_kept_as_written(link: str, kept: str) -> None:
    assert web_link(link) == kept
    assert html_link("t", link) == f'<a href="{escape(kept, quote=True)}">t</a>'


def delivery(id: int, link: str | None) -> PendingDelivery:
    item = StoredItem(id, 1, "Wire", f"k{id}", f"RVC report {id}", link, "", NOW, NOW)
    return PendingDelivery(id, 111, item, (Match("rvc", "RVC", "RVC"),))


def text_links(html_text: str) -> list[str]:
    _, entities = parse_html(html_text)
    return [entity["url"] for entity in entities if entity["type"] == "text_link"]


@pytest.mark.parametrize("link", HOSTILE)
def test_no_message_kind_makes_a_hostile_link_clickable(link: str) -> None:
    good, bad = delivery(1, "https://ok.example/1"), delivery(2, link)
    lists = {"rvc": RVC}
    texts = [m.text for m in render_digest([good, bad], lists, now=NOW)]
    texts += [m.text for m in (render_instant(bad, lists, now=NOW),) if m is not None]
    texts.append(render_instant_update(StoryUpdate(bad, bad.item), now=NOW).text)
    texts.append(render_backlog(60, {"rvc": 60}, [good, bad], lists, now=NOW).text)
    spike = Spike("rvc", 12, 1.0, 0.5, 6.0, NOW - timedelta(hours=1), NOW, 14)
    stories = [SpikeStory("RVC report", link, 2, 3, NOW - timedelta(hours=1))]
    texts.append(render_alert(spike.count, spike.baseline, "Russian Volunteer Corps", stories))
    for text in texts:
        assert set(text_links(text)) <= {"https://ok.example/1"}, text


# --- through the real bot ------------------------------------------------------------------------


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> AsyncIterator[FeedwatchApp]:
    items = "".join(
        f"<item><guid>g{n}</guid><title>RVC report {n}</title><link>{escape(link)}</link>"
        "<pubDate>Tue, 12 Mar 2024 05:40:00 GMT</pubDate></item>"
        # An XML document cannot carry a NUL: that case is the unit test's alone.
        for n, link in enumerate(["https://ok.example/1", *HOSTILE[:-1]])
    )
    url = feed_server.add(
        "/hostile.rss",
        (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Hostile</title>'
            f"<link>https://ok.example/</link><description>x</description>{items}"
            "</channel></rss>"
        ).encode(),
    )
    settings = write_settings(tmp_path, [url], token=fake_bot_api.token, api_url=fake_bot_api.url)
    async with FeedwatchApp(settings, clock=Clock()) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def test_hits_and_the_digest_send_no_hostile_link_as_a_link(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    chat = 333
    app.repo.register_chat(chat, "private", None, app.clock())
    app.repo.subscribe(chat, ["rvc"], app.clock())
    await app.poll_once(all_feeds=True)
    await app.digest_once()
    before = len(fake_bot_api.sent_messages(chat))
    fake_bot_api.push_message(chat, "/hits 50")
    await fake_bot_api.wait_for_async(lambda f: len(f.sent_messages(chat)) > before)
    sent = fake_bot_api.sent_messages(chat)
    assert len(sent) >= 2
    urls = [
        entity["url"]
        for message in sent
        for entity in message.result.get("entities", [])
        if entity["type"] == "text_link"
    ]
    assert urls
    assert set(urls) == {"https://ok.example/1"}
    hits = sent[before:]
    assert any("RVC report 1" in m.result["text"] for m in hits)  # shown, just not as a link
