"""Compile every watchlist into one index of word keys and match texts against it in one pass.

A term is a sequence of word patterns; each word is known by its keys (its dictionary forms, see
`morphology`); one-word terms are indexed by key, longer ones by the keys of their first two words.
An item's texts are split into words by one regular expression; each distinct word is analysed once
per matcher, and set operations against the words that may begin a term settle most items.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from itertools import compress
from typing import NamedTuple

from bot.core.domain import Match, TermContext, Watchlist
from bot.core.matching.morphology import HEAD_LETTERS, Morphology, default_morphology
from bot.core.matching.normalize import (
    BARRIER,
    WORD,
    normalise_word,
    prepare_text,
    scan_text,
    strip_invisible,
    term_words,
    word_starts,
    words_of,
)
from bot.core.matching.prefilter import StemScan

# Words are remembered per matcher; past this many the memory starts over, so a matcher that runs
# for months stays bounded.
_KNOWN_WORDS_LIMIT = 400_000


class Role(Enum):
    TERM = "term"
    REQUIRE = "require"
    EXCLUDE = "exclude"
    NEAR = "near"
    NOT_NEAR = "not_near"


@dataclass(frozen=True, slots=True)
class _Owner:
    watchlist: str
    role: Role
    term: str
    # For NEAR and NOT_NEAR: the term of the list whose context this is.
    anchor: str = ""
    # A TERM that has a context, a NEAR or a NOT_NEAR: its finds are weighed by their places.
    placed: bool = False


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of a term: matched by any of its keys, or, for `word*`, as a prefix."""

    keys: frozenset[str]
    prefix: str | None = None

    def accepts(self, word: _Seen) -> bool:
        if self.prefix is not None:
            return word.norm.startswith(self.prefix)
        return not self.keys.isdisjoint(word.keys)


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: one object per word or phrase
class _Outcome:
    """What one found term does to an item: the matches it adds, by watchlist, the watchlists whose
    `require` it meets and those it excludes."""

    matches: tuple[tuple[str, tuple[Match, ...]], ...]
    required: frozenset[str]
    excluded: frozenset[str]
    # The context words it is, for terms with a context: (watchlist, term, near?, text).
    contexts: tuple[tuple[str, str, bool, str], ...] = ()
    # Whether its place matters (a term with a context or a context word): such a find is kept
    # at every place, and weighed; the others are told once and pass as they are.
    placed: bool = False


_NOTHING = _Outcome((), frozenset(), frozenset())


@dataclass(frozen=True, slots=True)
class _Seen:
    """A word of item text as the matcher remembers it: normalised, its keys, what the one-word
    terms it is do to an item (made once per word, not once per item) and how it reads there, and
    the keys by which it may begin a longer term."""

    norm: str
    keys: frozenset[str]
    singles: _Outcome = _NOTHING
    shown: str = ""
    leads: tuple[str, ...] = ()


@dataclass(slots=True, eq=False)  # compared and hashed by identity: one object per term
class _Pattern:
    words: tuple[_Word, ...]
    owners: list[_Owner] = field(default_factory=list)

    def outcome(self, text: str) -> _Outcome:
        """What finding this term as `text` does to an item."""
        return _outcome((self,), text)


def _outcome(patterns: Iterable[_Pattern], text: str) -> _Outcome:
    matches: dict[str, dict[Match, None]] = defaultdict(dict)
    required: set[str] = set()
    excluded: set[str] = set()
    contexts: dict[tuple[str, str, bool, str], None] = {}
    placed = False
    for pattern in patterns:
        for owner in pattern.owners:
            placed = placed or owner.placed
            if owner.role is Role.TERM:
                matches[owner.watchlist][Match(owner.watchlist, owner.term, text)] = None
            elif owner.role is Role.REQUIRE:
                required.add(owner.watchlist)
            elif owner.role is Role.EXCLUDE:
                excluded.add(owner.watchlist)
            else:
                contexts[(owner.watchlist, owner.anchor, owner.role is Role.NEAR, text)] = None
    if not (matches or required or excluded or contexts):
        return _NOTHING
    return _Outcome(
        tuple((name, tuple(found)) for name, found in matches.items()),
        frozenset(required),
        frozenset(excluded),
        tuple(contexts),
        placed,
    )


class _Found(NamedTuple):  # a tuple: made for every find of every item, quicker than a class
    """A term found in the text, and which words it spans there (by index)."""

    outcome: _Outcome
    start: int
    end: int


def _distance(a: _Found, b: _Found) -> int:
    """How many words apart two finds stand: 1 for neighbours, 0 when they overlap."""
    if b.start > a.end:
        return b.start - a.end
    if a.start > b.end:
        return a.start - b.end
    return 0


_QUOTE_PAIRS = {"«": "»", "“": "”", "„": "“", '"': '"'}


def _close_quote(text: str, start: int, end: int) -> int:
    """Take in the closing quote of a quoted name (легион «Свобода России») so it reads whole."""
    if end < len(text):
        for opening, closing in _QUOTE_PAIRS.items():
            if opening in text[start:end] and text[end] == closing:
                return end + 1
    return end


def _once(matches: list[Match]) -> tuple[Match, ...]:
    """Each term as read in the text once, where it first stood in context (a term with a
    context is found at every place, and may read the same at several)."""
    first: dict[tuple[str, str], Match] = {}
    for match in matches:
        first.setdefault((match.term, match.text), match)
    return tuple(first.values())


class Matcher:
    """All watchlists compiled into one index; `match` tells which watchlists a text hits and why."""

    def __init__(
        self,
        watchlists: Iterable[Watchlist],
        *,
        morphology: Morphology | None = None,
        stem_scan: bool = True,
    ) -> None:
        """`stem_scan=False` reads every word of every text (what the scan must agree with: the
        tests and benchmarks compare the two)."""
        self._morph = morphology or default_morphology()
        self._watchlists = {w.name: w for w in watchlists}
        self._requiring = frozenset(w.name for w in self._watchlists.values() if w.require)
        # The terms that need words around them, by (watchlist, term).
        self._contexts: dict[tuple[str, str], TermContext] = {
            (w.name, context.term): context
            for w in self._watchlists.values()
            for context in w.contexts
            if context.near or context.not_near
        }
        # Patterns are shared by every watchlist that uses the same normalised term.
        patterns: dict[tuple[tuple[str, ...], bool], _Pattern] = {}
        for watchlist in self._watchlists.values():
            owned = (
                [(Role.TERM, term, "") for term in watchlist.terms]
                + [(Role.REQUIRE, term, "") for term in watchlist.require]
                + [(Role.EXCLUDE, term, "") for term in watchlist.exclude]
            )
            for context in watchlist.contexts:
                owned += [(Role.NEAR, word, context.term) for word in context.near]
                owned += [(Role.NOT_NEAR, word, context.term) for word in context.not_near]
            for role, term, anchor in owned:
                words, is_prefix = term_words(term)
                if not words:
                    continue
                pattern = patterns.get((words, is_prefix))
                if pattern is None:
                    pattern = _Pattern(self._compile(words, is_prefix))
                    patterns[(words, is_prefix)] = pattern
                placed = role is not Role.TERM or (watchlist.name, term) in self._contexts
                placed = placed and role not in (Role.REQUIRE, Role.EXCLUDE)
                pattern.owners.append(_Owner(watchlist.name, role, term, anchor, placed))
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
        # The first two letters of every key a term's word has: a word of text that begins
        # otherwise has no key of any term (a word and its dictionary forms share their start),
        # and needs no analysis; most words of an item are such.
        self._key_heads = frozenset(
            key[:HEAD_LETTERS]
            for pattern in patterns.values()
            for word in pattern.words
            for key in word.keys
        )
        self._prefix_lengths = sorted({len(p) for p in self._single_prefixes})
        # The stems every word that may begin a term begins with: one scan of an item's text
        # for them finds those words, and the rest of the text is not read word by word.
        stems = {
            stem
            for key in {*self._singles, *self._lead_keys}
            for stem in self._morph.key_stems(key)
        } | set(self._single_prefixes)
        self._scan = StemScan(stems) if stem_scan and stems else None
        self.pattern_count = len(patterns)
        # Words seen, as written in the text, with what the matcher knows of them; and those of
        # them that may begin a term, for the quick look that settles most texts.
        self._seen: dict[str, _Seen] = {}
        self._seen_words: set[str] = set()
        self._starters: set[str] = set()
        # Pairs of words that may begin a longer term, and phrases found, as text: the same few
        # recur item after item.
        self._pairs_seen: dict[tuple[str, str], tuple[tuple[_Pattern, tuple[_Word, ...]], ...]] = {}
        self._phrases_seen: dict[tuple[_Pattern, str], _Outcome] = {}

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
            keys = (
                self._morph.token_keys(norm)
                if norm[:HEAD_LETTERS] in self._key_heads
                else frozenset((norm,))
            )
            singles = [p for key in keys for p in self._singles.get(key, ())]
            for length in self._prefix_lengths:
                if length > len(norm):
                    break
                singles.extend(self._single_prefixes.get(norm[:length], ()))
            leads = tuple(key for key in keys if key in self._lead_keys)
            # A one-word hit reads as the word itself (no quotes inside a word); most words hold
            # no soft hyphen or zero-width character to drop.
            text = word if word.isalnum() else strip_invisible(word)
            outcome = _outcome(dict.fromkeys(singles), text) if singles else _NOTHING
            seen = _Seen(norm, keys, outcome, text, leads)
            if singles or leads:
                self._starters.add(word)
        self._seen[word] = seen
        self._seen_words.add(word)
        return seen

    def _longer(self, first: str, second: str) -> tuple[tuple[_Pattern, tuple[_Word, ...]], ...]:
        """The terms of two words or more that may begin with these two words of the text, each
        with the words it still needs after them."""
        found: list[_Pattern] = []
        lead, following = self._seen[first], self._seen[second]
        for key in lead.leads:
            for next_key in following.keys:
                found.extend(self._pairs.get((key, next_key), ()))
            found.extend(
                p for p in self._pair_prefixes.get(key, ()) if p.words[1].accepts(following)
            )
        known = tuple((pattern, pattern.words[2:]) for pattern in dict.fromkeys(found))
        if len(self._pairs_seen) > _KNOWN_WORDS_LIMIT:
            self._pairs_seen.clear()
        self._pairs_seen[(first, second)] = known
        return known

    def _phrase_outcome(self, pattern: _Pattern, text: str) -> _Outcome:
        """One outcome per phrase and reading: two spellings that read the same (one with a soft
        hyphen) are one."""
        key = (pattern, strip_invisible(text))
        outcome = self._phrases_seen.get(key)
        if outcome is None:
            if len(self._phrases_seen) > _KNOWN_WORDS_LIMIT:
                self._phrases_seen.clear()
            outcome = self._phrases_seen[key] = pattern.outcome(key[1])
        return outcome

    def _learn_all(self, words: list[str]) -> None:
        """Make sure every word of `words` is in `_seen`."""
        # A set beside the dict: a set checks a list of words without a step in Python.
        if self._seen_words.issuperset(words):
            return
        if len(self._seen) > _KNOWN_WORDS_LIMIT:
            self._forget()
        for word in set(words) - self._seen_words:
            self._learn(word)

    def _forget(self) -> None:
        self._seen.clear()
        self._seen_words.clear()
        self._starters.clear()
        self._pairs_seen.clear()

    def _find(self, prepared: str, scanned: str, words: list[str]) -> list[_Found]:
        """What the terms that stand in one text do to it, in the order they stand there, with
        their places. A word that repeats is told once, where it first stands, and so is a phrase
        that repeats the same way, unless its place matters (a term with a context, a context
        word): a name's second place may be the one in context."""
        seen = self._seen
        present = self._starters.intersection(words)
        count = len(words)
        found: list[_Found] = []
        told: set[object] = set()
        starts: list[int] | None = None  # where each word starts, once a phrase needs it
        as_spaced: dict[str, bool] = {}  # whether a phrase stands in the text as joined
        # The places of the words that may begin a term, in order, found without a step per word.
        for index in compress(range(count), map(present.__contains__, words)):
            word = words[index]
            known = seen[word]
            # Two spellings of one word that read the same (one with a soft hyphen) count once.
            if known.singles is not _NOTHING and known.shown not in told:
                if not known.singles.placed:
                    told.add(known.shown)
                found.append(_Found(known.singles, index, index))
            if not known.leads or index + 1 == count:
                continue
            pair = (word, words[index + 1])
            longer = self._pairs_seen.get(pair)
            if longer is None:
                longer = self._longer(*pair)
            for pattern, rest in longer:
                last = index + 1 + len(rest)
                if rest and (
                    last >= count
                    or not all(
                        needed.accepts(seen[words[at]])
                        for at, needed in enumerate(rest, start=index + 2)
                    )
                ):
                    continue
                # Most phrases stand with one space between their words: then that is how they
                # read, and no search for their place is needed.
                text = " ".join(words[index : last + 1])
                spaced = as_spaced.get(text)
                if spaced is None:
                    spaced = as_spaced[text] = text in prepared
                if not spaced:
                    if starts is None:
                        starts = word_starts(scanned)
                    start, end = starts[index], starts[last] + len(words[last])
                    text = prepared[start : _close_quote(prepared, start, end)]
                outcome = self._phrase_outcome(pattern, text)
                if outcome not in told:
                    if not outcome.placed:
                        told.add(outcome)
                    found.append(_Found(outcome, index, last))
        return found

    def _known(self, word: str) -> _Seen:
        # Never forgets: what an item's reading has learnt stays until the next item's start.
        known = self._seen.get(word)
        return known if known is not None else self._learn(word)

    def _find_at(self, prepared: str, scanned: str, starts: list[int]) -> list[_Found] | None:
        """`_find` for the words that begin at `starts` (the stem scan's), reading the words after
        one only when it may begin a phrase; None when the scan's words are not the reading's."""
        at = [WORD.match(scanned, start) for start in starts]
        words = [found.group() for found in at if found is not None]
        if len(words) != len(at):
            return None  # a stem that is no word (cannot happen: stems are word characters)
        self._learn_all(words)
        present = self._starters
        seen = self._seen
        found: list[_Found] = []
        told: set[object] = set()
        as_spaced: dict[str, bool] = {}
        for place in compress(range(len(words)), map(present.__contains__, words)):
            word, start = words[place], starts[place]
            known = seen[word]
            singles = known.singles
            if singles is not _NOTHING and known.shown not in told:
                if not singles.placed:
                    told.add(known.shown)
                found.append(_Found(singles, start, start))
            if not known.leads:
                continue
            after = WORD.search(scanned, at[place].end())  # type: ignore[union-attr]
            if after is None:
                continue
            following = [after]
            second = after.group()
            self._known(second)
            pair = (word, second)
            longer = self._pairs_seen.get(pair)
            if longer is None:
                longer = self._longer(*pair)
            for pattern, rest in longer:
                while len(following) <= len(rest):
                    after = WORD.search(scanned, following[-1].end())
                    if after is None:
                        break
                    following.append(after)
                if len(following) <= len(rest):
                    continue
                read = [part.group() for part in following[: len(rest) + 1]]
                if rest and not all(
                    needed.accepts(self._known(text))
                    for needed, text in zip(rest, read[1:], strict=True)
                ):
                    continue
                text = " ".join((word, *read))
                spaced = as_spaced.get(text)
                if spaced is None:
                    spaced = as_spaced[text] = text in prepared
                if not spaced:
                    end = following[len(rest)].end()
                    text = prepared[start : _close_quote(prepared, start, end)]
                outcome = self._phrase_outcome(pattern, text)
                if outcome not in told:
                    if not outcome.placed:
                        told.add(outcome)
                    found.append(_Found(outcome, start, following[len(rest)].start()))
        if self._weighed(found):
            found = _numbered(scanned, found)
        return found

    def match(self, *texts: str) -> dict[str, tuple[Match, ...]]:
        """The watchlists that the texts (title, summary …) hit together, each with its matches.

        A phrase never spans from one text into the next (a title into its summary).
        """
        # This runs for every item: each step here is one call into C, not a step per word. The
        # texts are read as one, a barrier word between them so that no phrase runs across.
        prepared = prepare_text(BARRIER.join(texts))
        scanned = scan_text(prepared)
        starts = self._scan.word_starts(scanned) if self._scan is not None else None
        finds = self._find_at(prepared, scanned, starts) if starts is not None else None
        if finds is None:
            words = words_of(scanned)
            self._learn_all(words)
            # Most items end here: no word of theirs may begin a term.
            if self._starters.isdisjoint(words):
                return {}
            finds = self._find(prepared, scanned, words)
        if self._weighed(finds):
            finds = self._in_context(finds)
        if not finds:
            return {}
        matches: dict[str, list[Match]] = {}
        required: set[str] = set()
        excluded: set[str] = set()
        for outcome in (found.outcome for found in finds):
            for name, found in outcome.matches:
                known = matches.get(name)
                if known is None:
                    matches[name] = list(found)
                else:
                    known.extend(found)
            if outcome.required:
                required |= outcome.required
            if outcome.excluded:
                excluded |= outcome.excluded
        result: dict[str, tuple[Match, ...]] = {}
        for name in sorted(matches):
            if name in excluded or (name in self._requiring and name not in required):
                continue
            # A term shared with a list that has a context is found at every place: once each.
            listed = matches[name]
            result[name] = _once(listed) if self._contexts else tuple(listed)
        return result

    def _weighed(self, finds: list[_Found]) -> bool:
        """Whether a context decides anything among the finds: a term that has one is among them.
        Context words found without such a term change nothing, and need no places counted (most
        items with context words: "бойцы", "рейд" are common; РДК is not)."""
        contexts = self._contexts
        return bool(contexts) and any(
            (name, match.term) in contexts
            for find in finds
            if find.outcome.placed
            for name, matches in find.outcome.matches
            for match in matches
        )

    def _in_context(self, finds: list[_Found]) -> list[_Found]:
        """The finds with each match of a context term kept only where its context holds: one of
        its `near` words within reach (the match then names it) and none of its `not_near`."""
        places: dict[tuple[str, str], _Places] = {}
        for found in finds:  # in the order they stand: by start
            for watchlist, term, near, text in found.outcome.contexts:
                known = places.get((watchlist, term))
                if known is None:
                    known = places[(watchlist, term)] = _Places()
                known.add(found, near, text)
        kept: list[_Found] = []
        for found in finds:
            outcome = found.outcome
            if not outcome.placed or not outcome.matches:
                kept.append(found)
                continue
            matches: list[tuple[str, tuple[Match, ...]]] = []
            for name, list_matches in outcome.matches:
                held = []
                for match in list_matches:
                    context = self._contexts.get((name, match.term))
                    if context is None:
                        held.append(match)
                        continue
                    word = _context_word(context, found, places.get((name, match.term)))
                    if word is not None:
                        held.append(Match(match.watchlist, match.term, match.text, word or None))
                if held:
                    matches.append((name, tuple(held)))
            narrowed = _Outcome(
                tuple(matches), outcome.required, outcome.excluded, outcome.contexts, True
            )
            kept.append(_Found(narrowed, found.start, found.end))
        return kept


def _numbered(scanned: str, found: list[_Found]) -> list[_Found]:
    """The finds with word numbers for places, not character offsets: context words are reached
    in words. Only the words between one place and the next are counted, up to the last place."""
    places = sorted({place for find in found for place in (find.start, find.end)})
    number: dict[int, int] = {}
    count, previous = 0, 0
    for place in places:
        count += len(WORD.findall(scanned, previous, place))
        number[place] = count
        previous = place
    return [_Found(find.outcome, number[find.start], number[find.end]) for find in found]


class _Places:
    """Where the context words of one term stand in a text, by start: a term's place looks only
    at those within its reach (a bisection, not a scan: an item of 10,000 names and 10,000
    context words stays quick)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.entries: list[tuple[_Found, bool, str]] = []
        self.longest = 0  # words a context phrase spans, at most

    def add(self, found: _Found, near: bool, text: str) -> None:
        self.starts.append(found.start)
        self.entries.append((found, near, text))
        self.longest = max(self.longest, found.end - found.start)

    def around(self, found: _Found, within: int) -> list[tuple[_Found, bool, str]]:
        low = bisect_left(self.starts, found.start - within - self.longest)
        high = bisect_right(self.starts, found.end + within)
        return self.entries[low:high]


def _context_word(context: TermContext, found: _Found, places: _Places | None) -> str | None:
    """Whether a term found at `found` stands in its context: None when not; else the nearest
    `near` word as it stands in the text ("" for a term with only `not_near`)."""
    nearest: tuple[int, str] | None = None
    for other, near, text in places.around(found, context.within) if places else ():
        distance = _distance(found, other)
        if distance > context.within:
            continue
        if not near:
            return None
        if nearest is None or distance < nearest[0]:
            nearest = (distance, text)
    if context.near:
        return nearest[1] if nearest is not None else None
    return ""
