"""Compile every watchlist into one index of word keys and match texts against it in one pass.

A term is a sequence of word patterns; each word is known by its keys (its dictionary forms, see
`morphology`), and the index is keyed by the first word's keys. Most items share no word with any
term: a first look with set operations over the item's distinct words settles those without
tokenising; only the rest are walked word by word to find, check and show each hit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from bot.domain import Match, Watchlist
from bot.matching.morphology import Morphology, default_morphology
from bot.matching.normalize import (
    Token,
    normalise_word,
    prepare_text,
    strip_invisible,
    term_words,
    tokenise,
    words_of,
)

# Words seen by the first look are remembered per matcher; past this many the memory starts over,
# so a matcher that runs for months stays bounded.
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

    def accepts(self, token: Token, token_keys: frozenset[str]) -> bool:
        if self.prefix is not None:
            return token.norm.startswith(self.prefix)
        return not self.keys.isdisjoint(token_keys)


@dataclass(slots=True)
class _Pattern:
    words: tuple[_Word, ...]
    owners: list[_Owner] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Found:
    pattern: _Pattern
    text: str


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
        self._by_first_key: dict[str, list[_Pattern]] = defaultdict(list)
        self._by_first_prefix: dict[str, list[_Pattern]] = defaultdict(list)
        for pattern in patterns.values():
            first = pattern.words[0]
            if first.prefix is not None:
                self._by_first_prefix[first.prefix].append(pattern)
            else:
                for key in first.keys:
                    self._by_first_key[key].append(pattern)
        self._prefix_lengths = sorted({len(p) for p in self._by_first_prefix})
        self.pattern_count = len(patterns)
        # The first look's memory: words seen as written, and those that may start a term.
        self._known: set[str] = set()
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

    @property
    def watchlists(self) -> dict[str, Watchlist]:
        return dict(self._watchlists)

    def _starts(self, norm: str, keys: frozenset[str]) -> list[_Pattern]:
        """The patterns whose first word this word (normalised, with its keys) may be."""
        found = [pattern for key in keys for pattern in self._by_first_key.get(key, ())]
        for length in self._prefix_lengths:
            if length > len(norm):
                break
            found.extend(self._by_first_prefix.get(norm[:length], ()))
        return found

    def _may_match(self, texts: Sequence[str]) -> bool:
        """The first look: does any word of the texts start a term? Set operations on words
        already seen; only new words are analysed, once per matcher."""
        words: set[str] = set()
        for text in texts:
            words |= words_of(prepare_text(text))
        if not words.isdisjoint(self._starters):
            return True
        new = words - self._known
        if not new:
            return False
        if len(self._known) > _KNOWN_WORDS_LIMIT:
            self._known.clear()
            self._starters.clear()
        hit = False
        for word in new:
            norm = normalise_word(word)
            if norm and self._starts(norm, self._morph.token_keys(norm)):
                self._starters.add(word)
                hit = True
        self._known |= new
        return hit

    def _find(self, text: str) -> list[_Found]:
        prepared = prepare_text(text)
        tokens = tokenise(prepared)
        keys = [self._morph.token_keys(token.norm) for token in tokens]
        found: list[_Found] = []
        for index, token in enumerate(tokens):
            for pattern in self._starts(token.norm, keys[index]):
                last = index + len(pattern.words) - 1
                if last >= len(tokens):
                    continue
                if all(
                    word.accepts(tokens[index + offset], keys[index + offset])
                    for offset, word in enumerate(pattern.words)
                ):
                    end = _close_quote(prepared, token.start, tokens[last].end)
                    found.append(_Found(pattern, strip_invisible(prepared[token.start : end])))
        return found

    def match(self, *texts: str) -> dict[str, tuple[Match, ...]]:
        """The watchlists that the texts (title, summary …) hit together, each with its matches.

        Each text is matched on its own, so a phrase never spans from a title into a summary.
        """
        if not self._may_match(texts):
            return {}
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
