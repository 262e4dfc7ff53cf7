"""Compile every watchlist into one index of word keys and match texts against it in one pass.

A term is a sequence of word patterns; each word is known by its keys (its dictionary forms, see
`morphology`); one-word terms are indexed by key, longer ones by the keys of their first two words.
An item's texts are split into words by one regular expression; each distinct word is analysed once
per matcher, and set operations against the words that may begin a term settle most items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import NamedTuple

from bot.domain import Match, Watchlist
from bot.matching.morphology import Morphology, default_morphology
from bot.matching.normalize import (
    BARRIER,
    normalise_word,
    phrase_span,
    prepare_text,
    scan_text,
    strip_invisible,
    term_words,
    words_of,
)

# Words are remembered per matcher; past this many the memory starts over, so a matcher that runs
# for months stays bounded.
_KNOWN_WORDS_LIMIT = 400_000


class Role(Enum):
    TERM = "term"
    REQUIRE = "require"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class _Owner:
    watchlist: str
    role: Role
    term: str


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of a term: matched by any of its keys, or, for `word*`, as a prefix."""

    keys: frozenset[str]
    prefix: str | None = None

    def accepts(self, word: _Seen) -> bool:
        if self.prefix is not None:
            return word.norm.startswith(self.prefix)
        return not self.keys.isdisjoint(word.keys)


@dataclass(frozen=True, slots=True)
class _Seen:
    """A word of item text as the matcher remembers it: normalised, its keys, the one-word terms it
    is, and the keys by which it may begin a longer term."""

    norm: str
    keys: frozenset[str]
    singles: tuple[_Pattern, ...] = ()
    leads: tuple[str, ...] = ()


@dataclass(slots=True, eq=False)  # compared and hashed by identity: one object per term
class _Pattern:
    words: tuple[_Word, ...]
    owners: list[_Owner] = field(default_factory=list)


class _Found(NamedTuple):
    """A term found in a text, and the words as they stand there. (A tuple: many are made.)"""

    pattern: _Pattern
    text: str


def _positions(words: list[str], wanted: set[str]) -> list[int]:
    """Where the few wanted words stand in `words`, in order; `list.index` does the scanning."""
    positions = []
    for word in wanted:
        at = -1
        try:
            while True:
                at = words.index(word, at + 1)
                positions.append(at)
        except ValueError:  # no more of this word
            pass
    positions.sort()
    return positions


_QUOTE_PAIRS = {"«": "»", "“": "”", "„": "“", '"': '"'}


def _close_quote(text: str, start: int, end: int) -> int:
    """Take in the closing quote of a quoted name (легион «Свобода России») so it reads whole."""
    if end < len(text):
        for opening, closing in _QUOTE_PAIRS.items():
            if opening in text[start:end] and text[end] == closing:
                return end + 1
    return end


class Matcher:
    """All watchlists compiled into one index; `match` tells which watchlists a text hits and why."""

    def __init__(
        self, watchlists: Iterable[Watchlist], *, morphology: Morphology | None = None
    ) -> None:
        self._morph = morphology or default_morphology()
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
                    pattern = patterns.get((words, is_prefix))
                    if pattern is None:
                        pattern = _Pattern(self._compile(words, is_prefix))
                        patterns[(words, is_prefix)] = pattern
                    pattern.owners.append(_Owner(watchlist.name, role, term))
        # One-word terms by key (or by prefix, `word*`); longer terms by the keys of their first
        # two words, so that a common first word costs one look-up, not one check per term.
        self._singles: dict[str, list[_Pattern]] = defaultdict(list)
        self._single_prefixes: dict[str, list[_Pattern]] = defaultdict(list)
        self._pairs: dict[tuple[str, str], list[_Pattern]] = defaultdict(list)
        self._pair_prefixes: dict[str, list[_Pattern]] = defaultdict(list)
        for pattern in patterns.values():
            first, second = pattern.words[0], pattern.words[1:2]
            if not second:
                if first.prefix is not None:
                    self._single_prefixes[first.prefix].append(pattern)
                for key in first.keys:
                    self._singles[key].append(pattern)
            elif second[0].prefix is not None:
                for key in first.keys:
                    self._pair_prefixes[key].append(pattern)
            else:
                for key in first.keys:
                    for next_key in second[0].keys:
                        self._pairs[(key, next_key)].append(pattern)
        self._lead_keys = {key for key, _ in self._pairs} | set(self._pair_prefixes)
        self._prefix_lengths = sorted({len(p) for p in self._single_prefixes})
        self.pattern_count = len(patterns)
        # Words seen, as written in the text, with what the matcher knows of them; and those of
        # them that may begin a term, for the quick look that settles most texts.
        self._seen: dict[str, _Seen] = {}
        self._seen_words: set[str] = set()
        self._starters: set[str] = set()

    def _compile(self, words: tuple[str, ...], last_is_prefix: bool) -> tuple[_Word, ...]:
        compiled = [_Word(self._morph.term_keys(word)) for word in words[:-1]]
        last = words[-1]
        compiled.append(
            _Word(frozenset(), prefix=last)
            if last_is_prefix
            else _Word(self._morph.term_keys(last))
        )
        return tuple(compiled)

    def _learn(self, word: str) -> _Seen:
        norm = normalise_word(word)
        if not norm:
            seen = _Seen(norm, frozenset())
        else:
            keys = self._morph.token_keys(norm)
            singles = [p for key in keys for p in self._singles.get(key, ())]
            for length in self._prefix_lengths:
                if length > len(norm):
                    break
                singles.extend(self._single_prefixes.get(norm[:length], ()))
            leads = tuple(key for key in keys if key in self._lead_keys)
            seen = _Seen(norm, keys, tuple(dict.fromkeys(singles)), leads)
            if seen.singles or seen.leads:
                self._starters.add(word)
        self._seen[word] = seen
        self._seen_words.add(word)
        return seen

    def _longer(self, first: _Seen, second: _Seen | None) -> list[_Pattern]:
        """The terms of two words or more that may begin with these two words (the second is None
        at the end of the text)."""
        if second is None:
            return []
        found: list[_Pattern] = []
        for key in first.leads:
            for next_key in second.keys:
                found.extend(self._pairs.get((key, next_key), ()))
            found.extend(p for p in self._pair_prefixes.get(key, ()) if p.words[1].accepts(second))
        return list(dict.fromkeys(found)) if len(found) > 1 else found

    def _learn_all(self, words: list[str]) -> None:
        """Make sure every word of `words` is in `_seen`."""
        # A set beside the dict: a set checks a list of words without a step in Python.
        if self._seen_words.issuperset(words):
            return
        if len(self._seen) > _KNOWN_WORDS_LIMIT:
            self._seen.clear()
            self._seen_words.clear()
            self._starters.clear()
        for word in set(words) - self._seen_words:
            self._learn(word)

    def _find(self, prepared: str, scanned: str, words: list[str]) -> list[_Found]:
        """Every term that stands in one text, in the order it stands there."""
        seen = self._seen
        present = self._starters.intersection(words)
        found: list[tuple[int, _Found]] = []
        # One-word terms need no walk: such a hit reads as the word itself (no quotes inside a
        # word), and a word that repeats needs telling once, where it first stands.
        for word in present:
            singles = seen[word].singles
            if singles:
                at = words.index(word)
                # Most words hold no soft hyphen or zero-width character to drop.
                text = word if word.isalnum() else strip_invisible(word)
                found.extend((at, _Found(pattern, text)) for pattern in singles)
        leading = {word for word in present if seen[word].leads}
        if leading:
            count = len(words)
            for index in _positions(words, leading):
                second = seen[words[index + 1]] if index + 1 < count else None
                for pattern in self._longer(seen[words[index]], second):
                    size = len(pattern.words)
                    last = index + size - 1
                    if last >= count or not all(
                        pattern.words[offset].accepts(seen[words[index + offset]])
                        for offset in range(2, size)
                    ):
                        continue
                    start, end = phrase_span(scanned, words, index, last)
                    end = _close_quote(prepared, start, end)
                    found.append((index, _Found(pattern, strip_invisible(prepared[start:end]))))
        found.sort(key=lambda pair: pair[0])
        return [hit for _, hit in found]

    def match(self, *texts: str) -> dict[str, tuple[Match, ...]]:
        """The watchlists that the texts (title, summary …) hit together, each with its matches.

        A phrase never spans from one text into the next (a title into its summary).
        """
        # This runs for every item: each step here is one call into C, not a step per word. The
        # texts are read as one, a barrier word between them so that no phrase runs across.
        prepared = prepare_text(BARRIER.join(texts))
        scanned = scan_text(prepared)
        words = words_of(scanned)
        self._learn_all(words)
        # Most items end here: no word of theirs may begin a term.
        if self._starters.isdisjoint(words):
            return {}
        terms: dict[str, dict[tuple[str, str], Match]] = defaultdict(dict)
        required: set[str] = set()
        excluded: set[str] = set()
        for hit in self._find(prepared, scanned, words):
            for owner in hit.pattern.owners:
                if owner.role is Role.TERM:
                    found = terms[owner.watchlist]
                    if (owner.term, hit.text) not in found:
                        found[(owner.term, hit.text)] = Match(owner.watchlist, owner.term, hit.text)
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
