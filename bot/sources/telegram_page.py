"""Read Telegram's public channel web preview (`https://t.me/s/<name>`) into one item per message.

Pure: no network, no storage. lxml's HTML parser reads the page; this module picks each message's
own text, time, views, media and forward out of it, and leaves quotes, placeholders and service lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import lxml.etree

from bot.core.channel_address import (
    NO_PUBLIC_PREVIEW,
    NO_SUCH_CHANNEL,
    cited_post,
    is_channel_url,
    page_before,
)
from bot.core.domain import ParsedFeed, ParsedItem
from bot.core.errors import ParseError
from bot.sources.item_text import (
    MAX_DECOMPRESSED_BYTES,
    MAX_SUMMARY_LENGTH,
    MAX_TITLE_LENGTH,
    cut,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_PAGE_BYTES",
    "ChannelPost",
    "LinkPreview",
    "channel_posts",
    "is_telegram_landing",
    "is_telegram_page",
    "landing_reason",
    "parse_telegram_page",
]

# A channel page is read under the cap a feed's body is read under (the fetcher's default cap on a
# body): a real page of 20 messages is about 150 KB.
MAX_PAGE_BYTES = MAX_DECOMPRESSED_BYTES
# libxml2 stops building the tree at this depth and drops the rest of the page; real pages are about
# 20 deep. Such a page is refused rather than read in part.
MAX_DEPTH = 256

# Elements as the page marks them: by class token (a class attribute holds several).
_MESSAGE = "tgme_widget_message"
_SERVICE = "service_message"
_TEXT = "tgme_widget_message_text"
_REPLY = "tgme_widget_message_reply"
_PREVIEW = "tgme_widget_message_link_preview"
# Placeholders where the page cannot show something: "Please open Telegram to view this post",
# "Media is too big", "This media is not supported in your browser", "VIEW IN TELEGRAM".
_PLACEHOLDERS = frozenset({"message_media_not_supported_wrap", "message_media_not_supported"})
_MEDIA = {
    "tgme_widget_message_photo_wrap": "photo",
    "tgme_widget_message_video_player": "video",
    "tgme_widget_message_roundvideo_player": "round_video",
    "tgme_widget_message_voice_player": "voice",
    "tgme_widget_message_sticker_wrap": "sticker",
    "tgme_widget_message_tgsticker": "sticker",
    "tgme_widget_message_videosticker": "sticker",
    "tgme_widget_message_poll": "poll",
    "tgme_widget_message_location_wrap": "location",
    "tgme_widget_message_contact": "contact",
}
_DOCUMENT = "tgme_widget_message_document_wrap"
_DOCUMENT_ICON = "tgme_widget_message_document_icon"  # its class "audio" tells music from a file

# What a page served by t.me (or a fragment of one) has, and a feed or another site's page has not.
_MARKERS = re.compile(
    rb"""class\s*=\s*["']?[\w\s-]*?\b(?:tgme_widget_message|tgme_widget_message_wrap"""
    rb"""|tgme_channel_history|tme_no_messages_found)["'\s>]"""
)
# A feed may quote a post's markup in CDATA; it is still a feed.
_FEED_START = re.compile(rb"\s*(?:<\?xml|<rss[\s>]|<feed[\s>]|<rdf:RDF[\s>])", re.IGNORECASE)
# The landing page t.me/<name> serves instead of a preview the channel has turned off; a name
# nobody has gets one too, without the title and the subscriber count.
_LANDING = re.compile(rb"""class\s*=\s*["']?tgme_page[\s"']""")
_LANDING_TITLE = re.compile(rb"""class\s*=\s*["']?tgme_page_title[\s"']""")

_POST = re.compile(r"([A-Za-z0-9_]{1,64})/([0-9]{1,18})")
_USERNAME = re.compile(r"@?([A-Za-z0-9_]{1,64})")
_EMOJI_IMAGE = re.compile(r"/emoji/\d+/([0-9A-Fa-f]{2,64})\.png")
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")
_ABSOLUTE = re.compile(r"https?://", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_JUNK = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What lxml refuses to put into a tree, and junk: no emoji is made of it.
_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_BLOCKS = frozenset(
    {"div", "p", "blockquote", "pre", "li", "ul", "ol", "table", "tr", "h1", "h2", "h3", "h4"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "template", "noscript", "svg"})


@dataclass(frozen=True, slots=True)
class LinkPreview:
    """The card Telegram shows under a post for its first link."""

    url: str | None
    site: str
    title: str
    description: str

    @property
    def text(self) -> str:
        return "\n".join(part for part in (self.site, self.title, self.description) if part)


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """One message of a channel page, with the facts a feed item has no place for."""

    channel: str  # as the page writes it in data-post; compare casefolded
    id: int
    published: datetime
    text: str  # the post's own text: line breaks kept, no reply quote, no link preview
    views: str | None = None  # as shown: "12.3K"
    media: tuple[str, ...] = ()  # kinds, in order of appearance: "photo", "video", "poll" …
    edited: bool = False
    author: str | None = None  # the signature under a signed post
    forwarded_from: str | None = None
    forwarded_from_link: str | None = None
    preview: LinkPreview | None = None
    poll_question: str | None = None
    poll_options: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # absolute links in the post's text

    @property
    def key(self) -> str:
        return f"{self.channel}/{self.id}"

    @property
    def link(self) -> str:
        return f"https://t.me/{self.channel}/{self.id}"

    @property
    def summary(self) -> str:
        """Everything matched in the post, in parts a blank line apart: its text, its poll (the
        question, then each option on its own line), its link preview (site, title, description)."""
        poll = "\n".join((self.poll_question or "", *self.poll_options)).strip()
        parts = (self.text, poll, self.preview.text if self.preview else "")
        return cut("\n\n".join(part for part in parts if part), MAX_SUMMARY_LENGTH)

    @property
    def title(self) -> str:
        """The first line of the text (else of the summary: a poll's question), shortened as feed
        titles are."""
        first = (self.text or self.summary).partition("\n")[0]
        return cut(first, MAX_TITLE_LENGTH)


def is_telegram_page(data: bytes) -> bool:
    """Whether a document is Telegram's web preview of a channel (or a fragment of one), by its
    content: the classes t.me gives messages and message lists. A feed that quotes such markup is
    not one."""
    return _FEED_START.match(data[:1024].lstrip(b"\xef\xbb\xbf")) is None and bool(
        _MARKERS.search(data)
    )


def is_telegram_landing(data: bytes) -> bool:
    """Whether a document is the page t.me serves for a channel (or user) without its messages:
    what `t.me/s/<name>` redirects to when the channel has turned its public preview off."""
    return (
        not is_telegram_page(data)
        and _FEED_START.match(data[:1024].lstrip(b"\xef\xbb\xbf")) is None
        and bool(_LANDING.search(data))
    )


def landing_reason(data: bytes) -> str:
    """Why a landing page (see `is_telegram_landing`) shows no messages: a channel (or a person)
    with no public preview has a title there; a name that nobody has, none."""
    return NO_PUBLIC_PREVIEW if _LANDING_TITLE.search(data) else NO_SUCH_CHANNEL


def channel_posts(data: bytes, *, source: str) -> list[ChannelPost]:
    """The messages of a channel page, in page order (oldest first). Service messages (channel
    created, photo changed, a pin) are left out, and so is a message without its date: the page
    was cut off in it, and the next page read has it whole. Raises ParseError for a document that
    is not a channel page, one over MAX_PAGE_BYTES and one nested deeper than MAX_DEPTH."""
    return _read(data, source)[1]


def parse_telegram_page(data: bytes, *, source: str) -> ParsedFeed:
    """A channel page as a feed: one item per message (see `channel_posts`), keyed by
    `<channel>/<id>`, with the message's link, time, title and summary."""
    root, posts = _read(data, source)
    items = tuple(
        ParsedItem(
            key=post.key.lower(),  # channel names ignore case; keys must not
            title=post.title,
            link=post.link,
            summary=post.summary,
            published=post.published,
            forwarded_from=post.forwarded_from,
            views=post.views,
            media=post.media,
            edited=post.edited,
            author=post.author,
            cites=_cites(post),
        )
        for post in posts
    )
    if not posts and is_channel_url(source) and page_before(source) is None:
        # A channel's newest page without one message: t.me shows that for a channel whose
        # preview is off, as well as answering with a redirect.
        raise ParseError(source, NO_PUBLIC_PREVIEW)
    channel = _page_channel(root) or (posts[0].channel if posts else None)
    return ParsedFeed(
        title=_page_title(root),
        link=f"https://t.me/s/{channel}" if channel else None,
        items=items,
    )


def _cites(post: ChannelPost) -> str | None:
    """The post this one forwards, else the first post of another channel it links to."""
    if post.forwarded_from_link and (forwarded := cited_post(post.forwarded_from_link)):
        return forwarded
    own = post.channel.lower() + "/"
    for link in post.links:
        if (cited := cited_post(link)) and not cited.startswith(own):
            return cited
    return None


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def _read(data: bytes, source: str) -> tuple[Any, list[ChannelPost]]:
    if len(data) > MAX_PAGE_BYTES:
        raise ParseError(source, f"the page is larger than {MAX_PAGE_BYTES // 2**20} MB")
    if not data.strip():
        raise ParseError(source, "the document is empty")
    if not is_telegram_page(data):
        raise ParseError(source, _not_a_page(data))
    parser = lxml.etree.HTMLParser(
        encoding="utf-8", recover=True, no_network=True, remove_comments=True, remove_pis=True
    )
    try:
        root = lxml.etree.fromstring(data, parser)
    except (lxml.etree.LxmlError, ValueError) as error:
        raise ParseError(source, "the page could not be read as HTML") from error
    for problem in parser.error_log:
        if problem.type_name == "ERR_RESOURCE_LIMIT":
            # libxml2 drops everything after a limit: half a page would pass for a whole one.
            message = str(problem.message).strip()
            if "depth" in message.lower():
                raise ParseError(source, f"the page is nested more than {MAX_DEPTH} levels deep")
            raise ParseError(source, f"the page is beyond the HTML parser's limits: {message}")
    if root is None:
        raise ParseError(source, "the page has no HTML elements")
    posts: list[ChannelPost] = []
    seen: set[str] = set()
    for element in _messages(root):
        post = _post(element)
        # A post the page shows twice is one item, whatever case each spelling of its channel
        # has: channel names are not case-sensitive ("Durov/1" is "durov/1").
        if post is not None and post.key.casefold() not in seen:
            seen.add(post.key.casefold())
            posts.append(post)
    return root, posts


def _not_a_page(data: bytes) -> str:
    if _FEED_START.match(data[:1024].lstrip(b"\xef\xbb\xbf")):
        return "not a Telegram channel preview: an XML document (a feed?)"
    if _LANDING.search(data):
        return (
            "not a Telegram channel preview: a Telegram page without the channel's messages "
            "(the channel may have turned its public preview off)"
        )
    return "not a Telegram channel preview: no channel messages in it"


# The queries find candidates by a plain substring in C; the class token is checked in Python
# (normalising every class attribute in XPath costs more than the rest of reading a page).
# Broken markup can leave one message inside another; each is read, and each reader stops at the
# messages inside its own, so that every element is read once however deep they nest.
_CANDIDATE_MESSAGES = lxml.etree.XPath(f"//*[@data-post][contains(@class, '{_MESSAGE}')]")
_OG_TITLE = lxml.etree.XPath("//meta[@property='og:title']/@content")
_HEADER = lxml.etree.XPath("//*[contains(@class, 'tgme_channel_info_header_')]")


def _messages(root: Any) -> list[Any]:
    return [element for element in _CANDIDATE_MESSAGES(root) if _MESSAGE in _classes(element)]


def _header(root: Any, name: str) -> Any:
    """The page header's first element of class `name`, or None."""
    return next((element for element in _HEADER(root) if name in _classes(element)), None)


def _page_title(root: Any) -> str | None:
    for value in _OG_TITLE(root)[:1]:
        if title := _line(str(value)):
            return cut(title, MAX_TITLE_LENGTH)
    # The header's first title only: a hostile page may nest many, each read whole.
    header = _header(root, "tgme_channel_info_header_title")
    if header is not None and (title := _line(_text_of(header))):
        return cut(title, MAX_TITLE_LENGTH)
    return None


def _page_channel(root: Any) -> str | None:
    header = _header(root, "tgme_channel_info_header_username")
    if header is not None and (found := _USERNAME.fullmatch(_line(_text_of(header)))):
        return found[1]
    return None


# ---------------------------------------------------------------------------------------------
# One message
# ---------------------------------------------------------------------------------------------


def _children(element: Any) -> Any:
    """An element's child elements, last first (for a stack), without comments or the like."""
    return element.iterchildren(reversed=True, tag=lxml.etree.Element)


def _classes(element: Any) -> list[str]:
    value = element.get("class")
    return value.split() if isinstance(value, str) else []


def _post(message: Any) -> ChannelPost | None:
    if _SERVICE in _classes(message):
        return None
    found = _POST.fullmatch(str(message.get("data-post") or "").strip())
    if found is None:
        return None
    reader = _MessageReader()
    reader.read(message)
    if reader.published is None:
        return None
    # Each text once: a caption may repeat; dict keeps the first of each, in order.
    texts = dict.fromkeys(text for text in reader.texts if text)
    return ChannelPost(
        channel=found[1],
        id=int(found[2]),
        published=reader.published,
        text="\n\n".join(texts),
        views=reader.views or None,
        media=tuple(reader.media),
        edited=reader.edited,
        author=reader.author or None,
        forwarded_from=reader.forwarded_from or None,
        forwarded_from_link=reader.forwarded_from_link,
        preview=reader.preview,
        poll_question=reader.poll_question or None,
        poll_options=tuple(reader.poll_options),
        links=tuple(dict.fromkeys(reader.links)),
    )


class _MessageReader:
    """Walks one message once, without recursion, and keeps what each marked element says."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.links: list[str] = []
        self.media: list[str] = []
        self.published: datetime | None = None
        self.views = ""
        self.author = ""
        self.edited = False
        self.forwarded_from = ""
        self.forwarded_from_link: str | None = None
        self.preview: LinkPreview | None = None
        self.poll_question = ""
        self.poll_options: list[str] = []
        self.documents = False

    def read(self, message: Any) -> None:
        stack = list(_children(message))
        while stack:
            element = stack.pop()
            # Most elements have no class: they are only passed through (a hot path).
            if element.get("class") is None:
                if element.tag not in _SKIPPED_TAGS:
                    stack.extend(_children(element))
            elif not self._took(element, _classes(element)):
                stack.extend(_children(element))
        if self.documents and not {"audio", "document"}.intersection(self.media):
            self._add_media("document")  # a document drawn without its icon

    def _took(self, element: Any, classes: list[str]) -> bool:
        """Read what `element` says; True when its content is read (or not to be read) with it."""
        for name in classes:
            if kind := _MEDIA.get(name):
                self._add_media(kind)
            elif name == _DOCUMENT:
                self.documents = True
            elif name == _DOCUMENT_ICON:
                self._add_media("audio" if "audio" in classes else "document")
        taken = True
        if _left_out(element, str(element.tag).lower(), classes):
            pass  # the quoted message, placeholders, a message inside this one: none of its own
        elif _PREVIEW in classes:
            self.preview = _preview(element)
        elif _TEXT in classes:
            # The outermost text only: 2023 albums nest a second text div inside the first.
            self.texts.append(_text_of(element, links=self.links))
        elif "tgme_widget_message_forwarded_from_name" in classes:
            self.forwarded_from = _line(_text_of(element))
            self.forwarded_from_link = _href(element)
        elif "tgme_widget_message_poll_question" in classes:
            self.poll_question = _text_of(element)
        elif "tgme_widget_message_poll_option_text" in classes:
            self.poll_options.append(_line(_text_of(element)))
        elif "tgme_widget_message_views" in classes:
            self.views = _line(_text_of(element))
        elif "tgme_widget_message_from_author" in classes:
            self.author = _line(_text_of(element))
        elif "tgme_widget_message_date" in classes:
            self.published = self.published or _date(element)
        elif "tgme_widget_message_meta" in classes:
            self.edited = _says_edited(element)
            taken = False
        else:
            taken = False
        return taken

    def _add_media(self, kind: str) -> None:
        if kind not in self.media:
            self.media.append(kind)


def _says_edited(meta: Any) -> bool:
    """Whether the footer says "edited": the meta's own words, beside the signature and the date
    link (a comma and spaces when there is no such word). Read without the word itself, so that a
    page served in another language says it too."""
    loose = [meta.text, *(child.tail for child in meta)]
    return any(char.isalpha() for part in loose if isinstance(part, str) for char in part)


def _date(link: Any) -> datetime | None:
    for time in link.iter("time"):
        value = time.get("datetime")
        # Whole, as t.me writes it: a page cut off in "2026-05-20T15" must not read as 15:00.
        if not (isinstance(value, str) and _DATETIME.fullmatch(value.strip())):
            continue
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            continue
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _left_out(node: Any, tag: str, classes: list[str]) -> bool:
    """Whether an element is no part of what is read around it (the elements `_text_of` drops)."""
    return (
        tag in _SKIPPED_TAGS
        or _REPLY in classes
        or bool(_PLACEHOLDERS.intersection(classes))
        or (_MESSAGE in classes and node.get("data-post") is not None)
    )


def _preview(card: Any) -> LinkPreview | None:
    parts = {"link_preview_site_name": "", "link_preview_title": "", "link_preview_description": ""}
    stack = list(_children(card))
    while stack:
        element = stack.pop()
        classes = _classes(element)
        if _left_out(element, str(element.tag).lower(), classes):
            continue
        if part := next((name for name in classes if name in parts), None):
            parts[part] = parts[part] or _text_of(element)
            continue
        stack.extend(_children(element))
    site, title, description = parts.values()
    if not (site or title or description):
        return None
    return LinkPreview(
        url=_href(card), site=_line(site), title=_line(title), description=description
    )


def _href(element: Any) -> str | None:
    """An element's link, as the browser follows it. Since 2024 t.me escapes the "&" of links in
    posts twice ("&amp;amp;"): the parser undoes one escape, this the other."""
    value = element.get("href")
    if not isinstance(value, str):
        return None
    cleaned = _JUNK.sub("", value).strip().replace("&amp;", "&")
    return cleaned or None


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def _emoji(element: Any) -> str:
    """An emoji image as its character: the page puts it in the element's text, or only in the
    image's name (the character's UTF-8 bytes in hex)."""
    shown = "".join(element.itertext())
    if shown.strip():
        return shown.strip()
    found = _EMOJI_IMAGE.search(str(element.get("style") or ""))
    if found and len(found[1]) % 2 == 0:
        try:
            named = bytes.fromhex(found[1]).decode("utf-8")
        except ValueError:
            return ""
        # A name may spell anything: only what text may hold is kept.
        return _NOT_TEXT.sub("", named)
    return ""


# The parts of a text no reader sees: quoted messages, placeholders, a message inside a message
# (broken markup), and what is no text at all. Found by tag (lxml's `iter` filters in C) or by a
# plain substring of the class: normalising every class attribute in XPath costs more than all
# the rest of reading a page. `_left_out` and `_classes` then check the class tokens.
_LEFT_OUT_BY_CLASS = lxml.etree.XPath(
    f".//*[@data-post or contains(@class, '{_REPLY}')"
    " or contains(@class, 'message_media_not_supported')]"
)
_EMOJI_ELEMENTS = lxml.etree.XPath(".//*[contains(@class, 'emoji')]")
# Marks put into the tree for a line break and a block's edge: Unicode noncharacters, which no
# text means. A page that writes one itself gets a line break there, and nothing else.
_BREAK_MARK = "\ufdd0"
_EDGE_MARK = "\ufdd1"
_EDGES = re.compile(" ?\ufdd1(?: ?\ufdd1)* ?")
_EDGE_BESIDE_BREAK = re.compile("\ufdd1(?=\ufdd0)|(?<=\ufdd0)\ufdd1")


def _text_of(element: Any, *, links: list[str] | None = None) -> str:
    """The text a reader sees in an element: `<br>` is a line break, every other run of white
    space one space (as a browser shows it: re-indented pages break lines inside sentences), emoji
    images their characters, placeholders, quoted messages and messages inside it nothing. The
    absolute links of its anchors go into `links` when given.

    Telegram writes each line break of a post as `<br>`, also beside a quote or a code block; a
    block's edge breaks the line only where no `<br>` does, so that words on either side of it
    never join. The element's subtree is marked up in place (each element is read once) and read
    by lxml, so that a page of a million tags costs a handful of passes in C, not a Python step
    per tag."""
    if len(element) == 0:  # a name, a count, a signature: plain text
        return _line(_JUNK.sub("", element.text or ""))
    for node in [*element.iter(*_SKIPPED_TAGS), *_LEFT_OUT_BY_CLASS(element)]:
        if node is not element and _left_out(node, str(node.tag).lower(), _classes(node)):
            _drop(node)
    for node in _EMOJI_ELEMENTS(element):
        if "emoji" not in _classes(node):
            continue
        shown = _emoji(node)
        for child in list(node):
            node.remove(child)
        node.text = shown
    for node in list(element.iter("br")):
        node.tail = _BREAK_MARK + (node.tail or "")
    for node in list(element.iter(*_BLOCKS)):
        if node is not element:
            node.text = _EDGE_MARK + (node.text or "")
            node.tail = _EDGE_MARK + (node.tail or "")
    if links is not None:
        for anchor in element.iter("a"):
            if (href := _href(anchor)) and _ABSOLUTE.match(href):
                links.append(href)
    text = _SPACES.sub(" ", _JUNK.sub("", "".join(element.itertext())))
    text = _EDGE_BESIDE_BREAK.sub("", _EDGES.sub(_EDGE_MARK, text))
    text = text.replace(_EDGE_MARK, "\n").replace(_BREAK_MARK, "\n")
    return "\n".join(line.strip() for line in text.split("\n")).strip("\n")


def _drop(node: Any) -> None:
    """Take an element out of the tree, keeping the text that follows it."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _line(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
