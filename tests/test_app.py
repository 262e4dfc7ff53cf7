"""`feedwatch run` as a whole: the APScheduler ticks poll due feeds and send due digests on their own,
and a parse worker the OOM killer takes does not stop them."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.ops.config import load_settings
from tests.builders import WATCHLISTS_TOML, Clock, rss, write_settings
from tests.fakes.feed_server import FeedServer
from tests.ops.test_metrics import FREE_PORT, get, running
from tests.services.test_parse_pool import gone, parse_workers


class SignallingStream(io.StringIO):
    """The terminal the console digest goes to; tells the test when something was printed."""

    def __init__(self) -> None:
        super().__init__()
        self.printed = asyncio.Event()

    def write(self, text: str) -> int:
        self.printed.set()
        return super().write(text)


async def test_the_schedule_polls_and_prints_a_digest_until_stopped(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # On the real clock: published now, or the new feed's item would be its archive.
    url = feed_server.add(
        "/a.rss", rss(("raid", "RVC claims raid", ""), published=datetime.now(UTC))
    )
    (tmp_path / "watchlists.toml").write_text(WATCHLISTS_TOML, encoding="utf-8")
    config = tmp_path / "feedwatch.toml"
    config.write_text(
        f"""watchlist_files = ["watchlists.toml"]
[database]
url = "sqlite:///{tmp_path / "feedwatch.db"}"
[polling]
interval = "10m"
tick = "1s"
allow_private_addresses = true
[digest]
interval = "5m"
tick = "1s"
[metrics]
listen = ""
[[feed]]
url = "{url}"
name = "Wire"
""",
        encoding="utf-8",
    )
    settings = load_settings(config, env={})
    out = SignallingStream()
    stop = asyncio.Event()
    async with FeedwatchApp(settings, stdout=out) as app:
        serving = asyncio.create_task(app.serve(stop))
        await asyncio.wait_for(out.printed.wait(), timeout=20)
        stop.set()
        await asyncio.wait_for(serving, timeout=10)
        assert app.repo.counts().hits == 1
    assert "RVC claims raid" in out.getvalue()
    assert "Wire" in out.getvalue()
    assert feed_server.hits("/a.rss") == 1


async def test_a_worker_killed_while_idle_is_replaced_and_the_next_round_stores_new_items(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    # The bot as it runs, with one parse worker; the OOM killer takes that worker between rounds.
    clock = Clock()
    url = feed_server.add("/a.rss", rss(("raid-1", "RVC claims raid", "")))
    write_settings(tmp_path, [url], metrics_listen=FREE_PORT)
    config = tmp_path / "feedwatch.toml"
    config.write_text(
        config.read_text().replace("[polling]\n", "[polling]\nparse_workers = 1\n"),
        encoding="utf-8",
    )
    settings = load_settings(config, env={})
    before = parse_workers()
    async with running(settings, clock=clock) as app:
        [first] = await app.poll_once()
        assert first.new_items == 1
        [worker] = parse_workers() - before
        os.kill(worker, signal.SIGKILL)

        feed_server.add(
            "/a.rss", rss(("raid-1", "RVC claims raid", ""), ("raid-2", "RVC: second raid", ""))
        )
        clock.advance(minutes=12)
        [second] = await app.poll_once()
        assert (second.new_items, second.error) == (1, None)
        response = await get(app, "/healthz")
        assert (response.status_code, response.text) == (200, "ok\n")
        # The dead worker is gone for good, and one new one took its place.
        [replacement] = parse_workers() - before
        assert replacement != worker
        assert gone(worker)
    assert parse_workers() - before == set()


async def test_the_running_bot_says_in_one_line_what_it_does_and_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = write_settings(tmp_path, [], metrics_listen="127.0.0.1:0")
    stop = asyncio.Event()
    stop.set()  # started, said, stopped
    with caplog.at_level(logging.INFO, logger="bot.app"):
        async with FeedwatchApp(settings, stdout=io.StringIO()) as app:
            await app.serve(stop)
            port = app.metrics_port
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("running: ")]
    assert line == (
        f"running: SQLite file {(tmp_path / 'feedwatch.db').resolve()}; metrics on "
        f"http://127.0.0.1:{port}/metrics; feeds polled every 10m; digests printed to this "
        "terminal every 1h; Ctrl-C stops"
    )


async def test_a_running_bot_keeps_start_ups_objects_out_of_full_collections(
    tmp_path: Path,
) -> None:
    # Each full collection walked everything start-up made (modules, dictionaries, settings):
    # 2 s of a warm round of 20,000 feeds. Frozen while the bot runs, they are given back when it
    # stops, so that a process starting bots again and again freezes nothing for good.
    settings = write_settings(tmp_path, [])
    async with FeedwatchApp(settings, stdout=io.StringIO()) as app:
        await app.start(schedule=False)
        frozen = gc.get_freeze_count()
        await app.stop()
    assert frozen > 10_000
    assert gc.get_freeze_count() == 0
