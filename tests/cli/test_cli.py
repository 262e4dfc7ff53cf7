"""Tests of the `feedwatch` command: `bot.cli.main(argv)` returns the exit status, output is captured.

Problems with the user's input are one line on stderr and exit 1, never a traceback; usage errors
exit 2.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent

import pytest

from bot.cli import main
from tests.builders import WATCHLISTS_TOML, rss, write_settings
from tests.fakes.feed_server import FeedServer

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "config" / "demo"
WATCHLISTS = REPO / "config" / "watchlists.toml"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


pytestmark = pytest.mark.usefixtures("cli_environment")


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in lines(text)]


def write(path: Path, text: str) -> Path:
    path.write_text(dedent(text), encoding="utf-8")
    return path


# --- check-config --------------------------------------------------------------------------------


def test_check_config_of_a_valid_file_prints_one_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(tmp_path, ["https://news.example/a.rss", "https://news.example/b.rss"])
    assert main(["check-config", str(tmp_path / "feedwatch.toml")]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert lines(out) == [
        f"{tmp_path / 'feedwatch.toml'}: 2 feeds, 2 watchlists (5 terms), database sqlite, "
        "no telegram token (digests print to the terminal)"
    ]


def test_check_config_warns_of_terms_that_match_what_nobody_meant_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    risky = """
[[watchlist]]
name = "kursk"
terms = ["Курс.*", "Курск", "КУРСК", "Ку*", "K", "Kursk region"]
exclude = ["(метро)"]
"""
    write_settings(tmp_path, ["https://news.example/a.rss"], watchlists=risky)
    config = tmp_path / "feedwatch.toml"
    assert main(["check-config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert lines(err) == [
        f"warning: {config}: watchlist kursk: the term «Курс.*» looks like a regular expression; "
        "terms are words, matched in every grammatical form, and only a trailing * means anything "
        "(«Курс*»: every word that begins with Курс)",
        f"warning: {config}: watchlist kursk: «Курск» and «КУРСК» differ only in case, which "
        "matching ignores: one of them is enough",
        f"warning: {config}: watchlist kursk: the prefix «Ку*» has fewer than 4 letters and "
        "matches every word that begins with them",
        f"warning: {config}: watchlist kursk: the term «K» is one letter, which stands in many "
        "words that have nothing to do with it",
        f"warning: {config}: watchlist kursk: the term «(метро)» looks like a regular "
        "expression; terms are words, matched in every grammatical form, and only a trailing * "
        "means anything («Курс*»: every word that begins with Курс)",
    ]
    assert "1 feed, 1 watchlist" in out


@pytest.mark.parametrize("name", ["demo.toml", "feedwatch.toml"])
def test_the_shipped_configs_pass_check_config_without_a_warning(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(REPO / "config" / name)]) == 0
    assert capsys.readouterr().err == ""


def test_check_config_reports_every_problem_by_file_table_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(
        tmp_path / "bad.toml",
        """\
        colour = "red"

        [polling]
        interval = "ten minutes"

        [[watchlist]]
        name = "rvc"
        terms = ["RVC"]

        [[watchlist]]
        name = "rvc"
        terms = ["РДК"]

        [[watchlist]]
        name = "kursk"
        terms = []

        [[feed]]
        url = "https://news.example/rss"
        """,
    )
    assert main(["check-config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    problems = lines(err)
    assert len(problems) == 4, problems
    assert all(problem.startswith(f"{config}: ") for problem in problems)
    assert any("unknown key 'colour'" in p for p in problems)
    assert any("[polling] interval" in p and "ten minutes" in p for p in problems)
    assert any("[[watchlist]]" in p and "rvc" in p and "duplicate" in p for p in problems)
    assert any("[[watchlist]]" in p and "kursk" in p and "terms" in p for p in problems)
    assert "Traceback" not in err


def test_check_config_of_a_missing_file_exits_1_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path / "nope.toml")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(lines(err)) == 1
    assert "nope.toml" in err
    assert "not found" in err


def test_the_repository_config_passes_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    config = REPO / "config" / "feedwatch.toml"
    assert main(["check-config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    [line] = lines(out)
    assert line.startswith(f"{config}: ")
    assert re.search(r": \d+ feeds, 5 watchlists \(\d+ terms\), database sqlite, ", line)


# --- match ---------------------------------------------------------------------------------------

RECORDS = [
    {"id": 1, "title": "RVC fighters enter Kursk region", "summary": ""},
    {"id": "two", "title": "Weather", "summary": "<b>Russian</b> <i>Volunteer</i> Corps"},
    {"id": None, "title": "Sunny in Lviv", "summary": "Nothing here"},
    {"id": [3], "title": "Бои в Белгородской области", "summary": "РДК и ЛСР"},
    {"id": 5, "summary": "no title at all; Курская область"},
    {"id": 6, "title": "Курс рубля", "summary": "курсанты"},
]


def write_jsonl(path: Path, rows: list[str]) -> Path:
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def test_match_prints_one_line_per_record_in_order_with_sorted_watchlists(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_jsonl(tmp_path / "in.jsonl", [json.dumps(r, ensure_ascii=False) for r in RECORDS])
    assert main(["match", "--watchlists", str(WATCHLISTS), str(file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json_lines(out) == [
        {"id": 1, "watchlists": ["kursk", "rvc"]},
        {"id": "two", "watchlists": ["rvc"]},  # HTML in the summary is read as text
        {"id": None, "watchlists": []},
        {"id": [3], "watchlists": ["belgorod", "lsr", "rvc"]},
        {"id": 5, "watchlists": ["kursk"]},
        {"id": 6, "watchlists": []},
    ]
    # One JSON object per line, nothing else.
    assert len(out.splitlines()) == len(RECORDS)


def test_match_explain_adds_which_term_matched_which_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_jsonl(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "title": "RVC fighters enter Kursk region"}),
            json.dumps({"id": 2, "title": "Weather"}),
            json.dumps({"id": 3, "summary": "<b>Russian</b> <i>Volunteer</i> Corps"}),
        ],
    )
    assert main(["match", "--explain", "--watchlists", str(WATCHLISTS), str(file)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    first, second, third = json_lines(out)
    assert first == {
        "id": 1,
        "watchlists": ["kursk", "rvc"],
        "matched": [
            {"watchlist": "kursk", "term": "Kursk", "text": "Kursk"},
            {"watchlist": "rvc", "term": "RVC", "text": "RVC"},
        ],
    }
    assert second == {"id": 2, "watchlists": [], "matched": []}
    assert third["matched"] == [
        {
            "watchlist": "rvc",
            "term": "Russian Volunteer Corps",
            "text": "Russian Volunteer Corps",
        }
    ]


def test_match_reports_bad_lines_with_their_number_skips_them_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_jsonl(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": 1, "title": "RVC"}),
            "this is not json",
            "",  # blank lines are skipped without a word
            "[1, 2]",
            '{"id": 4, "title": "Kursk"',
            json.dumps({"id": 5, "title": "Belgorod"}),
        ],
    )
    assert main(["match", "--watchlists", str(WATCHLISTS), str(file)]) == 1
    out, err = capsys.readouterr()
    assert json_lines(out) == [
        {"id": 1, "watchlists": ["rvc"]},
        {"id": 5, "watchlists": ["belgorod"]},
    ]
    problems = lines(err)
    assert len(problems) == 3
    assert [p.split(":")[:2] for p in problems] == [
        ["feedwatch", " line 2"],
        ["feedwatch", " line 4"],
        ["feedwatch", " line 5"],
    ]
    assert "Traceback" not in err


def test_match_reports_a_line_of_invalid_utf8_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "in.jsonl"
    file.write_bytes(b'{"id": 1, "title": "Kursk \xff"}\n{"id": 2, "title": "Kursk"}\n')
    assert main(["match", "--watchlists", str(WATCHLISTS), str(file)]) == 1
    out, err = capsys.readouterr()
    assert json_lines(out) == [{"id": 2, "watchlists": ["kursk"]}]
    [problem] = lines(err)
    assert "line 1" in problem


def test_match_with_a_missing_input_file_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["match", "--watchlists", str(WATCHLISTS), str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = lines(err)
    assert str(missing) in problem


def test_match_with_a_missing_watchlist_file_exits_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write_jsonl(tmp_path / "in.jsonl", [json.dumps({"id": 1, "title": "RVC"})])
    missing = tmp_path / "nope.toml"
    assert main(["match", "--watchlists", str(missing), str(file)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = lines(err)
    assert str(missing) in problem
    assert "not found" in problem


def test_match_reads_watchlists_from_a_config_file_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(tmp_path, ["https://news.example/a.rss"])  # builders' two watchlists
    file = write_jsonl(tmp_path / "in.jsonl", [json.dumps({"id": 1, "title": "РДК и ЛСР"})])
    assert main(["match", "--watchlists", str(tmp_path / "feedwatch.toml"), str(file)]) == 0
    assert json_lines(capsys.readouterr().out) == [{"id": 1, "watchlists": ["rvc"]}]


def test_match_reads_stdin_without_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write_jsonl(
        tmp_path / "in.jsonl",
        [json.dumps({"id": 1, "title": "Курская область"}), "oops"],
    )
    with file.open(encoding="utf-8") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        assert main(["match", "--watchlists", str(WATCHLISTS)]) == 1
    out, err = capsys.readouterr()
    assert json_lines(out) == [{"id": 1, "watchlists": ["kursk"]}]
    assert "line 2" in err


def test_python_m_bot_match_reads_stdin(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWATCH_")}
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS[:2]) + "\n"
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "match", "--watchlists", str(WATCHLISTS)],
        input=data.encode(),
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json_lines(done.stdout.decode()) == [
        {"id": 1, "watchlists": ["kursk", "rvc"]},
        {"id": "two", "watchlists": ["rvc"]},
    ]


# --- parse ---------------------------------------------------------------------------------------

DEMO_FILES = sorted(p.name for p in DEMO.iterdir() if p.suffix in (".rss", ".atom"))


def entries_in(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"<item>") + data.count(b"<item ") + data.count(b"<entry>")


@pytest.mark.parametrize("name", DEMO_FILES)
def test_parse_a_demo_file_prints_one_json_line_per_item(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", str(DEMO / name)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    records = json_lines(out)
    assert len(records) == entries_in(DEMO / name) > 0
    for record in records:
        assert set(record) == {"id", "link", "title", "published", "summary"}
        assert isinstance(record["id"], str)
        assert record["id"]
        assert isinstance(record["title"], str)
        assert isinstance(record["summary"], str)
        assert record["link"] is None or str(record["link"]).startswith("http")
        published = record["published"]
        assert published is None or ISO_UTC.fullmatch(str(published)), published
    assert len({r["id"] for r in records}) == len(records)


def test_parse_gives_plain_text_from_a_non_utf8_feed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", str(DEMO / "oblast-vesti-1251.rss")]) == 0
    text = capsys.readouterr().out
    assert re.search("[А-Яа-я]{4}", text)
    assert "\ufffd" not in text


def test_parse_converts_publication_times_to_utc_and_keeps_missing_ones_null(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = write(
        tmp_path / "zones.rss",
        """\
        <?xml version="1.0" encoding="utf-8"?>
        <rss version="2.0"><channel><title>Zones</title><link>https://news.example/</link>
        <description>d</description>
        <item><guid>a</guid><title>Moscow time</title><link>https://news.example/a</link>
          <pubDate>Tue, 12 Mar 2024 08:40:00 +0300</pubDate></item>
        <item><guid>b</guid><title>No date</title><link>https://news.example/b</link></item>
        </channel></rss>
        """,
    )
    assert main(["parse", str(feed)]) == 0
    records = {r["id"]: r for r in json_lines(capsys.readouterr().out)}
    assert records["a"]["published"] == "2024-03-12T05:40:00Z"
    assert records["b"]["published"] is None
    assert records["a"]["title"] == "Moscow time"
    assert records["a"]["link"] == "https://news.example/a"


def test_parse_an_html_page_exits_1_with_one_line_naming_source_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = write(
        tmp_path / "page.html",
        "<!doctype html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
    )
    assert main(["parse", str(page)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = lines(err)
    assert str(page) in problem
    assert "HTML" in problem
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["missing", "directory", "empty"])
def test_parse_an_unreadable_or_empty_file_exits_1_with_one_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "feed.rss"
    if kind == "directory":
        source.mkdir()
    elif kind == "empty":
        source.write_bytes(b"")
    assert main(["parse", str(source)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = lines(err)
    assert str(source) in problem
    assert "Traceback" not in err
    if kind == "missing":
        assert "No such file" in problem


def test_parse_refuses_a_url_on_a_private_address_and_names_it(
    feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.add("/news.rss", rss(("raid-1", "RVC raid", "Fighters")))
    assert main(["parse", url]) != 0
    _, err = capsys.readouterr()
    assert "address guard: 127.0.0.1 is a loopback address" in err
    assert feed_server.hits("/news.rss") == 0


def test_parse_an_http_url(feed_server: FeedServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = feed_server.add(
        "/news.rss",
        rss(("raid-1", "RVC & Legion <claim> raid", "Fighters"), ("w", "Sunny", "Nothing")),
    )
    assert main(["parse", url, "--allow-private-addresses"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    records = json_lines(out)
    assert [(r["id"], r["title"], r["link"]) for r in records] == [
        ("raid-1", "RVC & Legion <claim> raid", "https://news.example/raid-1"),
        ("w", "Sunny", "https://news.example/w"),
    ]
    assert records[0]["published"] == "2024-03-12T05:40:00Z"
    assert feed_server.hits("/news.rss") == 1


TELEGRAM = REPO / "tests" / "data" / "telegram"
CHANNEL_KEYS = ("id", "link", "title", "published", "summary", "forwarded_from", "views", "media")


def channel_lines(page: Path) -> list[dict[str, object]]:
    """The JSON lines `feedwatch parse` writes for a channel page: the messages written beside it,
    with the keys of the issue and times in UTC as feeds' are."""
    expected = json.loads(Path(f"{page}.expected.json").read_text(encoding="utf-8"))
    return [
        {key: message[key] for key in CHANNEL_KEYS}
        | {"published": message["published"].replace("+00:00", "Z")}
        for message in expected
    ]


@pytest.mark.parametrize(
    "name",
    [
        "any2feed_topwar_official_1.html",
        "sherlock_durov_1.html",
        "handmade_media_kinds.html",
        "any2feed_oper_goblin_frag_forwarded_from.html",
    ],
)
def test_parse_a_saved_channel_page_prints_one_json_line_per_message(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["parse", str(TELEGRAM / name)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    records = json_lines(out)
    assert records == channel_lines(TELEGRAM / name)
    assert all(list(record) == list(CHANNEL_KEYS) for record in records)
    assert all(ISO_UTC.fullmatch(str(record["published"])) for record in records)


def test_parse_a_served_channel_page(
    feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    page = TELEGRAM / "any2feed_topwar_official_1.html"
    url = feed_server.add_file("/s/topwar_official", page, content_type="text/html")
    assert main(["parse", url, "--allow-private-addresses"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json_lines(out) == channel_lines(page)


def test_parse_a_channel_page_without_its_messages_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = write(
        tmp_path / "landing.html",
        '<!DOCTYPE html><html><body><div class="tgme_page"><div class="tgme_page_title">'
        "Some channel</div></div></body></html>",
    )
    assert main(["parse", str(page)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = lines(err)
    assert str(page) in problem
    assert problem.endswith("the channel has no public preview")


@pytest.mark.parametrize("status", [500, 404])
def test_parse_an_url_that_fails_exits_1_with_the_http_status(
    status: int, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = feed_server.add("/broken.rss", b"oops", status=status, content_type="text/plain")
    assert main(["parse", url, "--allow-private-addresses"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [problem] = lines(err)
    assert url in problem
    assert f"HTTP {status}" in problem
    assert "Traceback" not in err


# --- poll and digest -----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["poll", "digest"])
def test_poll_and_digest_without_once_exit_2_with_a_hint(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_settings(tmp_path, ["https://news.example/a.rss"])
    assert main([command, "--config", str(tmp_path / "feedwatch.toml")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--once" in err
    assert not (tmp_path / "feedwatch.db").exists()  # nothing was opened


def test_poll_once_then_digest_once_print_to_the_terminal(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    news = feed_server.add(
        "/news.rss",
        rss(
            ("raid-1", "RVC & Legion <claim> raid", "Fighters of the Russian Volunteer Corps"),
            ("weather-1", "Sunny in Lviv", "Nothing to see"),
            published=datetime.now(UTC),  # the CLI runs on the real clock: news, not archive
        ),
    )
    kursk = feed_server.add(
        "/kursk.rss",
        rss(("k-1", "Shelling in Kursk region", "Border"), published=datetime.now(UTC)),
    )
    broken = feed_server.add("/broken.rss", b"oops", status=500, content_type="text/plain")
    write_settings(tmp_path, [news, kursk, broken])
    config = str(tmp_path / "feedwatch.toml")

    assert main(["poll", "--once", "--all", "--config", config]) == 0
    out, _ = capsys.readouterr()
    polled = lines(out)
    assert len(polled) == 4
    assert any(news in line and "2 new items, 1 hits" in line for line in polled)
    assert any(kursk in line and "1 new items, 1 hits" in line for line in polled)
    assert any(broken in line and "HTTP 500" in line for line in polled)
    assert polled[-1] == "polled 3 feeds: 3 new items, 2 hits, 0 unchanged, 1 failed"

    assert main(["feeds", "--config", config]) == 0
    out, _ = capsys.readouterr()
    table = lines(out)
    assert table[0].split()[:2] == ["feed", "state"]
    # Named "Feed 1" … "Feed 3" by write_settings, in the order given.
    rows = {row[:6]: row[6:].split() for row in table[1:]}
    assert rows["Feed 1"][:1] == ["ok"]
    assert rows["Feed 1"][3:5] == ["0", "2"]
    assert rows["Feed 3"][:3] == ["failing", "never", "1"]
    assert "HTTP 500" in " ".join(rows["Feed 3"])

    assert main(["digest", "--once", "--config", config]) == 0
    out, _ = capsys.readouterr()
    assert "RVC & Legion <claim> raid" in out  # plain text on a terminal: nothing escaped
    assert "Shelling in Kursk region" in out
    assert "Sunny in Lviv" not in out
    assert (
        "https://news.example/raid-1"
        in lines(out)[lines(out).index("• RVC & Legion <claim> raid") + 1]
    )
    assert "<b>" not in out
    assert lines(out)[-1] == "digests: 1 messages with 2 items to 1 chats"

    # Nothing is due again so soon, and what was delivered is not delivered twice.
    assert main(["poll", "--once", "--config", config]) == 0
    assert lines(capsys.readouterr().out) == ["no feed is due"]
    assert main(["digest", "--once", "--config", config]) == 0
    out, _ = capsys.readouterr()
    assert "RVC & Legion" not in out
    assert lines(out)[-1].startswith("digests: 0 messages")


def test_poll_with_a_broken_config_exits_1_listing_the_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path / "feedwatch.toml", 'colour = "red"\n[polling]\ninterval = "x"\n')
    (tmp_path / "watchlists.toml").write_text(WATCHLISTS_TOML, encoding="utf-8")
    assert main(["poll", "--once", "--config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    problems = lines(err)
    assert len(problems) == 2
    assert all(p.startswith("feedwatch: ") and str(config) in p for p in problems)
    assert "Traceback" not in err


# --- demo ----------------------------------------------------------------------------------------


def demo_titles() -> dict[str, str]:
    """Titles of demo items, as they stand in the feeds, for the checks below."""
    return {
        "rvc": "Русский добровольческий корпус опубликовал новое видео из-под Тёткино",
        "lsr": "РДК и легион «Свобода России» сообщили о боях в Курской области",
        "kursk": "Курская область: в приграничных районах продлили дистанционное обучение",
        "belgorod": "Белгородский губернатор сообщил об обстреле Шебекино",
        "rvc-en": "RVC fighters show captured armoured vehicle in new Belgorod region video",
        "lsr-en": "Freedom of Russia Legion says fighting continues near Tyotkino in Kursk region",
    }


def database_files() -> set[Path]:
    """SQLite files in the checkout, where a demo that forgot its temporary directory would write."""
    found: set[Path] = set()
    for folder in (REPO, REPO / "config", REPO / "config" / "demo"):
        found |= {p for p in folder.iterdir() if ".db" in p.name or "sqlite" in p.name}
    return found


def test_demo_prints_the_digest_and_a_summary_and_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    before = database_files()
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    last = lines(out)[-1]
    found = re.fullmatch(
        r"demo: read (\d+) items from 5 feeds; (\d+) matched the watchlists \((\d+) hits: an "
        r"item may match several lists\); the digest above shows each story once, its copies "
        r"named under it",
        last,
    )
    assert found, last
    items, matched, hits = (int(n) for n in found.groups())
    assert items >= 30
    assert hits >= matched >= 10
    # The header's count squares with the last line: each story once, never more than matched.
    [mentions] = re.findall(r"feedwatch · (\d+) new mentions", out)
    assert 10 <= int(mentions) <= matched
    # Made for a terminal: one digest, no "(continued)" headings, no raw soft hyphen.
    assert "(continued)" not in out
    assert "\u00ad" not in out
    assert "Drone alerts across Belgorod region for a third night" in out
    for title in demo_titles().values():
        assert f"• {title}" in out, title
    for heading in ("Kursk region", "Belgorod region", "Freedom of Russia Legion"):
        assert f"== {heading} (" in out
    # The traps stay out.
    assert "Курсанты лётного училища" not in out
    assert "Курс рубля" not in out
    assert "Курс гривні" not in out
    assert "Белгород-Днестровский" not in out
    # A terminal digest: plain text, links on their own lines.
    assert "<a href" not in out
    assert "  https://novosti-granitsy.example/2024/03/15/rdk-video-tetkino" in out.splitlines()
    assert list(tmp_path.iterdir()) == []
    assert database_files() == before


def test_demo_reads_its_files_beside_feedwatch_config_as_in_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The image installs feedwatch into site-packages, with no config/ beside it, and points
    FEEDWATCH_CONFIG at /app/config/feedwatch.toml: the demo runs from that folder."""
    image_config = tmp_path / "app" / "config"
    shutil.copytree(REPO / "config", image_config)
    demo_toml = image_config / "demo.toml"
    text = demo_toml.read_text(encoding="utf-8")
    # This copy polls one feed fewer than the checkout's, so the summary tells which was read.
    kept = text.split("[[feed]]")
    demo_toml.write_text("[[feed]]".join(kept[:-1]), encoding="utf-8")
    workdir = tmp_path / "data"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("FEEDWATCH_CONFIG", str(image_config / "feedwatch.toml"))
    assert main(["demo"]) == 0
    assert re.match(r"demo: read \d+ items from 4 feeds;", lines(capsys.readouterr().out)[-1])
    assert list(workdir.iterdir()) == []


# --- check-config and match with hostile files: one line each, never a traceback -------------


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_check_config_of_dev_zero_says_so_in_one_line_without_reading_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FEEDWATCH_CONFIG", "/dev/zero")
    assert main(["check-config"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert lines(err) == ["/dev/zero: not a regular file but a character device"]


def test_check_config_of_a_deeply_nested_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "feedwatch.toml"
    config.write_text("a = " + "[" * 10_000 + "]" * 10_000 + "\n", encoding="utf-8")
    assert main(["check-config", str(config)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert lines(err) == [
        f"{config}: the file nests arrays and tables too deep (line 1): at most 32 levels"
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_match_with_a_named_pipe_for_watchlists_says_so_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "watchlists.toml"
    os.mkfifo(fifo)  # nobody writes to it: reading would wait for ever
    assert main(["match", "--watchlists", str(fifo), str(tmp_path / "none.jsonl")]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert lines(err) == [f"feedwatch: {fifo}: not a regular file but a named pipe"]


def test_check_config_of_a_file_over_1_mib_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "feedwatch.toml"
    config.write_bytes(b"#" * (1024 * 1024 + 1))
    assert main(["check-config", str(config)]) == 1
    assert lines(capsys.readouterr().err) == [f"{config}: the file is larger than 1 MiB"]


def test_a_reader_that_stops_early_ends_the_output_quietly(tmp_path: Path) -> None:
    """`feedwatch … | head`: the pipe closes under a long output; no traceback, exit 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWATCH_")}
    records = tmp_path / "items.jsonl"
    line = json.dumps({"id": 0, "title": "РДК и Курск", "summary": ""}, ensure_ascii=False)
    records.write_text((line + "\n") * 20_000, encoding="utf-8")
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "match", "--watchlists", str(WATCHLISTS), str(records)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # as head does after its lines
        errors = process.stderr.read().decode()
        assert process.wait(timeout=60) == 0, errors
    assert json.loads(first)["id"] == 0
    assert errors == ""


def test_match_text_tries_one_sentence_and_answers_in_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "Бойцы Русского добровольческого корпуса вошли в Курскую область"
    assert main(["match", "--watchlists", str(WATCHLISTS), "--text", text]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        "kursk: «Курскую» (Курск)",
        "rvc: «Русского добровольческого корпуса» (Русский добровольческий корпус)",
    ]
    assert main(["match", "--watchlists", str(WATCHLISTS), "--text", "Погода во Львове"]) == 1
    assert capsys.readouterr().out == "no watchlist matches\n"


def test_demo_keep_leaves_its_database_for_the_other_commands_to_try(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "demo.db"
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--keep", str(kept)]) == 0
    said = lines(capsys.readouterr().out)[-1]
    assert said.startswith(f"kept the database in {kept}; try it with FEEDWATCH_DATABASE_URL=")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.db"]  # nothing else left behind
    monkeypatch.setenv("FEEDWATCH_DATABASE_URL", f"sqlite:///{kept}")
    config = str(REPO / "config" / "demo.toml")
    assert main(["hits", "export", "--since", "2024-01-01", "--config", config]) == 0
    exported = capsys.readouterr().out
    assert "Russian Volunteer Corps" in exported or "Русского добровольческого корпуса" in exported
    assert len(lines(exported)) > 20
