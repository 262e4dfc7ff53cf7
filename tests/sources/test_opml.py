"""Reading OPML lists (as feed readers export them, and as an attacker would write them) and writing
OPML 2.0 that listparser reads back the same."""

from __future__ import annotations

import ast
import codecs
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import listparser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.sources import opml
from bot.sources.opml import (
    LIST_LINK,
    NO_FEED_URL,
    NO_HOST,
    NOT_HTTP,
    URL_TOO_LONG,
    URL_WITH_SPACES,
    OpmlEntry,
    OpmlError,
    read_opml,
    url_problem,
    write_opml,
)
from tests.render.catalogs import TRANSLATIONS

ROOT = Path(__file__).resolve().parents[2]
CREATED = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)

# Shaped like the exports of Feedly, Inoreader and NetNewsWire: folders, feeds without titles,
# the same feed in two folders, a podcast on feed://, a relative URL, a web page without a feed
# and an include of another list.
READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions in Reader</title></head>
  <body>
    <outline text="News" title="News">
      <outline type="rss" text="Meduza" title="Meduza"
               xmlUrl="https://meduza.io/rss/all" htmlUrl="https://meduza.io/"/>
      <outline type="rss" text="" title="Hromadske" xmlUrl="https://hromadske.ua/rss"/>
      <outline type="rss" xmlUrl="https://www.pravda.com.ua/rss/"/>
      <outline text="Regions">
        <outline type="rss" text="  Kursk \n  news  " xmlUrl="https://kursk.example/feed"/>
      </outline>
    </outline>
    <outline text="Again">
      <outline type="rss" text="Meduza again" xmlUrl="https://meduza.io/rss/all"/>
    </outline>
    <outline type="rss" text="Podcast" xmlUrl="feed://podcast.example/rss"/>
    <outline type="rss" text="Relative" xmlUrl="/rss.xml"/>
    <outline type="rss" text="Mail" xmlUrl="mailto:editor@news.example"/>
    <outline type="rss" htmlUrl="https://site.example/"/>
    <outline type="include" text="Friends' list" url="https://lists.example/friends.opml"/>
  </body>
</opml>
"""


def test_a_reader_export_gives_every_feed_once_with_its_title_and_problem() -> None:
    assert read_opml(READER_EXPORT) == [
        OpmlEntry("https://meduza.io/rss/all", "Meduza"),
        OpmlEntry("https://hromadske.ua/rss", "Hromadske"),
        OpmlEntry("https://www.pravda.com.ua/rss/", None),
        OpmlEntry("https://kursk.example/feed", "Kursk news"),
        OpmlEntry("feed://podcast.example/rss", "Podcast", NOT_HTTP),
        OpmlEntry("/rss.xml", "Relative", NOT_HTTP),
        OpmlEntry("mailto:editor@news.example", "Mail", NOT_HTTP),
        OpmlEntry("https://lists.example/friends.opml", "Friends' list", LIST_LINK),
        OpmlEntry("https://site.example/", None, NO_FEED_URL),
    ]


def test_a_channel_in_a_list_is_read_as_one_channel_whatever_its_spelling() -> None:
    """RSSHub-style lists name channels by their page; an outline with only a t.me page is a
    channel all the same."""
    document = (
        b'<opml version="2.0"><body>'
        b'<outline text="RVC" type="rss" xmlUrl="https://t.me/s/RusVolCorps"/>'
        b'<outline text="RVC again" type="rss" xmlUrl="https://t.me/rusvolcorps"/>'
        b'<outline type="rss" htmlUrl="https://t.me/legionoffreedom"/>'
        b'<outline type="rss" htmlUrl="https://site.example/"/>'
        b"</body></opml>"
    )
    assert read_opml(document) == [
        OpmlEntry("https://t.me/s/rusvolcorps", "RVC"),
        OpmlEntry("https://t.me/s/legionoffreedom", None),
        OpmlEntry("https://site.example/", None, NO_FEED_URL),
    ]


def test_opml_2_with_a_namespace_and_no_head_reads_too() -> None:
    document = (
        b'<opml version="2.0" xmlns:custom="https://custom.example/ns"><body>'
        b'<outline text="A" custom:flag="1" type="rss" xmlUrl="https://a.example/rss"/>'
        b"</body></opml>"
    )
    assert read_opml(document) == [OpmlEntry("https://a.example/rss", "A")]


def test_an_empty_list_is_no_error() -> None:
    assert read_opml(b'<opml version="2.0"><head/><body/></opml>') == []


@pytest.mark.parametrize(
    ("encoding", "document"),
    [
        ("windows-1251", '<?xml version="1.0" encoding="windows-1251"?>'),
        ("utf-16", ""),  # with its byte order mark
        ("utf-8-sig", ""),
        ("koi8-r", "<?xml version='1.0' encoding='KOI8-R'?>\n"),
    ],
)
def test_cyrillic_titles_survive_the_encoding_the_file_declares(
    encoding: str, document: str
) -> None:
    text = document + (
        '<opml version="1.0"><body><outline text="Новости Курска" '
        'xmlUrl="https://kursk.example/rss"/></body></opml>'
    )
    assert read_opml(text.encode(encoding)) == [
        OpmlEntry("https://kursk.example/rss", "Новости Курска")
    ]


@pytest.mark.parametrize(
    ("document", "template"),
    [
        (b"", "the file is empty"),
        (b"  \n ", "the file is empty"),
        (b"<html><head><title>Hi</title></head><body><p>Hello</p></body></html>", "not an OPML"),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
            "not an OPML",
        ),
        (b'{"feeds": ["https://a.example/rss"]}', "not an OPML"),
        (b'[[watchlist]]\nname = "kursk"\nterms = ["Kursk"]\n', "not an OPML"),
        (bytes(range(256)) * 4, "not valid utf-8"),
        (b'<?xml version="1.0" encoding="no-such-9"?><opml/>', "unknown encoding, no-such-9"),
        (b'<opml version="2.0"><body><outline text="a < b"/></body></opml>', "not well-formed"),
        (b'<opml version="2.0"><body><!-- never closed </body></opml>', "not well-formed"),
        (b'<opml version="2.0"><body></outline></body></opml></opml>', "not well-formed"),
    ],
)
def test_what_is_not_an_opml_list_is_refused_with_a_reason(document: bytes, template: str) -> None:
    with pytest.raises(OpmlError) as raised:
        read_opml(document)
    assert template in str(raised.value)
    assert raised.value.template in TRANSLATIONS


def test_a_malformed_line_is_named() -> None:
    document = b'<opml version="2.0">\n<body>\n<outline text="a" <outline/>\n</body></opml>'
    with pytest.raises(OpmlError, match=r"not well-formed XML \(line 3\)"):
        read_opml(document)


def test_a_file_over_the_limit_is_refused_before_it_is_read() -> None:
    document = b'<opml version="2.0"><body>' + b" " * 2048 + b"</body></opml>"
    with pytest.raises(OpmlError, match="larger than 2 KiB"):
        read_opml(document, limit=2048)
    assert read_opml(document, limit=4096) == []


# --- documents written to hurt the reader --------------------------------------------------------


def _peak_mib(document: bytes) -> tuple[float, list[OpmlEntry] | OpmlError]:
    """How much memory reading `document` took at its peak, and what came of it."""
    tracemalloc.start()
    try:
        outcome: list[OpmlEntry] | OpmlError = read_opml(document)
    except OpmlError as error:
        outcome = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20, outcome


def test_entities_are_never_expanded() -> None:
    lol = "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' if i else '<!ENTITY lol0 "lol">'
        for i in range(10)
    )
    document = (
        f'<?xml version="1.0"?><!DOCTYPE opml [{lol}]><opml version="2.0"><body>'
        '<outline text="&lol9;" xmlUrl="https://bomb.example/&lol9;"/></body></opml>'
    ).encode()
    peak, entries = _peak_mib(document)
    assert entries == [OpmlEntry("https://bomb.example/&lol9;", "&lol9;")]
    assert peak < 5


def test_deep_folders_over_many_feeds_are_refused_before_they_cost_memory() -> None:
    # listparser copies each feed's folder path into it: 20,000 folders deep over 20,000 feeds
    # would take gigabytes. The guard refuses the depth first.
    folders = b'<outline text="f">' * 20_000
    feeds = b"".join(b'<outline xmlUrl="https://x.example/%d"/>' % i for i in range(20_000))
    peak, outcome = _peak_mib(b'<opml version="2.0"><body>' + folders + feeds + b"</body></opml>")
    assert isinstance(outcome, OpmlError)
    assert "nests elements more than 32 deep" in str(outcome)
    assert peak < 50


def test_folders_as_deep_as_allowed_still_read_in_bounded_memory() -> None:
    depth = opml.MAX_DEPTH - 2  # <opml> and <body> count too
    folders = b'<outline text="f">' * depth
    feeds = b"".join(b'<outline xmlUrl="https://x.example/%d"/>' % i for i in range(20_000))
    document = (
        b'<opml version="2.0"><body>' + folders + feeds + b"</outline>" * depth + b"</body></opml>"
    )
    peak, entries = _peak_mib(document)
    assert isinstance(entries, list)
    assert len(entries) == 20_000
    assert peak < 200


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "filler",
    [b"<a", b"<!--", b"<![CDATA[", b"<?", b"<!", b"</", b'<outline text="'],
)
def test_markup_that_never_closes_is_refused_at_once(filler: bytes) -> None:
    # The standard library's HTML parser, which listparser uses, takes time by the square of the
    # length over these: a megabyte of them would take it hours.
    document = b'<opml version="2.0"><body>' + filler * (2**20 // len(filler))
    with pytest.raises(OpmlError, match="not well-formed"):
        read_opml(document)


# --- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://news.example/rss", None),
        ("http://127.0.0.1:8080/feed.xml?a=1&b=2", None),
        ("HTTPS://NEWS.EXAMPLE/RSS", None),
        ("https://новости.example/лента", None),
        ("feed://news.example/rss", NOT_HTTP),
        ("ftp://news.example/rss", NOT_HTTP),
        ("javascript:alert(1)", NOT_HTTP),
        ("news.example/rss", NOT_HTTP),
        ("https:///rss", NO_HOST),
        ("https://news.example/a b", URL_WITH_SPACES),
        ("https://news.example/\x00", URL_WITH_SPACES),
        ("https://[::1/rss", "not a valid URL"),
        ("https://news.example/" + "a" * 2048, URL_TOO_LONG),
    ],
)
def test_url_problems(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem


# --- writing -----------------------------------------------------------------------------------


def test_a_written_list_is_opml_2_that_listparser_reads_back() -> None:
    feeds = [
        ("Meduza", "https://meduza.io/rss/all"),
        ("Новости & «мнения» <live>", "https://news.example/rss?a=1&b=2"),
        ("Quotes \"double\" and 'single'", "https://quotes.example/feed"),
        ("Українська правда", "https://www.pravda.com.ua/rss/"),
        ("Meduza again", "https://meduza.io/rss/all"),  # a URL is written once
        ("", "https://untitled.example/rss"),
    ]
    document = write_opml(feeds, title="feedwatch feeds & more", created=CREATED)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    parsed = listparser.parse(document)
    assert (parsed.version, parsed.bozo) == ("opml2", False)
    assert parsed.meta.title == "feedwatch feeds & more"
    assert parsed.meta.created_parsed == CREATED
    assert [(f.title, f.url) for f in parsed.feeds] == [
        ("Meduza", "https://meduza.io/rss/all"),
        ("Новости & «мнения» <live>", "https://news.example/rss?a=1&b=2"),
        ("Quotes \"double\" and 'single'", "https://quotes.example/feed"),
        ("Українська правда", "https://www.pravda.com.ua/rss/"),
        ("https://untitled.example/rss", "https://untitled.example/rss"),
    ]
    assert document.count(b'<outline type="rss" ') == 5
    assert b"&amp;" in document
    assert b"<live>" not in document


def test_a_written_list_reads_back_through_read_opml() -> None:
    feeds = [("Новости & <b>", "https://news.example/rss?a=1&b=2"), ("x", "https://x.example/")]
    assert read_opml(write_opml(feeds, title="t", created=CREATED)) == [
        OpmlEntry(url, title) for title, url in feeds
    ]


def test_characters_xml_cannot_hold_are_dropped_and_the_time_is_utc() -> None:
    kyiv = timezone(timedelta(hours=2))
    document = write_opml(
        [("Bell\x07 and\x00 NUL", "https://x.example/\x01rss")],
        title="t\x1b",
        created=datetime(2024, 3, 12, 8, 0, tzinfo=kyiv),
    )
    parsed = listparser.parse(document)
    assert [(f.title, f.url) for f in parsed.feeds] == [("Bell and NUL", "https://x.example/rss")]
    assert parsed.meta.title == "t"
    assert b"<dateCreated>Tue, 12 Mar 2024 06:00:00 GMT</dateCreated>" in document


TITLES = st.text(
    alphabet=st.sampled_from("abcXYZ019 &<>\"'«»—ёЁжЖїЇ\t\n;#%="), min_size=0, max_size=40
)
PATHS = st.text(alphabet=st.sampled_from("abc019-_.~/?&=%;"), max_size=30)


@given(st.lists(st.tuples(TITLES, PATHS), max_size=8))
def test_any_list_written_reads_back_the_same(pairs: list[tuple[str, str]]) -> None:
    feeds = [(title, f"https://news.example/{path}") for title, path in pairs]
    expected: dict[str, str | None] = {}
    for title, url in feeds:
        expected.setdefault(url, " ".join(title.split()) or " ".join(url.split()))
    entries = read_opml(write_opml(feeds, title="t", created=CREATED))
    assert [(e.url, e.title) for e in entries] == list(expected.items())


# --- the module itself -------------------------------------------------------------------------


def test_the_module_imports_no_adapter_library() -> None:
    probe = (
        "import sys, bot.sources.opml; "
        "print(','.join(m for m in ('httpx', 'sqlmodel', 'sqlalchemy', 'telegram', 'bot.ops.config') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(  # noqa: S603 - our own interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def _module_sentences() -> list[str]:
    """The problem sentences of bot/sources/opml.py and every template it raises OpmlError with."""
    tree = ast.parse((ROOT / "bot" / "sources" / "opml.py").read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "OpmlError":
            argument = node.args[0]
            assert isinstance(argument, ast.Constant)
            found.append(str(argument.value))
    constants = ("NOT_HTTP", "NO_HOST", "BAD_URL", "URL_TOO_LONG", "URL_WITH_SPACES")
    return found + [getattr(opml, name) for name in (*constants, "LIST_LINK", "NO_FEED_URL")]


def test_every_sentence_a_chat_may_read_is_translated() -> None:
    sentences = _module_sentences()
    assert len(sentences) >= 14
    assert [s for s in sentences if s not in TRANSLATIONS] == []
    assert str(opml.MAX_URL_LENGTH) in URL_TOO_LONG


def test_utf_16_is_read_in_either_byte_order() -> None:
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        text = '<opml version="1.0"><body><outline text="Київ" xmlUrl="https://k.example/"/>'
        document = bom + (text + "</body></opml>").encode(codec)
        assert read_opml(document) == [OpmlEntry("https://k.example/", "Київ")]
