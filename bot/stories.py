"""One story from many outlets: items with the same link (once tracking is taken off) or with
near-identical titles within 48 hours are one story. Pure; the digest shows a story once.

The title rule was measured on the 6,543 titles of `shared/corpus/bench` (benchmarks/README.md,
"stories"): word-set Jaccard of at least 0.5 with at least five words in common paired 19 titles
across outlets, all the same story; 0.4 let in different stories on one subject.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from bot.domain import PendingDelivery, StoredItem
from bot.matching.normalize import normalise_word, prepare_text, scan_text, words_of

STORY_WINDOW = timedelta(hours=48)
TITLE_SIMILARITY = 0.5
SHARED_WORDS = 5

_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "yclid", "msclkid", "mc_cid", "mc_eid", "igshid",
        "_ga", "_gl", "ref", "ref_src", "ref_url", "cmpid", "ocid", "spm", "share", "at_medium",
        "at_campaign", "ito", "xtor", "rss", "cid", "feature", "smid", "partner",
    }
)  # fmt: skip


def link_key(url: str | None) -> str | None:
    """A link without what differs between copies of one page: scheme, `www.`, tracking
    parameters (`utm_*` and the like), fragment, a trailing slash."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not name.lower().startswith("utm_") and name.lower() not in _TRACKING
    ]
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}" + (f"?{urlencode(sorted(query))}" if query else "")


def title_words(title: str) -> frozenset[str]:
    """A title's words as the matcher reads them (case, ё, quotes folded), one-letter ones left out."""
    words = (normalise_word(word) for word in words_of(scan_text(prepare_text(title))))
    return frozenset(word for word in words if len(word) > 1)


def same_title(first: frozenset[str], second: frozenset[str]) -> bool:
    shared = len(first & second)
    return shared >= SHARED_WORDS and shared >= TITLE_SIMILARITY * len(first | second)


@dataclass(frozen=True, slots=True)
class _Seen:
    link: str | None
    words: frozenset[str]
    moment: datetime

    @classmethod
    def of(cls, item: StoredItem) -> _Seen:
        return cls(link_key(item.link), title_words(item.title), item.published or item.seen_at)

    def same_story(self, other: _Seen) -> bool:
        if abs(self.moment - other.moment) > STORY_WINDOW:
            return False
        if self.link is not None and self.link == other.link:
            return True
        return same_title(self.words, other.words)


@dataclass(frozen=True, slots=True)
class Stories:
    """Pending items as stories: each kept delivery carries the others of its story (`also`), and
    the rows of a story the chat already got are `repeats`."""

    deliveries: tuple[PendingDelivery, ...]
    repeats: tuple[int, ...]


def group_stories(
    pending: Sequence[PendingDelivery], already_sent: Iterable[StoredItem] = ()
) -> Stories:
    """Fold pending items of one story into the first of them; drop those of a story the chat got
    already (within the window)."""
    sent = [_Seen.of(item) for item in already_sent]
    ordered = sorted(pending, key=lambda d: (d.item.published or d.item.seen_at, d.id))
    heads: list[tuple[_Seen, PendingDelivery, list[PendingDelivery]]] = []
    repeats: list[int] = []
    for delivery in ordered:
        seen = _Seen.of(delivery.item)
        if any(seen.same_story(before) for before in sent):
            repeats.append(delivery.id)
            continue
        for head_seen, _, members in heads:
            if seen.same_story(head_seen):
                members.append(delivery)
                break
        else:
            heads.append((seen, delivery, []))
    kept = []
    for _, head, members in heads:
        if not members:
            kept.append(head)
            continue
        outlets = tuple(
            dict.fromkeys(
                m.item.feed_name for m in members if m.item.feed_name != head.item.feed_name
            )
        )
        matches = tuple(
            dict.fromkeys([*head.matches, *(m for member in members for m in member.matches)])
        )
        kept.append(
            replace(
                head,
                matches=matches,
                also=outlets,
                merged_ids=tuple(m.id for m in members),
            )
        )
    return Stories(tuple(kept), tuple(repeats))
