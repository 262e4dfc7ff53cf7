"""How much of an item's text a source keeps, and how it is cut: one rule for feeds and channels.
Pure."""

from __future__ import annotations

# An item's summary is its whole plain text, summary and content, so that a name in the last
# paragraph of a live blog still matches. It cannot be longer than the body it came from (the
# fetcher cuts bodies at [polling] max_body_mib, 10 MiB by default), so this cap cuts nothing under
# the default; it only keeps one item of a larger body, or of a gzip body inflated up to
# MAX_DECOMPRESSED_BYTES, to one row of this size. The longest item of the corpora has 230,000.
MAX_SUMMARY_LENGTH = 10 * 1024 * 1024
# Titles have no limit in the brief, but a pathological one would bloat storage and every digest.
MAX_TITLE_LENGTH = 1000
# A gzip body that arrives without Content-Encoding is decompressed, up to this size: the fetcher's
# default cap on a body (gzip bombs; a larger document is no feed a reader could take in either).
MAX_DECOMPRESSED_BYTES = 10 * 1024 * 1024
ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a word with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS) + 1]
    space = head.rfind(" ")
    # Cut at a word boundary unless that loses more than half (scripts written without spaces).
    head = head[:space] if space > limit // 2 else head[: limit - len(ELLIPSIS)]
    return head.rstrip() + ELLIPSIS
