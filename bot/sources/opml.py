"""OPML subscription lists in and out: the feeds an OPML file lists, read by listparser behind a
guard against documents that would cost it too much, and an OPML 2.0 document of feeds.

Pure: bytes in, entries out; (title, URL) pairs in, bytes out.
"""

from __future__ import annotations

import codecs
import re

# ElementTree writes OPML only: untrusted XML is read by listparser, behind _check_markup.
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

import listparser

from bot.core.channel_address import channel_name, channel_url, is_telegram_link
from bot.core.errors import FeedwatchError
from bot.core.said import N_

MAX_OPML_BYTES = 10 * 1024 * 1024
# Real lists nest folders two or three deep. listparser copies the folder path into every feed
# below it, so a deep nest of folders over many feeds costs memory by their product.
MAX_DEPTH = 32
MAX_URL_LENGTH = 2048
MAX_TITLE_LENGTH = 200

# Why an entry cannot be imported: sentences a chat reads translated (bot/render/texts.py), so plain.
NOT_HTTP = N_("not an http or https URL")
NO_HOST = N_("the URL has no host")
BAD_URL = N_("not a valid URL")
URL_TOO_LONG = N_("the URL is longer than 2048 characters")
URL_WITH_SPACES = N_("the URL contains spaces or control characters")
LIST_LINK = N_("a link to another subscription list, not a feed")
NO_FEED_URL = N_("no feed URL (xmlUrl), only a web page")

_DECLARATION = re.compile(r"^\s*<\?xml\b[^>]*\?>")
_ENCODING = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")
_NAME = r"[^\W\d][\w.:-]*"
# A start tag, its attributes quoted as XML wants them; possessive, so a failed match never
# backtracks through the attributes.
_START_TAG = re.compile(
    rf"<{_NAME}(?:\s+{_NAME}\s*=\s*(?:\"[^\"<]*+\"|'[^'<]*+'))*+\s*+(/?)>", re.UNICODE
)
_END_TAG = re.compile(rf"</{_NAME}\s*>", re.UNICODE)
# Characters XML 1.0 does not allow anywhere, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class OpmlError(FeedwatchError):
    """A document that cannot be read as an OPML list. `template` and `params` let a chat read the
    reason in its own language; `str()` is the English sentence."""

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))


@dataclass(frozen=True, slots=True)
class OpmlEntry:
    """One feed an OPML list names: its URL, its title there (if any) and, when it cannot be
    imported whatever its server says, why not."""

    url: str
    title: str | None = None
    problem: str | None = None


def read_opml(data: bytes, *, limit: int = MAX_OPML_BYTES) -> list[OpmlEntry]:
    """The feeds an OPML document lists, in the order listparser finds them, each URL once.

    Entries that cannot be feeds (another scheme than http(s), links to other lists, outlines
    with only a web page) come with their `problem`. Raises OpmlError when the document is too
    big, not text, not well-formed or not OPML."""
    if len(data) > limit:
        raise OpmlError("the file is larger than {size}", size=_size(limit))
    text = _decode(data)
    if not text.strip():
        raise OpmlError("the file is empty")
    _check_markup(text)
    # Bytes, never str: listparser fetches a str that starts with http:// over the network.
    # With a byte order mark: listparser hands the bytes to lxml's HTML parser when lxml is
    # installed, which reads bytes without one as Latin-1.
    utf8 = b"\xef\xbb\xbf" + _DECLARATION.sub("", text, count=1).encode("utf-8")
    try:
        found = listparser.parse(utf8)
    except Exception as error:  # its HTML parser asserts on some malformed markup
        raise OpmlError("the file cannot be read as OPML") from error
    if not str(found.get("version") or "").startswith("opml"):
        raise OpmlError("the file is not an OPML document")
    entries: list[OpmlEntry] = []
    seen: set[str] = set()
    kinds = (("feeds", None), ("lists", LIST_LINK), ("opportunities", NO_FEED_URL))
    for kind, problem in kinds:
        for outline in found.get(kind) or ():
            url = str(outline.get("url") or "").strip()
            # A public channel's address, as a feed's URL or as the page of an outline without
            # one, is the channel, stored under one spelling.
            channel = channel_name(url) if is_telegram_link(url) else None
            found_problem = problem
            if channel is not None:
                url, found_problem = channel_url(channel), None
            if not url or url in seen:
                continue
            seen.add(url)
            title = _title(str(outline.get("title") or ""))
            entries.append(OpmlEntry(url, title, found_problem or url_problem(url)))
    return entries


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a feed's address, or None when it may be one."""
    if len(url) > MAX_URL_LENGTH:
        return URL_TOO_LONG
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return URL_WITH_SPACES
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed [IPv6] bracket, a port that is no number
        return BAD_URL
    if parts.scheme not in ("http", "https"):
        return NOT_HTTP
    if not host:
        return NO_HOST
    return None


def write_opml(feeds: Iterable[tuple[str, str]], *, title: str, created: datetime) -> bytes:
    """An OPML 2.0 document (UTF-8) of (title, URL) pairs, each URL once, in the order given."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(created.astimezone(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    written: set[str] = set()
    for name, url in feeds:
        if url in written:
            continue
        written.add(url)
        label = _xml_text(name).strip() or _xml_text(url)
        ET.SubElement(
            body,
            "outline",
            {"type": "rss", "text": label, "title": label, "xmlUrl": _xml_text(url)},
        )
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{document}\n'.encode()


def _decode(data: bytes) -> str:
    """The document as text: by its byte order mark, else the encoding its XML declaration
    names, else UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        declared = _ENCODING.match(data)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise OpmlError(
            "the file names an unknown encoding, {encoding}", encoding=encoding
        ) from None
    try:
        return data.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError:
        raise OpmlError("the file is not valid {encoding} text", encoding=encoding) from None


def _check_markup(text: str) -> None:
    """Refuse what listparser's parser (the standard library's HTML parser) would take minutes or
    gigabytes over: markup that never closes (a `<` that starts no tag, an unclosed comment) costs
    it time by the square of the document's length, and deep nesting costs listparser memory.

    One pass of `find` and anchored matches: it tokenises, it does not parse or expand anything."""
    pos, depth = 0, 0
    while (start := text.find("<", pos)) >= 0:
        end = -1
        for opener, closer in (("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>"), ("<!", ">")):
            if text.startswith(opener, start):
                found = text.find(closer, start + len(opener))
                end = found + len(closer) if found >= 0 else -1
                break
        else:
            closing = text.startswith("</", start)
            tag = (_END_TAG if closing else _START_TAG).match(text, start)
            if tag is not None:
                end = tag.end()
                if closing:
                    depth -= 1
                elif not tag.group(1):
                    depth += 1
                if depth < 0:
                    end = -1
                elif depth > MAX_DEPTH:
                    raise OpmlError(
                        "the file nests elements more than {depth} deep", depth=MAX_DEPTH
                    )
        if end < 0:
            line = text.count("\n", 0, start) + 1
            raise OpmlError("the file is not well-formed XML (line {line})", line=line)
        pos = end


def _title(text: str) -> str | None:
    title = " ".join(text.split())
    if len(title) > MAX_TITLE_LENGTH:
        title = title[: MAX_TITLE_LENGTH - 1].rstrip() + "…"
    return title or None


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _size(limit: int) -> str:
    mib = 1024 * 1024
    return f"{limit / mib:g} MiB" if limit >= mib else f"{limit // 1024} KiB"
