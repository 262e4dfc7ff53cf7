"""Compile every watchlist into one word index and match texts against it in a single pass.

A term is a sequence of word patterns; the index is keyed by the first word, so an item is read once
whatever the number of terms. Terms, required terms and exclusions share the index and differ by role.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from bot.domain import Match, Watchlist
from bot.matching.normalize import Token, prepare_text, strip_invisible, term_words, tokenise


class Role(Enum):
    TERM = "term"
    REQUIRE = "require"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class _Owner:
    watchlist: str
    role: Role
    term: str


@dataclass(slots=True)
class _Pattern:
    words: tuple[str, ...]
    last_is_prefix: bool
    owners: list[_Owner] = field(default_factory=list)

    def matches_at(self, tokens: Sequence[Token], start: int) -> bool:
        """Whether the words after the first match the tokens that follow `start`."""
        last = len(self.words) - 1
        if start + last >= len(tokens):
            return False
        for offset in range(1, last + 1):
            norm = tokens[start + offset].norm
            word = self.words[offset]
            if offset == last and self.last_is_prefix:
                if not norm.startswith(word):
                    return False
            elif norm != word:
                return False
        return True


@dataclass(frozen=True, slots=True)
class _Found:
    pattern: _Pattern
    text: str


_QUOTE_PAIRS = {"«": "»", "“": "”", "„": "“", '"': '"'}


def _close_quote(text: str, start: int, end: int) -> int:
    """Take in the closing quote of a quoted name (легион «Свобода России») so the shown words read whole."""
    if end < len(text):
        for opening, closing in _QUOTE_PAIRS.items():
            if opening in text[start:end] and text[end] == closing:
                return end + 1
    return end


class Matcher:
    """All watchlists compiled into one index; `match` tells which watchlists a text hits and why."""

    def __init__(self, watchlists: Iterable[Watchlist]) -> None:
        self._watchlists = {w.name: w for w in watchlists}
        # Patterns are shared by every watchlist that uses the same normalised term.
        patterns: dict[tuple[tuple[str, ...], bool], _Pattern] = {}
        for watchlist in self._watchlists.values():
            for role, terms in (
                (Role.TERM, watchlist.terms),
                (Role.REQUIRE, watchlist.require),
                (Role.EXCLUDE, watchlist.exclude),
            ):
                for term in terms:
                    words, is_prefix = term_words(term)
                    if not words:
                        continue
                    pattern = patterns.setdefault((words, is_prefix), _Pattern(words, is_prefix))
                    pattern.owners.append(_Owner(watchlist.name, role, term))
        self._by_first_word: dict[str, list[_Pattern]] = defaultdict(list)
        self._by_first_prefix: dict[str, list[_Pattern]] = defaultdict(list)
        for pattern in patterns.values():
            if pattern.last_is_prefix and len(pattern.words) == 1:
                self._by_first_prefix[pattern.words[0]].append(pattern)
            else:
                self._by_first_word[pattern.words[0]].append(pattern)
        self._prefix_lengths = sorted({len(p) for p in self._by_first_prefix})
        self.pattern_count = len(patterns)

    @property
    def watchlists(self) -> dict[str, Watchlist]:
        return dict(self._watchlists)

    def _find(self, text: str) -> list[_Found]:
        prepared = prepare_text(text)
        tokens = tokenise(prepared)
        found: list[_Found] = []
        for index, token in enumerate(tokens):
            candidates = list(self._by_first_word.get(token.norm, ()))
            for length in self._prefix_lengths:
                if length > len(token.norm):
                    break
                candidates.extend(self._by_first_prefix.get(token.norm[:length], ()))
            for pattern in candidates:
                if pattern.matches_at(tokens, index):
                    end = _close_quote(
                        prepared, token.start, tokens[index + len(pattern.words) - 1].end
                    )
                    found.append(_Found(pattern, strip_invisible(prepared[token.start : end])))
        return found

    def match(self, *texts: str) -> dict[str, tuple[Match, ...]]:
        """The watchlists that the texts (title, summary …) hit together, each with its matches.

        Each text is matched on its own, so a phrase never spans from a title into a summary.
        """
        terms: dict[str, dict[tuple[str, str], Match]] = defaultdict(dict)
        required: set[str] = set()
        excluded: set[str] = set()
        for text in texts:
            for hit in self._find(text):
                for owner in hit.pattern.owners:
                    if owner.role is Role.TERM:
                        match = Match(owner.watchlist, owner.term, hit.text)
                        terms[owner.watchlist].setdefault((owner.term, hit.text), match)
                    elif owner.role is Role.REQUIRE:
                        required.add(owner.watchlist)
                    else:
                        excluded.add(owner.watchlist)
        result: dict[str, tuple[Match, ...]] = {}
        for name in sorted(terms):
            watchlist = self._watchlists[name]
            if name in excluded or (watchlist.require and name not in required):
                continue
            result[name] = tuple(terms[name].values())
        return result
