"""Tests of bot.sources.parsing: data files beside their expected items, the shared corpora (from disk and
over HTTP), hostile documents, and html_to_text under hypothesis."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import ParsedFeed, ParsedItem
from bot.core.errors import ParseError
from bot.sources import parsing
from bot.sources.parsing import MAX_KEY_LENGTH, MAX_SUMMARY_LENGTH, html_to_text, parse_feed
from tests.fakes.feed_server import FeedServer
from tests.shared_corpus import CORPUS, corpus_documents, require_corpus

DATA = Path(__file__).parents[1] / "data" / "parsing"


def _corpus_files(sub: str) -> list[Any]:
    """Every document of a corpus folder, as pytest params; one failing/skipping param if absent."""
    folder = CORPUS / sub
    files = corpus_documents(sub)
    if not files:
        return [pytest.param(None, id=f"{sub}-missing")]
    return [pytest.param(p, id=p.relative_to(folder).as_posix()) for p in files]


def _as_json(feed: ParsedFeed) -> dict[str, Any]:
    def item(it: ParsedItem) -> dict[str, Any]:
        out = asdict(it)
        # A Telegram post's facts (bot/sources/telegram_page.py): a feed's item has none.
        channel = ("forwarded_from", "views", "media", "edited", "cites")
        assert [out.pop(name) for name in channel] == [None, None, (), False, None]
        out["published"] = it.published.isoformat() if it.published else None
        # An author and categories are written down where the document gives them.
        if out["author"] is None:
            del out["author"]
        out["categories"] = list(out["categories"])
        if not out["categories"]:
            del out["categories"]
        return out

    return {"title": feed.title, "link": feed.link, "items": [item(it) for it in feed.items]}


def _rss(items: str, *, prolog: str = '<?xml version="1.0" encoding="utf-8"?>\n') -> bytes:
    return (
        f'{prolog}<rss version="2.0"><channel><title>T</title>'
        f"<link>https://example.com/</link>{items}</channel></rss>"
    ).encode()


# --- data files beside their expectations ----------------------------------------------------

EXPECTED = sorted(DATA.glob("*.expected.json"))


def test_data_files_have_expectations() -> None:
    documents = {p.name for p in DATA.iterdir() if not p.name.endswith(".expected.json")}
    assert len(EXPECTED) >= 6
    assert documents == {p.name.removesuffix(".expected.json") for p in EXPECTED}


@pytest.mark.parametrize("expected_path", EXPECTED, ids=lambda p: p.name.split(".")[0])
def test_data_file_parses_to_its_expected_items(expected_path: Path) -> None:
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    document = expected_path.with_name(expected_path.name.removesuffix(".expected.json"))
    headers = expected.pop("headers", None)

    feed = parse_feed(document.read_bytes(), source=document.name, headers=headers)

    assert _as_json(feed) == expected
    again = parse_feed(document.read_bytes(), source=document.name, headers=headers)
    assert [it.key for it in again.items] == [it.key for it in feed.items]


def test_hash_keys_are_sha256_of_title_and_summary() -> None:
    feed = parse_feed((DATA / "rss2_hash_key.xml").read_bytes(), source="hash")
    for item in feed.items:
        digest = hashlib.sha256(f"{item.title}\n{item.summary}".encode()).hexdigest()
        assert item.key == "sha256:" + digest
    assert len({item.key for item in feed.items}) == len(feed.items)


def test_windows_1251_needs_the_header_to_decode() -> None:
    raw = (DATA / "cp1251_without_declaration.xml").read_bytes()
    served = parse_feed(raw, source="x", headers={"content-type": "text/xml; charset=windows-1251"})
    assert served.title == "Курские новости"
    guessed = parse_feed(raw, source="x")  # no header, no declaration: a guess, but no crash
    assert len(guessed.items) == len(served.items)


def test_false_utf16_declaration_is_ignored_whatever_the_byte_count() -> None:
    raw = (DATA / "utf16_declared_on_utf8.xml").read_bytes()
    expected = parse_feed(raw, source="even")
    # feedparser believes the declaration when the length is even; an odd length hid that.
    assert len(raw) % 2 == 0
    assert parse_feed(raw + b"\n", source="odd") == expected
    header = {"Content-Type": "application/rss+xml; charset=UTF-16"}
    assert parse_feed(raw, source="served", headers=header) == expected


# --- items ---------------------------------------------------------------------------------------


def test_long_keys_are_hashed_to_at_most_512_characters() -> None:
    guid = "urn:x:" + "k" * 600
    feed = parse_feed(_rss(f"<item><title>a</title><guid>{guid}</guid></item>"), source="s")
    (item,) = feed.items
    assert item.key == "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    assert len(item.key) <= MAX_KEY_LENGTH


def test_a_long_summary_is_kept_whole() -> None:
    words = " ".join(f"word{i}" for i in range(20_000))
    feed = parse_feed(
        _rss(f"<item><title>a</title><description>{words}</description></item>"), source="s"
    )
    assert len(words) > 100_000
    assert feed.items[0].summary == words


def test_long_html_summary_is_its_whole_text() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i} with <b>bold</b> text &amp; more.</p>" for i in range(3000)
    )
    feed = parse_feed(
        _rss(f"<item><title>a</title><description><![CDATA[{paragraphs}]]></description></item>"),
        source="s",
    )
    full = html_to_text(paragraphs)
    assert len(full) > 50_000
    assert feed.items[0].summary == full


@pytest.mark.timeout(60)
def test_text_past_the_defensive_cap_is_cut_at_a_word_boundary() -> None:
    # Only a body larger than the fetcher's default cap (10 MiB) can hold so long an item.
    words = " ".join(f"w{i:07d}" for i in range(MAX_SUMMARY_LENGTH // 9 + 1_000))
    feed = parse_feed(
        _rss(f"<item><title>a</title><description>{words}</description></item>"), source="s"
    )
    summary = feed.items[0].summary
    assert len(summary) <= MAX_SUMMARY_LENGTH
    assert summary.endswith("…")
    kept = summary.removesuffix("…")
    assert len(kept) > MAX_SUMMARY_LENGTH - 20
    assert words.startswith(kept)
    assert words[len(kept)] == " "


ATOM_ENTRY = """<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
  <entry><id>urn:e</id><title>a</title>{}</entry></feed>"""


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        pytest.param(
            '<summary>Drones hit a depot.</summary><content type="html">&lt;p&gt;Officials in '
            "Kursk said.&lt;/p&gt;</content>",
            "Drones hit a depot. Officials in Kursk said.",
            id="summary-then-content",
        ),
        pytest.param(
            '<summary type="html">&lt;b&gt;Drones&lt;/b&gt; hit a depot.</summary>'
            '<content type="html">&lt;p&gt;Drones hit a depot.&lt;/p&gt;</content>',
            "Drones hit a depot.",
            id="the-same-text-once",
        ),
        pytest.param(
            "<summary>Drones hit a depot.</summary>"
            '<content type="html">Drones hit a depot. &lt;p&gt;Officials in Kursk said.</content>',
            "Drones hit a depot. Officials in Kursk said.",
            id="content-goes-on-from-the-summary",
        ),
        pytest.param(
            "<summary>Drones hit a dep…</summary>"
            '<content type="html">Drones hit a depot. &lt;p&gt;Officials in Kursk said.</content>',
            "Drones hit a depot. Officials in Kursk said.",
            id="a-teaser-cut-mid-word",
        ),
        pytest.param(
            "<summary>Drones hit a depot [...] The post Raid appeared first on Wire.</summary>"
            '<content type="html">Drones hit a depot. &lt;p&gt;Officials in Kursk said.</content>',
            "Drones hit a depot. Officials in Kursk said. The post Raid appeared first on Wire.",
            id="what-follows-a-teaser-stays",
        ),
        pytest.param(
            "<summary>Drones hit a depot... what next?</summary>"
            "<content>Drones, officials said.</content>",
            "Drones hit a depot... what next? Drones, officials said.",
            id="an-ellipsis-that-is-no-teaser",
        ),
        pytest.param(
            "<summary>In the photo: the depot after the raid.</summary><content>the depot</content>",
            "In the photo: the depot after the raid.",
            id="content-the-summary-holds",
        ),
        pytest.param(
            '<content type="html">&lt;p&gt;Only content, in Kursk.&lt;/p&gt;</content>',
            "Only content, in Kursk.",
            id="content-alone",
        ),
    ],
)
def test_the_summary_is_the_summary_then_what_the_content_adds(fields: str, text: str) -> None:
    (item,) = parse_feed(ATOM_ENTRY.format(fields).encode(), source="s").items
    assert item.summary == text


def test_every_content_of_an_rss_item_is_read_once() -> None:
    # A caption (text/plain, from Media RSS) and the article, which repeats it.
    feed = parse_feed(
        _rss(
            "<item><title>a</title><description>Rescuers at work.</description>"
            '<media:content url="https://e.example/p.jpg"><media:description>Rescuers in Sudzha'
            "</media:description></media:content><content:encoded><![CDATA[<p>Rescuers in "
            "Sudzha.</p><p>Officials in Kursk said.</p>]]></content:encoded></item>",
            prolog='<?xml version="1.0"?>',
        ).replace(
            b'<rss version="2.0">',
            b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            b' xmlns:media="http://search.yahoo.com/mrss/">',
        ),
        source="s",
    )
    (item,) = feed.items
    assert item.summary == "Rescuers at work. Rescuers in Sudzha. Officials in Kursk said."


def test_a_content_equal_to_the_summary_is_read_as_its_own_type() -> None:
    # _item reads a content that repeats the summary only once, when both are read the same way:
    # a summary feedparser copied from the content (no summary_detail) is HTML like it. Written
    # once as text and once as HTML, "a<br>b" is two texts, and the item has both.
    copied = _rss(
        "<item><title>a</title><content:encoded>&lt;p&gt;Kursk &amp;amp; Sudzha&lt;/p&gt;"
        "</content:encoded></item>"
    ).replace(
        b'<rss version="2.0">',
        b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
    )
    (item,) = parse_feed(copied, source="s").items
    assert item.summary == "Kursk & Sudzha"
    for summary_type, content_type, text in [
        ("text", "html", "a<br>b a b"),
        ("html", "text", "a b a<br>b"),
        ("html", "html", "a b"),
    ]:
        fields = (
            f'<summary type="{summary_type}">a&lt;br&gt;b</summary>'
            f'<content type="{content_type}">a&lt;br&gt;b</content>'
        )
        (item,) = parse_feed(ATOM_ENTRY.format(fields).encode(), source="s").items
        assert item.summary == text, (summary_type, content_type)


def test_hash_keys_stay_those_of_the_summary_alone() -> None:
    # No guid, no link: the key hashes the title and 2,000 characters of the summary, as before
    # the content was read; an upgrade must not make such items new.
    description = " ".join(f"word{i}" for i in range(1_000))
    feed = parse_feed(
        _rss(
            f"<item><title>a</title><description>{description}</description>"
            "<content:encoded>Officials in Kursk said.</content:encoded></item>"
        ).replace(
            b'<rss version="2.0">',
            b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        ),
        source="s",
    )
    (item,) = feed.items
    assert item.summary == f"{description} Officials in Kursk said."
    cut = parsing.cut(description, 2000)
    assert item.key == "sha256:" + hashlib.sha256(f"a\n{cut}".encode()).hexdigest()


def test_published_falls_back_to_updated_and_is_utc() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title>a</title><id>1</id><updated>2024-01-02T03:04:05-05:00</updated></entry></feed>"""
    (item,) = parse_feed(atom, source="s").items
    assert item.published is not None
    assert item.published.isoformat() == "2024-01-02T08:04:05+00:00"


def test_relative_links_resolve_against_the_source_url_but_keys_do_not_change() -> None:
    raw = (DATA / "rss2_link_key.xml").read_bytes()
    from_disk = parse_feed(raw, source="rss2_link_key.xml")
    fetched = parse_feed(raw, source="https://mirror.example.net/feeds/wire.xml")
    assert fetched.items[1].link == "https://mirror.example.net/2024/03/relative"
    assert [i.key for i in fetched.items] == [i.key for i in from_disk.items]


def test_content_location_does_not_change_atom_ids() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
      <entry><title>a</title><id>posts/1</id><link href="posts/1.html"/></entry></feed>"""
    plain = parse_feed(atom, source="s")
    located = parse_feed(atom, source="s", headers={"Content-Location": "https://h.example/f/atom"})
    assert plain.items[0].key == located.items[0].key == "posts/1"
    assert located.items[0].link == "https://h.example/f/posts/1.html"


def test_entries_with_nothing_to_show_are_skipped_and_no_others() -> None:
    items = "".join(
        [
            '<item><guid isPermaLink="false">only-a-guid</guid></item>',
            "<item><pubDate>Tue, 12 Mar 2024 09:30:00 GMT</pubDate></item>",
            "<item><title>t</title></item>",
            "<item><description>d</description></item>",
            "<item><link>https://example.com/l</link></item>",
            "<item><title>t</title></item>",  # a duplicate is kept: storage decides
        ]
    )
    feed = parse_feed(_rss(items), source="s")
    assert [(i.title, i.summary, i.link) for i in feed.items] == [
        ("t", "", None),
        ("", "d", None),
        ("", "", "https://example.com/l"),
        ("t", "", None),
    ]


def test_gzip_body_without_content_encoding_is_decompressed() -> None:
    raw = (DATA / "rss2_guid.xml").read_bytes()
    assert parse_feed(gzip.compress(raw), source="gz") == parse_feed(raw, source="gz")


def test_damaged_or_huge_gzip_body_is_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    compressed = gzip.compress((DATA / "rss2_guid.xml").read_bytes())
    with pytest.raises(ParseError, match="damaged or truncated"):
        parse_feed(compressed[:40], source="gz")
    monkeypatch.setattr(parsing, "MAX_DECOMPRESSED_BYTES", 100)
    with pytest.raises(ParseError, match="larger than"):
        parse_feed(compressed, source="gz")


# --- documents that are not feeds ------------------------------------------------------------

NOT_FEEDS = [
    pytest.param(b"", "the document is empty", id="empty"),
    pytest.param(b" \r\n\t ", "the document is empty", id="blank"),
    pytest.param(
        b"<!DOCTYPE html>\n<html lang='en'><head><title>Home</title></head><body><p>Hi</p></body></html>",
        "not a feed: looks like an HTML page",
        id="html5",
    ),
    pytest.param(
        b"<html><head><title>x</title><body><p>unclosed",
        "not a feed: looks like an HTML page",
        id="html-no-doctype",
    ),
    pytest.param(
        b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        "not a feed: looks like an HTML page",
        id="xhtml",
    ),
    pytest.param(
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><title>p</title></svg>',
        "not a feed: an XML document whose root element is <svg>, not RSS or Atom",
        id="svg",
    ),
    pytest.param(
        b'{"data": [1, 2, 3], "version": "2.0"}',
        "not a feed: looks like JSON, but not a JSON Feed, RSS or Atom",
        id="json",
    ),
    pytest.param(
        b"[" * 100_000 + b"]" * 100_000,
        "not a feed: looks like JSON, but not a JSON Feed, RSS or Atom",
        id="json-nested-deep",
    ),
    pytest.param(
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        "not a feed: looks like JSON, but not a JSON Feed, RSS or Atom",
        id="json-object-nested-deep",
    ),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data", id="png"),
    pytest.param(b"Service Unavailable", "plain text, not an XML document", id="text"),
    pytest.param(
        b'<?xml version="1.0"?>\n<!-- nothing -->', "has no XML elements", id="no-element"
    ),
    pytest.param(
        b"<?xml version='1.0'?><a><b></a>", "malformed XML at line 1, column", id="mismatch"
    ),
    pytest.param(
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "b">',
        "the DOCTYPE declaration never ends",
        id="open-doctype",
    ),
]


@pytest.mark.parametrize(("content", "reason"), NOT_FEEDS)
def test_not_a_feed_is_a_parse_error_in_plain_words(content: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(content, source="https://example.com/feed")
    assert caught.value.source == "https://example.com/feed"
    assert reason in caught.value.reason
    assert not re.search(r"Exception|Error|SAX|bozo", caught.value.reason)


def test_html_served_as_html_is_called_a_page() -> None:
    with pytest.raises(ParseError, match="looks like an HTML page"):
        parse_feed(b"Oops <b>maintenance</b>", source="s", headers={"Content-Type": "text/html"})


XMLISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                '<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>', "<!DOCTYPE rss [",
                "]>", '<!ENTITY a "x">', '<!ENTITY b SYSTEM "file:///nonexistent">', "&a;", "&b;",
                '<rss version="2.0">', "</rss>", "<channel>", "<item>", "</item>", "<title>",
                "</title>", "<link>", "</link>", "<guid>", "</guid>", "<description>", "<![CDATA[",
                "]]>", '<feed xmlns="http://www.w3.org/2005/Atom">', "<entry>", "</entry>", "<id>",
                "</id>", "<pubDate>", "9999-99-99", "&amp;", "&lt;b&gt;", "<", ">", '"', "<!--",
                "-->", "Курск", "\x00", "<html>", "/relative", '<link rel="alternate" href="x"/>',
            ]
        ),
        st.text(max_size=5),
    ),
    max_size=40,
).map("".join)  # fmt: skip


@given(
    st.one_of(
        st.binary(max_size=200),
        st.tuples(XMLISH, st.sampled_from(["utf-8", "utf-16", "utf-32-le", "cp1251"])).map(
            lambda doc: doc[0].encode(doc[1], "replace")
        ),
    ),
    st.sampled_from(
        [None, {"Content-Type": "text/html"}, {"Content-Type": "text/xml; charset=utf-16"}]
    ),
)
@settings(max_examples=300, deadline=None)
def test_any_bytes_give_a_feed_or_a_parse_error(
    content: bytes, headers: dict[str, str] | None
) -> None:
    reason = ""
    try:
        feed = parse_feed(content, source="fuzz", headers=headers)
    except ParseError as error:
        reason = error.reason
    else:
        assert all(0 < len(item.key) <= MAX_KEY_LENGTH for item in feed.items)
    assert not re.search(r"Exception|SAX", reason)


# --- hostile documents -----------------------------------------------------------------------


def _blow_up(encoding: str = "utf-8", *, padding: str = "") -> bytes:
    entity = "A" * 50_000
    references = "&big;" * 5_000
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n{padding}'
        f'<!DOCTYPE rss [\n<!ENTITY big "{entity}">\n<!ENTITY nbsp "&#160;">\n]>\n'
        f'<rss version="2.0"><channel><title>Blow-up</title><item><title>x&nbsp;y {references}</title>'
        f"<description>{references}</description></item></channel></rss>"
    ).encode(encoding)


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("encoding", "padding"),
    [
        ("utf-8", ""),
        ("utf-16", ""),
        ("utf-16-be", ""),
        ("utf-32", ""),
        ("utf-8", "<!-- " + "padding " * 2_000 + "-->\n<?pi " + "x" * 10_000 + "?>\n"),
    ],
    ids=["utf-8", "utf-16", "utf-16-be", "utf-32", "after-long-comment"],
)
def test_quadratic_blow_up_is_not_expanded(encoding: str, padding: str) -> None:
    feed = parse_feed(_blow_up(encoding, padding=padding), source="blow-up")
    (item,) = feed.items
    assert feed.title == "Blow-up"
    assert len(item.title) <= parsing.MAX_TITLE_LENGTH
    # The undefined references stay as written: the text is no longer than the document.
    assert len(item.summary) <= len(_blow_up(encoding, padding=padding))
    assert "A" * 1_000 not in item.title + item.summary
    assert item.title.startswith("x y")  # an HTML entity name still reads as HTML


@pytest.mark.timeout(20)
def test_billion_laughs_stays_small() -> None:
    lol = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1 if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    raw = _rss(
        "<item><title>&lol9;</title></item>", prolog=f'<?xml version="1.0"?><!DOCTYPE rss [{lol}]>'
    )
    feed = parse_feed(raw, source="lol")
    assert all(len(item.title) < 1_000 for item in feed.items)


def test_small_entities_in_the_doctype_still_expand() -> None:
    prolog = '<?xml version="1.0"?>\n<!DOCTYPE rss [\n  <!ENTITY id "tag:example.com,">\n]>\n'
    raw = _rss("<item><title>a</title><guid>&id;2006-05-04:/blog/</guid></item>", prolog=prolog)
    assert parse_feed(raw, source="s").items[0].key == "tag:example.com,2006-05-04:/blog/"


def test_doctype_without_entities_parses_normally() -> None:
    raw = b"""<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Old</title><link>http://old.example/</link>
<item><title>One</title><link>http://old.example/1</link></item></channel></rss>"""
    feed = parse_feed(raw, source="s")
    assert feed.title == "Old"
    assert [i.key for i in feed.items] == ["http://old.example/1"]


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    for prolog in (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>',
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]>',
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{secret.as_uri()}">',
    ):
        raw = _rss(
            "<item><title>a &xxe; b</title><description>&xxe;</description></item>", prolog=prolog
        )
        feed = parse_feed(raw, source="s")
        assert "TOPSECRET" not in repr(feed)


# --- html_to_text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Kursk</p><p>region</p>", "Kursk region"),
        ("<b>Ku</b>rsk", "Kursk"),
        ("line one<br>line two<br/>three", "line one line two three"),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
        ("<div>a</div><div>b</div>", "a b"),
        ("x<script>alert('<p>no</p>')</script>y", "xy"),
        ("<style>p { color: red }</style>Text", "Text"),
        ("<SCRIPT type='text/javascript'>var a = 1 < 2;</SCRIPT>after", "after"),
        ("Tom &amp; Jerry &mdash; &laquo;ok&raquo; &#8212; &#x41;", "Tom & Jerry — «ok» — A"),
        ("&amp;lt;p&amp;gt; stays escaped once", "&lt;p&gt; stays escaped once"),
        ("a &bogus; b", "a &bogus; b"),
        ("<p>unclosed <b>bold", "unclosed bold"),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("read more <a href='https://ex", "read more"),
        ("cut <!-- comment", "cut"),
        ("x </p", "x"),
        ("a <3 b", "a <3 b"),
        ("text <!-- a comment --> more", "text more"),
        ("<![CDATA[inside]]> outside", "inside outside"),
        ("  spaced \n\t out\u00a0 text  ", "spaced out text"),
        ("nul\x00 and \x07bell", "nul and bell"),
        ("<p>a</p>\n\n<p>b</p>", "a b"),
        ("<![if !supportLists]>·<![endif]>Item", "·Item"),
        ("</p>", ""),
        ("", ""),
    ],
)
def test_html_to_text_examples(html: str, text: str) -> None:
    assert html_to_text(html) == text


HTML_PIECES = st.sampled_from(
    [
        "<p>", "</p>", "<br>", "<br/>", "<b>", "</b>", "<div class='x'>", "</div>", "<script>",
        "</script>", "<style>", "</style>", "&amp;", "&lt;", "&gt;", "&#x41;", "&#0;", "&#xD800;",
        "&bogus;", "&", "<", ">", "<!--", "-->", "<![CDATA[", "]]>", "<![if x]>", "<!DOCTYPE html>",
        "<?php ?>", "<a href='", "'>", "Курск", "word", " ", "\n", "\x00", "\ufffd", "</", "<!",
    ]
)  # fmt: skip
HTMLISH = st.lists(st.one_of(HTML_PIECES, st.text(max_size=8)), max_size=40).map("".join)


@given(st.one_of(st.text(), HTMLISH))
@settings(max_examples=400, deadline=None)
def test_html_to_text_never_raises_and_is_tidy(html: str) -> None:
    text = html_to_text(html)
    assert text == text.strip()
    assert "  " not in text
    assert not re.search(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\n\r\t]", text)


@given(st.one_of(st.text(), HTMLISH))
@settings(max_examples=300, deadline=None)
def test_html_to_text_is_idempotent_on_plain_output(html: str) -> None:
    text = html_to_text(html)
    if "<" not in text and "&" not in text:
        assert html_to_text(text) == text


WORDS = st.text(alphabet=st.characters(exclude_characters="<>&", exclude_categories=["Cs", "Cc"]))
INLINE = st.sampled_from(
    ["<b>", "</b>", "<i>", "</i>", "<span class='x'>", "</span>", "<a href='u'>"]
)
BLOCK_TAGS = ["<p>", "</p>", "<br>", "<div>", "</div>", "<li>", "</li>", "<hr/>"]
BLOCK = st.sampled_from(BLOCK_TAGS)


@given(st.lists(st.tuples(WORDS, st.one_of(INLINE, BLOCK)), max_size=12), WORDS)
@settings(max_examples=300, deadline=None)
def test_tags_never_survive_and_block_tags_separate_words(
    pieces: list[tuple[str, str]], last: str
) -> None:
    html = "".join(word + tag for word, tag in pieces) + last
    expected = "".join(word + (" " if tag in BLOCK_TAGS else "") for word, tag in pieces) + last
    text = html_to_text(html)
    assert text == " ".join(expected.split())
    for _, tag in pieces:
        assert tag not in text


# The markup most feeds write, which html_to_text reads without html.parser: it must read it alike.
WELL_FORMED = st.sampled_from(
    [
        "<p>", "</p>", "<P class=\"a>b\">", "</P >", "<br/>", "<BR>", "<img src=x/>", "<hr />",
        "<a href='u' title=\"x\">", "</a>", "<b>", "</B>", "<o:p>", "</o:p>", "<my-el data-x=1>",
        "</my-el>", "<li\nclass = 'x'>", "<!-- c -->", "<!---->", "<!-- <p> a-b -->",
        "<script>var a = '<b>' < 2;</script>", "<style>p{}</style>", "<SCRIPT src=x></script >",
        "</script>", "&amp;", "&lt;", "&#x41;", "&#1050;", "&nbsp;", "&am", "p;", "&", ";", "&#12",
        "amp;", "Курск", "word", " ", "\n", "\u00a0", "a < b", "<3", ">", "\x00", "'", '"', "=",
    ]
)  # fmt: skip


@given(st.lists(st.one_of(WELL_FORMED, WORDS), max_size=40).map("".join))
@settings(max_examples=400, deadline=None)
def test_well_formed_markup_is_read_without_html_parser_and_alike(html: str) -> None:
    fast = parsing._text_of_plain_markup(html)
    assert fast is not None
    assert fast == parsing._text_by_parser(html)


@given(st.lists(st.one_of(WELL_FORMED, HTML_PIECES, st.text(max_size=8)), max_size=40).map("".join))
@settings(max_examples=400, deadline=None)
def test_other_markup_is_left_to_html_parser(html: str) -> None:
    fast = parsing._text_of_plain_markup(html)
    assert fast is None or fast == parsing._text_by_parser(html)


# Malformed markup that made html.parser rescan its input (fed in 2 KB steps, as long summaries were
# before the whole text was kept, a megabyte of `<a x='` took 25 s; fed whole, a fraction), and
# unfinished tags that the regex of well-formed markup might backtrack on.
MALFORMED = ["<a x='", "<!--", "<a", "</", "<?", "<![", "<p>x", "< ", "&#", "&amp"]
MALFORMED += ["<a b ", "<a b=c", "<a\n", "<p ", "<!-- -", "<script>", "<style>a</", "<a b='"]


@pytest.mark.timeout(60)
def test_html_to_text_is_linear_on_malformed_markup() -> None:
    for piece in MALFORMED:
        text = html_to_text("Kursk " + piece * (1_000_000 // len(piece)))
        assert text.startswith("Kursk")


@pytest.mark.timeout(60)
def test_megabytes_of_malformed_markup_in_a_summary_parse_in_linear_time() -> None:
    description = "Kursk <a x='" * 250_000  # 3 MB: minutes in 2 KB steps
    feed = parse_feed(
        _rss(f"<item><title>a</title><description><![CDATA[{description}]]></description></item>"),
        source="s",
    )
    assert feed.items[0].summary == "Kursk"


# --- the shared corpora ----------------------------------------------------------------------


@pytest.mark.parametrize("path", _corpus_files("news"))
def test_every_news_corpus_feed_has_items(path: Path | None) -> None:
    require_corpus("news")
    assert path is not None
    feed = parse_feed(path.read_bytes(), source=path.name)
    assert feed.items, f"{path.name} gave no items"
    assert all(item.title or item.summary or item.link for item in feed.items)
    assert all(0 < len(item.key) <= MAX_KEY_LENGTH for item in feed.items)
    assert len({item.key for item in feed.items}) == len(feed.items)
    assert parse_feed(path.read_bytes(), source=path.name) == feed  # stable across parses


def _header_lines(data: bytes) -> dict[str, str]:
    """The HTTP headers a feedparser test case asks for in its leading comment (`Header: X: y`)."""
    codec = parsing._wide_codec(data) or "latin-1"
    text = data[:4096].decode(codec, "replace")
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\s*Header:\s*([^:\s]+):[ \t]*(.*?)\s*$", text, re.MULTILINE)
    }


# The two feedparser cases that are not feeds to us: an empty document (only a comment) and a CDF
# channel with a title and no items (feedparser finds no version in it either).
FEEDPARSER_CASES_NOT_FEEDS = {
    "illformed/rss_empty_document.xml": "not a feed: the document has no XML elements",
    "wellformed/cdf/channel_title.xml": (
        "not a feed: an XML document whose root element is <CHANNEL>, not RSS or Atom"
    ),
}


@pytest.mark.parametrize("path", _corpus_files("feedparser"))
def test_feedparser_case_gives_a_feed_or_a_parse_error(path: Path | None) -> None:
    folder = require_corpus("feedparser")
    assert path is not None
    name = path.relative_to(folder).as_posix()
    data = path.read_bytes()
    expected_error = FEEDPARSER_CASES_NOT_FEEDS.get(name)
    if expected_error is None:
        assert isinstance(parse_feed(data, source=name, headers=_header_lines(data)), ParsedFeed)
    else:
        with pytest.raises(ParseError) as caught:
            parse_feed(data, source=name, headers=_header_lines(data))
        assert caught.value.reason == expected_error


def test_header_lines_of_feedparser_cases_are_read() -> None:
    folder = require_corpus("feedparser")
    data = (folder / "encoding" / "http_text_xml_charset.xml").read_bytes()
    assert _header_lines(data) == {"Content-type": 'text/xml;charset= "us-ascii"'}


# --- the same documents over HTTP ------------------------------------------------------------


def _fetch(url: str) -> httpx.Response:
    with httpx.Client(timeout=10) as client:
        response = client.get(url)
    response.raise_for_status()
    return response


@pytest.mark.parametrize(
    ("served", "content_type", "gzip_it", "on_disk"),
    [
        ("nfp_iconv.xml", "text/xml; charset=windows-1251", False, "nfp_iconv.xml"),
        ("nfp_iconv.xml", "application/rss+xml", True, "nfp_compressed.xml"),
        ("rssp_guardian.rss", "application/rss+xml; charset=utf-8", False, "rssp_guardian.rss"),
    ],
    ids=["windows-1251", "content-encoding-gzip", "guardian"],
)
def test_served_over_http_gives_the_items_read_from_disk(
    feed_server: FeedServer, served: str, content_type: str, gzip_it: bool, on_disk: str
) -> None:
    folder = require_corpus("news")
    body = (folder / served).read_bytes()
    headers = {"Content-Encoding": "gzip"} if gzip_it else None
    url = feed_server.add(
        "/feed",
        gzip.compress(body) if gzip_it else body,
        content_type=content_type,
        headers=headers,
    )

    response = _fetch(url)
    over_http = parse_feed(response.content, source=url, headers=response.headers)
    from_disk = parse_feed((folder / on_disk).read_bytes(), source=on_disk)

    assert over_http.items == from_disk.items
    assert over_http.title == from_disk.title
    assert len(over_http.items) >= 10
    assert feed_server.hits("/feed") == 1


@pytest.mark.parametrize(
    ("ttl", "minutes"), [("90", 90), (" 15 ", 15), ("0", None), ("soon", None)]
)
def test_an_rss_ttl_is_read_in_minutes(ttl: str, minutes: int | None) -> None:
    document = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        f"<ttl>{ttl}</ttl><item><title>A</title><guid>a</guid></item></channel></rss>"
    ).encode()
    assert parse_feed(document, source="ttl.rss").ttl_minutes == minutes


# --- JSON Feed -------------------------------------------------------------------------------


def _json_feed(**document: Any) -> bytes:
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", **document}).encode()


def test_a_json_feed_gives_its_items_with_plain_text_links_and_dates() -> None:
    data = _json_feed(
        title="Kyiv Wire",
        home_page_url="https://kyiv-wire.example/",
        items=[
            {
                "id": "urn:kw:1",
                "url": "/2024/03/12/rdk-raid",
                "title": "РДК заявил о рейде в Курской области",
                "summary": "Бойцы  Русского добровольческого корпуса\n сообщили",
                "date_published": "2024-03-12T08:40:00+02:00",
            },
            {
                "id": "urn:kw:2",
                "external_url": "https://other.example/story",
                "content_html": "<p>Legion <b>«Freedom of Russia»</b></p><p>crossed</p>",
                "date_modified": "2024-03-12T07:00:00Z",
            },
            {"id": "urn:kw:3", "content_text": "Text only, no title"},
            {"id": "urn:kw:4"},
            "not an item",
        ],
    )
    feed = parse_feed(data, source="https://kyiv-wire.example/feed.json")
    assert feed.title == "Kyiv Wire"
    assert feed.link == "https://kyiv-wire.example/"
    first, second, third = feed.items
    assert first == ParsedItem(
        key="urn:kw:1",
        title="РДК заявил о рейде в Курской области",
        link="https://kyiv-wire.example/2024/03/12/rdk-raid",
        summary="Бойцы Русского добровольческого корпуса сообщили",
        published=datetime(2024, 3, 12, 6, 40, tzinfo=UTC),
    )
    assert (second.link, second.summary) == (
        "https://other.example/story",
        "Legion «Freedom of Russia» crossed",
    )
    assert second.published == datetime(2024, 3, 12, 7, 0, tzinfo=UTC)
    assert (third.title, third.summary, third.published) == ("", "Text only, no title", None)


def test_a_json_feed_with_a_bad_date_or_long_fields_still_parses() -> None:
    data = _json_feed(
        items=[{"url": "https://a.example/x", "title": "x " * 2000, "date_published": "soon"}]
    )
    [item] = parse_feed(data, source="feed.json").items
    assert item.key == "https://a.example/x"
    assert item.published is None
    assert len(item.title) <= parsing.MAX_TITLE_LENGTH


def test_the_bench_corpus_json_feed_is_read() -> None:
    folder = require_corpus("bench")
    documents = [p for p in folder.iterdir() if p.is_file() and p.read_bytes()[:1] == b"{"]
    assert documents, "the bench corpus has a JSON Feed document"
    for path in documents:
        feed = parse_feed(path.read_bytes(), source="https://example.org/feed.json")
        expected = json.loads(path.read_bytes())["items"]
        assert len(feed.items) == len(expected)
        assert all(item.title and item.link for item in feed.items)


# --- items that report a channel's post --------------------------------------------------------


def test_an_item_that_links_to_a_channel_post_cites_it() -> None:
    """An outlet that reports a post links to it: the item names the post, so that a story joins
    them whatever their titles say; the first cited post counts, in any spelling of its address."""
    feed = parse_feed(
        _rss(
            "<item><guid>a</guid><title>Corps says it took 25 prisoners</title>"
            "<description>&lt;p&gt;As the corps &lt;a href=&quot;https://t.me/RusVolCorps/1234"
            "?single&quot;&gt;wrote&lt;/a&gt;, and later t.me/s/other_chan/9&lt;/p&gt;"
            "</description></item>"
            "<item><guid>b</guid><title>No channel here</title>"
            "<description>See https://t.me/rusvolcorps (the channel, not a post) and "
            "https://example.me/x/1</description></item>"
            "<item><guid>c</guid><title>Content only</title><description>x</description>"
            '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            "&lt;a href=&quot;https://telegram.me/s/legion_svoboda/77&quot;&gt;post&lt;/a&gt;"
            "</content:encoded></item>"
        ),
        source="https://outlet.example/rss",
    )
    assert [item.cites for item in feed.items] == [
        "rusvolcorps/1234",
        None,
        "legion_svoboda/77",
    ]
