"""`feedwatch hits export`, `stats`, `backfill` and `db`, on SQLite and PostgreSQL: data goes in through
the repository, the command runs through `bot.cli.main`, and its output is read back."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.cli import main
from bot.core.domain import Match, ParsedItem
from bot.ops.config import load_settings
from bot.storage import migrate
from bot.storage.repository import Repository
from bot.storage.store import create_db_engine
from tests.builders import WATCHLISTS_TOML, write_settings
from tests.conftest import Database

FEEDS = ["https://a.example/rss", "https://b.example/rss"]
HEAD = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
BELGOROD_TOML = (
    WATCHLISTS_TOML
    + """
[[watchlist]]
name = "belgorod"
terms = ["Belgorod", "Белгород*"]
"""
)


@pytest.fixture(autouse=True)
def _clean_env_and_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No FEEDWATCH_* variable of the developer's shell leaks in (FEEDWATCH_DATABASE_URL would
    point the commands elsewhere); the CLI's logging set-up is undone after each test."""
    for name in list(os.environ):
        if name.startswith("FEEDWATCH_"):
            monkeypatch.delenv(name)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def write_config(tmp_path: Path, database: Database, watchlists: str = WATCHLISTS_TOML) -> str:
    write_settings(tmp_path, FEEDS, database_url=database.config_url, watchlists=watchlists)
    return str(tmp_path / "feedwatch.toml")


def found(watchlist: str, *pairs: tuple[str, str]) -> tuple[Match, ...]:
    return tuple(Match(watchlist, term, words) for term, words in pairs)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --- hits export ------------------------------------------------------------------------------


@pytest.fixture
def stored(database: Database, tmp_path: Path) -> Iterator[tuple[str, Repository]]:
    """A config file and its database with hits from 10 to 12 March 2024:

    a  Feed 1, seen 10 March 08:00, hits kursk and rvc
    b  Feed 1, seen 11 March 09:00, no link, no date, hits rvc
    c  Feed 2, seen 12 March 10:00, hits kursk
    d  Feed 1, seen 11 March 12:00, hits nothing
    """
    config = write_config(tmp_path, database)
    repo = database.open()
    settings = load_settings(Path(config), env={})
    repo.sync_config(settings.feeds, settings.watchlists, at("2024-03-01T00:00:00Z"))
    feed = {f.url: f.id for f in repo.feeds()}
    a = ParsedItem(
        "a",
        'Бой под Курском, "РДК" в деле',
        "https://a.example/1?x=1&y=2",
        "summary",
        at("2024-03-10T07:30:00Z"),
    )
    repo.store_items(
        feed[FEEDS[0]],
        [
            (
                a,
                {
                    "kursk": found("kursk", ("Курск*", "Курском")),
                    "rvc": found("rvc", ("РДК", "РДК"), ("RVC", "RVC")),
                },
            )
        ],
        at("2024-03-10T08:00:00Z"),
    )
    b = ParsedItem("b", "Line one\nline two", None, "RVC", None)
    repo.store_items(
        feed[FEEDS[0]], [(b, {"rvc": found("rvc", ("RVC", "RVC"))})], at("2024-03-11T09:00:00Z")
    )
    d = ParsedItem("d", "Weather", "https://a.example/d", "sunny", None)
    repo.store_items(feed[FEEDS[0]], [(d, {})], at("2024-03-11T12:00:00Z"))
    c = ParsedItem("c", "Kursk", "https://b.example/c", "", at("2024-03-12T09:59:00+02:00"))
    repo.store_items(
        feed[FEEDS[1]],
        [(c, {"kursk": found("kursk", ("Kursk", "Kursk"))})],
        at("2024-03-12T10:00:00Z"),
    )
    try:
        yield config, repo
    finally:
        repo.close()


ROW_A_KURSK = {
    "title": 'Бой под Курском, "РДК" в деле',
    "link": "https://a.example/1?x=1&y=2",
    "outlet": "Feed 1",
    "feed_url": "https://a.example/rss",
    "published": "2024-03-10T07:30:00Z",
    "seen": "2024-03-10T08:00:00Z",
    "watchlist": "kursk",
    "matches": [{"term": "Курск*", "text": "Курском"}],
}
ROW_A_RVC = {
    **ROW_A_KURSK,
    "watchlist": "rvc",
    "matches": [{"term": "РДК", "text": "РДК"}, {"term": "RVC", "text": "RVC"}],
}
ROW_B = {
    "title": "Line one\nline two",
    "link": None,
    "outlet": "Feed 1",
    "feed_url": "https://a.example/rss",
    "published": None,
    "seen": "2024-03-11T09:00:00Z",
    "watchlist": "rvc",
    "matches": [{"term": "RVC", "text": "RVC"}],
}
ROW_C = {
    "title": "Kursk",
    "link": "https://b.example/c",
    "outlet": "Feed 2",
    "feed_url": "https://b.example/rss",
    "published": "2024-03-12T07:59:00Z",
    "seen": "2024-03-12T10:00:00Z",
    "watchlist": "kursk",
    "matches": [{"term": "Kursk", "text": "Kursk"}],
}


def export(capsys: pytest.CaptureFixture[str], config: str, *args: str) -> str:
    assert main(["hits", "export", "--config", config, *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def as_csv_rows(row: dict[str, object]) -> dict[str, str]:
    """A JSON row as CSV writes it: no value is an empty cell, matches are a JSON list."""
    return {
        key: json.dumps(value, ensure_ascii=False)
        if key == "matches"
        else ""
        if value is None
        else str(value)
        for key, value in row.items()
    }


def test_export_writes_csv_with_a_header_one_row_per_item_and_watchlist(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = stored
    out = export(capsys, config, "--since", "2024-03-01")
    assert out.splitlines()[0] == "title,link,outlet,feed_url,published,seen,watchlist,matches"
    assert '"Бой под Курском, ""РДК"" в деле"' in out  # quoted, quotes doubled, not escaped
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert rows == [as_csv_rows(r) for r in (ROW_A_KURSK, ROW_A_RVC, ROW_B, ROW_C)]


def test_export_writes_json_lines_as_utf_8(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = stored
    out = export(capsys, config, "--since", "2024-03-01", "--format", "json")
    assert "Курском" in out  # not \u escapes
    lines = out.splitlines()
    assert [json.loads(line) for line in lines] == [ROW_A_KURSK, ROW_A_RVC, ROW_B, ROW_C]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "2024-03-11"], [ROW_B, ROW_C]),
        (["--since", "2024-03-11", "--until", "2024-03-11"], [ROW_B]),  # the whole day
        (
            ["--since", "2024-03-10T08:00:00Z", "--until", "2024-03-12T10:00:00Z"],
            [ROW_A_KURSK, ROW_A_RVC, ROW_B],
        ),
        (["--since", "2024-03-11T11:00:00+02:00"], [ROW_B, ROW_C]),  # 09:00 UTC, inclusive
        (["--since", "2024-03-11T09:00:01"], [ROW_C]),  # no offset: UTC
        (["--since", "2024-03-13"], []),
        (["--since", "2024-03-01", "--watchlist", "kursk"], [ROW_A_KURSK, ROW_C]),
        (
            [
                "--since",
                "2024-03-01",
                "--watchlist",
                "kursk",
                "--watchlist",
                "rvc",
                "--until",
                "2024-03-10",
            ],
            [ROW_A_KURSK, ROW_A_RVC],
        ),
    ],
)
def test_export_selects_by_when_items_were_seen_and_by_watchlist(
    stored: tuple[str, Repository],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    expected: list[dict[str, object]],
) -> None:
    config, _ = stored
    out = export(capsys, config, "--format", "json", *args)
    assert [json.loads(line) for line in out.splitlines()] == expected


def test_an_empty_csv_export_is_the_header_alone(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = stored
    assert export(capsys, config, "--since", "2030-01-01").splitlines() == [
        "title,link,outlet,feed_url,published,seen,watchlist,matches"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "yesterday"],
        ["--since", "2024-02-30"],
        ["--since", "2024-03-01", "--until", "12/03/2024"],
        ["--until", "2024-03-01"],  # --since is required
        ["--since", "2024-03-01", "--format", "xml"],
    ],
)
def test_a_bad_date_or_option_is_a_usage_error(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    config, _ = stored
    with pytest.raises(SystemExit) as exit_info:
        main(["hits", "export", "--config", config, *args])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage: feedwatch hits export" in err
    if "yesterday" in args:
        assert "not a date: 'yesterday'" in err
        assert "YYYY-MM-DD" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2024-03-12", "--until", "2024-03-11"], "--until must be later than --since"),
        (
            ["--since", "2024-03-01", "--watchlist", "nope"],
            "no watchlist named nope; known: kursk, rvc",
        ),
    ],
)
def test_a_span_that_ends_before_it_begins_or_an_unknown_list_is_a_usage_error(
    stored: tuple[str, Repository],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    config, _ = stored
    assert main(["hits", "export", "--config", config, *args]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"feedwatch: {message}\n")


# --- stats ------------------------------------------------------------------------------------


def stats(capsys: pytest.CaptureFixture[str], config: str, *args: str) -> list[list[str]]:
    assert main(["stats", "--config", config, *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return [line.split() for line in out.splitlines()]


def test_stats_count_the_stored_hits_per_day_with_zero_days_and_totals(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]
) -> None:
    config, repo = stored
    table = stats(capsys, config, "--days", "5", "--until", "2024-03-12")
    assert table == [
        ["day", "(UTC)", "kursk", "rvc", "total"],
        ["2024-03-08", "0", "0", "0"],
        ["2024-03-09", "0", "0", "0"],
        ["2024-03-10", "1", "1", "2"],
        ["2024-03-11", "0", "1", "1"],
        ["2024-03-12", "1", "0", "1"],
        ["total", "2", "2", "4"],
        ["busiest:", "2024-03-10", "(2", "hits)"],
    ]
    # The same numbers as the hits stored, counted from the export.
    per_day: dict[tuple[str, str], int] = {}
    for hit in repo.export_hits(at("2024-03-08T00:00:00Z"), at("2024-03-13T00:00:00Z")):
        key = (hit.seen.date().isoformat(), hit.watchlist)
        per_day[key] = per_day.get(key, 0) + 1
    for row in table[1:6]:
        assert [int(n) for n in row[1:3]] == [per_day.get((row[0], w), 0) for w in ("kursk", "rvc")]


def test_stats_of_named_watchlists_and_a_shorter_window(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = stored
    assert stats(capsys, config, "--days", "2", "--until", "2024-03-11", "--watchlist", "rvc") == [
        ["day", "(UTC)", "rvc", "total"],
        ["2024-03-10", "1", "1"],
        ["2024-03-11", "1", "1"],
        ["total", "2", "2"],
        ["busiest:", "2024-03-10", "(1", "hit)"],
    ]


def test_stats_default_to_the_last_14_days_up_to_today(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]
) -> None:
    config, repo = stored
    kursk = next(f.id for f in repo.feeds() if f.url == FEEDS[0])
    now = datetime.now(UTC)
    item = ParsedItem("today", "Kursk", None, "", None)
    repo.store_items(kursk, [(item, {"kursk": found("kursk", ("Kursk", "Kursk"))})], now)
    before = now.date()
    table = stats(capsys, config)
    after = datetime.now(UTC).date()
    days = [row[0] for row in table[1:-2]]
    assert len(days) == 14
    assert days[-1] in {before.isoformat(), after.isoformat()}  # midnight may pass meanwhile
    assert table[-2] == ["total", "1", "0", "1"]  # the March hits are long gone
    assert table[-1][0] == "busiest:"


def test_stats_without_hits_say_so(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = stored
    table = stats(capsys, config, "--days", "3", "--until", "2024-01-31")
    assert table[-2:] == [["total", "0", "0", "0"], ["no", "hits", "in", "these", "days"]]


@pytest.mark.parametrize("args", [["--days", "0"], ["--days", "two"], ["--until", "2024-3-1"]])
def test_stats_refuse_a_bad_window(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    config, _ = stored
    with pytest.raises(SystemExit) as exit_info:
        main(["stats", "--config", config, *args])
    assert exit_info.value.code == 2
    assert "usage: feedwatch stats" in capsys.readouterr().err


# --- backfill ---------------------------------------------------------------------------------


class Backfilled:
    """A database with items stored before the watchlist "belgorod" was configured, and chats:

    1  follows rvc and belgorod
    2  follows kursk and belgorod, and had y (a kursk hit) already
    3  follows belgorod, but blocked the bot
    4  follows belgorod and added its own feed, where w comes from
    5  follows rvc only
    """

    def __init__(self, database: Database, tmp_path: Path) -> None:
        self.config = write_config(tmp_path, database)
        self.repo = repo = database.open()
        now = datetime.now(UTC)
        settings = load_settings(Path(self.config), env={})
        repo.sync_config(settings.feeds, settings.watchlists, now - timedelta(days=20))
        for chat in (1, 2, 3, 4, 5):
            repo.register_chat(chat, "private", f"chat {chat}", now)
        repo.subscribe(1, ["rvc"], now)
        repo.subscribe(2, ["kursk"], now)
        repo.subscribe(5, ["rvc"], now)
        assert repo.add_chat_feed(4, "https://own.example/feed", "Own", now) == "added"
        feeds = {f.url: f.id for f in repo.feeds()}
        shared, own = feeds[FEEDS[0]], feeds["https://own.example/feed"]
        self.items = {
            "x": ParsedItem("x", "Shelling in Belgorod overnight", None, "", None),
            "y": ParsedItem("y", "Drones over Kursk", None, "and over Белгородом", None),
            "v": ParsedItem("v", "Weather report", None, "sunny", None),
            "z": ParsedItem("z", "Belgorod archive", None, "", None),
            "w": ParsedItem("w", "Belgorod, in a chat's own feed", None, "", None),
        }
        repo.store_items(shared, [(self.items["z"], {})], now - timedelta(days=10))
        result = repo.store_items(
            shared,
            [
                (self.items["x"], {}),
                (self.items["y"], {"kursk": found("kursk", ("Kursk", "Kursk"))}),
                (self.items["v"], {}),
            ],
            now - timedelta(hours=5),
        )
        assert (result.new_hits, result.new_deliveries) == (1, 1)  # y, to chat 2
        repo.store_items(own, [(self.items["w"], {})], now - timedelta(hours=1))

        # The operator configures "belgorod"; the bot restarts and chats follow it.
        write_config(tmp_path, database, BELGOROD_TOML)
        settings = load_settings(Path(self.config), env={})
        repo.sync_config(settings.feeds, settings.watchlists, now)
        for chat in (1, 2, 3, 4):
            assert repo.subscribe(chat, ["belgorod"], now).changed == ("belgorod",)
        repo.deactivate_chat(3, "Forbidden: bot was blocked by the user")

    def pending(self, chat: int) -> list[str]:
        return sorted(d.item.key for d in self.repo.pending_deliveries(chat))

    def hits(self, watchlist: str) -> list[tuple[str, list[tuple[str, str]]]]:
        since = datetime.now(UTC) - timedelta(days=30)
        return sorted(
            (hit.title, [(m.term, m.text) for m in hit.matches])
            for hit in self.repo.export_hits(since, None, [watchlist])
        )


@pytest.fixture
def backfilled(database: Database, tmp_path: Path) -> Iterator[Backfilled]:
    data = Backfilled(database, tmp_path)
    try:
        yield data
    finally:
        data.repo.close()


def backfill(capsys: pytest.CaptureFixture[str], data: Backfilled, *args: str) -> list[str]:
    assert main(["backfill", "--config", data.config, *args]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # no progress bar when stderr is not a terminal
    return out.splitlines()


def test_backfill_stores_the_new_hits_and_queues_them_for_the_chats_that_follow(
    backfilled: Backfilled, capsys: pytest.CaptureFixture[str]
) -> None:
    out = backfill(capsys, backfilled, "--days", "3")
    assert out[0].startswith("items scanned: 4 (seen since ")  # x, y, v, w; z is older
    assert out[1:] == ["new hits: 3", "  belgorod: 3", "deliveries queued: 6"]
    assert backfilled.hits("belgorod") == [
        ("Belgorod, in a chat's own feed", [("Belgorod", "Belgorod")]),
        ("Drones over Kursk", [("Белгород*", "Белгородом")]),
        ("Shelling in Belgorod overnight", [("Belgorod", "Belgorod")]),
    ]
    assert [title for title, _ in backfilled.hits("kursk")] == ["Drones over Kursk"]  # not twice
    assert backfilled.pending(1) == ["x", "y"]  # not w: a chat's own feed reaches its chats only
    assert backfilled.pending(2) == ["x", "y"]  # y once: it had it already
    assert backfilled.pending(3) == []  # blocked the bot
    assert backfilled.pending(4) == ["w", "x", "y"]
    assert backfilled.pending(5) == []  # follows rvc only


def test_backfill_twice_adds_nothing_the_second_time(
    backfilled: Backfilled, capsys: pytest.CaptureFixture[str]
) -> None:
    backfill(capsys, backfilled, "--days", "3")
    counts = backfilled.repo.counts()
    pending = {chat: backfilled.pending(chat) for chat in (1, 2, 3, 4, 5)}
    out = backfill(capsys, backfilled, "--days", "3")
    assert out[1:] == ["new hits: 0", "deliveries queued: 0"]
    assert backfilled.repo.counts() == counts
    assert {chat: backfilled.pending(chat) for chat in (1, 2, 3, 4, 5)} == pending


def test_backfill_no_deliver_stores_hits_and_queues_nothing(
    backfilled: Backfilled, capsys: pytest.CaptureFixture[str]
) -> None:
    out = backfill(capsys, backfilled, "--days", "3", "--no-deliver")
    assert out[1:] == [
        "new hits: 3",
        "  belgorod: 3",
        "deliveries queued: 0",
        "(--no-deliver: nothing was queued for the chats)",
    ]
    assert len(backfilled.hits("belgorod")) == 3
    assert [backfilled.pending(chat) for chat in (1, 2, 3, 4, 5)] == [[], ["y"], [], [], []]


def test_backfill_of_named_lists_and_a_shorter_window(
    backfilled: Backfilled, capsys: pytest.CaptureFixture[str]
) -> None:
    out = backfill(capsys, backfilled, "--days", "3", "--watchlist", "rvc", "kursk")
    assert out[1:] == ["new hits: 0", "  kursk: 0", "  rvc: 0", "deliveries queued: 0"]
    assert backfilled.hits("belgorod") == []
    out = backfill(capsys, backfilled, "--days", "1", "--watchlist", "belgorod")
    assert out[0].startswith("items scanned: 4 ")  # z is ten days old
    assert out[1:3] == ["new hits: 3", "  belgorod: 3"]
    out = backfill(capsys, backfilled, "--days", "11")
    assert out[0].startswith("items scanned: 5 ")  # z too, ten days old
    assert out[1:3] == ["new hits: 1", "  belgorod: 1"]  # z; x, y, w were done
    assert backfilled.pending(1) == ["x", "y", "z"]


def test_backfill_of_an_unknown_list_is_a_usage_error(
    backfilled: Backfilled, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", "--config", backfilled.config, "--days", "3", "--watchlist", "x"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "feedwatch: no watchlist named x; known: belgorod, kursk, rvc\n"
    with pytest.raises(SystemExit) as exit_info:
        main(["backfill", "--config", backfilled.config])  # --days is required
    assert exit_info.value.code == 2


# --- db ---------------------------------------------------------------------------------------


def db(capsys: pytest.CaptureFixture[str], config: str, command: str) -> tuple[int, str, str]:
    status = main(["db", command, "--config", config])
    out, err = capsys.readouterr()
    return status, out, err


def test_db_current_reads_the_revision_and_db_upgrade_applies_the_rest(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, database)
    assert db(capsys, config, "current") == (
        0,
        f"schema: none (an empty database) (head is {HEAD}; `feedwatch db upgrade` applies the "
        "rest)\n",
        "",
    )
    assert db(capsys, config, "current")[1].startswith("schema: none")  # current changed nothing
    assert db(capsys, config, "upgrade") == (
        0,
        f"schema: none (an empty database) -> {HEAD}\n",
        "",
    )
    assert db(capsys, config, "current") == (0, f"schema: {HEAD} (head)\n", "")
    assert db(capsys, config, "upgrade") == (0, f"schema: {HEAD}, up to date\n", "")


def test_db_upgrade_from_the_first_revision(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, database)
    engine = create_db_engine(database.url, connect_args=database.connect_args)
    try:
        migrate.upgrade(engine, "0001")
    finally:
        engine.dispose()
    assert db(capsys, config, "current")[1].startswith(f"schema: 0001 (head is {HEAD};")
    assert db(capsys, config, "upgrade") == (0, f"schema: 0001 -> {HEAD}\n", "")


def test_db_upgrade_of_a_database_from_a_newer_feedwatch_is_one_line_of_error(
    database: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, database)
    engine = create_db_engine(database.url, connect_args=database.connect_args)
    try:
        migrate.upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    assert db(capsys, config, "current") == (
        0,
        f"schema: 9999 (head is {HEAD}; `feedwatch db upgrade` applies the rest)\n",
        "",
    )
    status, out, err = db(capsys, config, "upgrade")
    assert (status, out) == (1, "")
    assert (
        err
        == "feedwatch: cannot migrate the database: Can't locate revision identified by '9999'\n"
    )


def test_data_commands_need_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("hits", "db"):
        with pytest.raises(SystemExit) as exit_info:
            main([command])
        assert exit_info.value.code == 2
    assert "usage: feedwatch db" in capsys.readouterr().err


def test_help_names_the_dates_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["hits", "export", "--help"])
    out = capsys.readouterr().out
    assert "YYYY-MM-DD" in out
    assert "--watchlist NAME" in out


# --- stats: charts, CSV, time zones, hours ----------------------------------------------------


def stats_files(
    capsys: pytest.CaptureFixture[str], config: str, *args: str
) -> tuple[int, str, str]:
    status = main(["stats", "--config", config, *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_stats_plot_writes_a_png_chart_of_the_counts_in_the_table(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from PIL import Image

    config, _ = stored
    png = tmp_path / "chart.png"
    window = ["--days", "5", "--until", "2024-03-12"]
    status, out, err = stats_files(capsys, config, *window, "--plot", str(png))
    assert (status, out, err) == (0, f"chart: {png} (4 hits)\n", "")
    with Image.open(png) as image:
        assert (image.format, image.size) == ("PNG", (1080, 720))
    # The lines drawn are the rows of the table.
    from bot.cli.data import plot
    from bot.trends.stats import count_hits

    _, repo = stored
    counts = count_hits(
        repo.hit_times(at("2024-03-08T00:00:00Z"), at("2024-03-13T00:00:00Z")),
        now=at("2024-03-12T23:59:59Z"),
        days=5,
        tz=UTC,
        watchlists=["kursk", "rvc"],
    )
    drawn = {line.watchlists[0]: line.values for line in plot(counts).series}
    table = stats(capsys, config, *window)
    assert [list(row) for row in zip(drawn["kursk"], drawn["rvc"], strict=True)] == [
        [int(n) for n in row[1:3]] for row in table[1:6]
    ]
    assert (
        png.read_bytes()
        == plot(counts, {"kursk": "Kursk region", "rvc": "Russian Volunteer Corps"}).png
    )


def test_stats_csv_has_the_numbers_of_the_table(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, _ = stored
    path = tmp_path / "stats.csv"
    window = ["--days", "5", "--until", "2024-03-12"]
    status, out, err = stats_files(capsys, config, *window, "--csv", str(path))
    assert (status, out, err) == (0, f"CSV: {path} (5 rows, 4 hits)\n", "")
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["start", "kursk", "rvc", "total"]
    table = stats(capsys, config, *window)
    assert [row[0] for row in rows[1:]] == [f"{row[0]}T00:00:00+00:00" for row in table[1:6]]
    assert [row[1:] for row in rows[1:]] == [row[1:] for row in table[1:6]]
    # Its columns add up to the table's totals.
    sums = [str(sum(int(row[i]) for row in rows[1:])) for i in (1, 2, 3)]
    assert sums == table[6][1:] == ["2", "2", "4"]


def test_stats_writes_both_files_and_prints_no_table(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, _ = stored
    png, sheet = tmp_path / "c.png", tmp_path / "c.csv"
    args = ["--days", "3", "--until", "2024-03-12", "--watchlist", "rvc"]
    status, out, _ = stats_files(capsys, config, *args, "--plot", str(png), "--csv", str(sheet))
    assert status == 0
    assert out.splitlines() == [f"CSV: {sheet} (3 rows, 2 hits)", f"chart: {png} (2 hits)"]
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sheet.read_text(encoding="utf-8").splitlines()[0] == "start,rvc,total"


def test_stats_count_days_in_the_time_zone_asked_for(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, _ = stored
    # Honolulu is 10 hours behind: a (10 March 08:00 UTC) and b (11 March 09:00) fall on the
    # day before there; c (12 March 10:00) at midnight, on the 12th.
    args = ["--days", "5", "--until", "2024-03-12", "--tz", "Pacific/Honolulu"]
    assert stats(capsys, config, *args) == [
        ["day", "(Pacific/Honolulu)", "kursk", "rvc", "total"],
        ["2024-03-08", "0", "0", "0"],
        ["2024-03-09", "1", "1", "2"],
        ["2024-03-10", "0", "1", "1"],
        ["2024-03-11", "0", "0", "0"],
        ["2024-03-12", "1", "0", "1"],
        ["total", "2", "2", "4"],
        ["busiest:", "2024-03-09", "(2", "hits)"],
    ]
    path = tmp_path / "hawaii.csv"
    assert stats_files(capsys, config, *args, "--csv", str(path))[0] == 0
    assert path.read_text(encoding="utf-8").splitlines()[2] == "2024-03-09T00:00:00-10:00,1,1,2"


def test_stats_by_hour(stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str]) -> None:
    config, _ = stored
    table = stats(capsys, config, "--days", "2", "--until", "2024-03-12", "--by", "hour")
    assert table[0] == ["hour", "(UTC)", "kursk", "rvc", "total"]
    assert len(table) == 1 + 48 + 2
    assert table[1][:2] == ["2024-03-11", "00:00"]
    nonzero = [row for row in table[1:49] if row[-1] != "0"]
    assert nonzero == [
        ["2024-03-11", "09:00", "0", "1", "1"],
        ["2024-03-12", "10:00", "1", "0", "1"],
    ]
    assert table[-1] == ["busiest:", "2024-03-11", "09:00", "(1", "hit)"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "hour", "--days", "3"], "feedwatch: --by hour counts 2 days at most, not 3\n"),
        (["--tz", "Mars/Olympus"], "not a time zone: 'Mars/Olympus'"),
        (["--tz", "../etc"], "not a time zone: '../etc'"),
    ],
)
def test_stats_refuse_hours_of_many_days_and_unknown_time_zones(
    stored: tuple[str, Repository],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    config, _ = stored
    try:
        status = main(["stats", "--config", config, *args])
    except SystemExit as exit_info:
        status = int(str(exit_info.code))
    assert status == 2
    assert message in capsys.readouterr().err


def test_stats_plot_without_hits_writes_no_chart(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, _ = stored
    png = tmp_path / "empty.png"
    status, out, _ = stats_files(
        capsys, config, "--days", "3", "--until", "2024-01-31", "--plot", str(png)
    )
    assert (status, out) == (0, f"no hits in these days: no chart written to {png}\n")
    assert not png.exists()


def test_stats_into_a_missing_directory_is_an_error(
    stored: tuple[str, Repository], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config, _ = stored
    path = tmp_path / "nowhere" / "stats.csv"
    status, out, err = stats_files(capsys, config, "--csv", str(path))
    assert (status, out) == (1, "")
    assert err == f"feedwatch: cannot write {path}: No such file or directory\n"
