"""Watchlists matched where and on what they say: only in their `sources` (and never in their
`skip_sources`), on their `fields` of an item. Lists that read the same fields share one index, so
an item is still read once a group (once, with the default fields everywhere). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from bot.core.channel_address import channel_name
from bot.core.domain import DEFAULT_FIELDS, ITEM_FIELDS, Match, Source, Watchlist
from bot.core.matching.index import Matcher
from bot.core.matching.morphology import Morphology

__all__ = ["ScopedMatcher", "in_scope", "names_source"]


def names_source(spec: str, source: Source) -> bool:
    """Whether `spec`, as a list's `sources` writes it, names `source`: "@name" a channel, a host
    ("meduza.io", and its subdomains) or an address a feed, anything else the feed's name (case
    does not count)."""
    wanted = spec.strip().casefold()
    if wanted.startswith("@"):
        return channel_name(source.url) == wanted[1:]
    if wanted == source.name.strip().casefold() or wanted == source.url.casefold():
        return True
    if " " in wanted or "." not in wanted:
        return False
    host = (urlsplit(source.url).hostname or "").casefold()
    wanted_host = urlsplit(wanted).hostname if "://" in wanted else wanted.split("/")[0]
    return bool(wanted_host) and (host == wanted_host or host.endswith(f".{wanted_host}"))


def in_scope(watchlist: Watchlist, source: Source) -> bool:
    """Whether `watchlist` looks at items of `source`."""
    if watchlist.sources and not any(names_source(s, source) for s in watchlist.sources):
        return False
    return not any(names_source(s, source) for s in watchlist.skip_sources)


class ScopedMatcher:
    """Every watchlist compiled, grouped by the fields it reads; `match_item` tells which lists an
    item hits, from which source, and why."""

    def __init__(
        self, watchlists: Iterable[Watchlist], *, morphology: Morphology | None = None
    ) -> None:
        groups: dict[tuple[str, ...], list[Watchlist]] = {}
        scoped: dict[str, Watchlist] = {}
        for watchlist in watchlists:
            fields = tuple(f for f in ITEM_FIELDS if f in watchlist.fields) or DEFAULT_FIELDS
            groups.setdefault(fields, []).append(watchlist)
            if watchlist.sources or watchlist.skip_sources:
                scoped[watchlist.name] = watchlist
        self._groups = [
            (fields, Matcher(lists, morphology=morphology)) for fields, lists in groups.items()
        ]
        self._scoped = scoped

    def match_item(
        self,
        title: str,
        summary: str,
        *,
        author: str | None = None,
        categories: Sequence[str] = (),
        source: Source | None = None,
    ) -> dict[str, tuple[Match, ...]]:
        """The lists an item hits, each with its matches: each list on its own fields, read in
        the order of ITEM_FIELDS (every category a text of its own), and only if `source` is in
        its scope (a caller with no source, such as /test, sees every list)."""
        found: dict[str, tuple[Match, ...]] = {}
        for fields, matcher in self._groups:
            if fields == DEFAULT_FIELDS:
                found.update(matcher.match(title, summary))
                continue
            texts: list[str] = []
            for name in fields:
                if name == "title":
                    texts.append(title)
                elif name == "summary":
                    texts.append(summary)
                elif name == "author":
                    texts.append(author or "")
                else:
                    texts.extend(categories)
            found.update(matcher.match(*texts))
        if self._scoped and source is not None:
            for name in [n for n in found if n in self._scoped]:
                if not in_scope(self._scoped[name], source):
                    del found[name]
        return found if len(self._groups) == 1 else dict(sorted(found.items()))
