"""/metrics end to end: a real FeedwatchApp polls the local feed server (and sends to the fake Bot
API), and its page, scraped over HTTP and read with prometheus-client's own parser, says exactly what
happened; the database gauges agree with the rows in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot.app import FeedwatchApp
from bot.core.domain import PollOutcome
from bot.core.errors import FeedwatchError
from bot.ops.config import Settings
from bot.ops.metrics import Metrics
from tests.builders import Clock, rss, write_settings
from tests.conftest import Database
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi

FREE_PORT = "127.0.0.1:0"
PRIVATE = 111

# Three items: one hits two watchlists (rvc and kursk), one hits kursk, one hits nothing.
GOOD = rss(
    ("raid-1", "RVC fighters enter the Kursk region", "The corps says so"),
    ("kursk-2", "Курская область: обстрелы", "Ночью"),
    ("weather-1", "Sunny in Lviv", "Nothing to see"),
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def app_database_url(database: Database) -> str:
    return database.config_url


@asynccontextmanager
async def running(settings: Settings, **kwargs: Any) -> AsyncIterator[FeedwatchApp]:
    """An app started as `feedwatch run` starts it, with the rounds left to the test."""
    async with FeedwatchApp(settings, **kwargs) as app:
        await app.start(schedule=False)
        try:
            yield app
        finally:
            await app.stop()


async def get(app: FeedwatchApp, path: str, method: str = "GET") -> httpx.Response:
    assert app.metrics_port is not None
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        return await client.request(method, f"http://127.0.0.1:{app.metrics_port}{path}")


async def scrape(app: FeedwatchApp) -> Samples:
    """Every sample on the app's /metrics page, parsed by prometheus-client."""
    response = await get(app, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def polled(samples: Samples) -> dict[str, float | None]:
    return {
        outcome: value(samples, "feedwatch_feeds_polled_total", outcome=outcome)
        for outcome in ("new_items", "unchanged", "failed", "gone")
    }


def count_rows(app: FeedwatchApp, sql: str) -> int:
    """Counted straight from the database, not through the repository the gauges use."""
    with app.repo.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


PENDING_ROWS = "SELECT count(*) FROM delivery WHERE sent_at IS NULL AND outcome IS NULL"
FAILING_FEEDS = "SELECT count(*) FROM feed WHERE enabled AND consecutive_failures > 0"


async def test_poll_rounds_are_counted_by_outcome_with_latencies_items_hits_and_backlog(
    database: Database, tmp_path: Path, feed_server: FeedServer
) -> None:
    good = feed_server.add("/good.rss", GOOD)
    broken = feed_server.add("/broken.rss", b"oops", status=500, content_type="text/plain")
    gone = feed_server.add("/gone.rss", b"gone", status=410, content_type="text/plain")
    settings = write_settings(
        tmp_path,
        [good, broken, gone],
        database_url=app_database_url(database),
        metrics_listen=FREE_PORT,
    )
    async with running(settings, stdout=io.StringIO()) as app:
        before = await scrape(app)
        assert polled(before) == {"new_items": 0, "unchanged": 0, "failed": 0, "gone": 0}
        assert value(before, "feedwatch_fetch_seconds_count") == 0
        assert value(before, "feedwatch_outbox_backlog") == 0
        assert value(before, "feedwatch_feeds_failing") == 0

        outcomes = await app.poll_once()
        assert len(outcomes) == 3
        first = await scrape(app)
        assert polled(first) == {"new_items": 1, "unchanged": 0, "failed": 1, "gone": 1}
        assert value(first, "feedwatch_items_stored_total") == 3
        assert value(first, "feedwatch_hits_stored_total") == 3 == app.repo.counts().hits
        # Every feed was fetched; only the good one's body was parsed.
        assert value(first, "feedwatch_fetch_seconds_count") == 3
        assert value(first, "feedwatch_parse_seconds_count") == 1
        fetch_sum = value(first, "feedwatch_fetch_seconds_sum")
        assert fetch_sum is not None
        assert fetch_sum > 0
        assert value(first, "feedwatch_fetch_seconds_bucket", le="+Inf") == 3
        # The terminal follows every list: two items hit, two outbox rows wait.
        assert value(first, "feedwatch_outbox_backlog") == 2 == count_rows(app, PENDING_ROWS)
        # The broken feed fails; the gone one is disabled, so it is not "failing".
        assert value(first, "feedwatch_feeds_failing") == 1 == count_rows(app, FAILING_FEEDS)
        # Nothing went to Telegram: there is no token.
        assert value(first, "feedwatch_messages_sent_total") == 0
        assert value(first, "feedwatch_telegram_rate_limited_total") == 0

        await app.poll_once(all_feeds=True)  # the gone feed is disabled: two feeds are asked
        second = await scrape(app)
        assert polled(second) == {"new_items": 1, "unchanged": 1, "failed": 2, "gone": 1}
        assert value(second, "feedwatch_items_stored_total") == 3
        assert value(second, "feedwatch_hits_stored_total") == 3
        assert value(second, "feedwatch_fetch_seconds_count") == 5
        assert value(second, "feedwatch_parse_seconds_count") == 1  # the same body is not parsed

        await app.digest_once()  # printed to the terminal: the rows close
        after = await scrape(app)
        assert value(after, "feedwatch_outbox_backlog") == 0 == count_rows(app, PENDING_ROWS)


async def test_messages_sent_and_telegram_429s_are_counted(
    tmp_path: Path, feed_server: FeedServer, fake_bot_api: FakeBotApi
) -> None:
    clock = Clock()
    url = feed_server.add("/good.rss", GOOD)
    settings = write_settings(
        tmp_path,
        [url],
        token=fake_bot_api.token,
        api_url=fake_bot_api.url,
        metrics_listen=FREE_PORT,
    )
    async with running(settings, clock=clock) as app:
        app.repo.register_chat(PRIVATE, "private", None, clock())
        app.repo.subscribe(PRIVATE, ["rvc", "kursk"], clock())
        await app.poll_once()
        assert value(await scrape(app), "feedwatch_outbox_backlog") == 2

        fake_bot_api.fail_next(
            "sendMessage", 429, "Too Many Requests: retry after 5", {"retry_after": 5}
        )
        [refused] = await app.digest_once()
        assert refused.error is not None
        samples = await scrape(app)
        assert value(samples, "feedwatch_telegram_rate_limited_total") == 1
        assert value(samples, "feedwatch_messages_sent_total") == 0
        assert value(samples, "feedwatch_outbox_backlog") == 2

        clock.advance(seconds=5)
        [delivered] = await app.digest_once()
        assert delivered.error is None
        samples = await scrape(app)
        sent = len(fake_bot_api.sent_messages(PRIVATE))
        assert sent == delivered.messages >= 1
        assert value(samples, "feedwatch_messages_sent_total") == sent
        assert value(samples, "feedwatch_telegram_rate_limited_total") == 1
        assert value(samples, "feedwatch_outbox_backlog") == 0


async def test_each_app_counts_in_a_registry_of_its_own(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    url = feed_server.add("/good.rss", GOOD)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_settings(tmp_path / "a", [url], metrics_listen=FREE_PORT)
    second = write_settings(tmp_path / "b", [url], metrics_listen=FREE_PORT)
    async with (
        running(first, stdout=io.StringIO()) as polling,
        running(second, stdout=io.StringIO()) as idle,
    ):
        assert polling.metrics_port != idle.metrics_port
        await polling.poll_once()
        assert polled(await scrape(polling))["new_items"] == 1
        assert polled(await scrape(idle))["new_items"] == 0


def test_metrics_without_a_database_have_no_gauges_and_count_what_they_are_told() -> None:
    metrics = Metrics()
    metrics.record_poll(
        [
            PollOutcome("a", new_items=2, new_hits=1, fetch_seconds=0.2, parse_seconds=0.01),
            PollOutcome("b", not_modified=True, fetch_seconds=0.1),
            PollOutcome("c", error="HTTP 410", gone=True, fetch_seconds=0.1),
            PollOutcome("d", error="database error: locked"),  # storage trouble: no timings
        ]
    )
    metrics.record_sent(3)
    page = generate_latest(metrics.registry).decode()
    assert 'feedwatch_feeds_polled_total{outcome="new_items"} 1.0' in page
    assert 'feedwatch_feeds_polled_total{outcome="unchanged"} 1.0' in page
    assert 'feedwatch_feeds_polled_total{outcome="gone"} 1.0' in page
    assert 'feedwatch_feeds_polled_total{outcome="failed"} 1.0' in page
    assert "feedwatch_fetch_seconds_count 3.0" in page
    assert "feedwatch_parse_seconds_count 1.0" in page
    assert 'feedwatch_parse_seconds_bucket{le="0.01"} 1.0' in page
    assert 'feedwatch_parse_seconds_bucket{le="0.005"} 0.0' in page
    assert "feedwatch_items_stored_total 2.0" in page
    assert "feedwatch_hits_stored_total 1.0" in page
    assert "feedwatch_messages_sent_total 3.0" in page
    assert "feedwatch_outbox_backlog" not in page


async def test_one_round_commands_do_not_serve_metrics(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # `feedwatch poll --once` beside a running bot must not take (or fail on) the bot's port.
    url = feed_server.add("/good.rss", GOOD)
    settings = write_settings(tmp_path, [url], metrics_listen=FREE_PORT)
    async with FeedwatchApp(settings, stdout=io.StringIO()) as app:
        await app.poll_once()
        assert app.metrics_port is None


async def test_metrics_off_serves_nothing(tmp_path: Path) -> None:
    async with running(write_settings(tmp_path, [], metrics_listen="")) as app:
        assert app.metrics_port is None


async def test_a_port_already_taken_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = write_settings(tmp_path, [], metrics_listen=f"127.0.0.1:{port}")
        async with FeedwatchApp(settings) as app:
            with pytest.raises(FeedwatchError) as raised:
                await app.start(schedule=False)
    assert str(raised.value).startswith(f"cannot serve /metrics and /healthz on 127.0.0.1:{port}: ")
    assert '[metrics] listen, or set it to "" to turn them off' in str(raised.value)


async def test_other_paths_are_not_found(tmp_path: Path) -> None:
    async with running(write_settings(tmp_path, [], metrics_listen=FREE_PORT)) as app:
        response = await get(app, "/")
    assert response.status_code == 404
    assert "/metrics and /healthz" in response.text
