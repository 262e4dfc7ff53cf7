"""Builders for test inputs: config files, feed documents and a clock that tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

from bot.ops.config import Settings, load_settings

WATCHLISTS_TOML = """
[[watchlist]]
name = "rvc"
title = "Russian Volunteer Corps"
terms = ["Russian Volunteer Corps", "RVC", "РДК"]

[[watchlist]]
name = "kursk"
title = "Kursk region"
terms = ["Kursk", "Курск*"]
"""


@dataclass
class Clock:
    """A clock that stands still until a test moves it."""

    now: datetime = field(default_factory=lambda: datetime(2024, 3, 12, 6, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def write_settings(
    tmp_path: Path,
    feeds: list[str],
    *,
    database_url: str | None = None,
    token: str = "",
    api_url: str = "",
    private_burst: int = 1000,
    watchlists: str = WATCHLISTS_TOML,
    metrics_listen: str = "",
    polling: str = "",
) -> Settings:
    """A real config file on disk, loaded by the real loader. /metrics is off unless a test asks
    for it, on "127.0.0.1:0" (a free port: tests running at once never collide)."""
    feed_tables = "\n".join(
        f'[[feed]]\nurl = "{url}"\nname = "Feed {i}"\n' for i, url in enumerate(feeds, 1)
    )
    (tmp_path / "watchlists.toml").write_text(watchlists, encoding="utf-8")
    config = tmp_path / "feedwatch.toml"
    config.write_text(
        f"""watchlist_files = ["watchlists.toml"]

[database]
url = "{database_url or f"sqlite:///{tmp_path / 'feedwatch.db'}"}"

[telegram]
token = "{token}"
api_url = "{api_url}"
# Tests answer many commands a second in one private chat; tests/chat/test_pacing.py checks the pace.
private_burst = {private_burst}

[polling]
interval = "10m"
timeout = "5s"
allow_private_addresses = true
{polling}

[digest]
interval = "1h"

[metrics]
listen = "{metrics_listen}"

{feed_tables}""",
        encoding="utf-8",
    )
    return load_settings(config, env={})


PUBLISHED = datetime(2024, 3, 12, 5, 40, tzinfo=UTC)
"""When `rss` items are published: 20 minutes before `Clock` starts. A test on the real clock
passes its own time, or its items would be a new feed's archive (older than a day)."""


def rss(
    *items: tuple[str, str, str], title: str = "Test outlet", published: datetime = PUBLISHED
) -> bytes:
    """An RSS 2.0 document of (guid, title, description) items; text is escaped as XML needs."""
    date = format_datetime(published.astimezone(UTC), usegmt=True)
    entries = "".join(
        f"<item><guid>{escape(guid)}</guid><title>{escape(item_title)}</title>"
        f"<link>https://news.example/{escape(guid)}</link>"
        f"<description>{escape(description)}</description>"
        f"<pubDate>{date}</pubDate></item>"
        for guid, item_title, description in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://news.example/</link>"
        f"<description>test</description>{entries}</channel></rss>"
    ).encode()
