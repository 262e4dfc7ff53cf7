"""`/stats` end to end: the real bot against the fake Bot API (which checks every request against the
spec), hits stored through the repository at known times, the chart read back from the sendPhoto
request with Pillow and its caption as the user reads it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.app import FeedwatchApp
from bot.chat.history import CAPTION_LIMIT, MOST_DAYS, StatsRequest, caption, stats_request
from bot.core.domain import Match, ParsedItem
from bot.render import charts
from bot.render.digest import visible_length
from bot.trends.stats import count_hits
from tests.builders import Clock, write_settings
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

CHAT, OTHER = 111, 222
GROUP, MEMBER = -5001, 502
FEED = "http://127.0.0.1:9/news.rss"  # never polled: the tests store the hits themselves

SHARED = """
[[watchlist]]
name = "rvc"
title = "Russian Volunteer Corps"
terms = ["RVC", "РДК"]

[[watchlist]]
name = "legion"
title = "Легіон «Свобода Росії»"
terms = ["Легіон"]
"""

# When feedwatch saw each hit; the clock reads 12 March 2024, 06:00 UTC.
HITS = [
    ("r1", "2024-03-10T08:00:00Z", "rvc"),
    ("r2", "2024-03-10T20:00:00Z", "rvc"),
    ("r3", "2024-03-12T05:10:00Z", "rvc"),
    ("l1", "2024-03-05T12:00:00Z", "legion"),
    ("l2", "2024-03-11T22:30:00Z", "legion"),  # 12 March, 00:30, in Kyiv
    ("l3", "2024-03-11T23:00:00Z", "legion"),  # 12 March, 01:00, in Kyiv
    ("l0", "2024-01-10T12:00:00Z", "legion"),  # long before the 14 days
]
PER_DAY = "Hits per day, 28.02.2024 – 12.03.2024 (UTC)"


@pytest.fixture
async def app(
    tmp_path: Path, fake_bot_api: FakeBotApi, clock: Clock
) -> AsyncIterator[FeedwatchApp]:
    settings = write_settings(
        tmp_path, [FEED], token=fake_bot_api.token, api_url=fake_bot_api.url, watchlists=SHARED
    )
    async with FeedwatchApp(settings, clock=clock) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def store_hit(app: FeedwatchApp, key: str, seen: str, watchlist: str) -> None:
    [feed] = [f for f in app.repo.feeds() if f.url == FEED]
    item = ParsedItem(key, f"Item {key}", f"https://news.example/{key}", "", None)
    app.repo.store_items(feed.id, [(item, {watchlist: (Match(watchlist, "t", "t"),)})], at(seen))


@pytest.fixture
def hits(app: FeedwatchApp) -> None:
    for key, seen, watchlist in HITS:
        store_hit(app, key, seen, watchlist)


def photos(fake: FakeBotApi, chat_id: int) -> list[RecordedRequest]:
    return [r for r in fake.calls("sendPhoto") if r.ok and r.params.get("chat_id") == chat_id]


async def chart(fake: FakeBotApi, text: str, chat_id: int = CHAT, **push: Any) -> RecordedRequest:
    """Send `text` as a user; return the photo the bot sent that chat after it."""
    before = len(photos(fake, chat_id))
    fake.push_message(chat_id, text, **push)
    await fake.wait_for_async(lambda f: len(photos(f, chat_id)) > before)
    return photos(fake, chat_id)[before]


async def say(fake: FakeBotApi, text: str, chat_id: int = CHAT, **push: Any) -> str:
    """The bot's text answer to `text`, as the user reads it."""
    before = len(fake.sent_messages(chat_id))
    fake.push_message(chat_id, text, **push)
    await fake.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
    return str(fake.sent_messages(chat_id)[before].result["text"])


def opened(photo: RecordedRequest) -> Image.Image:
    image = Image.open(io.BytesIO(photo.files["photo"]))
    assert image.format == "PNG"
    assert image.size == (charts.WIDTH, charts.HEIGHT)
    return image


# --- the chart ---------------------------------------------------------------------------------


async def test_stats_sends_the_chart_of_the_chats_lists_with_totals_and_the_busiest_day(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    assert "Now following: rvc, legion." in await say(fake_bot_api, "/subscribe rvc legion")
    photo = await chart(fake_bot_api, "/stats")
    opened(photo)
    assert photo.params["parse_mode"] == "HTML"
    assert photo.result["caption"] == (
        f"{PER_DAY}\n"
        "• Легіон «Свобода Росії»: 3\n"
        "• Russian Volunteer Corps: 3\n"
        "Total: 6. Busiest day: 10.03.2024, hits: 2."
    )
    # The title is bold; the photo is a photo, not a document.
    assert photo.result["caption_entities"][0]["type"] == "bold"
    assert "photo" in photo.result
    assert fake_bot_api.calls("sendDocument") == []


async def test_stats_of_one_list_over_two_days_counts_hours(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    photo = await chart(fake_bot_api, "/stats rvc 2")
    opened(photo)
    assert photo.result["caption"] == (
        "Hits per hour, 10.03.2024 07:00 – 12.03.2024 07:00 (UTC)\n"
        "• Russian Volunteer Corps: 3\n"
        "Total: 3. Busiest hour: 10.03.2024 08:00, hits: 1."
    )
    one_day = await chart(fake_bot_api, "/stats legion, rvc 1")
    assert one_day.result["caption"] == (
        "Hits per hour, 11.03.2024 07:00 – 12.03.2024 07:00 (UTC)\n"
        "• Легіон «Свобода Росії»: 2\n"
        "• Russian Volunteer Corps: 1\n"
        "Total: 3. Busiest hour: 11.03.2024 22:00, hits: 1."
    )


async def test_stats_counts_days_in_the_chats_time_zone(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    await say(fake_bot_api, "/tz Europe/Kyiv")
    photo = await chart(fake_bot_api, "/stats rvc legion")
    opened(photo)
    # Two legion hits of 11 March (UTC) are 12 March in Kyiv, and make it the busiest day.
    assert photo.result["caption"] == (
        "Hits per day, 28.02.2024 – 12.03.2024 (Europe/Kyiv)\n"
        "• Легіон «Свобода Росії»: 3\n"
        "• Russian Volunteer Corps: 3\n"
        "Total: 6. Busiest day: 12.03.2024, hits: 3."
    )


async def test_stats_of_the_chats_own_list_names_it_as_the_chat_does(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    await say(fake_bot_api, "/watch kursk Курск")
    store_hit(app, "k1", "2024-03-12T01:00:00Z", f"kursk@{CHAT}")
    store_hit(app, "k2", "2024-03-12T02:00:00Z", f"kursk@{CHAT}")
    photo = await chart(fake_bot_api, "/stats 7")
    opened(photo)
    assert photo.result["caption"] == (
        "Hits per day, 06.03.2024 – 12.03.2024 (UTC)\n"
        "• kursk (own): 2\n"  # told from a shared list of the same name or title
        "Total: 2. Busiest day: 12.03.2024, hits: 2."
    )


async def test_stats_answer_in_russian_and_ukrainian(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    await say(fake_bot_api, "/subscribe rvc legion")
    russian = await chart(fake_bot_api, "/stats", language_code="ru")
    assert russian.result["caption"] == (
        "Совпадения по дням, 28.02.2024 – 12.03.2024 (UTC)\n"
        "• Легіон «Свобода Росії»: 3\n"
        "• Russian Volunteer Corps: 3\n"
        "Всего: 6. Больше всего за день: 10.03.2024, 2 совпадения."
    )
    ukrainian = await chart(fake_bot_api, "/stats rvc 2", language_code="uk")
    assert ukrainian.result["caption"] == (
        "Збіги по годинах, 10.03.2024 07:00 – 12.03.2024 07:00 (UTC)\n"
        "• Russian Volunteer Corps: 3\n"
        "Усього: 3. Найбільше за годину: 10.03.2024 08:00, 1 збіг."
    )
    unknown = await say(fake_bot_api, "/stats nosuch", language_code="uk")
    assert unknown == "Немає списку nosuch. /stats може показати: legion, rvc."


async def test_a_member_of_a_group_may_ask_for_stats(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    fake_bot_api.set_chat_member_status(GROUP, MEMBER, "member")
    photo = await chart(fake_bot_api, "/stats rvc", GROUP, user_id=MEMBER)
    opened(photo)
    assert photo.result["caption"].endswith("Total: 3. Busiest day: 10.03.2024, hits: 2.")
    assert fake_bot_api.sent_messages(GROUP) == []  # no refusal, no other answer


# --- no chart ----------------------------------------------------------------------------------


async def test_no_hits_is_a_sentence_and_no_photo(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    await say(fake_bot_api, "/watch drones Shahed")
    answer = await say(fake_bot_api, "/stats")
    assert answer == "No hits for this chat from 28.02.2024 to 12.03.2024 (UTC)."
    assert await say(fake_bot_api, "/stats drones 2") == (
        "No hits for this chat from 10.03.2024 07:00 to 12.03.2024 07:00 (UTC)."
    )
    russian = await say(fake_bot_api, "/stats drones", language_code="ru")
    assert russian == "С 28.02.2024 по 12.03.2024 совпадений нет (этот чат, UTC)."
    assert fake_bot_api.calls("sendPhoto") == []


async def test_a_chat_that_follows_nothing_is_told_what_it_may_name(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    assert await say(fake_bot_api, "/stats") == (
        "This chat follows no watchlist yet; /stats NAME charts any of these: legion, rvc."
    )
    # A shared list it does not follow may be named.
    assert "Total: 3." in (await chart(fake_bot_api, "/stats legion")).result["caption"]


async def test_an_unknown_name_is_answered_with_the_names_it_may_use(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, hits: None
) -> None:
    await say(fake_bot_api, "/watch kursk Курск")
    assert await say(fake_bot_api, "/stats rvc nosuch kursk@222") == (
        "No watchlist called nosuch, kursk@222. /stats can chart: kursk, legion, rvc."
    )
    # Another chat's own list is not one this chat may name.
    assert "No watchlist called kursk." in await say(fake_bot_api, "/stats kursk", OTHER)
    assert fake_bot_api.calls("sendPhoto") == []


@pytest.mark.parametrize("text", ["/stats 0", f"/stats {MOST_DAYS + 1}", "/stats rvc 3 4"])
async def test_a_bad_number_of_days_gets_the_usage(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, text: str
) -> None:
    answer = await say(fake_bot_api, text)
    assert answer.startswith("Usage: /stats [NAME…] [DAYS]")
    assert f"(1 to {MOST_DAYS}, 14 if not given)" in answer


# --- the pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "request_"),
    [
        ("", StatsRequest((), 14)),
        ("7", StatsRequest((), 7)),
        ("rvc, legion 90", StatsRequest(("rvc", "legion"), 90)),
        ("1 rvc rvc", StatsRequest(("rvc",), 1)),
    ],
)
def test_stats_arguments(typed: str, request_: StatsRequest) -> None:
    assert stats_request(typed) == request_


@pytest.mark.parametrize("typed", ["0", "91", "3 4", "007 1"])
def test_stats_arguments_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="days"):
        stats_request(typed)


def test_a_caption_of_many_long_titles_is_cut_to_telegrams_limit() -> None:
    now = datetime(2024, 3, 12, 6, tzinfo=UTC)
    names = [f"list{n:02d}" for n in range(50)]
    hits = [(name, now - timedelta(hours=n)) for n, name in enumerate(names) for _ in range(2)]
    counts = count_hits(hits, now=now, days=14, tz=UTC, watchlists=names)
    titles = {name: f"{name} " + "Русский добровольческий корпус " * 3 for name in names}
    series = charts.series_of(counts, titles)
    text = caption(counts, series, titles, "A heading", "en")
    assert visible_length(text) <= CAPTION_LIMIT
    lines = text.split("\n")
    assert lines[0] == "<b>A heading</b>"
    # 24 lists of two hits each on 11 March (hours 7 to 30 before 06:00 on the 12th).
    assert lines[-1] == "Total: 100. Busiest day: 11.03.2024, hits: 48."
    listed = [line for line in lines if line.startswith("• ")]
    assert 5 < len(listed) < 50
    assert all(line.endswith("…: 2") for line in listed)  # titles cut at 60 characters
    assert lines[-2] == f"…and {50 - len(listed)} more."
    # Everything fits when it can.
    short = caption(counts, series, {}, "A heading", "en")
    assert len([line for line in short.split("\n") if line.startswith("• ")]) == 50
    assert "more." not in short
