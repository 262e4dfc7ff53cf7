"""`feedwatch feeds import FILE` and `feedwatch feeds export`: OPML in and out through the real
command, feeds served by the local feed server, stored on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import listparser
import pytest

from bot.cli import main
from bot.sources.opml import write_opml
from bot.storage.repository import Repository
from tests.builders import rss, write_settings
from tests.conftest import Database
from tests.fakes.feed_server import FeedServer, Route

HTML_PAGE = "<!doctype html><html><head><title>Shop</title></head><body>Hi</body></html>"


pytestmark = pytest.mark.usefixtures("cli_environment")


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def opml_file(path: Path, *outlines: tuple[str, str]) -> Path:
    """An OPML 1.0 file as readers export it, of (title, xmlUrl) outlines in one folder."""
    body = "".join(
        f'<outline type="rss" text="{title}" xmlUrl="{url}"/>' for title, url in outlines
    )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><opml version="1.0"><head><title>Mine</title>'
        f'</head><body><outline text="News">{body}</outline></body></opml>',
        encoding="utf-8",
    )
    return path


def shared_urls(database: Database) -> list[str]:
    """The feeds every chat gets, as `/feeds` lists them."""
    repo = database.open()
    try:
        return [feed.url for feed in repo.chat_feeds(0)[0]]
    finally:
        repo.close()


@pytest.fixture
def served(feed_server: FeedServer) -> dict[str, str]:
    """One good feed, one that answers 404, one HTML page and the configured feed."""
    return {
        "good": feed_server.add("/good.rss", rss(("g-1", "RVC raid", ""), title="Good outlet")),
        "missing": feed_server.add("/missing.rss", "gone", status=404, content_type="text/plain"),
        "page": feed_server.add("/page.html", HTML_PAGE, content_type="text/html; charset=utf-8"),
        "configured": feed_server.add("/configured.rss", rss(("c-1", "Kursk", ""))),
    }


def test_import_checks_each_feed_adds_the_good_ones_and_reports_the_rest(
    tmp_path: Path,
    database: Database,
    feed_server: FeedServer,
    served: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_settings(tmp_path, [served["configured"]], database_url=database.config_url)
    config = str(tmp_path / "feedwatch.toml")
    lists = opml_file(
        tmp_path / "subscriptions.opml",
        ("Good &amp; fast", served["good"]),
        ("Broken", served["missing"]),
        ("", served["page"]),
        ("Podcast", "feed://podcast.example/rss"),
        ("Good again", served["good"]),
        ("Already here", served["configured"]),
    )

    assert main(["feeds", "import", str(lists), "--config", config]) == 1
    out, err = capsys.readouterr()
    assert lines(out) == [f"{lists}: 1 feed imported, 3 refused, 1 already present"]
    assert lines(err) == [
        f'{served["missing"]}: HTTP 404 Not Found ("Broken")',
        f"{served['page']}: not a feed: looks like an HTML page",
        'feed://podcast.example/rss: not an http or https URL ("Podcast")',
    ]
    # Each URL was fetched once; the configured one, already read for every chat, not at all.
    assert [feed_server.hits(p) for p in ("/good.rss", "/missing.rss", "/configured.rss")] == [
        1,
        1,
        0,
    ]
    assert shared_urls(database) == [served["configured"], served["good"]]
    repo = database.open()
    try:
        names = {feed.url: feed.name for feed in repo.feeds()}
    finally:
        repo.close()
    assert names[served["good"]] == "Good & fast"

    # A later run reads the config again: the imported feed is no configured feed, and stays.
    assert main(["feeds", "--config", config]) == 0
    table = lines(capsys.readouterr().out)
    assert [row.split("  ")[0] for row in table[1:]] == ["Feed 1", "Good & fast"]
    assert shared_urls(database) == [served["configured"], served["good"]]

    # Importing the file again adds nothing twice.
    assert main(["feeds", "--config", config, "import", str(lists)]) == 1
    out, _ = capsys.readouterr()
    assert lines(out) == [f"{lists}: 0 feeds imported, 3 refused, 2 already present"]
    assert feed_server.hits("/good.rss") == 1


def test_importing_only_good_feeds_exits_0_and_makes_a_chats_feed_everyones(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    one = feed_server.add("/one.rss", rss(("1", "One", "")))
    two = feed_server.add("/two.rss", rss(("2", "Two", ""), title="Second outlet"))
    settings = write_settings(tmp_path, [])
    repo = Repository.open(settings.database.url)
    try:
        now = datetime.now(UTC)
        repo.register_chat(111, "private", "analyst", now)
        assert repo.add_chat_feed(111, two, "Mine", now) == "added"
        assert repo.chat_feeds(222)[0] == []
    finally:
        repo.close()
    lists = opml_file(tmp_path / "two.opml", ("One", one), ("", two))

    assert main(["feeds", "import", str(lists), "--config", str(tmp_path / "feedwatch.toml")]) == 0
    out, err = capsys.readouterr()
    assert lines(out) == [f"{lists}: 2 feeds imported, 0 refused, 0 already present"]
    assert err == ""
    repo = Repository.open(settings.database.url)
    try:
        shared = {feed.url: feed.display_name for feed in repo.chat_feeds(222)[0]}
        assert repo.add_chat_feed(111, one, None, datetime.now(UTC)) == "shared"
    finally:
        repo.close()
    # The chat's name for it stays; the other comes from the OPML file.
    assert shared == {one: "One", two: "Mine"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (HTML_PAGE.encode(), "the file is not an OPML document"),
        (b'<opml version="2.0"><body><outline text="x" </body></opml>', "not well-formed XML"),
        (b"", "the file is empty"),
        (b"\xff\xfe<\x00o", "not valid utf-16 text"),
    ],
)
def test_a_file_that_is_no_opml_list_gets_one_line_naming_it(
    tmp_path: Path, content: bytes, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(tmp_path, [])
    bad = tmp_path / "bad.opml"
    bad.write_bytes(content)
    assert main(["feeds", "import", str(bad), "--config", str(tmp_path / "feedwatch.toml")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [line] = lines(err)
    assert line.startswith(f"feedwatch: {bad}: ")
    assert reason in line
    assert "Traceback" not in err


def test_a_missing_file_gets_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_settings(tmp_path, [])
    missing = tmp_path / "nowhere.opml"
    assert (
        main(["feeds", "import", str(missing), "--config", str(tmp_path / "feedwatch.toml")]) == 1
    )
    assert lines(capsys.readouterr().err) == [
        f"feedwatch: {missing}: cannot read the file (No such file or directory)"
    ]


def test_import_without_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["feeds", "import"])
    assert raised.value.code == 2
    assert "the following arguments are required: file" in capsys.readouterr().err


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, as an operator's is."""

    def isatty(self) -> bool:
        return True


def test_import_shows_a_progress_bar_on_a_terminal_and_its_report_below(
    tmp_path: Path,
    feed_server: FeedServer,
    served: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_settings(tmp_path, [])
    lists = opml_file(tmp_path / "l.opml", ("Good", served["good"]), ("Broken", served["missing"]))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["feeds", "import", str(lists), "--config", str(tmp_path / "feedwatch.toml")]) == 1
    shown = terminal.getvalue()
    assert "checking feeds" in shown
    assert "2/2" in shown
    assert f'{served["missing"]}: HTTP 404 Not Found ("Broken")' in shown.splitlines()


def test_import_checks_a_few_feeds_at_once_and_no_more_on_one_server(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    gate = threading.Semaphore(0)
    urls = [
        feed_server.route(f"/f{i}.rss", Route(body=rss((str(i), "x", "")), gate=gate))
        for i in range(12)
    ]
    settings = write_settings(tmp_path, [])
    lists = opml_file(tmp_path / "many.opml", *((f"F{i}", url) for i, url in enumerate(urls)))
    status: list[int] = []
    run = threading.Thread(
        target=lambda: status.append(
            main(["feeds", "import", str(lists), "--config", str(tmp_path / "feedwatch.toml")])
        )
    )
    run.start()
    try:
        feed_server.wait_until(lambda s: s.in_flight == settings.polling.per_host)
    finally:
        for _ in urls:
            gate.release()
        run.join(timeout=60)
    assert status == [0]
    assert feed_server.most_in_flight == settings.polling.per_host == 4
    assert lines(capsys.readouterr().out)[-1].endswith(
        "12 feeds imported, 0 refused, 0 already present"
    )


def test_export_lists_every_enabled_feed_once_as_opml_2(
    tmp_path: Path,
    database: Database,
    feed_server: FeedServer,
    served: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = database.config_url
    retired = feed_server.add("/retired.rss", rss(("r", "r", "")))
    write_settings(tmp_path, [served["configured"], retired], database_url=url)
    config = str(tmp_path / "feedwatch.toml")
    assert main(["feeds", "--config", config]) == 0
    write_settings(tmp_path, [served["configured"]], database_url=url)  # retires the second
    lists = tmp_path / "in.opml"
    lists.write_bytes(
        write_opml(
            [("Новости & «мнения» <live>", served["good"])], title="in", created=datetime.now(UTC)
        )
    )
    assert main(["feeds", "import", str(lists), "--config", config]) == 0
    chat_feed = feed_server.add("/chat.rss", rss(("c", "c", "")))
    repo = database.open()
    try:
        now = datetime.now(UTC)
        repo.register_chat(111, "private", "analyst", now)
        repo.add_chat_feed(111, chat_feed, 'A "chat" feed', now)
    finally:
        repo.close()
    capsys.readouterr()

    assert main(["feeds", "export", "--config", config]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    parsed = listparser.parse(out.encode())
    assert (parsed.version, parsed.bozo, parsed.meta.title) == ("opml2", False, "feedwatch feeds")
    assert abs(parsed.meta.created_parsed - datetime.now(UTC)).total_seconds() < 600
    assert sorted((f.title, f.url) for f in parsed.feeds) == sorted(
        [
            ("Feed 1", served["configured"]),
            ("Новости & «мнения» <live>", served["good"]),
            ('A "chat" feed', chat_feed),
        ]
    )
    assert out.count('<outline type="rss" ') == 3
