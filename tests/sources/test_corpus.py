"""Every document of the shared corpora (corpus/news and corpus/feedparser, all of them, no sampling:
about 250 small files, parsed in about a second) gives one item per entry with something to show, or
a ParseError in plain words, never a crash; and text decodes to its own alphabet, not mojibake."""

from __future__ import annotations

import ast
import gzip
import html
import re
from pathlib import Path
from typing import Any

import pytest

from bot.core.domain import ParsedFeed
from bot.core.errors import ParseError
from bot.sources.parsing import MAX_KEY_LENGTH, MAX_TITLE_LENGTH, parse_feed
from tests.shared_corpus import CORPUS, corpus_documents, corpus_params, require_corpus


def _markup(data: bytes) -> str:
    """The document's markup, for looking at tags: gunzipped, the NUL bytes of UTF-16/32 dropped
    (which leaves their ASCII), read byte for byte, comments removed."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.replace(b"\x00", b"").decode("latin-1")
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)


def _header_lines(data: bytes) -> dict[str, str]:
    """The HTTP headers a feedparser case asks to be served with (`Header: Name: value` lines)."""
    text = data.replace(b"\x00", b"")[:4096].decode("latin-1")
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\s*Header:\s*([^:\s]+):[ \t]*(.*?)\s*$", text, re.MULTILINE)
    }


# --- an entry "with something to show", read from the markup, not by the parser under test ------

_ENTRY = re.compile(r"<((?:[\w.-]+:)?(?:item|entry))\b[^>]*>(.*?)</\1\s*>", re.DOTALL | re.I)
_TEXT = re.compile(
    r"<((?:[\w.-]+:)?(?:title|description|summary|content|encoded))\b[^>]*>(.*?)</\1\s*>",
    re.DOTALL | re.I,
)
_LINK = re.compile(r"<(?:[\w.-]+:)?link\b[^>]*?(?:href\s*=\s*[\"']\s*[^\"'\s]|>\s*[^<\s])", re.I)
# An RSS guid is the item's permalink unless it says otherwise; an Atom id stands in for a link.
_GUID = re.compile(r"<(?:[\w.-]+:)?(?:guid|id)\b([^>]*)>\s*[^<\s]", re.I)
_NOT_PERMALINK = re.compile(r"isPermaLink\s*=\s*[\"']false", re.I)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _visible(fragment: str) -> bool:
    """Whether an element's content has text a reader would see, markup escaped or not."""
    text = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), fragment)
    for _ in range(2):  # escaped markup is markup once unescaped
        text = html.unescape(_TAG.sub(" ", text))
    return bool(_TAG.sub(" ", text).strip())


def _entries_to_show(data: bytes) -> int:
    """Entries with a title, a text, a link or a permalink: each must become one item."""
    count = 0
    for entry in _ENTRY.finditer(_markup(data)):
        body = entry.group(2)
        permalink = any(not _NOT_PERMALINK.search(g.group(1)) for g in _GUID.finditer(body))
        if (
            permalink
            or _LINK.search(body)
            or any(_visible(t.group(2)) for t in _TEXT.finditer(body))
        ):
            count += 1
    return count


# --- plain words and plain text --------------------------------------------------------------

_NOT_A_SENTENCE = re.compile(
    r"Traceback|Exception|[A-Za-z]Error\b|SAX|bozo|feedparser|<class|object at 0x|\bb'|\\x[0-9a-f]{2}"
)
_JUNK = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _misread_utf8() -> re.Pattern[str]:
    """Two characters that are the two bytes of one UTF-8 letter read in a legacy codec: a lead
    byte of Latin-1 letters (C2, C3) or Cyrillic (D0, D1), then a continuation byte (80-BF); so
    'é' shows as 'Ã©' and 'РДК' as 'Ð Ð”Ðš'. Real text in any of these alphabets has no such pair."""
    pairs = []
    for codec in ("cp1252", "latin-1", "iso-8859-2"):
        leads = b"\xc2\xc3\xd0\xd1".decode(codec)
        continuations = bytes(range(0x80, 0xC0)).decode(codec, "ignore")
        pairs.append(f"[{re.escape(leads)}][{re.escape(continuations)}]")
    return re.compile("|".join(pairs))


_MISREAD_UTF8 = _misread_utf8()


def _mojibake(text: str) -> str | None:
    """The first sign that `text` is UTF-8 misread, or None."""
    found = _MISREAD_UTF8.search(text)
    return found.group() if found else None


# Documents whose text is not checked for misread UTF-8, and why.
NO_MOJIBAKE_CHECK: dict[str, str] = {}
# Documents in East Asian, Thai, Hebrew and Cyrillic legacy encodings with no declaration at all:
# without chardet they read in the wrong letters, as test_a_document_without_a_declaration_…
# shows; read as Latin-1 their letters can look like misread UTF-8.
UNDECLARED_LEGACY = "feedparser/illformed/chardet/"


def _parse(data: bytes, name: str, headers: dict[str, str] | None) -> ParsedFeed | ParseError:
    try:
        return parse_feed(data, source=name, headers=headers)
    except ParseError as error:
        return error
    except Exception as error:  # the point: anything else is a crash
        pytest.fail(f"{name}: parse_feed crashed with {type(error).__name__}: {error}")


@pytest.mark.parametrize(("sub", "path"), [*corpus_params("news"), *corpus_params("feedparser")])
def test_every_document_gives_an_item_per_entry_or_a_plain_error(
    sub: str, path: Path | None
) -> None:
    folder = require_corpus(sub)
    assert path is not None
    name = f"{sub}/{path.relative_to(folder).as_posix()}"
    data = path.read_bytes()
    body = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    to_show = _entries_to_show(data)
    served = _header_lines(data)
    # As read from disk, and as its test server would serve it (feedparser's http_* cases).
    for headers in [None, served] if served else [None]:
        result = _parse(data, name, headers)
        if isinstance(result, ParseError):
            assert result.source == name
            assert result.reason
            assert "\n" not in result.reason
            assert len(result.reason) < 200
            assert not _NOT_A_SENTENCE.search(result.reason), result.reason
            assert str(result) == f"{name}: {result.reason}"
            assert to_show == 0, f"{name}: {to_show} entries lost to {result.reason!r}"
            continue
        assert len(result.items) == to_show, f"{name} (headers {headers})"
        for item in result.items:
            assert item.title or item.summary or item.link
            assert 0 < len(item.key) <= MAX_KEY_LENGTH
            assert len(item.title) <= MAX_TITLE_LENGTH
            # The whole text of the item, summary and content: never longer than the document.
            assert len(item.summary) <= len(body)
        texts = [result.title or ""] + [t for i in result.items for t in (i.title, i.summary)]
        for text in texts:
            assert text == text.strip()
            assert not _JUNK.search(text), f"{name}: control characters in {text[:60]!r}"
            if name not in NO_MOJIBAKE_CHECK and not name.startswith(UNDECLARED_LEGACY):
                assert _mojibake(text) is None, f"{name}: mojibake in {text[:60]!r}"


def test_the_mojibake_check_catches_misread_utf8_and_spares_real_text() -> None:
    for real in (
        "РДК: рейд",
        "Вінниця",
        "Jornal de Notícias",
        "Glasfaserförderung",
        "Ação",
        "Łódź",
    ):
        assert _mojibake(real) is None
        for codec in ("cp1252", "latin-1", "iso-8859-2"):
            misread = real.encode("utf-8").decode(codec, "ignore")
            assert _mojibake(misread) is not None, (real, codec, misread)
    require_corpus("feedparser")
    for name in NO_MOJIBAKE_CHECK:
        assert (CORPUS / name).is_file(), f"{name} is no longer in the corpus"
    assert len(list((CORPUS / UNDECLARED_LEGACY).iterdir())) == 8


def test_one_invalid_byte_leaves_the_rest_of_a_utf8_document_readable() -> None:
    folder = require_corpus("feedparser")
    raw = (folder / "encoding" / "bozo_invalid-bytes-with-bom.xml").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
    assert "Ѩ".encode() in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    feed = parse_feed(raw, source="bozo_invalid-bytes-with-bom.xml")
    assert feed.title is not None
    assert feed.title.startswith("Valid UTF8: Ѩ")
    assert _mojibake(feed.title) is None


# --- the news corpus: its own text, as SOURCES.md describes it -------------------------------

# What the bytes really are (SOURCES.md and its notes): every other news document is UTF-8, the one
# that declares utf-16 included.
NEWS_CODECS = {
    "nfp_iconv.xml": "cp1251",
    "nfp_compressed.xml": "cp1251",  # gzip of nfp_iconv.xml
    "rssp_encoding.rss": "iso-8859-1",
    "rssp_uolNoticias.rss": "iso-8859-1",  # no declaration at all
    "feedrs_rss_1.0_iso8859.xml": "iso-8859-1",
}


def _items_column() -> dict[str, int]:
    """The `items` column of news/SOURCES.md: entries counted when the corpus was built."""
    sources = CORPUS / "news" / "SOURCES.md"
    counts: dict[str, int] = {}
    if not sources.is_file():
        return counts
    header: list[str] = []
    for line in sources.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[:1] == ["file"]:
            header = cells
        elif header and len(cells) == len(header) and cells[0] and not cells[0].startswith("-"):
            counts[cells[0]] = int(cells[header.index("items")])
    return counts


@pytest.mark.parametrize(("sub", "path"), corpus_params("news"))
def test_news_titles_are_the_documents_own_text_and_every_entry_counts(
    sub: str, path: Path | None
) -> None:
    require_corpus(sub)
    assert path is not None
    raw = path.read_bytes()
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    # The document decoded as what it really is: a title must read exactly as written there.
    document = data.decode(NEWS_CODECS.get(path.name, "utf-8"))
    written = " ".join(html.unescape(html.unescape(document)).split())

    feed = parse_feed(raw, source=path.name)

    assert len(feed.items) == _items_column()[path.name]
    assert feed.title
    assert feed.title in written
    for item in feed.items:
        assert item.title, f"{path.name}: an item without a title"
        assert item.title in written, f"{path.name}: {item.title!r} is not in the document"


def test_every_news_document_is_in_sources_md() -> None:
    require_corpus("news")
    assert sorted(_items_column()) == sorted(p.name for p in corpus_documents("news"))


_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")


def _cyrillic_share(text: str) -> float:
    letters = _LETTER.findall(text)
    return len(_CYRILLIC.findall(text)) / len(letters) if letters else 0.0


@pytest.mark.parametrize("name", ["nfp_iconv.xml", "nfp_compressed.xml"])
def test_the_russian_news_feed_reads_in_cyrillic(name: str) -> None:
    folder = require_corpus("news")
    feed = parse_feed((folder / name).read_bytes(), source=name)
    assert feed.title == "Новости Оренбурга и области / Раздел Новости"
    assert len(feed.items) == 10
    for item in feed.items:
        assert _cyrillic_share(item.title) > 0.9, item.title
        assert not re.search("[ÐÑÃÂ\ufffd]", item.title + item.summary), item.title
    assert feed.items[0].title == "В Бузулуке главные стройплощадки – детсад и Ледовый дворец"
    # The gzip copy is the same document, so the same items.
    other = "nfp_iconv.xml" if name == "nfp_compressed.xml" else "nfp_compressed.xml"
    assert parse_feed((folder / other).read_bytes(), source=other).items == feed.items


@pytest.mark.parametrize(
    ("name", "title", "letters"),
    [
        ("rssp_encoding.rss", "Jornal de Notícias - Últimas Notícias", "ãçéíóú"),
        ("rssp_uolNoticias.rss", "UOL Noticias", "ãçéíóõ"),
        ("feedrs_rss_1.0_iso8859.xml", "Golem.de", "äöüß"),
        ("rssp_heise.atom", "heise developer neueste Meldungen", "äöüß"),
        ("feedrs_rss_2.0_spiegel.xml", "SPIEGEL Update – Die Nachrichten", "–"),
    ],
)
def test_latin_news_feeds_keep_their_accented_letters(name: str, title: str, letters: str) -> None:
    folder = require_corpus("news")
    feed = parse_feed((folder / name).read_bytes(), source=name)
    assert feed.title == title
    text = " ".join(i.title + " " + i.summary for i in feed.items)
    assert any(letter in text for letter in letters)
    assert not re.search("[ÃÂ\ufffd]", text)


def test_a_false_utf16_declaration_does_not_turn_english_into_cjk() -> None:
    folder = require_corpus("news")
    raw = (folder / "ffp_9e0834333e854116").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-16"?>')
    feed = parse_feed(raw, source="ffp_9e0834333e854116")
    assert feed.title == "Eliot Jones"
    assert len(feed.items) == 59
    assert not re.search(r"[\u3000-\u9fff\uac00-\ud7af]", " ".join(i.title for i in feed.items))


# --- the feedparser corpus: undeclared encodings, and what its own suite expects -------------


@pytest.mark.parametrize(
    ("name", "charset", "script"),
    [
        ("koi8r.xml", "koi8-r", r"[\u0400-\u04ff]"),  # Cyrillic
        ("windows1255.xml", "windows-1255", r"[\u0590-\u05ff]"),  # Hebrew
        ("euckr.xml", "euc-kr", r"[\uac00-\ud7af]"),  # Hangul
        ("shiftjis.xml", "shift_jis", r"[\u3040-\u30ff]"),  # kana
        ("eucjp.xml", "euc-jp", r"[\u3040-\u30ff]"),
        ("big5.xml", "big5", r"[\u4e00-\u9fff]"),  # CJK ideographs
        ("gb2312.xml", "gb2312", r"[\u4e00-\u9fff]"),
        ("tis620.xml", "tis-620", r"[\u0e00-\u0e7f]"),  # Thai
    ],
)
def test_a_document_without_a_declaration_reads_in_its_script_when_served_with_a_charset(
    name: str, charset: str, script: str
) -> None:
    # Without any encoding information feedparser's suite guesses with chardet, which feedwatch
    # does not use: from disk these give a feed in the wrong letters (checked above not to crash);
    # served as servers do, with a charset, they read right.
    folder = require_corpus("feedparser")
    raw = (folder / "illformed" / "chardet" / name).read_bytes()
    feed = parse_feed(raw, source=name, headers={"Content-Type": f"text/xml; charset={charset}"})
    text = " ".join([feed.title or "", *(i.title + " " + i.summary for i in feed.items)])
    assert len(re.findall(script, text)) >= 5, text[:80]
    if name == "koi8r.xml":
        assert feed.items[0].title == "Как пережить новогоднюю ночь"


_EXPECT = re.compile(
    r"^\s*Expect:\s*(?:not bozo and |bozo and )?(?P<where>feed|entries\[0\])"
    r"(?:\['(?P<key>\w+)'\]|\.(?P<attr>\w+))\s*==\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*$",
    re.MULTILINE,
)


_PLAIN_FIELDS = {("feed", "title"), ("item", "title"), ("item", "description"), ("item", "summary")}
# Where feedwatch parts from feedparser's expectation, and why.
EXPECTATIONS_NOT_SHARED = {
    "encoding/bozo_linenoise.xml": "the text of a CDATA section keeps its '<>'; the sanitizer drops it",
    "wellformed/cdf/channel_title.xml": "a CDF channel with no items is not a feed to feedwatch",
}


def _plain_expectations() -> list[Any]:
    """feedparser cases whose Expect line says what a title or text is, in plain text (no markup,
    no entity), as (path, field, expected) params."""
    params = []
    folder = CORPUS / "feedparser"
    for path in corpus_documents("feedparser"):
        found = _EXPECT.search(path.read_bytes().replace(b"\x00", b"")[:4096].decode("latin-1"))
        if found is None:
            continue
        where = "feed" if found["where"] == "feed" else "item"
        field = found["key"] or found["attr"]
        expected = ast.literal_eval(found["value"])
        if (where, field) not in _PLAIN_FIELDS or "<" in expected or "&" in expected:
            continue
        name = path.relative_to(folder).as_posix()
        if name not in EXPECTATIONS_NOT_SHARED:
            params.append(pytest.param(path, where, field, expected, id=name))
    return params or [pytest.param(None, "", "", "", id="feedparser-missing")]


def _read(path: Path, where: str, field: str) -> str | None:
    data = path.read_bytes()
    feed = parse_feed(data, source=path.name, headers=_header_lines(data))
    if where == "feed":
        return feed.title
    return feed.items[0].title if field == "title" else feed.items[0].summary


@pytest.mark.parametrize(("path", "where", "field", "expected"), _plain_expectations())
def test_plain_text_reads_as_feedparsers_own_suite_expects(
    path: Path | None, where: str, field: str, expected: str
) -> None:
    require_corpus("feedparser")
    assert path is not None
    # feedwatch gives plain text on one line: whitespace (a no-break space too) collapses.
    assert _read(path, where, field) == " ".join(expected.split())


def test_the_cases_that_part_from_feedparser_still_do() -> None:
    folder = require_corpus("feedparser")
    linenoise = folder / "encoding" / "bozo_linenoise.xml"
    # Valid UTF-8 around one invalid byte: read as UTF-8, the invalid byte alone replaced (the
    # case's own Expect is what feedparser makes of it: the whole text in windows-1252).
    assert _read(linenoise, "item", "summary") == "\u2019<>\u201d\ufffd"
    with pytest.raises(ParseError, match="not a feed"):
        _read(folder / "wellformed" / "cdf" / "channel_title.xml", "feed", "title")
    assert set(EXPECTATIONS_NOT_SHARED) == {
        "encoding/bozo_linenoise.xml",
        "wellformed/cdf/channel_title.xml",
    }
