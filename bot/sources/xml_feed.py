"""A fast reader for well-formed RSS 2.0, Atom and RSS 1.0 (RDF) documents: lxml parses, then a lean
copy of the feedparser rules whose results parsing.py reads builds those results. A document it is
not sure of (not well-formed, entity declarations, an odd encoding, markup inside a text …) is left
to feedparser.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Any, Final
from xml.sax.saxutils import escape

import feedparser.encodings
import feedparser.html
import feedparser.mixin
import feedparser.sanitizer
import feedparser.urls
import lxml.etree
from feedparser.datetimes import _parse_date

__all__ = ["read_feed"]

# What the reader copies is feedparser's strict (SAX) parser, as of the releases
# feedparser_tuning.CHECKED_VERSIONS names: tests/sources/test_xml_feed.py compares the two on the
# shared corpora. Names below follow feedparser's (push, pop, context …) so the two read side by side.
_Mixin: Any = feedparser.mixin._FeedParserMixin

# feedparser's table of namespaces it knows, by lower-case URI: the prefix its rules use.
_KNOWN: Final[dict[str, str]] = {uri.lower(): prefix for uri, prefix in _Mixin.namespaces.items()}
# Every element name feedparser has a rule for at its start or end; other elements it merely
# collects text for.
_FP_START: Final = frozenset(n[len("_start_") :] for n in dir(_Mixin) if n.startswith("_start_"))
_FP_END: Final = frozenset(n[len("_end_") :] for n in dir(_Mixin) if n.startswith("_end_"))
_RELATIVE: Final[frozenset[str]] = frozenset(_Mixin.can_be_relative_uri)
_HTML_TYPES: Final[frozenset[str]] = frozenset(_Mixin.html_types)
_looks_like_html: Final[Callable[[str], bool]] = _Mixin.looks_like_html
_map_content_type: Final[Callable[[str], str]] = _Mixin.map_content_type
_make_safe_absolute_uri: Final[Callable[..., str]] = feedparser.urls.make_safe_absolute_uri
_urljoin: Final[Callable[[str, str], str]] = feedparser.urls._urljoin
_URI_FIXER: Final[re.Pattern[str]] = feedparser.urls._urifixer

# feedparser maps the C1 controls that windows-1252 puts at 0x80-0x9F; the identity entries
# feedparser_tuning adds change nothing and are left out, so that text without C1 skips the work.
_CP1252: Final[dict[int, str]] = {
    code: char
    for code, char in feedparser.html._cp1252.items()
    if isinstance(char, str) and char != chr(code)
}
_C1: Final = re.compile("[" + "".join(chr(code) for code in sorted(_CP1252)) + "]")
_AMP_REF: Final = re.compile("&([A-Za-z0-9_]+);")
_AUTHOR_EMAIL: Final = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"""
    r"""([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_XML_PI_ENCODING: Final[re.Pattern[bytes]] = feedparser.encodings.RE_XML_PI_ENCODING

_RSS090: Final = "http://my.netscape.com/rdf/simple/0.9/"
_RSS10: Final = "http://purl.org/rss/1.0/"
_ATOM10: Final = "http://www.w3.org/2005/atom"
_XLINK: Final = "http://www.w3.org/1999/xlink"
_XML: Final = "http://www.w3.org/XML/1998/namespace"
_USERLAND: Final = "backend.userland.com/rss"
_ITUNES_SCHEME: Final = "http://www.itunes.com/"
_MEDIA_CATEGORY_SCHEME: Final = "http://search.yahoo.com/mrss/category_schema"

# Keys of the results that parsing.py reads, or that feedparser's rules look up again (whether an
# entry has a summary, a link, an author): only these are stored.
_STORED: Final = frozenset({"title", "description", "summary", "content", "link", "id", "author"})
# Elements without a rule of their own whose text feedparser stores under a key that matters; other
# such elements are read past. The keys left out would collide with what the rules keep.
_STORED_PLAIN: Final = frozenset({"ttl"})
_RESERVED: Final = frozenset(
    {"links", "tags", "authors", "contributors", "guidislink", "publishers"}
    | {"date_parsed", "modified_parsed", "issued_parsed", "updated_parsed", "published_parsed"}
)
# The roots of the three formats, by feedparser's name for them (a root in the RSS 1.0 namespace,
# or RSS 0.9x and 2.0 with or without the userland namespace, comes out as "rss" or "feed").
_ROOTS: Final = frozenset({"rss", "feed", "rdf_rdf"})
# Rules for elements that have no element inside in real feeds: the end of some looks up what the
# start stored in the context of then, which an element inside could have switched.
_LEAVES: Final = frozenset(
    {"media_thumbnail", "media_player", "media_rating", "media_credit", "media_restriction"}
    | {"media_license", "cloud", "admin_generatoragent", "admin_errorreportsto", "width"}
    | {"height", "generator", "language", "dc_language", "newlocation", "dcterms_valid"}
    | {"itunes_image", "itunes_link", "created", "dcterms_created", "expirationdate"}
    | {"subtitle", "tagline", "itunes_subtitle", "rights", "copyright", "dc_rights", "info"}
    | {"feedburner_browserfriendly", "webmaster", "dc_publisher", "enclosure", "cc_license"}
)
# lxml allows 256 levels without huge_tree; the walk never goes deeper than the parser did.
_PARSER_OPTIONS: Final[dict[str, Any]] = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "recover": False,
    # Comments and processing instructions dropped: the text on both sides of one joins, as
    # feedparser's SAX handler joins it.
    "remove_comments": True,
    "remove_pis": True,
}


_StartRule = Callable[["_Reader", dict[str, str]], None]
_EndRule = Callable[["_Reader"], None]


class _Decline(Exception):
    """The document does something the reader does not copy: feedparser reads it."""


def read_feed(data: bytes, content_type: str) -> dict[str, Any] | None:
    """feedparser's result for `data` (as `feedparser.parse(data, response_headers={"content-type":
    content_type}, sanitize_html=False, resolve_relative_uris=False)` gives it), reduced to what
    parsing.py reads: "version", "feed" (title, title_detail, link, links, ttl) and "entries" (id,
    title, summary, content, link, links, published_parsed, updated_parsed, author, tags, each with
    its *_detail). None when the reader is not sure to give exactly that."""
    prepared = _prepared(data, content_type)
    if prepared is None:
        return None
    parser = lxml.etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = lxml.etree.fromstring(prepared, parser)
    except (lxml.etree.LxmlError, ValueError):
        return None  # not well-formed to libxml2: feedparser's loose parser reads it
    if len(parser.error_log):
        return None  # a namespace or other error libxml2 tolerates and expat might not
    if root.getroottree().docinfo.doctype:
        # Whatever the DTD holds (entities, default attributes), expat applies and libxml2 is
        # not asked to: feedparser reads the document.
        return None
    try:
        return _Reader().read(root)
    except Exception:
        return None  # anything unforeseen: feedparser, the reference, reads it


def _prepared(data: bytes, content_type: str) -> bytes | None:
    """The bytes feedparser hands its XML parser (UTF-8, the declaration rewritten, the DOCTYPE
    dropped), when it would choose the encoding the document and the server give without
    overriding either."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body.startswith((b"<", b" ", b"\t", b"\r", b"\n")) or b"\x00" in body[:4]:
        return None  # UTF-16/32, EBCDIC or not XML
    declared = _XML_PI_ENCODING.match(body)
    _, charset = feedparser.encodings.parse_content_type(content_type)
    if declared and charset and not _same_codec(declared.group(1).decode("latin-1"), charset):
        return None  # the document and the server disagree: feedparser's rules decide, not ours
    headers = {"content-type": content_type} if content_type else {}
    result: dict[str, Any] = {}
    converted: bytes = feedparser.encodings.convert_to_utf8(headers, data, result)
    error = result.get("bozo_exception")
    if not result.get("encoding") or isinstance(
        error, feedparser.encodings.CharacterEncodingOverride
    ):
        return None  # the stated encoding failed; feedparser guesses another
    version, without_doctype, entities = feedparser.sanitizer.replace_doctype(converted)
    if version or entities or not isinstance(without_doctype, bytes):
        return None  # an RSS 0.91 DOCTYPE, or entities feedparser declares again: it reads them
    # feedparser's strict parser reads the document without its DOCTYPE (`<!DOCTYPE html>` on an
    # Atom feed, a DTD's address), so this reader does too; a DOCTYPE left in declines below.
    return without_doctype


def _same_codec(first: str, second: str) -> bool:
    try:
        return codecs.lookup(first).name == codecs.lookup(second.strip("\"'")).name
    except LookupError:
        return False


def _attributes(
    node: Any, items: list[tuple[str, str]], declared: list[tuple[str, str]]
) -> dict[str, str]:
    """An element's attributes as feedparser's SAX handler names them: in lower case, each under
    its name with the prefix feedparser knows its namespace by (none for one it does not know) and
    with the prefix the document wrote; rel and type values in lower case."""
    attrs = dict(declared)
    bare: set[str] = set()
    for name, value in items:
        if name[0] == "{":
            uri, _, local = name[1:].partition("}")
            prefix = _KNOWN.get(uri.lower(), "")
            attrs[(prefix + ":" + local).lower() if prefix else local.lower()] = value
            local = local.lower()
        else:
            local = name.lower()
            attrs[local] = value
        if local in bare:
            # Two attributes under one name: which value feedparser keeps depends on an order
            # expat and lxml need not share.
            raise _Decline
        bare.add(local)
    for name, value in items:
        if name[0] == "{":
            uri, _, local = name[1:].partition("}")
            attrs[(_written_prefix(node, uri) + ":" + local).lower()] = value
    for key in ("rel", "type"):
        given = attrs.get(key)
        if given:
            attrs[key] = given.lower()
    return attrs


def _written_prefix(node: Any, uri: str) -> str:
    if uri == _XML:
        return "xml"
    prefixes = [prefix for prefix, bound in node.nsmap.items() if bound == uri and prefix]
    if len(prefixes) != 1:
        raise _Decline  # which of two prefixes the document wrote, lxml does not say
    prefix: str = prefixes[0]
    return prefix


def _repaired(text: str) -> str:
    """feedparser's repair of UTF-8 read as Latin-1 ("Ã©tÃ©" is "été"), before its windows-1252
    mapping of C1 controls."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except UnicodeError:
        return text


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


class _Reader:
    """feedparser's _FeedParserMixin, as much of it as the results parsing.py reads depend on, fed
    by a walk over an lxml tree instead of SAX events."""

    def __init__(self) -> None:
        self.version = ""
        self.feeddata: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.sourcedata: dict[str, Any] = {}
        # (name, expecting text, pieces): a pop only takes what is on top under its own name, and
        # some rules push without popping (feedparser's Atom content pushes twice), so the stack
        # is kept as feedparser keeps it and text goes where feedparser's would.
        self.stack: list[tuple[str, int, list[str]]] = []
        self.contentparams: dict[str, str] = {}
        self.infeed = self.inentry = self.incontent = self.inimage = self.intextinput = 0
        self.inauthor = self.incontributor = self.inpublisher = self.insource = 0
        self.has_content = 0
        self.guidislink = False
        self.summary_key: str | None = None
        self.title_depth = -1
        self.depth = 0
        self.entry_depths: dict[str, int] = {}  # feedparser's property_depth_map of the entry
        self.baseuri = ""
        self.basestack: list[str] = []
        self.namespacemap: dict[str | None, str] = {}
        self.namespaces_in_use: dict[str, str] = {}
        self.start_names: dict[str, tuple[str, bool, bool, _StartRule | None]] = {}
        self.end_names: dict[str, tuple[str, _EndRule | None]] = {}
        self.xhtml = False  # feedparser escapes the text of an XHTML construct
        self.self_joined: dict[str, str] = {}
        self.root = ""

    # --- the walk -----------------------------------------------------------------------------

    def read(self, root: Any) -> dict[str, Any] | None:
        declared: list[tuple[str, str]] = []
        stack = self.stack
        for event, node in lxml.etree.iterwalk(root, events=("start-ns", "start", "end")):
            # Text goes to the element on top of the stack, as feedparser's handle_data puts it.
            if event == "start":
                self.start(node, declared)
                if declared:
                    declared = []
                text = node.text
                if text and stack:
                    stack[-1][2].append(escape(text) if self.xhtml else text)
            elif event == "end":
                self.end(node)
                text = node.tail
                if text and stack:
                    stack[-1][2].append(escape(text) if self.xhtml else text)
            else:
                prefix, uri = node
                if uri:
                    self.track_namespace(prefix or None, uri)
                    if prefix and uri == _XLINK:
                        declared.append(("xmlns:" + prefix, uri))
        if self.root not in _ROOTS or not self.version:
            return None
        return {"version": self.version, "feed": self.feeddata, "entries": self.entries}

    def start(self, node: Any, declared: list[tuple[str, str]]) -> None:
        tag = node.tag
        if not isinstance(tag, str):
            raise _Decline  # an entity reference lxml kept
        self.depth += 1
        found = self.start_names.get(tag) or self._start_name(tag)
        key, resets_textinput, resets_image, rule = found
        items = node.items()
        attrs = _attributes(node, items, declared) if items or declared else {}
        if attrs or self.baseuri:
            self._track_base(attrs)
        else:
            self.basestack.append("")
        if self.incontent:
            raise _Decline  # markup inside a text: feedparser makes XHTML of it
        if resets_textinput:
            self.intextinput = 0
        if resets_image:
            self.inimage = 0
        if self.depth == 1:
            self.root = key
        if rule is not None:
            if key in _LEAVES and len(node):
                raise _Decline  # its rule's end expects the context its start saw
            rule(self, attrs)
        elif key in _FP_START or key in _RESERVED or key.endswith("_detail"):
            raise _Decline
        elif not attrs:
            self.stack.append((key, 1, []))
        else:
            context = self.context()
            if key in _STORED_PLAIN:
                context[key] = attrs

    def end(self, node: Any) -> None:
        key, rule = self.end_names.get(node.tag) or self._end_name(node.tag)
        if rule is not None:
            rule(self)
        elif key in _FP_END:
            raise _Decline
        elif key in _STORED_PLAIN:
            self.pop(key)
        else:
            stack = self.stack
            if stack and stack[-1][0] == key:
                stack.pop()
        basestack = self.basestack
        if basestack:
            basestack.pop()
            if basestack and basestack[-1]:
                self.baseuri = basestack[-1]
        self.depth -= 1

    # --- names: feedparser's strict parser names an element by its own table of namespaces ----

    def _start_name(self, tag: str) -> tuple[str, bool, bool, _StartRule | None]:
        """The rule name as startElementNS and unknown_starttag make it; whether the element ends
        a textinput and an image (feedparser's test: an unprefixed name outside a short list); the
        reader's copy of the rule."""
        uri, local = _split(tag)
        lower_uri = uri.lower()
        if _USERLAND in lower_uri:
            uri = lower_uri = "http://" + _USERLAND
        known = _KNOWN.get(lower_uri)
        local = local.lower()
        name = known.lower() + ":" + local if known else self._by_declared_prefix(uri, local)
        name = name.lower()
        key = self._rule_name(name)
        unprefixed = not self._mapped_prefix(name)
        found = (
            key,
            unprefixed and name not in ("title", "link", "description", "name"),
            unprefixed
            and name not in ("title", "link", "description", "url", "href", "width", "height"),
            _START.get(key),
        )
        self.start_names[tag] = found
        return found

    def _end_name(self, tag: str) -> tuple[str, _EndRule | None]:
        """The rule name as endElementNS and unknown_endtag make it (a little unlike the start)."""
        uri, local = _split(tag)
        known = _KNOWN.get(uri.lower(), "")
        name = known + ":" + local if known else self._by_declared_prefix(uri, local)
        key = self._rule_name(name.lower())
        found = key, _END.get(key)
        self.end_names[tag] = found
        return found

    def _by_declared_prefix(self, uri: str, local: str) -> str:
        if uri:
            for prefix, value in self.namespaces_in_use.items():
                if prefix and value == uri:
                    return prefix + ":" + local
        return local

    def _mapped_prefix(self, name: str) -> str:
        prefix = name.partition(":")[0] if ":" in name else ""
        return self.namespacemap.get(prefix, prefix)

    def _rule_name(self, name: str) -> str:
        if ":" in name:
            prefix, suffix = name.split(":", 1)
        else:
            prefix, suffix = "", name
        prefix = self.namespacemap.get(prefix, prefix)
        return prefix + "_" + suffix if prefix else suffix

    def track_namespace(self, prefix: str | None, uri: str) -> None:
        lower_uri = uri.lower()
        if not self.version:
            if (prefix, lower_uri) == (None, _RSS090):
                self.version = "rss090"
            elif lower_uri == _RSS10:
                self.version = "rss10"
            elif lower_uri == _ATOM10:
                self.version = "atom10"
        if _USERLAND in lower_uri:
            uri = lower_uri = "http://" + _USERLAND
        known = _KNOWN.get(lower_uri)
        if known is not None:
            self.namespacemap[prefix] = known
            self.namespaces_in_use[known] = uri
        else:
            self.namespaces_in_use[prefix or ""] = uri
        self.start_names.clear()
        self.end_names.clear()

    def _track_base(self, attrs: dict[str, str]) -> None:
        given = attrs.get("xml:base", attrs.get("base")) if attrs else None
        if self.baseuri:
            if given:
                self.baseuri = _make_safe_absolute_uri(self.baseuri, given) or self.baseuri
            else:
                joined = self.self_joined.get(self.baseuri)
                if joined is None:
                    joined = _make_safe_absolute_uri(self.baseuri, self.baseuri) or self.baseuri
                    self.self_joined[self.baseuri] = joined
                self.baseuri = joined
        elif given:
            self.baseuri = _urljoin("", given)
        self.basestack.append(self.baseuri)

    def resolve_uri(self, uri: str) -> str:
        if not self.baseuri:
            # urljoin returns the reference as it is against an empty base; what is left of
            # feedparser's _urljoin is its _urifixer: no slashes after "scheme://".
            fixed = _URI_FIXER.match(uri)
            return fixed.group(1) + uri[fixed.end(2) :] if fixed and fixed.group(2) else uri
        return _urljoin(self.baseuri, uri)

    # --- feedparser's stack, contexts and stores -------------------------------------------------

    def push(self, element: str, expecting_text: int) -> None:
        self.stack.append((element, expecting_text, []))

    def drop(self, element: str) -> None:
        """pop() for an element whose text nothing reads."""
        if self.stack and self.stack[-1][0] == element:
            self.stack.pop()

    def pop(self, element: str) -> str | None:
        stack = self.stack
        if not stack or stack[-1][0] != element:
            return None
        _, expecting_text, pieces = stack.pop()
        output = "".join(pieces).strip()
        if not expecting_text:
            return output
        if output and element in _RELATIVE and (element != "id" or self.guidislink):
            output = self.resolve_uri(output)
        params = self.contentparams
        if (
            params.get("type") == "text/plain"
            and not self.version.startswith("atom")
            and _looks_like_html(output)
        ):
            params["type"] = "text/html"
        if not output.isascii():
            output = _repaired(output)
            if _C1.search(output):
                output = output.translate(_CP1252)
        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output
        if element not in _STORED and element not in _STORED_PLAIN:
            return output
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault("content", []).append(
                    {"type": params.get("type"), "value": output}
                )
            elif element == "link":
                if not self.inimage:
                    if "&" in output:
                        output = _AMP_REF.sub(r"&\g<1>", output.replace("&amp;", "&"))
                    entry["link"] = output
                    if output:
                        entry["links"][-1]["href"] = output
            else:
                if element == "description":
                    element = "summary"
                old_depth = self.entry_depths.get(element)
                if old_depth is None or self.depth <= old_depth:
                    self.entry_depths[element] = self.depth
                    entry[element] = output
                if self.incontent:
                    entry[element + "_detail"] = {"type": params.get("type"), "value": output}
        elif self.infeed or self.insource:
            context = self.context()
            if element == "description":
                element = "subtitle"
            context[element] = output
            if element == "link":
                if "&" in output:
                    output = _AMP_REF.sub(r"&\g<1>", output)
                context[element] = output
                context["links"][-1]["href"] = output
            elif self.incontent:
                context[element + "_detail"] = {"type": params.get("type"), "value": output}
        return output

    def context(self) -> dict[str, Any]:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            image: dict[str, Any] = self.feeddata["image"]
            return image
        if self.intextinput:
            textinput: dict[str, Any] = self.feeddata["textinput"]
            return textinput
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def save(self, key: str, value: object, *, overwrite: bool = False) -> None:
        context = self.context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def push_content(self, tag: str, attrs: dict[str, str], default: str, expecting: int) -> None:
        self.incontent += 1
        content_type = _map_content_type(attrs.get("type", default))
        if attrs.get("mode", "") == "base64" or not (
            content_type.startswith("text/") or content_type.endswith(("+xml", "/xml"))
        ):
            raise _Decline  # feedparser decodes such a text as base64
        self.contentparams = {"type": content_type}
        self.xhtml = content_type == "application/xhtml+xml"
        self.push(tag, expecting)

    def pop_content(self, tag: str) -> str | None:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams = {}
        self.xhtml = False
        return value

    def in_any(self) -> int:
        return self.infeed or self.inentry or self.insource

    # --- the rules (feedparser's _start_* and _end_* methods of the same names) -----------------

    def start_rss(self, attrs: dict[str, str]) -> None:
        if not self.version or not self.version.startswith("rss"):
            given = attrs.get("version", "")
            versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
            self.version = versions.get(given) or ("rss20" if given.startswith("2.") else "rss")

    def start_channel(self, attrs: dict[str, str]) -> None:
        self.infeed = 1
        self.cdf_common(attrs)

    def cdf_common(self, attrs: dict[str, str]) -> None:
        if "lastmod" in attrs or "href" in attrs:
            raise _Decline  # CDF's attributes, not RSS or Atom

    def start_feed(self, attrs: dict[str, str]) -> None:
        self.infeed = 1
        if not self.version:
            versions = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}
            self.version = versions.get(attrs.get("version", "")) or "atom"

    def end_channel(self) -> None:
        self.infeed = 0

    def start_image(self, attrs: dict[str, str]) -> None:
        context = self.context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self.push("image", 0)

    def end_image(self) -> None:
        self.drop("image")
        self.inimage = 0

    def start_textinput(self, attrs: dict[str, str]) -> None:
        self.context().setdefault("textinput", {})
        if "textinput" not in self.feeddata:
            raise _Decline  # one in an entry: feedparser then fails to find the feed's
        self.intextinput = 1
        self.title_depth = -1
        self.push("textinput", 0)

    def end_textinput(self) -> None:
        self.drop("textinput")
        self.intextinput = 0

    def start_item(self, attrs: dict[str, str]) -> None:
        self.entries.append({})
        self.entry_depths = {}
        self.push("item", 0)
        self.inentry = 1
        self.guidislink = False
        self.title_depth = -1
        about = attrs.get(self.standard_name("rdf:about")) if attrs else None
        if about:
            self.context()["id"] = about
        self.cdf_common(attrs)

    def standard_name(self, name: str) -> str:
        prefix, _, suffix = name.partition(":")
        return self.namespacemap.get(prefix, prefix) + ":" + suffix

    def end_item(self) -> None:
        self.drop("item")
        self.inentry = 0
        self.has_content = 0

    def start_source(self, attrs: dict[str, str]) -> None:
        self.push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def end_source(self) -> None:
        self.insource = 0
        self.drop("source")
        self.context()
        self.sourcedata.clear()

    def start_title(self, attrs: dict[str, str]) -> None:
        self.push_content("title", attrs, "text/plain", self.in_any())

    def end_title(self) -> None:
        if self.pop_content("title"):
            self.title_depth = self.depth

    def end_media_title(self) -> None:
        title_depth = self.title_depth
        self.end_title()
        self.title_depth = title_depth

    def start_description(self, attrs: dict[str, str]) -> None:
        if "summary" in self.context() and not self.has_content:
            self.summary_key = "content"
            self.start_content(attrs)
        else:
            self.push_content("description", attrs, "text/html", self.in_any())

    def end_description(self) -> None:
        if self.summary_key == "content":
            self.end_content()
        else:
            self.pop_content("description")
        self.summary_key = None

    def start_summary(self, attrs: dict[str, str]) -> None:
        if "summary" in self.context() and not self.has_content:
            self.summary_key = "content"
            self.start_content(attrs)
        else:
            self.summary_key = "summary"
            self.push_content("summary", attrs, "text/plain", 1)

    def end_summary(self) -> None:
        if self.summary_key == "content":
            self.end_content()
        else:
            self.pop_content(self.summary_key or "summary")
        self.summary_key = None

    def start_content(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self.push_content("content", attrs, "text/plain", 1)
        self.push("content", 1)  # twice, as feedparser does: the first stays on its stack

    def start_content_encoded(self, attrs: dict[str, str]) -> None:
        self.has_content = 1
        self.push_content("content", attrs, "text/html", 1)

    def end_content(self) -> None:
        content_type = self.contentparams.get("type")
        if content_type is None:
            raise _Decline
        copy_to_summary = content_type == "text/plain" or content_type in _HTML_TYPES
        value = self.pop_content("content")
        if copy_to_summary:
            self.save("summary", value)

    def start_link(self, attrs: dict[str, str]) -> None:
        rel = attrs.setdefault("rel", "alternate")
        link_type = attrs.setdefault(
            "type", "application/atom+xml" if rel == "self" else "text/html"
        )
        context = self.context()
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        link: dict[str, Any] = {"rel": rel}
        if href:
            link["href"] = self.resolve_uri(href)
        elif "href" in attrs:
            link["href"] = self.resolve_uri(attrs["href"])
        links = context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            links.append(link)
        if "href" in link:
            if rel == "alternate" and _map_content_type(link_type) in _HTML_TYPES:
                context["link"] = link["href"]
        else:
            self.push("link", self.in_any())

    def end_link(self) -> None:
        self.pop("link")

    def start_enclosure(self, attrs: dict[str, str]) -> None:
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        link: dict[str, Any] = {"rel": "enclosure"}
        if href or "href" in attrs:
            link["href"] = href or attrs["href"]
        self.context().setdefault("links", []).append(link)

    def start_cc_license(self, attrs: dict[str, str]) -> None:
        value = attrs.get(self.standard_name("rdf:resource"))
        link: dict[str, Any] = {"rel": "license"}
        if value:
            link["href"] = value
        self.context().setdefault("links", []).append(link)

    def start_guid(self, attrs: dict[str, str]) -> None:
        self.guidislink = attrs.get("ispermalink", "true") == "true"
        self.push("id", 1)

    def end_guid(self) -> None:
        value = self.pop("id")
        if self.guidislink:
            self.save("link", value)

    def end_published(self) -> None:
        self.save("published_parsed", _parse_date(self.pop("published")), overwrite=True)

    def end_updated(self) -> None:
        self.save("updated_parsed", _parse_date(self.pop("updated")), overwrite=True)

    def start_author(self, attrs: dict[str, str]) -> None:
        self.inauthor = 1
        self.push("author", 1)
        self.context().setdefault("authors", []).append({})

    def end_author(self) -> None:
        self.pop("author")
        self.inauthor = 0
        self.sync_author_detail()

    def start_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self.push("contributor", 0)

    def end_contributor(self) -> None:
        self.drop("contributor")
        self.incontributor = 0

    def start_dc_contributor(self, attrs: dict[str, str]) -> None:
        self.incontributor = 1
        self.push("name", 0)

    def end_dc_contributor(self) -> None:
        self.end_name()
        self.incontributor = 0

    def end_name(self) -> None:
        value = self.pop("name")
        if self.inpublisher or self.inauthor:
            self.save_author("name", value)
        elif self.incontributor:
            pass  # a contributor's: not kept
        elif self.intextinput:
            self.context()["name"] = value

    def end_email(self) -> None:
        value = self.pop("email")
        if self.inpublisher or self.inauthor:
            self.save_author("email", value)

    def end_url(self) -> None:
        value = self.pop("href")
        if self.inauthor:
            self.save_author("href", value)

    def start_itunes_owner(self, attrs: dict[str, str]) -> None:
        self.inpublisher = 1
        self.push("publisher", 0)

    def end_itunes_owner(self) -> None:
        self.drop("publisher")
        self.inpublisher = 0

    def save_author(self, key: str, value: str | None) -> None:
        # As feedparser's _save_author, whose "publisher_detail" nothing reads: a publisher's name
        # and mail go into "authors" too.
        context = self.context()
        self.sync_author_detail()
        context.setdefault("authors", [{}])[-1][key] = value

    def sync_author_detail(self) -> None:
        """feedparser's _sync_author_detail("author"): the author from the last authors entry, or
        that entry from the author's text ("Name (mail@example.com)")."""
        context = self.context()
        detail: dict[str, Any] = context.get("authors", [{}])[-1]
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                context["author"] = f"{name} ({email})"
            elif name:
                context["author"] = name
            elif email:
                context["author"] = email
            return
        author = context.get("author")
        if not author:
            return
        email = None
        found = _AUTHOR_EMAIL.search(author)
        if found:
            email = found.group(0)
            author = author.replace(email, "").replace("()", "").replace("<>", "")
            author = author.replace("&lt;&gt;", "").strip()
            if author and author[0] == "(":
                author = author[1:]
            if author and author[-1] == ")":
                author = author[:-1]
            author = author.strip()
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def add_tag(self, term: str | None, scheme: str | None, label: str | None) -> None:
        tags = self.context().setdefault("tags", [])
        if not term and not scheme and not label:
            return
        tag = {"term": term, "scheme": scheme, "label": label}
        if tag not in tags:
            tags.append(tag)

    def start_category(self, attrs: dict[str, str]) -> None:
        scheme = attrs.get("scheme", attrs.get("domain"))
        self.add_tag(attrs.get("term"), scheme, attrs.get("label"))
        self.push("category", 1)

    def start_media_category(self, attrs: dict[str, str]) -> None:
        attrs.setdefault("scheme", _MEDIA_CATEGORY_SCHEME)
        self.start_category(attrs)

    def start_itunes_category(self, attrs: dict[str, str]) -> None:
        self.add_tag(attrs.get("text"), _ITUNES_SCHEME, None)
        self.push("category", 1)

    def end_category(self) -> None:
        value = self.pop("category")
        if not value:
            return
        tags = self.context()["tags"]
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self.add_tag(value, None, None)

    def end_itunes_keywords(self) -> None:
        value = self.pop("itunes_keywords")
        for term in value.split(",") if value is not None else ():
            if term.strip():
                self.add_tag(term.strip(), _ITUNES_SCHEME, None)

    def end_media_keywords(self) -> None:
        value = self.pop("media_keywords")
        for term in value.split(",") if value is not None else ():
            if term.strip():
                self.add_tag(term.strip(), None, None)

    def end_tags(self) -> None:
        value = self.pop("tags")
        for term in value.split(",") if value is not None else ():
            self.add_tag(term.strip(), None, None)

    def start_itunes_image(self, attrs: dict[str, str]) -> None:
        self.push("itunes_image", 0)
        if attrs.get("href") or attrs.get("url"):
            # It takes the place of the feed's image, where an RSS <image>'s text would go.
            self.context()["image"] = {}


def _pushing(name: str, expecting_text: int) -> Callable[[_Reader, dict[str, str]], None]:
    """A rule that only pushes `name` (its text is read, but not by parsing.py)."""

    def start(reader: _Reader, attrs: dict[str, str]) -> None:
        reader.push(name, expecting_text)

    return start


def _dropping(name: str) -> Callable[[_Reader], None]:
    def end(reader: _Reader) -> None:
        reader.drop(name)

    return end


def _content(name: str) -> tuple[Callable[..., None], Callable[[_Reader], None]]:
    """A text construct whose text parsing.py does not read (a subtitle, rights)."""

    def start(reader: _Reader, attrs: dict[str, str]) -> None:
        reader.push_content(name, attrs, "text/plain", 1)

    def end(reader: _Reader) -> None:
        reader.pop_content(name)

    return start, end


def _nothing(reader: _Reader, attrs: dict[str, str]) -> None:
    """A rule that neither pushes nor changes what parsing.py reads."""


_START: Final[dict[str, _StartRule]] = {
    "rss": _Reader.start_rss,
    "channel": _Reader.start_channel,
    "feed": _Reader.start_feed,
    "item": _Reader.start_item,
    "entry": _Reader.start_item,
    "image": _Reader.start_image,
    "textinput": _Reader.start_textinput,
    "source": _Reader.start_source,
    **dict.fromkeys(("title", "dc_title", "media_title"), _Reader.start_title),
    **dict.fromkeys(
        ("description", "dc_description", "media_description"), _Reader.start_description
    ),
    **dict.fromkeys(("summary", "itunes_summary"), _Reader.start_summary),
    "content": _Reader.start_content,
    "content_encoded": _Reader.start_content_encoded,
    "link": _Reader.start_link,
    "enclosure": _Reader.start_enclosure,
    "cc_license": _Reader.start_cc_license,
    **dict.fromkeys(("guid", "id"), _Reader.start_guid),
    **dict.fromkeys(("published", "issued", "pubdate", "dcterms_issued"), _pushing("published", 1)),
    **dict.fromkeys(
        ("updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"),
        _pushing("updated", 1),
    ),
    **dict.fromkeys(("created", "dcterms_created"), _pushing("created", 1)),
    "expirationdate": _pushing("expired", 1),
    **dict.fromkeys(
        ("author", "managingeditor", "dc_author", "dc_creator", "itunes_author"),
        _Reader.start_author,
    ),
    "contributor": _Reader.start_contributor,
    "dc_contributor": _Reader.start_dc_contributor,
    **dict.fromkeys(("name", "itunes_name"), _pushing("name", 0)),
    **dict.fromkeys(("email", "itunes_email"), _pushing("email", 0)),
    **dict.fromkeys(("url", "homepage", "uri"), _pushing("href", 1)),
    **dict.fromkeys(("webmaster", "dc_publisher"), _pushing("publisher", 1)),
    "itunes_owner": _Reader.start_itunes_owner,
    **dict.fromkeys(("category", "keywords", "dc_subject"), _Reader.start_category),
    "media_category": _Reader.start_media_category,
    "itunes_category": _Reader.start_itunes_category,
    "tags": _pushing("tags", 1),
    **dict.fromkeys(("language", "dc_language"), _pushing("language", 1)),
    "generator": _pushing("generator", 1),
    "width": _pushing("width", 0),
    "height": _pushing("height", 0),
    "newlocation": _pushing("newlocation", 1),
    "dcterms_valid": _pushing("validity", 1),
    "media_thumbnail": _pushing("url", 1),
    "media_player": _pushing("media_player", 0),
    "media_rating": _pushing("rating", 1),
    "media_credit": _pushing("credit", 1),
    "media_restriction": _pushing("restriction", 1),
    "media_license": _pushing("license", 1),
    **dict.fromkeys(("itunes_image", "itunes_link"), _Reader.start_itunes_image),
    **dict.fromkeys(
        ("cloud", "media_group", "media_content", "admin_generatoragent", "admin_errorreportsto"),
        _nothing,
    ),
}

_SUBTITLE, _END_SUBTITLE = _content("subtitle")
_RIGHTS, _END_RIGHTS = _content("rights")
_INFO, _END_INFO = _content("info")
_START.update(
    dict.fromkeys(("subtitle", "tagline", "itunes_subtitle"), _SUBTITLE)
    | dict.fromkeys(("rights", "copyright", "dc_rights"), _RIGHTS)
    | dict.fromkeys(("info", "feedburner_browserfriendly"), _INFO)
)

_END: Final[dict[str, _EndRule]] = {
    **dict.fromkeys(("channel", "feed"), _Reader.end_channel),
    **dict.fromkeys(("item", "entry"), _Reader.end_item),
    "image": _Reader.end_image,
    "textinput": _Reader.end_textinput,
    "source": _Reader.end_source,
    **dict.fromkeys(("title", "dc_title"), _Reader.end_title),
    "media_title": _Reader.end_media_title,
    **dict.fromkeys(
        ("description", "dc_description", "media_description"), _Reader.end_description
    ),
    **dict.fromkeys(("summary", "itunes_summary"), _Reader.end_summary),
    **dict.fromkeys(("content", "content_encoded"), _Reader.end_content),
    **dict.fromkeys(("subtitle", "tagline", "itunes_subtitle"), _END_SUBTITLE),
    **dict.fromkeys(("rights", "copyright", "dc_rights"), _END_RIGHTS),
    **dict.fromkeys(("info", "feedburner_browserfriendly"), _END_INFO),
    "link": _Reader.end_link,
    **dict.fromkeys(("guid", "id"), _Reader.end_guid),
    **dict.fromkeys(("published", "issued", "pubdate", "dcterms_issued"), _Reader.end_published),
    **dict.fromkeys(
        ("updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"),
        _Reader.end_updated,
    ),
    **dict.fromkeys(("created", "dcterms_created"), _dropping("created")),
    "expirationdate": _dropping("expired"),
    **dict.fromkeys(
        ("author", "managingeditor", "dc_author", "dc_creator", "itunes_author"),
        _Reader.end_author,
    ),
    "contributor": _Reader.end_contributor,
    "dc_contributor": _Reader.end_dc_contributor,
    **dict.fromkeys(("name", "itunes_name"), _Reader.end_name),
    **dict.fromkeys(("email", "itunes_email"), _Reader.end_email),
    **dict.fromkeys(("url", "homepage", "uri"), _Reader.end_url),
    **dict.fromkeys(("webmaster", "dc_publisher"), _dropping("publisher")),
    "itunes_owner": _Reader.end_itunes_owner,
    **dict.fromkeys(
        ("category", "keywords", "dc_subject", "media_category", "itunes_category"),
        _Reader.end_category,
    ),
    "itunes_keywords": _Reader.end_itunes_keywords,
    "media_keywords": _Reader.end_media_keywords,
    "tags": _Reader.end_tags,
    **dict.fromkeys(("language", "dc_language"), _dropping("language")),
    "generator": _dropping("generator"),
    "width": _dropping("width"),
    "height": _dropping("height"),
    "newlocation": _dropping("newlocation"),
    "dcterms_valid": _dropping("validity"),
    "media_thumbnail": _dropping("url"),
    "media_player": _dropping("media_player"),
    "media_rating": _dropping("rating"),
    "media_credit": _dropping("credit"),
    "media_restriction": _dropping("restriction"),
    "media_license": _dropping("license"),
    "itunes_block": _dropping("itunes_block"),
    "itunes_explicit": _dropping("itunes_explicit"),
}
