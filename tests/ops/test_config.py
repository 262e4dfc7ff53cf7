"""Tests of bot.ops.config: exact settings from TOML and environment; every problem in one sentence."""

from __future__ import annotations

import inspect
import os
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr, ValidationError

from bot.core.domain import FeedSpec, Watchlist
from bot.core.errors import ConfigError
from bot.ops.config import (
    DEFAULT_CONFIG_PATH,
    MAX_TOML_DEPTH,
    TOO_DEEP,
    DatabaseSettings,
    DigestSettings,
    MetricsSettings,
    PollingSettings,
    Settings,
    TelegramSettings,
    TomlRefused,
    check_config,
    config_path,
    format_duration,
    load_settings,
    parse_duration,
    parse_toml,
    summary,
)
from bot.ops.watchlist_file import load_watchlists
from tests.builders import write_settings

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAE-very-secret-token_value"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text), encoding="utf-8")
    return path


def problems_for(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    settings, problems = check_config(write(tmp_path / "feedwatch.toml", text), env or {})
    assert (settings is None) == bool(problems)
    return problems


# --- a valid file -----------------------------------------------------------------------------

FULL = """\
    watchlist_files = ["lists/watchlists.toml"]

    [database]
    url = "postgresql+psycopg://feedwatch@db:5432/feedwatch"

    [telegram]
    token = "  123456789:AAE-very-secret-token_value  "
    api_url = "http://localhost:8081/bot"

    [polling]
    interval = "15m"
    timeout = "20s"
    connect_timeout = "5s"
    max_body_mib = 2
    max_redirects = 3
    concurrency = 4
    tick = "10s"

    [digest]
    interval = "2h30m"
    tick = "30s"

    [[feed]]
    url = "https://example.org/rss"
    name = "Example"
    interval = "1h"

    [[feed]]
    url = "http://example.com/atom.xml"

    [[watchlist]]
    name = "rvc"
    title = "Russian Volunteer Corps"
    terms = ["Russian Volunteer Corps", " RVC ", "Русский добровольческий корпус", "РДК"]
    require = ["Belgorod"]
    exclude = ["film*"]
"""

WATCHLISTS = """\
    [[watchlist]]
    name = "kursk-2"
    terms = ["Kursk", "Курськ"]

    [[watchlist]]
    name = "fleet_ua"
    title = ""
    terms = ["Black Sea Fleet"]
"""


def test_a_full_file_gives_exact_settings(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", FULL)
    write(tmp_path / "lists" / "watchlists.toml", WATCHLISTS)

    assert load_settings(config, env={}) == Settings(
        source=config,
        database=DatabaseSettings(url="postgresql+psycopg://feedwatch@db:5432/feedwatch"),
        telegram=TelegramSettings(token=SecretStr(TOKEN), api_url="http://localhost:8081"),
        polling=PollingSettings(
            interval=timedelta(minutes=15),
            timeout=timedelta(seconds=20),
            connect_timeout=timedelta(seconds=5),
            max_body_mib=2,
            max_redirects=3,
            concurrency=4,
            tick=timedelta(seconds=10),
        ),
        digest=DigestSettings(interval=timedelta(hours=2, minutes=30), tick=timedelta(seconds=30)),
        feeds=(
            FeedSpec("https://example.org/rss", "Example", timedelta(hours=1)),
            FeedSpec("http://example.com/atom.xml"),
        ),
        watchlists=(
            Watchlist(
                name="rvc",
                title="Russian Volunteer Corps",
                terms=("Russian Volunteer Corps", "RVC", "Русский добровольческий корпус", "РДК"),
                require=("Belgorod",),
                exclude=("film*",),
            ),
            Watchlist(name="kursk-2", terms=("Kursk", "Курськ")),
            Watchlist(name="fleet_ua", terms=("Black Sea Fleet",), title=None),
        ),
    )


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", "")
    settings = load_settings(config, env={})
    assert settings == Settings(source=config)
    assert settings.database.url == "sqlite:///feedwatch.db"
    assert settings.telegram == TelegramSettings(token=SecretStr(""), api_url="")
    assert settings.polling == PollingSettings(
        interval=timedelta(minutes=10),
        timeout=timedelta(seconds=30),
        connect_timeout=timedelta(seconds=10),
        max_body_mib=10,
        max_redirects=5,
        concurrency=64,
        per_host=4,
        tick=timedelta(seconds=30),
        allow_private_addresses=False,
        parse_workers=None,
    )
    assert settings.digest == DigestSettings(interval=timedelta(hours=1), tick=timedelta(minutes=1))
    assert (settings.feeds, settings.watchlists) == ((), ())


def test_metrics_are_served_on_loopback_port_9108_by_default(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "feedwatch.toml", ""), env={})
    assert settings.metrics == MetricsSettings(listen="127.0.0.1:9108")
    assert settings.metrics.address == ("127.0.0.1", 9108)


@pytest.mark.parametrize(
    ("listen", "address"),
    [
        (" 0.0.0.0:9108 ", ("0.0.0.0", 9108)),
        ("[::1]:9108", ("::1", 9108)),
        ("localhost:0", ("localhost", 0)),
        ("metrics.internal:65535", ("metrics.internal", 65535)),
        ("", None),
    ],
)
def test_metrics_listen_takes_host_and_port_or_nothing(
    tmp_path: Path, listen: str, address: tuple[str, int] | None
) -> None:
    config = write(tmp_path / "feedwatch.toml", f'[metrics]\nlisten = "{listen}"\n')
    assert load_settings(config, env={}).metrics.address == address


@pytest.mark.parametrize(
    "listen", ["9108", "127.0.0.1", ":9108", "127.0.0.1:http", "1.2.3.4:70000"]
)
def test_a_bad_metrics_listen_address_is_a_problem(tmp_path: Path, listen: str) -> None:
    assert problems_for(tmp_path, f'[metrics]\nlisten = "{listen}"\n') == [
        f"{tmp_path / 'feedwatch.toml'}: [metrics] listen: {listen!r} is not an address to listen "
        'on; write HOST:PORT such as 127.0.0.1:9108, or "" to turn it off'
    ]


def test_metrics_listen_must_be_a_string(tmp_path: Path) -> None:
    assert problems_for(tmp_path, "[metrics]\nlisten = 9108\nport = 1\n") == [
        f"{tmp_path / 'feedwatch.toml'}: [metrics] listen: must be a string, not an integer",
        f"{tmp_path / 'feedwatch.toml'}: [metrics]: unknown key 'port'",
    ]


def test_webhook_and_lease_settings_are_read(tmp_path: Path) -> None:
    config = write(
        tmp_path / "feedwatch.toml",
        """\
        [telegram]
        webhook_url = "https://bot.example.org/telegram"
        webhook_listen = "0.0.0.0:8443"
        webhook_secret = "s3cret_-token"
        [polling]
        timeout = "20s"
        lease = "90s"
        """,
    )
    settings = load_settings(
        config, env={"FEEDWATCH_TELEGRAM_WEBHOOK_URL": "https://other.example/h"}
    )
    assert settings.telegram.webhook_url == "https://other.example/h"
    assert settings.telegram.webhook_listen == "0.0.0.0:8443"
    assert settings.telegram.webhook_secret == SecretStr("s3cret_-token")
    assert settings.polling.lease == timedelta(seconds=90)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[polling]\ntimeout = "30s"\nlease = "30s"\n',
            "[polling] lease: 30s must be longer than the request timeout (30s), or a slow poll "
            "would be taken over while it runs",
        ),
        ('[polling]\nlease = "2s"\n', "[polling] lease: '2s' is too short; the minimum is 5s"),
        (
            '[telegram]\nwebhook_listen = "8443"\n',
            "[telegram] webhook_listen: '8443' is not an address to listen on; write HOST:PORT "
            "such as 0.0.0.0:8443",
        ),
        (
            '[telegram]\nwebhook_secret = "has spaces!"\n',
            "[telegram] webhook_secret: must be 1 to 256 letters, digits, _ and -",
        ),
    ],
)
def test_bad_replica_and_webhook_settings_are_problems(
    tmp_path: Path, text: str, problem: str
) -> None:
    assert problems_for(tmp_path, text) == [f"{tmp_path / 'feedwatch.toml'}: {problem}"]


def test_terms_are_stripped_but_otherwise_kept_as_written(tmp_path: Path) -> None:
    config = write(
        tmp_path / "feedwatch.toml",
        """\
        [[watchlist]]
        name = "Mixed_Case-1"
        terms = ["  ЗСУ\\t", "Zelensky*", "St. Petersburg "]
        exclude = ["  Film "]
        """,
    )
    (watchlist,) = load_settings(config, env={}).watchlists
    assert watchlist == Watchlist(
        name="Mixed_Case-1", terms=("ЗСУ", "Zelensky*", "St. Petersburg"), exclude=("Film",)
    )


def test_watchlist_files_are_relative_to_the_config_file_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(
        tmp_path / "conf" / "feedwatch.toml", 'watchlist_files = ["lists.toml", "../more.toml"]\n'
    )
    write(tmp_path / "conf" / "lists.toml", '[[watchlist]]\nname = "a"\nterms = ["A"]\n')
    write(tmp_path / "more.toml", '[[watchlist]]\nname = "b"\nterms = ["B"]\n')
    # Decoys where a cwd-relative lookup would find them.
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "lists.toml", '[[watchlist]]\nname = "decoy"\nterms = ["D"]\n')
    monkeypatch.chdir(elsewhere)

    settings = load_settings(config, env={})
    assert [w.name for w in settings.watchlists] == ["a", "b"]


# --- problems, one at a time ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[polling]\ninterval = "10x"\n',
            "[polling] interval: '10x' is not a duration; write it as 90s, 10m, 1h or 1d",
            id="bad-duration",
        ),
        pytest.param(
            '[polling]\nallow_private_addresses = "yes"\n',
            "[polling] allow_private_addresses: must be true or false, not a string",
            id="guard-setting-not-a-boolean",
        ),
        pytest.param(
            "[polling]\ninterval = 600\n",
            '[polling] interval: must be a duration string such as "10m", not an integer',
            id="duration-as-integer",
        ),
        pytest.param(
            '[polling]\ninterval = "30s"\n',
            "[polling] interval: '30s' is too short; the minimum is 1m",
            id="polling-interval-too-short",
        ),
        pytest.param(
            '[polling]\ntimeout = "0s"\n',
            "[polling] timeout: '0s' is too short; the minimum is 1s",
            id="timeout-too-short",
        ),
        pytest.param(
            '[polling]\ntick = "400d"\n',
            "[polling] tick: '400d' is too long; the maximum is 365d",
            id="tick-too-long",
        ),
        pytest.param(
            '[polling]\nconcurrency = "16"\n',
            "[polling] concurrency: must be an integer, not a string",
            id="concurrency-string",
        ),
        pytest.param(
            "[polling]\nmax_redirects = 50\n",
            "[polling] max_redirects: 50 is out of range; use 0 to 20",
            id="polling-max-redirects-out-of-range",
        ),
        pytest.param(
            "[polling]\nconcurrency = true\n",
            "[polling] concurrency: must be an integer, not a boolean",
            id="concurrency-boolean",
        ),
        pytest.param(
            "[polling]\nconcurrency = 1025\n",
            "[polling] concurrency: 1025 is out of range; use 1 to 1024",
            id="concurrency-too-high",
        ),
        pytest.param(
            "[polling]\nconcurrency = 0\n",
            "[polling] concurrency: 0 is out of range; use 1 to 1024",
            id="concurrency-zero",
        ),
        pytest.param(
            '[digest]\ninterval = "4m"\n',
            "[digest] interval: '4m' is too short; the minimum is 5m",
            id="digest-too-short",
        ),
        pytest.param(
            '[digest]\ninterval = "7d1s"\n',
            "[digest] interval: '7d1s' is too long; the maximum is 7d",
            id="digest-too-long",
        ),
        pytest.param(
            '[digest]\ntick = "1m"\nintervall = "1h"\n',
            "[digest]: unknown key 'intervall'; did you mean 'interval'?",
            id="unknown-key-in-table",
        ),
        pytest.param(
            "[pollling]\n",
            "unknown table [pollling]; did you mean [polling]?",
            id="unknown-table",
        ),
        pytest.param(
            '[[feeds]]\nurl = "https://x.org/"\n',
            "unknown table [[feeds]]; did you mean [[feed]]?",
            id="unknown-array-of-tables",
        ),
        pytest.param(
            "zzz = 1\n",
            "unknown key 'zzz'",
            id="unknown-top-level-key",
        ),
        pytest.param(
            'polling = "10m"\n',
            "polling must be written as a [polling] table, not a string",
            id="section-not-a-table",
        ),
        pytest.param(
            '[feed]\nurl = "https://x.org/"\n',
            "feed must be written as [[feed]] tables, not a table",
            id="feed-single-table",
        ),
        pytest.param(
            '[[feed]]\nurl = "ftp://x"\n',
            "[[feed]] #1 url: 'ftp://x' is not an http(s) URL",
            id="feed-url-scheme",
        ),
        pytest.param(
            '[[feed]]\nurl = "https://"\n',
            "[[feed]] #1 url: 'https://' is not an http(s) URL",
            id="feed-url-no-host",
        ),
        pytest.param(
            '[[feed]]\nname = "Nameless"\n',
            "[[feed]] #1 (Nameless): missing key 'url'",
            id="feed-without-url",
        ),
        pytest.param(
            '[[feed]]\nurl = "https://x.org/"\ninterval = "59s"\n',
            "[[feed]] #1 interval: '59s' is too short; the minimum is 1m",
            id="feed-interval-too-short",
        ),
        pytest.param(
            '[[feed]]\nurl = "https://x.org/"\nname = 3\n',
            "[[feed]] #1 name: must be a string, not an integer",
            id="feed-name-type",
        ),
        pytest.param(
            '[telegram]\napi_url = "localhost:8081"\n',
            "[telegram] api_url: 'localhost:8081' is not an http(s) URL",
            id="api-url",
        ),
        pytest.param(
            '[database]\nurl = "mysql://root:hunter2@db/feeds"\n',
            "[database] url: database 'mysql' is not supported;"
            " write sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
            id="database-dialect",
        ),
        pytest.param(
            '[database]\nurl = "feedwatch.db"\n',
            "[database] url: is not a database URL;"
            " write sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
            id="database-not-a-url",
        ),
        pytest.param(
            '[[watchlist]]\nname = "rvc"\nterms = []\n',
            "[[watchlist]] #1 (rvc) terms: the list is empty",
            id="empty-terms",
        ),
        pytest.param(
            '[[watchlist]]\nname = "rvc"\nterms = "RVC"\n',
            "[[watchlist]] #1 (rvc) terms: must be an array of strings, not a string",
            id="terms-not-a-list",
        ),
        pytest.param(
            '[[watchlist]]\nname = "rvc"\nterms = ["RVC", "РДК", "x", "!!!"]\n',
            "[[watchlist]] #1 (rvc) terms[4]: term '!!!' has no letters or digits",
            id="bad-term",
        ),
        pytest.param(
            '[[watchlist]]\nname = "rvc"\nterms = ["RVC", 7]\n',
            "[[watchlist]] #1 (rvc) terms[2]: must be a string or a table such as "
            '{ term = "РДК", near = ["боец", "корпус"], within = 12 }, not an integer',
            id="term-not-a-string",
        ),
        pytest.param(
            '[[watchlist]]\nname = "rvc"\nterms = ["RVC"]\nrequire = ["  "]\n',
            "[[watchlist]] #1 (rvc) require[1]: term '  ' is empty",
            id="bad-require",
        ),
        pytest.param(
            f'[[watchlist]]\nname = "rvc"\nterms = ["RVC"]\nexclude = ["{"a" * 201}"]\n',
            f"[[watchlist]] #1 (rvc) exclude[1]: term '{'a' * 201}' is longer than 200 characters",
            id="bad-exclude",
        ),
        pytest.param(
            '[[watchlist]]\nname = "no spaces"\nterms = ["x"]\n',
            "[[watchlist]] #1 (no spaces) name: 'no spaces' is not a valid name;"
            " use 1 to 64 letters, digits, - and _",
            id="bad-name",
        ),
        pytest.param(
            f'[[watchlist]]\nname = "{"n" * 65}"\nterms = ["x"]\n',
            f"[[watchlist]] #1 ({'n' * 65}) name: '{'n' * 65}' is not a valid name;"
            " use 1 to 64 letters, digits, - and _",
            id="name-too-long",
        ),
        pytest.param(
            '[[watchlist]]\nterms = ["x"]\n',
            "[[watchlist]] #1: missing key 'name'",
            id="missing-name",
        ),
        pytest.param(
            '[[watchlist]]\nname = "rvc"\n',
            "[[watchlist]] #1 (rvc): missing key 'terms'",
            id="missing-terms",
        ),
        pytest.param(
            '[[watchlist]]\nname = "rvc"\nterms = ["x"]\ntems = ["y"]\n',
            "[[watchlist]] #1 (rvc): unknown key 'tems'; did you mean 'terms'?",
            id="unknown-watchlist-key",
        ),
        pytest.param(
            'watchlist_files = "lists.toml"\n',
            "watchlist_files: must be an array of strings, not a string",
            id="watchlist-files-type",
        ),
        pytest.param(
            "watchlist_files = [1]\n",
            "watchlist_files[1]: must be a string, not an integer",
            id="watchlist-files-item-type",
        ),
    ],
)
def test_each_problem_names_file_table_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert problems_for(tmp_path, text) == [f"{tmp_path / 'feedwatch.toml'}: {expected}"]


def test_a_channel_is_a_feed_by_any_of_its_addresses_and_a_private_one_is_refused(
    tmp_path: Path,
) -> None:
    problems = problems_for(
        tmp_path,
        """\
        [[feed]]
        url = "@RusVolCorps"
        [[feed]]
        url = "https://t.me/rusvolcorps"
        [[feed]]
        url = "https://t.me/+AbCdEfGhIjKl"
        """,
    )
    config = tmp_path / "feedwatch.toml"
    assert problems == [
        f"{config}: [[feed]] #2 url: duplicate URL; also in [[feed]] #1",
        f"{config}: [[feed]] #3 url: not a public channel's address: give @name, t.me/name or "
        "https://t.me/s/name (invite links and private channels cannot be read)",
    ]
    settings = write_settings(tmp_path, ["@legionoffreedom", "t.me/s/RusVolCorps"])
    assert [feed.url for feed in settings.feeds] == [
        "https://t.me/s/legionoffreedom",
        "https://t.me/s/rusvolcorps",
    ]


def test_a_duplicate_feed_url_names_the_first(tmp_path: Path) -> None:
    problems = problems_for(
        tmp_path,
        """\
        [[feed]]
        url = "https://a.org/rss"
        name = "A"
        [[feed]]
        url = "https://b.org/rss"
        [[feed]]
        url = "https://a.org/rss"
        name = "A again"
        """,
    )
    config = tmp_path / "feedwatch.toml"
    assert problems == [
        f"{config}: [[feed]] #3 (A again) url: duplicate URL; also in [[feed]] #1 (A)"
    ]


def test_a_duplicate_watchlist_name_across_files_names_both_places(tmp_path: Path) -> None:
    config = write(
        tmp_path / "feedwatch.toml",
        """\
        watchlist_files = ["watchlists.toml"]
        [[watchlist]]
        name = "kursk"
        terms = ["Kursk"]
        """,
    )
    lists = write(
        tmp_path / "watchlists.toml",
        """\
        [[watchlist]]
        name = "a"
        terms = ["A"]
        [[watchlist]]
        name = "b"
        terms = ["B"]
        [[watchlist]]
        name = "KURSK"
        terms = ["Курск"]
        [[watchlist]]
        name = "b"
        terms = ["B"]
        """,
    )
    _, problems = check_config(config, {})
    assert problems == [
        f"{lists}: [[watchlist]] #3 (KURSK): duplicate name;"
        f" also defined in {config} [[watchlist]] #1",
        f"{lists}: [[watchlist]] #4 (b): duplicate name; also defined in {lists} [[watchlist]] #2",
    ]


def test_a_missing_watchlist_file_is_named_as_written_and_as_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "conf" / "feedwatch.toml", 'watchlist_files = ["../lists/missing.toml"]\n')
    _, problems = check_config(Path("conf/feedwatch.toml"), {})
    resolved = tmp_path / "lists" / "missing.toml"
    assert problems == [
        "conf/feedwatch.toml: watchlist_files[1]: file '../lists/missing.toml' not found"
        f" (looked for {resolved})"
    ]


def test_a_watchlist_file_listed_twice_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path / "lists.toml", '[[watchlist]]\nname = "a"\nterms = ["A"]\n')
    problems = problems_for(tmp_path, 'watchlist_files = ["lists.toml", "./lists.toml"]\n')
    assert problems == [
        f"{tmp_path / 'feedwatch.toml'}: watchlist_files[2]: './lists.toml' is listed twice"
    ]


def test_a_watchlist_file_holds_only_watchlists(tmp_path: Path) -> None:
    lists = write(
        tmp_path / "lists.toml",
        '[polling]\ninterval = "1m"\n\n[[watchlist]]\nname = "a"\nterms = ["A"]\n',
    )
    problems = problems_for(tmp_path, 'watchlist_files = ["lists.toml"]\n')
    assert problems == [
        f"{lists}: unknown table [polling]; a watchlist file holds only [[watchlist]] tables"
    ]


def test_a_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, '[polling]\ninterval = "10m"\nconcurrency = = 4\n')
    assert problems == [
        f"{tmp_path / 'feedwatch.toml'}: not valid TOML: Invalid value (at line 3, column 15)"
    ]


def test_a_syntax_error_in_a_watchlist_file_names_that_file(tmp_path: Path) -> None:
    lists = write(tmp_path / "lists.toml", "[[watchlist]\n")
    problems = problems_for(tmp_path, 'watchlist_files = ["lists.toml"]\n')
    assert len(problems) == 1
    assert problems[0].startswith(f"{lists}: not valid TOML: ")
    assert "(at line 1, column" in problems[0]


def test_a_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    config = tmp_path / "feedwatch.toml"
    config.write_bytes(b'[[feed]]\nname = "\xff"\n')
    assert check_config(config, {}) == (
        None,
        [f"{config}: not valid TOML: the file is not UTF-8 text"],
    )


def test_a_missing_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert check_config(missing, {}) == (
        None,
        [
            f"config file not found: {missing}; the repository's config/feedwatch.toml is an "
            "example to start from"
        ],
    )


def test_a_missing_default_config_says_where_it_looked_and_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _, [problem] = check_config(None, {})
    assert problem.startswith(f"config file not found: {tmp_path / 'config' / 'feedwatch.toml'} ")
    assert "run from the repository's folder, or give a file with --config PATH" in problem


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    config = write(
        tmp_path / "feedwatch.toml",
        """\
        watchlist_files = ["lists.toml", "gone.toml"]
        [polling]
        interval = "10x"
        concurrency = 0
        [[feed]]
        url = "ftp://x"
        intervl = "1m"
        [[watchlist]]
        name = "rvc"
        terms = []
        """,
    )
    lists = write(tmp_path / "lists.toml", '[[watchlist]]\nname = "a"\nterms = ["!!!", "ok"]\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(config, env={"FEEDWATCH_DATABASE_URL": "oracle://x"})
    assert raised.value.problems == [
        f"{config}: [polling] interval: '10x' is not a duration; write it as 90s, 10m, 1h or 1d",
        f"{config}: [polling] concurrency: 0 is out of range; use 1 to 1024",
        f"{config}: [[feed]] #1 url: 'ftp://x' is not an http(s) URL",
        f"{config}: [[feed]] #1: unknown key 'intervl'; did you mean 'interval'?",
        f"{config}: [[watchlist]] #1 (rvc) terms: the list is empty",
        f"{lists}: [[watchlist]] #1 (a) terms[1]: term '!!!' has no letters or digits",
        f"{config}: watchlist_files[2]: file 'gone.toml' not found"
        f" (looked for {(tmp_path / 'gone.toml').resolve()})",
        "environment variable FEEDWATCH_DATABASE_URL: database 'oracle' is not supported;"
        " write sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
    ]
    assert str(raised.value) == "; ".join(raised.value.problems)


def test_load_settings_and_check_config_agree(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", '[polling]\ninterval = "1s"\n')
    settings, problems = check_config(config, {})
    assert settings is None
    assert len(problems) == 1
    with pytest.raises(ConfigError) as raised:
        load_settings(config, {})
    assert raised.value.problems == problems


# --- environment ------------------------------------------------------------------------------


def test_config_path_prefers_explicit_then_environment_then_default() -> None:
    env = {"FEEDWATCH_CONFIG": "/etc/feedwatch.toml"}
    assert config_path(Path("mine.toml"), env) == Path("mine.toml")
    assert config_path(None, env) == Path("/etc/feedwatch.toml")
    assert config_path(None, {}) == DEFAULT_CONFIG_PATH == Path("config/feedwatch.toml")
    assert config_path(None, {"FEEDWATCH_CONFIG": ""}) == DEFAULT_CONFIG_PATH


def test_feedwatch_config_chooses_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "elsewhere.toml", "[polling]\nconcurrency = 3\n")
    settings = load_settings(env={"FEEDWATCH_CONFIG": str(config)})
    assert settings.source == config
    assert settings.polling.concurrency == 3


def test_the_default_path_is_relative_to_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "config" / "feedwatch.toml", "[polling]\nconcurrency = 5\n")
    settings = load_settings(env={})
    assert settings.source == DEFAULT_CONFIG_PATH
    assert settings.polling.concurrency == 5


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = write(
        tmp_path / "feedwatch.toml",
        '[database]\nurl = "sqlite:///a.db"\n[telegram]\ntoken = "file-token"\napi_url = "https://a.org"\n',
    )
    env = {
        "FEEDWATCH_DATABASE_URL": "postgresql+psycopg://bot@db:5432/feedwatch",
        "FEEDWATCH_TELEGRAM_TOKEN": f" {TOKEN}\n",
        "FEEDWATCH_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot",
    }
    settings = load_settings(config, env)
    assert settings.database == DatabaseSettings(url="postgresql+psycopg://bot@db:5432/feedwatch")
    assert settings.telegram == TelegramSettings(
        token=SecretStr(TOKEN), api_url="http://127.0.0.1:8081"
    )


def test_empty_environment_variables_count_as_unset(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", '[telegram]\ntoken = "file-token"\n')
    env = {
        "FEEDWATCH_DATABASE_URL": "",
        "FEEDWATCH_TELEGRAM_TOKEN": " ",
        "FEEDWATCH_TELEGRAM_TOKEN_FILE": "",
        "FEEDWATCH_TELEGRAM_API_URL": "",
    }
    settings = load_settings(config, env)
    assert settings.telegram.token.get_secret_value() == "file-token"
    assert settings.database == DatabaseSettings()


def test_the_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", "")
    token_file = tmp_path / "token"
    token_file.write_text(f"\n  {TOKEN}  \n", encoding="utf-8")
    settings = load_settings(config, {"FEEDWATCH_TELEGRAM_TOKEN_FILE": str(token_file)})
    assert settings.telegram.token == SecretStr(TOKEN)


def test_a_missing_token_file_names_the_variable_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "secrets" / "token"
    problems = problems_for(tmp_path, "", {"FEEDWATCH_TELEGRAM_TOKEN_FILE": str(missing)})
    assert problems == [
        f"environment variable FEEDWATCH_TELEGRAM_TOKEN_FILE: file not found: {missing}"
    ]


def test_an_empty_token_file_is_a_problem(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(" \n", encoding="utf-8")
    problems = problems_for(tmp_path, "", {"FEEDWATCH_TELEGRAM_TOKEN_FILE": str(token_file)})
    assert problems == [
        f"environment variable FEEDWATCH_TELEGRAM_TOKEN_FILE: the file {token_file} is empty"
    ]


def test_token_and_token_file_together_is_a_problem(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    env = {"FEEDWATCH_TELEGRAM_TOKEN": TOKEN, "FEEDWATCH_TELEGRAM_TOKEN_FILE": str(token_file)}
    assert problems_for(tmp_path, "", env) == [
        "environment variables FEEDWATCH_TELEGRAM_TOKEN and FEEDWATCH_TELEGRAM_TOKEN_FILE"
        " are both set; set only one"
    ]


def test_a_bad_environment_value_is_a_problem_naming_the_variable(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, "", {"FEEDWATCH_TELEGRAM_API_URL": "api.example.org"})
    assert problems == [
        "environment variable FEEDWATCH_TELEGRAM_API_URL: 'api.example.org' is not an http(s) URL"
    ]


def test_environment_problems_are_reported_even_without_a_config_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    _, problems = check_config(missing, {"FEEDWATCH_DATABASE_URL": "nonsense"})
    assert len(problems) == 2
    assert problems[0].startswith("config file not found: ")
    assert problems[1].startswith("environment variable FEEDWATCH_DATABASE_URL: ")


# Every setting, as a FEEDWATCH_<TABLE>__<KEY> variable writes it and as the settings hold it.
ENVIRONMENT_SAMPLES: dict[tuple[str, str], tuple[str, object]] = {
    ("database", "url"): (
        "postgresql+psycopg://bot@db:5432/x",
        "postgresql+psycopg://bot@db:5432/x",
    ),
    ("telegram", "token"): (f" {TOKEN}\n", SecretStr(TOKEN)),
    ("telegram", "api_url"): ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081"),
    ("telegram", "webhook_url"): ("https://bot.example.org/hook", "https://bot.example.org/hook"),
    ("telegram", "webhook_listen"): ("127.0.0.1:8444", "127.0.0.1:8444"),
    ("telegram", "private_burst"): ("10", 10),
    ("telegram", "webhook_secret"): ("hook-secret_1", SecretStr("hook-secret_1")),
    ("polling", "interval"): ("15m", timedelta(minutes=15)),
    ("polling", "timeout"): ("20s", timedelta(seconds=20)),
    ("polling", "connect_timeout"): ("5s", timedelta(seconds=5)),
    ("polling", "max_body_mib"): ("2", 2),
    ("polling", "max_redirects"): (" 0 ", 0),
    ("polling", "concurrency"): ("16", 16),
    ("polling", "per_host"): ("8", 8),
    ("polling", "telegram_pace"): ("3s", timedelta(seconds=3)),
    ("polling", "telegram_base_url"): ("https://tg.mirror.example/", "https://tg.mirror.example"),
    ("polling", "telegram_fallback_urls"): (
        "https://telegram.me, https://t2.example",
        ("https://telegram.me", "https://t2.example"),
    ),
    ("polling", "proxy"): ("socks5://127.0.0.1:1080", "socks5://127.0.0.1:1080"),
    ("polling", "channel_depth"): ("6h", timedelta(hours=6)),
    ("polling", "channel_depth_posts"): ("40", 40),
    ("polling", "archive_age"): ("0s", timedelta(0)),
    ("polling", "tick"): ("10s", timedelta(seconds=10)),
    ("polling", "allow_private_addresses"): ("True", True),
    ("polling", "parse_workers"): ("0", 0),
    ("polling", "lease"): ("5m", timedelta(minutes=5)),
    ("digest", "interval"): ("2h30m", timedelta(hours=2, minutes=30)),
    ("digest", "tick"): ("30s", timedelta(seconds=30)),
    ("metrics", "listen"): ("0.0.0.0:9200", "0.0.0.0:9200"),
}
# Read from the models, so that a new setting is tested (and needs a sample) without a word here.
EVERY_SETTING = [
    (section, key)
    for section, field in Settings.model_fields.items()
    if inspect.isclass(field.annotation) and issubclass(field.annotation, BaseModel)
    for key in field.annotation.model_fields
]


@pytest.mark.parametrize(
    ("section", "key"), [pytest.param(*setting, id=".".join(setting)) for setting in EVERY_SETTING]
)
def test_every_setting_can_be_set_in_the_environment(
    tmp_path: Path, section: str, key: str
) -> None:
    assert (section, key) in ENVIRONMENT_SAMPLES, f"give [{section}] {key} a sample value above"
    text, expected = ENVIRONMENT_SAMPLES[section, key]
    variable = f"FEEDWATCH_{section.upper()}__{key.upper()}"
    settings = load_settings(write(tmp_path / "feedwatch.toml", ""), {variable: text})
    assert getattr(getattr(settings, section), key) == expected


def test_the_environment_overrides_the_file_key_by_key(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", '[polling]\ninterval = "15m"\ntick = "10s"\n')
    settings = load_settings(config, {"FEEDWATCH_POLLING__TICK": "20s"})
    assert (settings.polling.interval, settings.polling.tick) == (
        timedelta(minutes=15),
        timedelta(seconds=20),
    )


@pytest.mark.parametrize(
    ("variable", "section", "key"),
    [
        ("FEEDWATCH_DATABASE_URL", "database", "url"),
        ("FEEDWATCH_TELEGRAM_TOKEN", "telegram", "token"),
        ("FEEDWATCH_TELEGRAM_API_URL", "telegram", "api_url"),
        ("FEEDWATCH_TELEGRAM_WEBHOOK_URL", "telegram", "webhook_url"),
        ("FEEDWATCH_TELEGRAM_WEBHOOK_SECRET", "telegram", "webhook_secret"),
    ],
)
def test_the_old_variable_names_still_work(
    tmp_path: Path, variable: str, section: str, key: str
) -> None:
    text, expected = ENVIRONMENT_SAMPLES[section, key]
    settings = load_settings(write(tmp_path / "feedwatch.toml", ""), {variable: text})
    assert getattr(getattr(settings, section), key) == expected


def test_only_the_given_environment_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write(tmp_path / "feedwatch.toml", "")
    monkeypatch.setenv("FEEDWATCH_POLLING__CONCURRENCY", "3")
    assert load_settings(config, env={}).polling.concurrency == 64
    assert load_settings(config).polling.concurrency == 3


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        pytest.param(
            {"FEEDWATCH_POLLING__INTERVAL": "10x"},
            "environment variable FEEDWATCH_POLLING__INTERVAL: '10x' is not a duration; write it"
            " as 90s, 10m, 1h or 1d",
            id="bad-duration",
        ),
        pytest.param(
            {"FEEDWATCH_POLLING__CONCURRENCY": "lots"},
            "environment variable FEEDWATCH_POLLING__CONCURRENCY: 'lots' is not a whole number",
            id="not-a-number",
        ),
        pytest.param(
            {"FEEDWATCH_POLLING__CONCURRENCY": "0"},
            "environment variable FEEDWATCH_POLLING__CONCURRENCY: 0 is out of range; use 1 to 1024",
            id="out-of-range",
        ),
        pytest.param(
            {"FEEDWATCH_POLLING__ALLOW_PRIVATE_ADDRESSES": "yes"},
            "environment variable FEEDWATCH_POLLING__ALLOW_PRIVATE_ADDRESSES: 'yes' is not true"
            " or false",
            id="not-a-boolean",
        ),
        pytest.param(
            {"FEEDWATCH_TELEGRAM__WEBHOOK_SECRET": "not so secret!"},
            "environment variable FEEDWATCH_TELEGRAM__WEBHOOK_SECRET: must be 1 to 256 letters,"
            " digits, _ and -",
            id="secret-without-its-value",
        ),
        pytest.param(
            {"FEEDWATCH_POLLING__LEASE": "20s"},
            "[polling] lease: 20s must be longer than the request timeout (30s), or a slow poll"
            " would be taken over while it runs",
            id="lease-against-the-file-timeout",
        ),
        pytest.param(
            {"FEEDWATCH_POLLING__INTERVALL": "15m"},
            "environment variable FEEDWATCH_POLLING__INTERVALL: unknown setting; did you mean"
            " FEEDWATCH_POLLING__INTERVAL?",
            id="misspelt-name",
        ),
        pytest.param(
            {
                "FEEDWATCH_DATABASE_URL": "sqlite:///a.db",
                "FEEDWATCH_DATABASE__URL": "sqlite:///b.db",
            },
            "environment variables FEEDWATCH_DATABASE_URL and FEEDWATCH_DATABASE__URL are both"
            " set; set only one",
            id="old-and-new-name",
        ),
        pytest.param(
            {"FEEDWATCH_TELEGRAM__TOKEN": TOKEN, "FEEDWATCH_TELEGRAM_TOKEN_FILE": "/run/token"},
            "environment variables FEEDWATCH_TELEGRAM__TOKEN and FEEDWATCH_TELEGRAM_TOKEN_FILE"
            " are both set; set only one",
            id="new-token-name-and-token-file",
        ),
    ],
)
def test_a_bad_variable_is_named_in_its_problem(
    tmp_path: Path, env: dict[str, str], problem: str
) -> None:
    problems = problems_for(tmp_path, "", env)
    expected = (
        problem
        if problem.startswith("environment")
        else f"{tmp_path / 'feedwatch.toml'}: {problem}"
    )
    assert problems == [expected]


# --- the token never leaks --------------------------------------------------------------------


def test_settings_never_show_the_token(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", FULL)
    write(tmp_path / "lists" / "watchlists.toml", WATCHLISTS)
    settings = load_settings(config, env={"FEEDWATCH_TELEGRAM__WEBHOOK_SECRET": "hook-secret_1"})
    assert isinstance(settings.telegram.token, SecretStr)
    assert settings.telegram.token.get_secret_value() == TOKEN
    assert settings.telegram.webhook_secret.get_secret_value() == "hook-secret_1"
    for text in (str(settings), repr(settings), repr(settings.telegram), str(settings.telegram)):
        assert TOKEN not in text
        assert "hook-secret_1" not in text
        assert "SecretStr('**********')" in text
    assert TOKEN not in summary(settings)


@pytest.mark.parametrize(
    ("text", "env"),
    [
        pytest.param(
            f'[telegram]\ntoken = "{TOKEN}"\napi_url = "ftp://api.org/bot{TOKEN}"\n',
            {},
            id="file-token-in-bad-api-url",
        ),
        pytest.param(
            f'[telegram]\ntoken = ["{TOKEN}"]\n',
            {},
            id="token-of-the-wrong-type",
        ),
        pytest.param(
            f'[telegram]\ntoken = "{TOKEN}"\n[[feed]]\nurl = "{TOKEN}"\n',
            {},
            id="token-pasted-as-a-feed-url",
        ),
        pytest.param(
            "",
            {"FEEDWATCH_TELEGRAM_TOKEN": TOKEN, "FEEDWATCH_TELEGRAM_API_URL": f"x/bot{TOKEN}"},
            id="env-token-in-bad-env-api-url",
        ),
        pytest.param(
            f'[telegram]\napi_url = "localhost/bot{TOKEN}"\n',
            {"FEEDWATCH_TELEGRAM_TOKEN": TOKEN},
            id="env-token-in-bad-file-api-url",
        ),
        pytest.param(
            f'[telegram]\ntoken = "{TOKEN}"\n[database]\nurl = "{TOKEN}"\n',
            {},
            id="token-pasted-as-database-url",
        ),
        pytest.param(
            "",
            {"FEEDWATCH_TELEGRAM__TOKEN": TOKEN, "FEEDWATCH_TELEGRAM__API_URL": f"x/bot{TOKEN}"},
            id="new-env-token-in-bad-env-api-url",
        ),
        pytest.param(
            "",
            {"FEEDWATCH_TELEGRAM__TOKEN": f" {TOKEN} ", "FEEDWATCH_POLLING__CONCURRENCY": TOKEN},
            id="env-token-pasted-as-a-number",
        ),
        pytest.param(
            f'[telegram]\ntoken = "{TOKEN}"\n',
            {"FEEDWATCH_POLLING__INTERVAL": TOKEN, f"FEEDWATCH_{TOKEN}__X": "1"},
            id="file-token-in-env-values-and-names",
        ),
    ],
)
def test_problems_never_show_the_token(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    problems = problems_for(tmp_path, text, env)
    assert problems
    for problem in problems:
        assert TOKEN not in problem
        assert "AAE-very-secret" not in problem


def test_problems_never_show_a_token_read_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    env = {"FEEDWATCH_TELEGRAM_TOKEN_FILE": str(token_file)}
    problems = problems_for(tmp_path, f'[[feed]]\nurl = "ftp://x.org/{TOKEN}"\n', env)
    assert problems == [
        f"{tmp_path / 'feedwatch.toml'}: [[feed]] #1 url:"
        " 'ftp://x.org/********' is not an http(s) URL"
    ]


def test_settings_built_in_code_are_checked_without_quoting_the_value() -> None:
    with pytest.raises(ValidationError) as raised:
        TelegramSettings.model_validate({"webhook_secret": f"{TOKEN} !"})
    assert "must be 1 to 256 letters, digits, _ and -" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_database_passwords_stay_out_of_repr() -> None:
    database = DatabaseSettings(url="postgresql+psycopg://bot:hunter2@db:5432/feedwatch")
    assert (
        repr(database) == "DatabaseSettings(url='postgresql+psycopg://bot:***@db:5432/feedwatch')"
    )
    assert "hunter2" not in repr(Settings(database=database))
    assert database.url.endswith("bot:hunter2@db:5432/feedwatch")


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d3h4m5s", timedelta(days=2, hours=3, minutes=4, seconds=5)),
        (" 0s ", timedelta(0)),
        ("007m", timedelta(minutes=7)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["10x", "", "  ", "10", "m", "1.5h", "-1m", "1m1h", "1h1h", "10 m", "1H", "٣m", "1h 30m"],
)
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration; write it as 90s, 10m, 1h or 1d") as e:
        parse_duration(text)
    assert str(e.value) == f"{text!r} is not a duration; write it as 90s, 10m, 1h or 1d"


def test_parse_duration_refuses_what_timedelta_cannot_hold() -> None:
    with pytest.raises(ValueError, match="too long for a duration"):
        parse_duration("999999999999d")


@pytest.mark.parametrize(
    ("td", "expected"),
    [
        (timedelta(hours=1), "1h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(days=8, seconds=1), "8d1s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=59, microseconds=999_999), "59s"),
    ],
)
def test_format_duration(td: timedelta, expected: str) -> None:
    assert format_duration(td) == expected


def test_format_duration_refuses_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(seconds=-1))


@given(st.integers(min_value=0, max_value=10**12))
def test_durations_round_trip(seconds: int) -> None:
    td = timedelta(seconds=seconds)
    assert parse_duration(format_duration(td)) == td


@given(
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=4, max_size=4),
    st.lists(st.booleans(), min_size=4, max_size=4).filter(any),
)
def test_written_durations_normalise(counts: list[int], present: list[bool]) -> None:
    text = "".join(
        f"{n}{unit}" for n, unit, keep in zip(counts, "dhms", present, strict=True) if keep
    )
    td = parse_duration(text)
    assert td == timedelta(
        days=counts[0] * present[0],
        hours=counts[1] * present[1],
        minutes=counts[2] * present[2],
        seconds=counts[3] * present[3],
    )
    assert parse_duration(format_duration(td)) == td


# --- summary ----------------------------------------------------------------------------------


def test_summary_of_a_full_config(tmp_path: Path) -> None:
    config = write(tmp_path / "feedwatch.toml", FULL)
    write(tmp_path / "lists" / "watchlists.toml", WATCHLISTS)
    assert summary(load_settings(config, env={})) == (
        f"{config}: 2 feeds, 3 watchlists (7 terms), database postgresql, telegram token set"
    )


def test_summary_in_the_singular_and_without_a_token() -> None:
    settings = Settings(
        source=Path("config/feedwatch.toml"),
        feeds=(FeedSpec("https://x.org/rss"),),
        watchlists=(Watchlist(name="a", terms=("A",)),),
    )
    assert summary(settings) == (
        "config/feedwatch.toml: 1 feed, 1 watchlist (1 term), database sqlite,"
        " no telegram token (digests print to the terminal)"
    )


# --- the files the repository ships -----------------------------------------------------------


def test_the_shipped_config_file_loads() -> None:
    settings, problems = check_config(REPO / "config" / "feedwatch.toml", env={})
    assert problems == []
    assert settings is not None
    assert settings.feeds
    assert settings.watchlists


def test_the_shipped_demo_config_loads_once_its_server_url_is_filled_in(tmp_path: Path) -> None:
    # The demo replaces http://demo.invalid with its local server's base URL before loading.
    text = (REPO / "config" / "demo.toml").read_text(encoding="utf-8")
    demo = write(
        tmp_path / "demo.toml", text.replace("http://demo.invalid", "http://127.0.0.1:8765")
    )
    write(tmp_path / "watchlists.toml", (REPO / "config" / "watchlists.toml").read_text("utf-8"))
    settings, problems = check_config(demo, env={})
    assert problems == []
    assert settings is not None
    assert settings.feeds


@pytest.mark.parametrize(
    "written",
    [
        "http://localhost:8081",
        "http://localhost:8081/",
        "http://localhost:8081/bot",
        "http://localhost:8081/bot/",
    ],
)
def test_api_url_is_the_base_url_in_either_form(tmp_path: Path, written: str) -> None:
    config = write(tmp_path / "feedwatch.toml", f'[telegram]\napi_url = "{written}"\n')
    assert load_settings(config, env={}).telegram.api_url == "http://localhost:8081"


# --- hostile files: too large, too deep, not files at all -----------------------------------


def nested(depth: int, opener: str = "[") -> str:
    """A value nested `depth` deep: arrays, or inline tables ({a = {a = …}})."""
    if opener == "[":
        return "[" * depth + "1" + "]" * depth
    return "{a = " * depth + "1" + "}" * depth


@pytest.mark.parametrize("opener", ["[", "{"])
def test_a_document_nested_10000_deep_is_refused_before_it_is_parsed(
    tmp_path: Path, opener: str
) -> None:
    config = write(tmp_path / "feedwatch.toml", f"# hostile\n\nvalue = {nested(10_000, opener)}\n")
    assert check_config(config, {}) == (
        None,
        [f"{config}: the file nests arrays and tables too deep (line 3): at most 32 levels"],
    )


def test_a_watchlist_file_nested_too_deep_is_named(tmp_path: Path) -> None:
    lists = write(tmp_path / "lists.toml", f'[[watchlist]]\nname = "a"\nterms = {nested(40)}\n')
    problems = problems_for(tmp_path, 'watchlist_files = ["lists.toml"]\n')
    assert problems == [
        f"{lists}: the file nests arrays and tables too deep (line 3): at most 32 levels"
    ]
    with pytest.raises(ConfigError) as raised:
        load_watchlists(lists)
    assert raised.value.problems == problems


def test_32_levels_are_read_and_33_refused() -> None:
    assert parse_toml(f"a = {nested(32)}\n".encode(), "x.toml")["a"] == [[[[[[[[[[[[[[[[
        [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]
    ]]]]]]]]]]]]]]]]  # fmt: skip
    with pytest.raises(TomlRefused) as raised:
        parse_toml(f"a = {nested(33)}\n".encode(), "x.toml")
    assert raised.value.problems == [
        "x.toml: the file nests arrays and tables too deep (line 1): at most 32 levels"
    ]
    assert (raised.value.template, raised.value.params) == (TOO_DEEP, {"line": 1, "depth": 32})


# Brackets inside every kind of string and in comments are text, not nesting: 40 of each here.
# (Lines, because the document holds every kind of TOML quote, Python's too.)
_B = "[" * 40
STRINGS_WITH_BRACKETS = "\n".join(
    [
        f"# a comment {_B}",
        "[[watchlist]]",
        'name = "brackets"',
        "terms = [",
        f'    "basic {_B}",',
        f'    "escaped quote \\" {_B} \\\\",',
        f"    'literal {_B} \\',",
        '    """multi-line',
        f'    {_B} \\""" still in it "" x""",',
        '    """ends with two quotes of its own x"""",',
        f"    '''multi-line literal {'{' * 40} ''",
        f"    {_B} x''''',",
        f"]  # a closing comment {_B.replace('[', ']')}",
        'exclude = [["nested"]]  # not a list of strings, but only 2 deep',
        "",
    ]
)


def test_brackets_in_strings_and_comments_do_not_count_as_nesting(tmp_path: Path) -> None:
    lists = write(tmp_path / "lists.toml", STRINGS_WITH_BRACKETS)
    with pytest.raises(ConfigError) as raised:
        load_watchlists(lists)
    # Parsed, with the five terms read; refused only for what the exclude list holds.
    assert raised.value.problems == [
        f"{lists}: [[watchlist]] #1 (brackets) exclude[1]: must be a string, not an array"
    ]


@given(
    st.recursive(
        st.text(alphabet="[]{}\"'#\\\n x", max_size=8),
        lambda inner: st.lists(inner, min_size=1, max_size=2),
        max_leaves=20,
    ),
    st.integers(0, 40),
)
def test_the_nesting_counted_is_the_nesting_tomllib_would_recurse_into(
    value: object, wrapped: int
) -> None:
    """Strings full of brackets, quotes and escapes (as tomli_w writes them), in arrays and
    inline tables on both sides of the limit: refused exactly when deeper than it."""
    for _ in range(wrapped):
        value = [value]

    def depth(item: object) -> int:
        return 1 + max(map(depth, item)) if isinstance(item, list) else 0

    document = tomli_w.dumps({"a": value, "b": [value, {"c": value}]})
    deepest = depth(value) + 2  # b's array, then the inline table {c = …}
    if deepest > MAX_TOML_DEPTH:
        with pytest.raises(TomlRefused):
            parse_toml(document.encode(), "x.toml")
    else:
        assert parse_toml(document.encode(), "x.toml")["a"] == value


def test_a_config_file_over_1_mib_is_refused_unread(tmp_path: Path) -> None:
    config = tmp_path / "feedwatch.toml"
    config.write_bytes(b"# " + b"x" * (1024 * 1024) + b"\n")
    assert check_config(config, {}) == (None, [f"{config}: the file is larger than 1 MiB"])
    lists = tmp_path / "lists.toml"
    lists.write_bytes(config.read_bytes())
    with pytest.raises(ConfigError) as raised:
        load_watchlists(lists)
    assert raised.value.problems == [f"{lists}: the file is larger than 1 MiB"]


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    assert check_config(tmp_path, {}) == (
        None,
        [f"{tmp_path}: not a regular file but a directory"],
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "feedwatch.toml"
    os.mkfifo(fifo)
    assert check_config(fifo, {}) == (None, [f"{fifo}: not a regular file but a named pipe"])
    lists = write(tmp_path / "config.toml", 'watchlist_files = ["feedwatch.toml"]\n')
    assert check_config(lists, {})[1] == [f"{fifo}: not a regular file but a named pipe"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_is_refused_before_a_byte_is_read(tmp_path: Path) -> None:
    zero = Path("/dev/zero")
    assert check_config(zero, {}) == (
        None,
        ["/dev/zero: not a regular file but a character device"],
    )
    assert check_config(None, {"FEEDWATCH_CONFIG": "/dev/zero"})[1] == [
        "/dev/zero: not a regular file but a character device"
    ]
    config = write(tmp_path / "feedwatch.toml", "")
    assert problems_for(tmp_path, "", {"FEEDWATCH_TELEGRAM_TOKEN_FILE": str(zero)}) == [
        "environment variable FEEDWATCH_TELEGRAM_TOKEN_FILE: cannot read /dev/zero: not a "
        "regular file but a character device"
    ]
    assert config.exists()


def test_a_token_file_over_4_kib_is_refused(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + " " * 5000, encoding="utf-8")
    assert problems_for(tmp_path, "", {"FEEDWATCH_TELEGRAM_TOKEN_FILE": str(token_file)}) == [
        f"environment variable FEEDWATCH_TELEGRAM_TOKEN_FILE: cannot read {token_file}: the file "
        "is larger than 4 KiB"
    ]


def test_a_problem_quotes_only_the_start_of_a_huge_term_name_or_key(tmp_path: Path) -> None:
    huge = "y" * 100_000
    problems = problems_for(
        tmp_path, f'[[watchlist]]\nname = "{huge}"\nterms = ["{huge}"]\n{huge} = 1\n'
    )
    assert len(problems) == 3
    assert all(len(problem) < len(str(tmp_path)) + 700 for problem in problems)
    assert f"'{'y' * 255}…'" in problems[0]
