"""Charts of hit counts (`bot.render.charts`): hits stored through the repository on SQLite and PostgreSQL,
counted by `bot.trends.stats`, drawn by matplotlib; the PNG is opened with Pillow, the lines are read back
from the figure and compared with a count made straight from the database, and the font is checked
to hold every letter of Russian and Ukrainian titles."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
import pytest
from matplotlib.font_manager import findfont
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image
from sqlalchemy import DateTime, String, text

from bot.core.domain import FeedSpec, Match, ParsedItem, Watchlist
from bot.render import charts
from bot.storage.repository import Repository
from bot.storage.store import create_db_engine
from bot.trends.stats import Bucket, HitCounts, count_hits, window
from tests.conftest import Database

NOW = datetime(2024, 3, 14, 15, 20, tzinfo=UTC)
KYIV = ZoneInfo("Europe/Kyiv")
A, B = "https://a.example/rss", "https://b.example/rss"
PRIVATE = "https://private.example/rss"
RVC = Watchlist("rvc", ("РДК",), title="Русский добровольческий корпус")
BELGOROD = Watchlist("belgorod", ("Белгород*",), title="Бєлгородщина")
LEGION = Watchlist("legion", ("Легіон",), title="Легіон «Свобода Росії»")
LISTS = [BELGOROD, LEGION, RVC]
TITLES = {w.name: w.display_title for w in LISTS}
CHAT, OTHER = 100, 200

# (item key, feed, when feedwatch saw it, the watchlists it hit)
HITS = [
    ("a", A, "2024-02-20T10:00:00Z", ("legion",)),  # before any window below
    ("b", A, "2024-03-01T10:00:00Z", ("legion",)),  # the first day of 14
    ("c", A, "2024-03-10T08:00:00Z", ("rvc", "belgorod")),
    ("d", B, "2024-03-10T09:00:00Z", ("rvc",)),
    ("e", A, "2024-03-12T23:30:00Z", ("rvc",)),  # 13 March, 01:30, in Kyiv
    ("f", B, "2024-03-13T12:00:00Z", ("belgorod",)),
    ("g", A, "2024-03-14T14:10:00Z", ("rvc",)),
    ("h", B, "2024-03-14T15:00:00Z", ("rvc", "legion")),  # the current hour
]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def feed_id(repo: Repository, url: str) -> int:
    return next(f.id for f in repo.feeds() if f.url == url)


def store(repo: Repository, url: str, key: str, seen: str, names: tuple[str, ...]) -> None:
    item = ParsedItem(key, f"Item {key}", f"https://news.example/{key}", "", None)
    matches = {name: (Match(name, "term", "term"),) for name in names}
    repo.store_items(feed_id(repo, url), [(item, matches)], at(seen))


@pytest.fixture
def stored(repo: Repository) -> Repository:
    repo.sync_config([FeedSpec(A, "A"), FeedSpec(B, "B")], LISTS, at("2024-02-01T00:00:00Z"))
    for key, url, seen, names in HITS:
        store(repo, url, key, seen, names)
    return repo


def counted(repo: Repository, days: int, tz: tzinfo, bucket: Bucket = "day") -> HitCounts:
    span = window(NOW, days, tz, bucket)
    return count_hits(
        repo.hit_times(span.start, span.end),
        now=NOW,
        days=days,
        tz=tz,
        bucket=bucket,
        watchlists=[w.name for w in LISTS],
    )


def in_database(database: Database, tz: tzinfo, hourly: bool = False) -> Counter[tuple[str, str]]:
    """Hits per (watchlist, local day or hour), read with SQL of its own."""
    engine = create_db_engine(database.url, connect_args=database.connect_args)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT w.name, i.seen_at FROM hit h JOIN item i ON i.id = h.item_id "
                    "JOIN watchlist w ON w.id = h.watchlist_id"
                ).columns(name=String, seen_at=DateTime)
            ).all()
    finally:
        engine.dispose()
    found: Counter[tuple[str, str]] = Counter()
    for name, seen in rows:
        local = seen.replace(tzinfo=UTC).astimezone(tz)  # stored as naive UTC
        found[name, local.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d")] += 1
    return found


def lines_of(counts: HitCounts, chart: charts.Chart) -> dict[str, tuple[int, ...]]:
    """The y values of each line of the chart as matplotlib holds them, by legend label."""
    figure = charts.figure(counts, chart.series, heading="test")
    ax = figure.axes[0]
    lines: list[Line2D] = ax.get_lines()
    legend = figure.legends[0]
    labels = [t.get_text() for t in legend.get_texts()]
    assert len(labels) == len(lines)
    return {
        label: tuple(int(y) for y in line.get_ydata())
        for label, line in zip(labels, lines, strict=True)
    }


# --- the picture and its numbers --------------------------------------------------------------


def test_a_chart_of_days_is_a_png_of_the_size_set_drawn_from_the_stored_counts(
    stored: Repository, database: Database
) -> None:
    counts = counted(stored, 14, UTC)
    chart = charts.draw(counts, TITLES, heading="Hits per day")
    image = Image.open(io.BytesIO(chart.png))
    assert image.format == "PNG"
    assert image.size == (charts.WIDTH, charts.HEIGHT) == (chart.width, chart.height) == (1080, 720)
    image.verify()

    direct = in_database(database, UTC)
    days = [start.strftime("%Y-%m-%d") for start in counts.window.starts]
    assert days[0] == "2024-03-01"
    assert days[-1] == "2024-03-14"
    drawn = lines_of(counts, chart)
    for watchlist in LISTS:
        expected = tuple(direct[watchlist.name, day] for day in days)
        [line] = [s for s in chart.series if s.watchlists == (watchlist.name,)]
        assert line.values == expected
        assert drawn[f"{watchlist.display_title} ({sum(expected)})"] == expected
    # Known days: two rvc hits on 10 March, one of belgorod; the legion hit of 20 February is out.
    assert counts.count("rvc", datetime(2024, 3, 10, tzinfo=UTC)) == 2
    assert counts.total_of("legion") == 2
    assert counts.total == 9
    assert counts.busiest == (datetime(2024, 3, 10, tzinfo=UTC), 3)
    # Most hits first in the legend.
    assert [s.watchlists for s in chart.series] == [("rvc",), ("belgorod",), ("legion",)]


def test_a_chart_of_two_days_counts_hours(stored: Repository, database: Database) -> None:
    counts = counted(stored, 2, UTC, "hour")
    chart = charts.draw(counts, TITLES, heading="Hits per hour")
    assert Image.open(io.BytesIO(chart.png)).size == (1080, 720)
    assert counts.window.bucket == "hour"
    hours = [start.strftime("%Y-%m-%d %H:00") for start in counts.window.starts]
    assert len(hours) == 48
    assert (hours[0], hours[-1]) == ("2024-03-12 16:00", "2024-03-14 15:00")
    direct = in_database(database, UTC, hourly=True)
    for line in chart.series:
        [name] = line.watchlists
        assert line.values == tuple(direct[name, hour] for hour in hours)
    [rvc_line] = [s for s in chart.series if s.watchlists == ("rvc",)]
    rvc = dict(zip(hours, rvc_line.values, strict=True))
    assert (rvc["2024-03-12 23:00"], rvc["2024-03-14 14:00"], rvc["2024-03-14 15:00"]) == (1, 1, 1)
    assert sum(rvc.values()) == 3
    # The x axis names hours, and the day at the first hour shown of each.
    figure = charts.figure(counts, chart.series, heading="test")
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert "00:00\n13.03" in labels
    assert all(label[:5].endswith(":00") for label in labels)


def test_a_time_zone_that_moves_a_hit_past_midnight_moves_it_to_the_next_day(
    stored: Repository, database: Database
) -> None:
    in_utc = counted(stored, 14, UTC)
    in_kyiv = counted(stored, 14, KYIV)
    assert in_utc.count("rvc", datetime(2024, 3, 12, tzinfo=UTC)) == 1
    assert in_utc.count("rvc", datetime(2024, 3, 13, tzinfo=UTC)) == 0
    assert in_kyiv.count("rvc", datetime(2024, 3, 12, tzinfo=KYIV)) == 0
    assert in_kyiv.count("rvc", datetime(2024, 3, 13, tzinfo=KYIV)) == 1
    chart = charts.draw(in_kyiv, TITLES, heading="Kyiv")
    days = [start.strftime("%Y-%m-%d") for start in in_kyiv.window.starts]
    direct = in_database(database, KYIV)
    for line in chart.series:
        [name] = line.watchlists
        assert line.values == tuple(direct[name, day] for day in days)
    # The buckets are Kyiv's days, and the axis says so.
    assert in_kyiv.window.starts[-1] == datetime(2024, 3, 14, tzinfo=KYIV)
    figure = charts.figure(in_kyiv, chart.series, heading="test")
    assert figure.axes[0].get_xticklabels()[-1].get_text() == "14.03"


def test_a_chat_counts_the_hits_of_shared_feeds_and_its_own_not_another_chats(
    stored: Repository,
) -> None:
    for chat_id in (CHAT, OTHER):
        stored.register_chat(chat_id, "private", None, NOW)
    assert stored.add_chat_feed(OTHER, PRIVATE, "Private", NOW) == "added"
    store(stored, PRIVATE, "p", "2024-03-13T10:00:00Z", ("rvc",))
    since, until = at("2024-03-01T00:00:00Z"), NOW

    def seen(chat_id: int, names: list[str]) -> list[tuple[str, datetime]]:
        return sorted(stored.chat_hit_times(chat_id, since, until, names))

    mine = seen(CHAT, ["rvc"])
    assert [when for _, when in mine] == [
        at("2024-03-10T08:00:00Z"),
        at("2024-03-10T09:00:00Z"),
        at("2024-03-12T23:30:00Z"),
        at("2024-03-14T14:10:00Z"),
        at("2024-03-14T15:00:00Z"),
    ]
    assert seen(OTHER, ["rvc"]) == sorted([*mine, ("rvc", at("2024-03-13T10:00:00Z"))])
    assert seen(CHAT, ["legion", "belgorod"]) == [
        ("belgorod", at("2024-03-10T08:00:00Z")),
        ("belgorod", at("2024-03-13T12:00:00Z")),
        ("legion", at("2024-03-01T10:00:00Z")),
        ("legion", at("2024-03-14T15:00:00Z")),
    ]
    assert seen(CHAT, []) == []


# --- what is drawn -----------------------------------------------------------------------------


def _counts(per_list: dict[str, list[int]], days: int = 3) -> HitCounts:
    hits = [
        (name, NOW - timedelta(days=days - 1 - index))
        for name, values in per_list.items()
        for index, value in enumerate(values)
        for _ in range(value)
    ]
    return count_hits(hits, now=NOW, days=days, tz=UTC, watchlists=per_list)


def test_beyond_six_lists_the_last_line_sums_the_rest() -> None:
    per_list = {f"list{n}": [n % 3, n, 1] for n in range(9)}
    counts = _counts(per_list)
    chart = charts.draw(counts, heading="many", others=lambda count: f"{count} more lists")
    assert len(chart.series) == charts.MAX_SERIES
    *single, rest = chart.series
    # By total: 11, 9, 8, 7, 6 hits.
    assert [s.watchlists[0] for s in single] == ["list8", "list7", "list5", "list6", "list4"]
    assert rest.label == "4 more lists"
    assert sorted(rest.watchlists) == ["list0", "list1", "list2", "list3"]
    assert rest.values == tuple(sum(per_list[n][i] for n in rest.watchlists) for i in range(3))
    # Every hit is on the chart once.
    for index, total in enumerate(counts.bucket_totals):
        assert sum(s.values[index] for s in chart.series) == total
    assert len(lines_of(counts, chart)) == charts.MAX_SERIES


def test_the_y_axis_counts_whole_hits_from_zero() -> None:
    counts = _counts({"rvc": [1, 0, 2]})
    chart = charts.draw(counts, heading="whole")
    figure = charts.figure(counts, chart.series, heading="whole")
    figure.canvas.draw()
    ax = figure.axes[0]
    ticks = [tick for tick in ax.get_yticks() if ax.get_ylim()[0] <= tick <= ax.get_ylim()[1]]
    assert ticks
    assert all(float(tick).is_integer() for tick in ticks)
    assert ax.get_ylim()[0] == 0


def test_a_title_is_drawn_as_written_dollars_and_underscores_included() -> None:
    counts = _counts({"price": [1, 0, 0], "_quiet": [0, 1, 0]})
    titles = {"price": "Oil at $80 and $90", "_quiet": "_quiet"}
    chart = charts.draw(counts, titles, heading="$ and $")
    figure = charts.figure(counts, chart.series, heading="$ and $")
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert labels == ["\u2060_quiet (1)", "Oil at $80 and $90 (1)"]
    assert not any(t.get_parse_math() for t in figure.legends[0].get_texts())
    assert figure.axes[0].get_title() == "$ and $"


def test_charts_drawn_in_threads_at_once_are_the_charts_drawn_one_by_one() -> None:
    counts = [_counts({"rvc": [n, 1, 2], "kursk": [0, n, 1]}) for n in range(4)]
    alone = [charts.draw(c, heading="threads").png for c in counts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda c: charts.draw(c, heading="threads").png, counts))
    assert together == alone
    assert len(set(alone)) == 4


def test_drawing_leaves_pyplot_alone() -> None:
    # A fresh interpreter: pyplot's global figures and backend are never touched.
    probe = (
        "import sys; from datetime import UTC, datetime; from bot.render import charts; "
        "from bot.trends.stats import count_hits; "
        "now = datetime(2024, 3, 14, tzinfo=UTC); "
        "charts.draw(count_hits([('rvc', now)], now=now, days=3, tz=UTC), heading='x'); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- the font ----------------------------------------------------------------------------------

CYRILLIC_TITLES = [
    "Русский добровольческий корпус",
    "Бєлгородщина",
    "Легіон «Свобода Росії»",
    "ЁЖЪЭ ёжъэ ЄІЇҐ єіїґ ʼ’ – …",
]


def test_the_chart_font_is_matplotlibs_own_dejavu_sans() -> None:
    path = Path(charts.font_file())
    assert path.name == "DejaVuSans.ttf"
    assert path.is_relative_to(Path(matplotlib.get_data_path()))


@pytest.mark.parametrize("title", CYRILLIC_TITLES)
def test_the_chart_font_has_every_letter_of_russian_and_ukrainian_titles(title: str) -> None:
    assert charts.missing_glyphs(title) == ""


@pytest.mark.parametrize(
    ("title", "missing"),
    [("ภาษาไทย Thai", "ภาษไทย"), ("北京 news", "北京"), ("Бєлгород 한국", "한국")],
)
def test_the_check_finds_the_letters_the_font_lacks(title: str, missing: str) -> None:
    assert charts.missing_glyphs(title) == missing
    assert charts.drawable(title) == "".join("?" if c in missing else c for c in title)


def test_every_text_of_a_cyrillic_chart_is_set_in_the_chart_font_which_has_its_letters() -> None:
    titles = dict(zip(["rvc", "belgorod", "legion"], CYRILLIC_TITLES, strict=False))
    counts = _counts({"rvc": [1, 2, 0], "belgorod": [0, 1, 0], "legion": [3, 0, 1]})
    heading = "Збіги по днях, 12.03.2024 – 14.03.2024 (Europe/Kyiv)"
    chart = charts.draw(counts, titles, heading=heading, ylabel="збіги")
    figure = charts.figure(counts, chart.series, heading=heading, ylabel="збіги")
    figure.canvas.draw()  # tick labels are made when drawn
    shown = [t for t in figure.findobj(Text) if t.get_text() and t.get_visible()]
    texts = {t.get_text() for t in shown}
    assert {heading, "збіги", "Русский добровольческий корпус (3)", "Бєлгородщина (1)"} <= texts
    assert "Легіон «Свобода Росії» (4)" in texts
    for item in shown:
        assert findfont(item.get_fontproperties()) == charts.font_file(), item.get_text()
        assert charts.missing_glyphs(item.get_text()) == ""


def test_a_letter_the_font_lacks_is_drawn_as_a_question_mark_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counts = _counts({"beijing": [1, 0, 0]})
    with caplog.at_level(logging.WARNING, logger="bot.render.charts"):
        # matplotlib would warn of a missing glyph: warnings are errors in this test suite.
        chart = charts.draw(counts, {"beijing": "北京 news"}, heading="北京")
    figure = charts.figure(counts, chart.series, heading="北京")
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["?? news (1)"]
    assert figure.axes[0].get_title() == "??"
    assert "no glyph for '北京'" in caplog.text


def test_bucket_labels_and_periods() -> None:
    days = _counts({"rvc": [1, 1, 1]}).window
    assert charts.period(days) == ("12.03.2024", "14.03.2024")
    assert charts.bucket_label(days.starts[0], days) == "12.03.2024"
    hours = count_hits([], now=NOW, days=1, tz=KYIV, bucket="hour").window
    assert charts.period(hours) == ("13.03.2024 18:00", "14.03.2024 18:00")
    assert charts.bucket_label(hours.starts[-1], hours) == "14.03.2024 17:00"


def test_a_chart_for_a_phone_has_large_text_and_leaves_its_title_to_the_caption() -> None:
    counts = count_hits([], now=datetime(2024, 3, 12, 12, tzinfo=UTC), days=7, tz=UTC)
    untitled = charts.figure(counts, (), heading="")
    assert untitled.axes[0].get_title() == ""
    labels = untitled.axes[0].get_xticklabels()
    assert labels
    # A phone shows the image at about a third of its 1080 pixels: 17-point text, not 11.
    assert all(label.get_fontsize() >= charts.TEXT_SIZE for label in labels)
    assert charts.TEXT_SIZE >= 16
    titled = charts.figure(counts, (), heading="Hits per day")
    assert titled.axes[0].get_title() == "Hits per day"
