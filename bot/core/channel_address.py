"""Public Telegram channels by address: `@name`, `t.me/name`, `https://t.me/s/name` and a post's link
all name one channel, stored as `https://t.me/s/<name>` with the name in lower case (Telegram's
names ignore case). Pure: the base URL pages are fetched from is the caller's."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from bot.core.said import N_

__all__ = [
    "CANONICAL_BASE",
    "NOT_A_CHANNEL",
    "NO_PUBLIC_PREVIEW",
    "NO_SUCH_CHANNEL",
    "TELEGRAM_HOSTS",
    "TELEGRAM_LIMITING",
    "channel_name",
    "channel_url",
    "cited_post",
    "is_channel_url",
    "is_telegram_link",
    "page_before",
    "page_url",
    "post_key",
    "source_label",
]

CANONICAL_BASE = "https://t.me"
NOT_A_CHANNEL = N_(
    "not a public channel's address: give @name, t.me/name or https://t.me/s/name (invite links "
    "and private channels cannot be read)"
)
# A channel's health, in these words wherever it is found (a feed's are the server's own): the
# chat reads them translated.
NO_PUBLIC_PREVIEW = N_("the channel has no public preview")
NO_SUCH_CHANNEL = N_("no such channel")
TELEGRAM_LIMITING = N_("Telegram is limiting our requests")
TELEGRAM_HOSTS = ("t.me", "telegram.me", "www.t.me", "www.telegram.me")
"""The hosts of Telegram's public links; a channel's address on any of them is the same channel."""

# Telegram's rule for public names: 5 to 32 letters, digits and underscores, a letter first (a few
# old four-letter names exist, so four are allowed).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
# Paths of t.me that are not channels though they look like names.
_RESERVED = frozenset(
    {
        "addemoji",
        "addlist",
        "addstickers",
        "addtheme",
        "boost",
        "contact",
        "invoice",
        "joinchat",
        "login",
        "proxy",
        "setlanguage",
        "share",
        "socks",
    }
)
# A post cited in a text: t.me/<name>/<id>, with or without the scheme and /s/.
_CITED = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?([A-Za-z][A-Za-z0-9_]{3,31})/([0-9]{1,18})\b",
    re.IGNORECASE,
)


def _name(candidate: str) -> str | None:
    if _NAME.fullmatch(candidate) and candidate.lower() not in _RESERVED:
        return candidate.lower()
    return None


def channel_name(address: str) -> str | None:
    """The channel `address` names, in lower case: `@name`, `t.me/name`, `t.me/s/name`, a post's
    link `t.me/name/123`, on t.me or telegram.me, with or without https://; None for anything
    else (a feed's URL, an invite link, a private channel's `t.me/c/…`)."""
    text = address.strip()
    if text.startswith("@"):
        return _name(text[1:])
    if ".me" not in text.lower():  # every feed's URL ends here: no t.me, no telegram.me
        return None
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or host not in TELEGRAM_HOSTS:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments and segments[0] == "s":
        segments = segments[1:]
    if not segments or len(segments) > 2 or (len(segments) == 2 and not segments[1].isdigit()):
        return None
    return _name(segments[0])


def is_telegram_link(address: str) -> bool:
    """Whether `address` points into Telegram (t.me or telegram.me), a channel or not."""
    text = address.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        return (urlsplit(text).hostname or "").lower() in TELEGRAM_HOSTS
    except ValueError:
        return False


def is_channel_url(url: str) -> bool:
    """Whether `url` is a link to a channel (as stored, or any t.me link that names one)."""
    return not url.lstrip().startswith("@") and channel_name(url) is not None


def channel_url(name: str) -> str:
    """The address a channel is stored under: `https://t.me/s/<name>`."""
    return f"{CANONICAL_BASE}/s/{name.lower()}"


def page_url(name: str, base: str = CANONICAL_BASE, *, before: int | None = None) -> str:
    """The preview page of a channel at `base` (t.me, telegram.me, a mirror, a test server): its
    newest messages, or those before the message `before`."""
    url = f"{base.rstrip('/')}/s/{name.lower()}"
    return url if before is None else f"{url}?before={before}"


def page_before(url: str) -> int | None:
    """The `before=` of a page's URL, when it asks for older messages."""
    try:
        values = parse_qs(urlsplit(url).query).get("before", [])
    except ValueError:
        return None
    return int(values[0]) if values and values[0].isdigit() else None


def post_key(link: str | None) -> str | None:
    """`<name>/<id>` (lower case) when `link` is a channel post's link, else None."""
    if not link:
        return None
    match = _CITED.fullmatch(link.strip().split("?", 1)[0].rstrip("/"))
    if match is None or _name(match[1]) is None:
        return None
    return f"{match[1].lower()}/{int(match[2])}"


def source_label(name: str, link: str | None) -> str:
    """A source's name as people say it: a channel's with its @handle (from its post's `link`),
    unless the name holds it already; a feed's as it is."""
    post = post_key(link)
    if post is None:
        return name
    handle = "@" + post.partition("/")[0]
    return name if handle.casefold() in name.casefold() else f"{name} ({handle})"


def cited_post(text: str) -> str | None:
    """The first channel post a text links to, as `<name>/<id>` in lower case: an outlet's item
    that quotes a channel's post, or a forward's link to its original."""
    for match in _CITED.finditer(text):
        if _name(match[1]) is not None:
            return f"{match[1].lower()}/{int(match[2])}"
    return None
