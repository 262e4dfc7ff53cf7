"""A feed read for the first time lists old items too: those already older than `archive_age` are
its archive, counted at the end of the digest and in its header, not listed as news; `/hits` lists
them, marked. Later polls never mark an item, and a date that cannot be right says nothing of age.
Through the real pipeline: feeds on a local server, the real bot, the fake Bot API, SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path

import pytest
from sqlmodel import Session, create_engine, select

from bot.app import FeedwatchApp
from bot.storage.tables import DeliveryRow
from tests.builders import Clock, write_settings
from tests.conftest import Database
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi

CHAT = 4242
LINK = re.compile(r'<a href="([^"]+)">')

Entry = tuple[str, str, str | None]  # guid, title, pubDate (None: undated)

NOW_ISH = "Tue, 12 Mar 2024 05:10:00 GMT"  # the test clock stands at 12 Mar 2024 06:00 UTC
WEEKS_AGO = "Tue, 20 Feb 2024 09:00:00 GMT"
DAYS_AGO = "Fri, 01 Mar 2024 09:00:00 GMT"
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


def rss(*entries: Entry) -> bytes:
    items = "".join(
        f"<item><guid>{guid}</guid><title>{escape(title)}</title>"
        f"<link>https://news.example/{guid}</link>"
        + (f"<pubDate>{date}</pubDate>" if date else "")
        + "</item>"
        for guid, title, date in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Meduza</title>'
        f"<link>https://news.example/</link><description>t</description>{items}</channel></rss>"
    ).encode()


FIRST_READ = (
    ("fresh", "RVC fighters enter Tyotkino", NOW_ISH),
    ("old-1", "RVC announces a recruitment drive", WEEKS_AGO),
    ("old-2", "RVC names its commander", DAYS_AGO),
    ("epoch", "RVC statement, undated by the CMS", EPOCH),
    ("undated", "RVC video from the border", None),
)
ARCHIVE = {"https://news.example/old-1", "https://news.example/old-2"}


@pytest.fixture
async def app(
    tmp_path: Path,
    feed_server: FeedServer,
    fake_bot_api: FakeBotApi,
    database: Database,
) -> AsyncIterator[FeedwatchApp]:
    url = feed_server.add("/meduza.rss", rss(*FIRST_READ))
    settings = write_settings(
        tmp_path,
        [url],
        token=fake_bot_api.token,
        api_url=fake_bot_api.url,
        database_url=database.config_url,
    )
    async with FeedwatchApp(settings, clock=Clock()) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


def outcomes(database: Database) -> dict[str, int]:
    engine = create_engine(database.url, connect_args=database.connect_args)
    try:
        with Session(engine) as session:
            found = session.exec(select(DeliveryRow.outcome)).all()
    finally:
        engine.dispose()
    return {outcome or "open": found.count(outcome) for outcome in set(found)}


async def say(fake: FakeBotApi, text: str, language: str = "en") -> str:
    return str((await fake.ask(CHAT, text, language_code=language)).result["text"])


async def first_digest(app: FeedwatchApp, fake: FakeBotApi, language: str = "en") -> str:
    app.repo.register_chat(CHAT, "private", None, app.clock(), language=language)
    app.repo.subscribe(CHAT, ["rvc"], app.clock())
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    await app.digest_once()
    [message] = fake.sent_messages(CHAT)
    return str(message.result["text"])


async def test_a_first_reads_old_items_are_counted_apart_not_told_as_news(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, database: Database
) -> None:
    text = await first_digest(app, fake_bot_api)
    [message] = fake_bot_api.sent_messages(CHAT)
    shown = set(LINK.findall(message.params["text"]))
    # The fresh item is news; so are the two whose age is unknown (no date, a 1970 date).
    assert shown == {
        "https://news.example/fresh",
        "https://news.example/epoch",
        "https://news.example/undated",
    }
    assert text.splitlines()[0] == ("feedwatch · 3 new mentions · 2 older items from archives")
    assert "From the archives of feeds read for the first time (2)" in text
    assert "Feed 1: 2 items, 20 Feb\u2009–\u20091 Mar 2024" in text
    assert "Not news, so not listed: /hits shows them." in text
    assert "recruitment drive" not in text
    # Every row closed: three sent, two archived with the same message, none left open.
    assert outcomes(database) == {"sent": 3, "archived": 2}
    assert app.repo.count_pending(CHAT) == 0

    hits = await say(fake_bot_api, "/hits")
    assert "RVC announces a recruitment drive — Feed 1, 20 Feb 09:00 UTC · archive" in hits
    assert "RVC names its commander — Feed 1, 01 Mar 09:00 UTC · archive" in hits
    assert "RVC fighters enter Tyotkino — Feed 1, 12 Mar 05:10 UTC\n" in hits + "\n"


async def test_later_polls_tell_every_new_item_as_news_however_old_its_date(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer
) -> None:
    await first_digest(app, fake_bot_api)
    app.clock.advance(hours=2)  # type: ignore[attr-defined]
    feed_server.add(
        "/meduza.rss", rss(*FIRST_READ, ("late", "RVC report published late", WEEKS_AGO))
    )
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    await app.digest_once()
    second = fake_bot_api.sent_messages(CHAT)[-1]
    assert LINK.findall(second.params["text"]) == ["https://news.example/late"]
    assert second.result["text"].splitlines()[0] == "feedwatch · 1 new mention"
    assert "archive" not in second.result["text"]


@pytest.mark.parametrize(
    ("language", "header", "heading", "line", "footer", "hit"),
    [
        (
            "ru",
            "feedwatch · 3 новых упоминания · 2 старых материала из архивов",
            "Из архивов лент, прочитанных впервые (2)",
            "Feed 1: 2 материала, 20 февр. — 1 мар. 2024\u202fг.",
            "Это не новости, поэтому они не перечислены: их показывает /hits.",
            "RVC announces a recruitment drive — Feed 1, 20 февр. 09:00 UTC · архив",
        ),
        (
            "uk",
            "feedwatch · 3 нові згадки · 2 старі матеріали з архівів",
            "З архівів стрічок, прочитаних уперше (2)",
            "Feed 1: 2 матеріали, 20 лют.\xa0— 1 бер. 2024\u202fр.",
            "Це не новини, тож їх не перелічено: їх показує /hits.",
            "RVC announces a recruitment drive — Feed 1, 20 лют. 09:00 UTC · архів",
        ),
    ],
)
async def test_the_archive_is_told_in_the_chats_language(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    language: str,
    header: str,
    heading: str,
    line: str,
    footer: str,
    hit: str,
) -> None:
    text = await first_digest(app, fake_bot_api, language)
    lines = text.splitlines()
    assert lines[0] == header
    assert heading in lines
    assert f"  {line}" in lines
    assert lines[-1] == footer
    hits = await say(fake_bot_api, "/hits", language)
    assert f"• {hit}" in hits.splitlines()  # its date in the chat's language too


async def test_an_instant_chat_gets_its_archive_counted_in_one_message_of_its_own(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, database: Database
) -> None:
    app.repo.register_chat(CHAT, "private", None, app.clock())
    app.repo.subscribe(CHAT, ["rvc"], app.clock())
    assert "each hit as it comes" in await say(fake_bot_api, "/every instant")
    assert all(o.error is None for o in await app.poll_once(all_feeds=True))
    await app.digest_once()
    texts = fake_bot_api.sent_texts(CHAT)[1:]
    assert len(texts) == 4  # three items, one at a time, then the archive counted
    assert texts[-1].splitlines()[0] == "feedwatch · 2 older items from archives"
    assert not any("recruitment drive" in text for text in texts)
    assert outcomes(database) == {"sent": 3, "archived": 2}


async def test_a_backlog_summary_counts_the_archive_too_and_closes_it(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, feed_server: FeedServer, database: Database
) -> None:
    """More than a digest holds: the summary counts the news, and the archive apart; the archive
    never makes a backlog of its own."""
    many = [(f"n{n}", f"RVC report number {n}", NOW_ISH) for n in range(55)]
    feed_server.add("/meduza.rss", rss(*FIRST_READ, *many))
    text = await first_digest(app, fake_bot_api)
    assert text.splitlines()[0] == ("feedwatch · 58 new mentions, too many for one digest")
    assert "From the archives of feeds read for the first time (2)" in text
    assert "Feed 1: 2 items, 20 Feb\u2009–\u20091 Mar 2024" in text
    assert outcomes(database) == {"sent": 10, "summarised": 48, "archived": 2}
