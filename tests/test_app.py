"""`feedwatch run` as a whole: the APScheduler ticks poll due feeds and send due digests on their own."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from bot.app import FeedwatchApp
from bot.config import load_settings
from tests.builders import WATCHLISTS_TOML, rss
from tests.fakes.feed_server import FeedServer


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
    url = feed_server.add("/a.rss", rss(("raid", "RVC claims raid", "")))
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
