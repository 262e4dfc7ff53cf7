"""`feedwatch demo`: the real pipeline, once, on the bundled demo feeds, with the digest printed.

A local HTTP server in this process serves `config/demo/`; fetching, parsing, matching, storing (in a
fresh SQLite file) and rendering are the same code `feedwatch run` uses.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from bot.core.domain import CONSOLE_CHAT_ID
from bot.ops.config import load_settings

CONTENT_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
}

DEMO_BASE = "http://demo.invalid"
"""The base of the demo config's feed URLs, replaced with the local server's."""


def config_dir() -> Path:
    """The folder of `demo.toml`: beside $FEEDWATCH_CONFIG (the image sets it to
    /app/config/feedwatch.toml), else the checkout's `config/`, else the working directory's."""
    named = os.environ.get("FEEDWATCH_CONFIG")
    candidates = [Path(named).parent] if named else []
    candidates += [Path(__file__).resolve().parents[2] / "config", Path.cwd() / "config"]
    return next(
        (folder for folder in candidates if (folder / "demo.toml").is_file()), candidates[-1]
    )


class _QuietHandler(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return CONTENT_TYPES.get(Path(path).suffix) or super().guess_type(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo prints its digest, not an access log


class DemoFeedServer:
    """Serves a folder over HTTP on a free port of 127.0.0.1, in a background thread."""

    def __init__(self, folder: Path) -> None:
        self._server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder))
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> DemoFeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def run_demo(stdout: TextIO, *, keep: Path | None = None) -> int:
    """The pipeline once on the demo feeds, the digest printed; the database kept in `keep` when
    given (for `stats --plot`, `hits export` and `feeds` to try on), else removed."""
    from bot.app import FeedwatchApp

    source = config_dir()
    with (
        tempfile.TemporaryDirectory(prefix="feedwatch-demo-") as tmp,
        DemoFeedServer(source / "demo") as server,
    ):
        workdir = Path(tmp)
        # The demo config names its feeds `http://demo.invalid/…` (a host that never resolves, so
        # that `check-config` passes the file as it is); they point at this run's local server.
        text = (source / "demo.toml").read_text(encoding="utf-8").replace(DEMO_BASE, server.url)
        (workdir / "demo.toml").write_text(text, encoding="utf-8")
        shutil.copy(source / "watchlists.toml", workdir / "watchlists.toml")
        database = workdir / "feedwatch.db"
        settings = load_settings(
            workdir / "demo.toml", env={"FEEDWATCH_DATABASE_URL": f"sqlite:///{database}"}
        )

        async def once() -> str:
            async with FeedwatchApp(settings, stdout=stdout) as app:
                outcomes = await app.poll_once(all_feeds=True)
                await app.deliverer.deliver_now(CONSOLE_CHAT_ID)
                counts = await app.storage.counts()
            failed = [o for o in outcomes if o.error]
            for outcome in failed:
                stdout.write(f"failed: {outcome.feed_url}: {outcome.error}\n")
            # One line that squares the digest's count with what was read: the items, those that
            # matched, their hits (an item may match several lists), and the folding of stories.
            return (
                f"demo: read {counts.items} items from {counts.feeds} feeds; {counts.matched} "
                f"matched the watchlists ({counts.hits} hits: an item may match several lists); "
                "the digest above shows each story once, its copies named under it"
                + (f"; {len(failed)} feeds failed" if failed else "")
            )

        stdout.write(asyncio.run(once()) + "\n")
        if keep is not None:
            shutil.copyfile(database, keep)
            url = f"sqlite:///{keep.resolve()}"
            stdout.write(
                f"kept the database in {keep}; try it with FEEDWATCH_DATABASE_URL={url} and "
                "`feedwatch stats --days 3650`, `feedwatch hits export --since 2024-01-01` or "
                "`feedwatch feeds`\n"
            )
    return 0
