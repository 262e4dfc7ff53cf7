"""Why a list did not match a text it nearly matched, for `/test`: its terms are there, but an
exclusion is too (and which words), or none of its required terms is. Pure; compiles small
matchers of its own, so the index that matches every item is not touched."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from bot.core.domain import Match, Watchlist
from bot.core.matching.index import Matcher

__all__ = ["NearMiss", "near_misses"]


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A list whose terms a text holds, that still does not match it: `excluded_by` are the words
    of its exclusions found (empty when it was a required term that was missing)."""

    watchlist: Watchlist
    found: tuple[Match, ...]
    excluded_by: tuple[Match, ...] = ()

    @property
    def lacks_required(self) -> bool:
        return not self.excluded_by


def near_misses(watchlists: Iterable[Watchlist], *texts: str) -> list[NearMiss]:
    """The lists among `watchlists` with exclusions or required terms that `texts` would match
    without them, but does not match, each with why."""
    guarded = [w for w in watchlists if w.exclude or w.require]
    if not guarded:
        return []
    matched = Matcher(guarded).match(*texts)
    loose = Matcher([replace(w, require=(), exclude=()) for w in guarded]).match(*texts)
    # The exclusions as lists of their own, to learn which words of the text they are.
    exclusions = Matcher(
        [Watchlist(w.name, w.exclude) for w in guarded if w.exclude and w.name in loose]
    ).match(*texts)
    misses: list[NearMiss] = []
    for watchlist in guarded:
        name = watchlist.name
        if name in loose and name not in matched:
            misses.append(NearMiss(watchlist, loose[name], exclusions.get(name, ())))
    return misses
