"""The one rule for links that leave the bot: only web addresses (http and https) are made
clickable. A feed's `javascript:`, `tg://`, `data:` or `file:` link is shown as text, if at all.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")


def web_link(url: str | None) -> str | None:
    """`url` when it is an http(s) address with a host, stripped of surrounding whitespace;
    None otherwise (other schemes, however cased or padded, and anything with control
    characters or spaces inside, which Telegram or a browser could read another way)."""
    if not url:
        return None
    candidate = url.strip()
    if not candidate or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return None
    return candidate


def html_link(text_html: str, url: str | None) -> str:
    """Already escaped `text_html` as a Telegram HTML link to `url` when it is a web link, else
    the text alone."""
    safe = web_link(url)
    return f'<a href="{escape(safe, quote=True)}">{text_html}</a>' if safe else text_html
