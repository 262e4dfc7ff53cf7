"""Backfill: the items seen in a span matched against the watchlists as they are now (new or
changed since), the hits that are new stored and, when asked, queued for the chats that follow
them. `feedwatch backfill` runs it; pages keep memory bounded however many items there are."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.core.domain import BackfillResult, ItemText, Match, Source

PAGE = 500
"""Items matched, and their hits stored, at a time."""


class BackfillStorage(Protocol):
    """What a backfill needs of storage (the `Repository` is one); called from one thread."""

    def items_seen(
        self, since: datetime, until: datetime, *, after_id: int = ..., limit: int = ...
    ) -> list[ItemText]: ...

    def add_backfilled_hits(
        self,
        found: Sequence[tuple[int, Mapping[str, Sequence[Match]]]],
        now: datetime,
        *,
        deliver: bool = ...,
    ) -> BackfillResult: ...


class ItemMatcher(Protocol):
    def match_item(
        self,
        title: str,
        summary: str,
        *,
        author: str | None = ...,
        categories: Sequence[str] = ...,
        source: Source | None = ...,
    ) -> Mapping[str, Sequence[Match]]: ...


@dataclass(slots=True)
class Backfilled:
    """What a backfill did: items scanned, new hits by watchlist name, outbox rows queued."""

    scanned: int = 0
    new_hits: dict[str, int] = field(default_factory=dict)
    deliveries: int = 0


def backfill(
    store: BackfillStorage,
    matcher: ItemMatcher,
    since: datetime,
    now: datetime,
    *,
    deliver: bool,
    progress: Callable[[int], object] = lambda _: None,
) -> Backfilled:
    """Match the items seen in [since, now) page by page and store what is new."""
    done = Backfilled()
    after = 0
    while page := store.items_seen(since, now, after_id=after, limit=PAGE):
        found = [
            (
                item.id,
                matcher.match_item(
                    item.title,
                    item.summary,
                    author=item.author,
                    categories=item.categories,
                    source=item.source,
                ),
            )
            for item in page
        ]
        result = store.add_backfilled_hits(found, now, deliver=deliver)
        for name, count in result.new_hits.items():
            done.new_hits[name] = done.new_hits.get(name, 0) + count
        done.deliveries += result.new_deliveries
        done.scanned += len(page)
        after = page[-1].id
        progress(len(page))
    return done
