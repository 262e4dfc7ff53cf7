"""Every mention reaches the chat, through the real pipeline: feeds on a local server, the real bot,
the fake Bot API. Templated headlines about other towns are not folded into one story, a feed that
links every item to its home page is not one story, each item shows its own words under the list
whose words stand first in it, and a name deep in a long item is found."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from tests.builders import Clock, write_settings
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi

CHAT = 222
LINK = re.compile(r'<a href="([^"]+)">')

WATCHLISTS = """
[[watchlist]]
name = "rvc"
title = "Russian Volunteer Corps"
terms = ["Russian Volunteer Corps", "RVC", "РДК", "Русский добровольческий корпус"]

[[watchlist]]
name = "kursk"
title = "Kursk region"
terms = ["Kursk", "Курск*", "Курская область"]

[[watchlist]]
name = "belgorod"
title = "Belgorod region"
terms = ["Belgorod", "Белгород*", "Белгородская область"]
"""

Entry = tuple[str, str, str, str, str]  # guid, title, link, description, pubDate


def feed(*entries: Entry, title: str) -> bytes:
    items = "".join(
        f"<item><guid>{escape(guid)}</guid><title>{escape(heading)}</title>"
        f"<link>{escape(link)}</link><description>{escape(text)}</description>"
        f"<pubDate>{date}</pubDate></item>"
        for guid, heading, link, text, date in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://example.org/</link>"
        f"<description>test</description>{items}</channel></rss>"
    ).encode()


MORNING = "Tue, 12 Mar 2024 05:10:00 GMT"
LATER = "Tue, 12 Mar 2024 05:40:00 GMT"


@pytest.fixture
async def app(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi, clock: Clock
) -> AsyncIterator[FeedwatchApp]:
    urls = [
        feed_server.add("/monitor.rss", feed(title="Border Monitor")),
        feed_server.add("/wire.rss", feed(title="Kyiv Wire")),
    ]
    settings = write_settings(
        tmp_path, urls, token=fake_bot_api.token, api_url=fake_bot_api.url, watchlists=WATCHLISTS
    )
    async with FeedwatchApp(settings, clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def digest(app: FeedwatchApp, fake: FakeBotApi, *lists: str) -> tuple[str, list[str]]:
    """Follow `lists` in the chat, poll, send the digest; its text as read and its links."""
    app.repo.register_chat(CHAT, "private", None, app.clock())
    app.repo.subscribe(CHAT, list(lists), app.clock())
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    await app.digest_once()
    messages = fake.sent_messages(CHAT)
    text = "\n".join(m.result["text"] for m in messages)
    return text, [link for m in messages for link in LINK.findall(m.params["text"])]


async def test_templated_reports_about_two_towns_both_reach_a_chat_that_follows_both(
    app: FeedwatchApp, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> None:
    feed_server.add(
        "/monitor.rss",
        feed(
            (
                "m1",
                "Drone attack on Belgorod leaves two injured, governor says",
                "https://monitor.example/belgorod-drone",
                "",
                MORNING,
            ),
            (
                "m2",
                "Губернатор Белгородской области сообщил о погибших при обстреле",
                "https://monitor.example/belgorod-shelling",
                "",
                MORNING,
            ),
            title="Border Monitor",
        ),
    )
    feed_server.add(
        "/wire.rss",
        feed(
            (
                "w1",
                "Drone attack on Kursk leaves two injured, governor says",
                "https://wire.example/kursk-drone",
                "",
                LATER,
            ),
            (
                "w2",
                "Губернатор Курской области сообщил о погибших при обстреле",
                "https://wire.example/kursk-shelling",
                "",
                LATER,
            ),
            title="Kyiv Wire",
        ),
    )
    text, links = await digest(app, fake_bot_api, "kursk", "belgorod")
    assert sorted(links) == sorted(
        [
            "https://monitor.example/belgorod-drone",
            "https://monitor.example/belgorod-shelling",
            "https://wire.example/kursk-drone",
            "https://wire.example/kursk-shelling",
        ]
    )
    assert "also in" not in text
    assert "4 new mentions" in text
    assert app.repo.pending_deliveries(CHAT) == []
    # Each under its own region, with its own matched words.
    kursk, belgorod = text.index("Kursk region (2)"), text.index("Belgorod region (2)")
    assert belgorod < kursk
    assert "Drone attack on Kursk" in text[kursk:]
    assert "Drone attack on Belgorod" in text[belgorod:kursk]
    assert "Белгородской" not in text[kursk:]


async def test_a_feed_that_links_every_item_to_its_home_page_with_a_1970_date_is_not_one_story(
    app: FeedwatchApp, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> None:
    epoch = "Thu, 01 Jan 1970 00:00:00 GMT"
    feed_server.add(
        "/monitor.rss",
        feed(
            ("1", "РДК заявил о рейде в Курскую область", "https://meduza.io/", "", epoch),
            ("2", "В Белгороде объявили ракетную опасность", "https://meduza.io/", "", epoch),
            ("3", "Курская АЭС работает в штатном режиме", "https://meduza.io/", "", epoch),
            title="Meduza",
        ),
    )
    text, _ = await digest(app, fake_bot_api, "rvc", "kursk", "belgorod")
    for title in (
        "РДК заявил о рейде в Курскую область",
        "В Белгороде объявили ракетную опасность",
        "Курская АЭС работает в штатном режиме",
    ):
        assert f"• {title}" in text
    assert "3 new mentions" in text
    assert "also in" not in text
    assert "1970" not in text  # shown at the time feedwatch saw them


async def test_an_item_stands_under_the_list_whose_words_come_first_with_its_own_words(
    app: FeedwatchApp, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> None:
    """The RVC breakthrough story stood under "Belgorod region" because «Белгородский» was in its
    summary, and a story folded into another showed the other's words."""
    feed_server.add(
        "/monitor.rss",
        feed(
            (
                "m1",
                "Русский добровольческий корпус прорвался в Тёткино",
                "https://monitor.example/rdk-tetkino",
                "Белгородский губернатор сообщил об обстреле приграничья",
                MORNING,
            ),
            title="Border Monitor",
        ),
    )
    feed_server.add(
        "/wire.rss",
        feed(
            (
                "w1",
                "Русский добровольческий корпус прорвался в Тёткино",
                "https://monitor.example/rdk-tetkino?utm_source=wire",
                "Курская область: бои у границы",
                LATER,
            ),
            title="Kyiv Wire",
        ),
    )
    text, links = await digest(app, fake_bot_api, "rvc", "kursk", "belgorod")
    assert links == ["https://monitor.example/rdk-tetkino"]
    lines = text.splitlines()
    heading = lines.index("Russian Volunteer Corps (1)")
    assert lines[heading + 1] == "• Русский добровольческий корпус прорвался в Тёткино"
    facts = lines[heading + 2]
    # Its own words: «Белгородский» (the title shows its phrase already); never the folded copy's
    # «Курская».
    assert "Белгородский" in facts
    assert "Русский добровольческий корпус" not in facts
    assert "Курская" not in facts
    assert "also Belgorod region" in facts
    assert "Kursk region" not in text
    assert lines[heading + 3] == "  then Feed 2 05:40"


async def test_a_name_thousands_of_characters_into_a_live_page_reaches_the_chat(
    app: FeedwatchApp, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> None:
    """A Kyiv Independent "Ukraine war latest" item named Kursk at character 7,143 of its summary;
    another outlet names Belgorod only in its content:encoded."""
    filler = "Shelling was reported along the front line overnight, officials said. " * 100
    summary = (filler * 2)[:7142] + " Kursk region: Ukrainian forces remain. " + filler[:800]
    assert summary.index("Kursk") == 7143
    feed_server.add(
        "/monitor.rss",
        feed(
            ("m1", "Ukraine war latest", "https://monitor.example/latest", summary, MORNING),
            title="Kyiv Independent",
        ),
    )
    content = (
        "<item><guid>w1</guid><title>Evening briefing</title>"
        "<link>https://wire.example/briefing</link><description>Our daily round-up.</description>"
        "<content:encoded><![CDATA[<p>" + filler + "</p><p>Air-raid alert in Belgorod.</p>]]>"
        f"</content:encoded><pubDate>{LATER}</pubDate></item>"
    )
    feed_server.add(
        "/wire.rss",
        (
            '<?xml version="1.0"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Wire</title>'
            "<link>https://wire.example/</link><description>x</description>"
            f"{content}</channel></rss>"
        ).encode(),
    )
    text, links = await digest(app, fake_bot_api, "kursk", "belgorod")
    assert sorted(links) == ["https://monitor.example/latest", "https://wire.example/briefing"]
    assert "Kursk region (1)" in text
    assert "Belgorod region (1)" in text
