"""bot.sources.xml_feed, the fast reader of well-formed RSS and Atom, is held to feedparser: on every
document of the shared corpora and of this repository, parse_feed gives exactly what it gives when
feedparser reads the document. It must also take most real feeds (else nothing is faster), decline
what it does not copy, and stay safe on hostile documents."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.core.domain import ParsedFeed
from bot.core.errors import ParseError
from bot.sources import parsing
from bot.sources.parsing import parse_feed
from bot.sources.xml_feed import read_feed
from tests.shared_corpus import corpus_documents, corpus_params, require_corpus

ROOT = Path(__file__).resolve().parents[2]
# The feeds this repository carries: the parsing test data and the demo's feeds.
BUNDLED = sorted(
    path
    for folder, pattern in ((ROOT / "tests" / "data" / "parsing", "*"), (ROOT / "config", "**/*"))
    for path in folder.glob(pattern)
    if path.suffix in (".xml", ".rss", ".atom", ".rdf")
)
# Of the 200 real feeds of the bench corpus, at least this many must take the fast path (193 do:
# of the rest, five are not well-formed, one is a JSON Feed, one has an element whose feedparser
# rule the reader does not copy).
BENCH_ACCEPTED_AT_LEAST = 170
SOURCE = "https://example.com/feeds/main.xml"


def _header_lines(data: bytes) -> dict[str, str]:
    """The HTTP headers a feedparser case asks to be served with (`Header: Name: value` lines)."""
    text = data.replace(b"\x00", b"")[:4096].decode("latin-1")
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\s*Header:\s*([^:\s]+):[ \t]*(.*?)\s*$", text, re.MULTILINE)
    }


def _outcome(parse: Callable[[], ParsedFeed]) -> ParsedFeed | tuple[str, str]:
    try:
        return parse()
    except ParseError as error:
        return ("ParseError", error.reason)


def _fast(
    data: bytes, headers: dict[str, str] | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[ParsedFeed | tuple[str, str], bool]:
    """parse_feed's result, and whether the fast reader gave it."""
    taken: list[bool] = []
    reader = parsing.read_feed

    def spy(prepared: bytes, content_type: str) -> dict[str, Any] | None:
        result = reader(prepared, content_type)
        taken.append(result is not None)
        return result

    with monkeypatch.context() as patch:
        patch.setattr(parsing, "read_feed", spy)
        return _outcome(lambda: parse_feed(data, source=SOURCE, headers=headers)), any(taken)


def _both(
    data: bytes, headers: dict[str, str] | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[ParsedFeed | tuple[str, str], ParsedFeed | tuple[str, str], bool]:
    """(parse_feed's result, feedparser's, whether the fast reader gave parse_feed its result)."""
    fast, taken = _fast(data, headers, monkeypatch)
    reference = _outcome(lambda: parsing._parse_feed(data, SOURCE, headers, fast=False))
    return fast, reference, taken


# --- the judge: the corpora and the bundled feeds ---------------------------------------------


@pytest.mark.parametrize(
    ("sub", "path"),
    corpus_params("bench")
    + corpus_params("news")
    + corpus_params("feedparser")
    + corpus_params("telegram"),
)
def test_the_fast_reader_gives_what_feedparser_gives(
    sub: str, path: Path | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_corpus(sub)
    assert path is not None
    data = path.read_bytes()
    served = _header_lines(data)
    # As read from disk, and as its test server would serve it (feedparser's http_* cases).
    for headers in [None, served] if served else [None]:
        fast, reference, _ = _both(data, headers, monkeypatch)
        assert fast == reference, headers


@pytest.mark.parametrize("path", BUNDLED, ids=[p.relative_to(ROOT).as_posix() for p in BUNDLED])
def test_the_bundled_feeds_read_alike(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, reference, _ = _both(path.read_bytes(), None, monkeypatch)
    assert fast == reference


def test_the_bundled_feeds_are_found_and_mostly_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(BUNDLED) >= 13
    taken = [_fast(path.read_bytes(), None, monkeypatch)[1] for path in BUNDLED]
    # Two are left to feedparser: an XHTML content (markup inside a text), windows-1251 undeclared.
    assert sum(taken) >= len(BUNDLED) - 2


def test_most_of_the_bench_corpus_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    require_corpus("bench")
    files = corpus_documents("bench")
    assert len(files) == 200
    taken = sum(_fast(path.read_bytes(), None, monkeypatch)[1] for path in files)
    assert taken >= BENCH_ACCEPTED_AT_LEAST, f"{taken} of {len(files)}"


# --- what the fast reader reads, as feedparser does -------------------------------------------


def _read(document: str, headers: dict[str, str] | None = None) -> ParsedFeed:
    """The document's feed, which the fast reader must have read, and read as feedparser does."""
    data = document.encode("utf-8")
    content_type = (headers or {}).get("Content-Type", "")
    assert read_feed(data, content_type) is not None, "declined"
    feed = parse_feed(data, source=SOURCE, headers=headers)
    assert feed == parsing._parse_feed(data, SOURCE, headers, fast=False)
    return feed


RSS_ITEM = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>Border &amp; Region</title>
    <atom:link rel="self" href="https://example.com/feeds/main.xml" type="application/rss+xml"/>
    <link>https://example.com/</link>
    <ttl>30</ttl>
    <item>
      <title>Shelling near &lt;Sudzha&gt;</title>
      <link>https://example.com/news/1?a=1&amp;b=2</link>
      <guid isPermaLink="false">news-1</guid>
      <description><![CDATA[<p>First <b>lines</b> &amp; more</p>]]></description>
      <content:encoded><![CDATA[<p>First <b>lines</b> &amp; more</p><p>The rest.</p>]]></content:encoded>
      <pubDate>Tue, 05 Mar 2024 10:30:00 +0300</pubDate>
      <dc:creator>Olena K.</dc:creator>
      <category>War</category>
      <category domain="https://example.com/tags">Kursk</category>
      <category>War</category>
    </item>
  </channel>
</rss>"""


def test_an_rss_item() -> None:
    feed = _read(RSS_ITEM)
    assert feed.title == "Border & Region"
    assert feed.link == "https://example.com/"
    assert feed.ttl_minutes == 30
    (item,) = feed.items
    assert item.key == "news-1"
    assert item.title == "Shelling near <Sudzha>"  # text with an entity: plain, not markup
    assert item.link == "https://example.com/news/1?a=1&b=2"
    assert item.summary == "First lines & more The rest."
    assert item.published == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert item.author == "Olena K."
    assert item.categories == ("War", "Kursk")


ATOM_ENTRIES = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">Field &lt;Notes&gt;</title>
  <link rel="alternate" type="text/html" href="https://blog.example.net/"/>
  <link rel="self" href="https://blog.example.net/atom.xml"/>
  <id>tag:blog.example.net,2024:feed</id>
  <entry>
    <title type="html">Notes from &lt;em&gt;Sudzha&lt;/em&gt; &amp;amp; Kursk</title>
    <link rel="enclosure" href="https://cdn.example.net/a.mp3"/>
    <link rel="alternate" href="https://blog.example.net/posts/sudzha"/>
    <id>tag:blog.example.net,2024:sudzha</id>
    <updated>2024-03-14T09:15:00+02:00</updated>
    <author><name>Ann</name><email>ann@example.net</email></author>
    <category term="reports" label="Reports"/>
    <summary type="text">AT&amp;T &lt;rocks&gt;</summary>
    <content type="html">&lt;p&gt;We reached the town at dawn.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title type="xhtml">Plain words &amp; an ampersand</title>
    <id>https://blog.example.net/posts/2</id>
    <published>2024-03-10T08:00:00Z</published>
    <updated>2024-03-12T08:00:00Z</updated>
    <content type="text">Text, AT&amp;T.</content>
  </entry>
</feed>"""


def test_atom_entries_with_text_html_and_xhtml_types() -> None:
    feed = _read(ATOM_ENTRIES)
    assert feed.title == "Field <Notes>"
    assert feed.link == "https://blog.example.net/"
    first, second = feed.items
    assert first.key == "tag:blog.example.net,2024:sudzha"
    assert first.title == "Notes from Sudzha & Kursk"
    assert first.link == "https://blog.example.net/posts/sudzha"
    assert first.summary == "AT&T <rocks> We reached the town at dawn."
    assert first.published == datetime(2024, 3, 14, 7, 15, tzinfo=UTC)
    assert first.author == "Ann (ann@example.net)"
    assert first.categories == ("reports",)
    assert second.title == "Plain words & an ampersand"
    # An Atom id is its entry's link when the entry has none; published before updated.
    assert second.link == "https://blog.example.net/posts/2"
    assert second.summary == "Text, AT&T."
    assert second.published == datetime(2024, 3, 10, 8, 0, tzinfo=UTC)


def test_cdata_and_entities() -> None:
    feed = _read(
        '<?xml version="1.0"?><rss version="2.0"><channel><title><![CDATA[Fish & <Chips>]]></title>'
        "<item><title>Caf&#233; &#8212; &#x41A;&#x443;&#x440;&#x441;&#x43A; &#150;</title>"
        "<description><![CDATA[a <![CDATA[ b ]]]]><![CDATA[> c]]></description>"
        "<guid>x</guid></item></channel></rss>"
    )
    assert feed.title == "Fish & <Chips>"
    (item,) = feed.items
    # &#150; is a C1 control; feedparser reads it as windows-1252's en dash, and so does the reader.
    assert item.title == "Café — Курск –"
    # The text is HTML: the CDATA section written inside it is a CDATA section there too.
    assert item.summary == "a b c"


def test_relative_links_resolve_as_feedparser_resolves_them() -> None:
    feed = _read(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:base="https://site.example/blog/"><title>T</title><link href="/"/>'
        '<entry><title>a</title><id>urn:a</id><link href="posts/a"/></entry>'
        '<entry xml:base="https://other.example/x/"><title>b</title><id>b</id>'
        '<link href="../b"/></entry></feed>'
    )
    assert feed.link == "https://site.example/"
    assert [(i.key, i.link) for i in feed.items] == [
        ("urn:a", "https://site.example/blog/posts/a"),
        # A relative Atom id is resolved too, like a link.
        ("https://other.example/x/b", "https://other.example/b"),
    ]
    rss = _read(
        '<rss version="2.0"><channel><title>T</title><link>/home</link>'
        "<item><title>a</title><link>/news/a</link></item>"
        "<item><title>b</title><guid>/news/b</guid></item></channel></rss>"
    )
    # Against the document's own URL; the key stays the link as written.
    assert rss.link == "https://example.com/home"
    assert [(i.key, i.link) for i in rss.items] == [
        ("/news/a", "https://example.com/news/a"),
        ("/news/b", "https://example.com/news/b"),
    ]


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        ("Tue, 05 Mar 2024 10:30:00 GMT", datetime(2024, 3, 5, 10, 30, tzinfo=UTC)),
        ("Tue, 05 Mar 2024 10:30:00 -0500", datetime(2024, 3, 5, 15, 30, tzinfo=UTC)),
        ("5 Mar 2024 10:30 EST", datetime(2024, 3, 5, 15, 30, tzinfo=UTC)),
        ("2024-03-05T10:30:00+03:00", datetime(2024, 3, 5, 7, 30, tzinfo=UTC)),
        ("2024-03-05T10:30:00.123Z", datetime(2024, 3, 5, 10, 30, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("yesterday at noon", None),
    ],
)
def test_dates_in_rfc_822_and_iso_forms(written: str, moment: datetime | None) -> None:
    for field in ("pubDate", "dc:date"):
        feed = _read(
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T'
            f"</title><item><title>a</title><{field}>{written}</{field}></item></channel></rss>"
        )
        assert feed.items[0].published == moment, field


@pytest.mark.parametrize(
    "doctype",
    [
        "<!DOCTYPE html>",
        '<!DOCTYPE feed PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">',
    ],
)
def test_a_doctype_without_entities_is_read_as_feedparser_reads_it(doctype: str) -> None:
    # feedparser drops such a DOCTYPE and reads the rest with its strict parser: so does the fast
    # reader (a blog's Atom feed on the bench corpus starts with <!DOCTYPE html>).
    feed = _read(
        f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Blog</title><entry><title>Kursk &amp; Belgorod</title><id>urn:1</id>"
        '<link href="https://example.com/1"/><summary type="html">&lt;p&gt;Raid&lt;/p&gt;</summary>'
        "</entry></feed>"
    )
    assert [(item.title, item.summary) for item in feed.items] == [("Kursk & Belgorod", "Raid")]


def test_an_rdf_feed() -> None:
    feed = _read(
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<channel rdf:about="https://rdf.example/"><title>RDF</title>'
        "<link>https://rdf.example/</link></channel>"
        '<item rdf:about="https://rdf.example/1"><title>One</title><dc:date>2024-01-02T03:04:05Z'
        "</dc:date><dc:subject>Tag</dc:subject></item></rdf:RDF>"
    )
    assert feed.title == "RDF"
    (item,) = feed.items
    assert (item.key, item.link) == ("https://rdf.example/1", None)
    assert item.published == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert item.categories == ("Tag",)


def test_duplicate_and_nested_titles_follow_feedparser() -> None:
    # feedparser keeps an item's first title over later ones at the same depth, and a media:title
    # deeper down does not replace it; a second description becomes a content.
    feed = _read(
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>'
        '<item><media:content url="https://m.example/v.mp4"><media:title>Clip</media:title>'
        "</media:content><title>First</title><title>Second</title>"
        "<description>One</description><description>Two</description></item>"
        # A media:title beside the title gives way to it; a dc:title does not.
        "<item><media:title>Media</media:title><title>Own</title></item>"
        "<item><dc:title>Dublin Core</dc:title><title>Own</title></item>"
        "</channel></rss>"
    )
    assert [(item.title, item.summary) for item in feed.items] == [
        ("First", "One Two"),
        ("Own", ""),
        ("Dublin Core", ""),
    ]


# --- what it declines, feedparser still reads -------------------------------------------------


@pytest.mark.parametrize(
    ("document", "content_type"),
    [
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS '
            b'0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91">'
            b"<channel><title>Old</title><item><title>One</title></item></channel></rss>",
            "",
            id="doctype",
        ),
        pytest.param(
            '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel>'
            "<title>Курск</title><item><title>Новости</title></item></channel></rss>".encode(
                "cp1251"
            ),
            "application/rss+xml; charset=koi8-r",
            id="charset-conflict",
        ),
        pytest.param(
            b'<rss version="2.0"><channel><title>T</title><item><title>a &nbsp; b</title>'
            b"</item></channel></rss>",
            "",
            id="not-well-formed",
        ),
        pytest.param(
            b'<rss version="2.0"><channel><title>T</title><item><title>x</title>'
            b"<description><p>Markup, <b>not escaped</b></p></description></item></channel></rss>",
            "",
            id="markup-in-a-text",
        ),
        pytest.param(
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>x</title>'
            b'<content type="image/png">iVBORw0KGgo=</content></entry></feed>',
            "",
            id="base64",
        ),
        pytest.param(
            b'<?xml version="1.0"?><opml version="2.0"><head><title>Subscriptions</title></head>'
            b"<body/></opml>",
            "",
            id="unknown-root",
        ),
    ],
)
def test_a_declined_document_is_read_by_feedparser(
    document: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert read_feed(document, content_type) is None
    headers = {"Content-Type": content_type} if content_type else None
    fast, reference, taken = _both(document, headers, monkeypatch)
    assert not taken
    assert fast == reference
    if isinstance(fast, ParsedFeed):
        assert fast.items


def test_the_charset_conflict_reads_as_the_server_says() -> None:
    document = (
        '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>x'
        "</title><item><title>Новости</title></item></channel></rss>"
    ).encode("koi8-r")
    feed = parse_feed(document, source=SOURCE, headers={"Content-Type": "text/xml; charset=koi8-r"})
    assert feed.items[0].title == "Новости"


# --- hostile documents ------------------------------------------------------------------------


def _laughs(levels: int) -> str:
    return '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, levels)
    )


@pytest.mark.timeout(20)
def test_billion_laughs_is_declined_and_not_expanded() -> None:
    document = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{_laughs(10)}]><rss version="2.0"><channel>'
        "<title>lol</title><item><title>&lol9;</title></item></channel></rss>"
    ).encode()
    # Handed the raw document, past the guard in parsing.py, the reader declines it still.
    assert read_feed(document, "") is None
    feed = parse_feed(document, source="lol")
    assert all(len(item.title) < 1_000 for item in feed.items)


def test_external_entities_are_declined(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    for prolog in (
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>',
        f'<!DOCTYPE rss SYSTEM "{secret.as_uri()}">',
    ):
        document = (
            f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>T</title>'
            "<item><title>a &xxe; b</title></item></channel></rss>"
        ).encode()
        assert read_feed(document, "") is None
        assert "TOPSECRET" not in repr(parse_feed(document, source="s"))


@pytest.mark.timeout(30)
def test_a_deeply_nested_document_is_declined_without_a_crash() -> None:
    depth = 20_000  # lxml stops at 256 levels; feedparser reads on
    document = (
        '<rss version="2.0"><channel><title>Deep</title><item><title>a</title>'
        + "<x>" * depth
        + "text"
        + "</x>" * depth
        + "</item></channel></rss>"
    ).encode()
    assert read_feed(document, "") is None
    result = _outcome(lambda: parse_feed(document, source="deep"))
    assert isinstance(result, ParsedFeed | tuple)


def test_nesting_within_lxmls_limit_reads_alike() -> None:
    nested = "<x>" * 200 + "text" + "</x>" * 200
    feed = _read(
        f'<rss version="2.0"><channel><title>Deep</title><item><title>a</title>{nested}'
        "</item></channel></rss>"
    )
    assert [item.title for item in feed.items] == ["a"]
