"""Names a watchlist is missing, read off the items it nearly matched: phrases that hold most of a
multi-word term's content words close together, in any form, without the term; and unknown acronyms
set in brackets beside one of the list's names. Pure; `suggest` ranks them per watchlist.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress, pairwise
from math import ceil

from bot.core.domain import Watchlist
from bot.core.matching.index import Matcher
from bot.core.matching.morphology import Morphology, default_morphology
from bot.core.matching.normalize import (
    normalise_word,
    prepare_text,
    scan_text,
    strip_invisible,
    term_words,
    word_starts,
    words_of,
)

__all__ = ["FUNCTION_WORDS", "Suggester", "Suggestion", "suggest"]


# Words that carry no name: a term's other words are its content words. Between the words of a near
# miss stand only the term's own function words (the "of" of "Freedom of Russia Legion") or as many
# others; any more ("and the", «и», «та» where the term has none) say the words belong to two things.
def _words(*lines: str) -> frozenset[str]:
    return frozenset(" ".join(lines).split())


FUNCTION_WORDS = _words(
    # English
    "a an the of and or in on at to for by with from as into onto over under about after before",
    "against between during without within via per not no nor but so than is are was were be been",
    "it its this that these those his her their our",
    # Russian
    "и й в во на за по о об обо от до из изо у к ко с со над под при про для без через между или",
    "либо а но не ни же ли бы б то как что это его ее их",
    # Ukrainian
    "і та від із зі зо під між або чи але ні ж би як що це її",
)

# What may stand between two words of one name: spaces, quotes, hyphens. A comma, colon, full stop,
# bracket or dash ends a name.
_SOFT = re.compile(r"[\s\"'«»„“”‘’‚‹›\-‐‑]*")
_SENTENCE_END = frozenset(".!?…:;")
_QUOTED = re.compile(
    r"«([^«»]{1,160})»|„([^„“”]{1,160})[“”]|“([^“”]{1,160})”|\"([^\"]{1,160})\"|"
    r"(?<!\w)['‘]([^'‘’]{1,160})['’](?!\w)"
)
_QUOTE_PAIRS = (("«", "»"), ("„", "“"), ("“", "”"), ("‘", "’"))
_STRAIGHT_QUOTES = "\"'"
_OPENING_QUOTES = "\"'«„“‘‚‹"
_CLOSING_QUOTES = "\"'»“”’›"
_POSSESSIVE = re.compile(r"(?<=[^\W\d_])['’ʼ]s$")

# An acronym in brackets right after a name, or a name in brackets right after an acronym.
_BRACKETED_ACRONYM = re.compile(r"\(\s*([^\W\d_]{2,5})\s*\)")
_ACRONYM_BEFORE = re.compile(r"(?<!\w)([^\W\d_]{2,5})\s*$")
_NAME_IN_BRACKETS = re.compile(r"\(\s*([^()]{3,160}?)\s*\)")
# Capitals in brackets that are no name: what a headline tags itself with, and news agencies.
_NOT_ACRONYMS = _words(
    "VIDEO PHOTO PHOTOS AUDIO LIVE UPD MAP MAPS PDF AP AFP DPA UPI BBC CNN",
    "ФОТО ВИДЕО АУДИО ОБН ТАСС РИА УНІАН",
)

# A near miss may lie this many words beyond the length of its term (the Freedom of Russia "Legion"
# becomes a «Russian Freedom Legion»: shorter; «Легион „Свободная Россия“»: as long).
_SLACK = 2
# Prefixes this long make two words one in all but ending: Russia/Russian, Free/Freedom, свобода/свободная.
_SHARED_PREFIX = 4
# A text whose words of four letters or more (other than the terms' own) mostly begin with a capital
# is a headline in title case or in capitals: there, a capital says nothing of a name.
_CAPITALISED_SHARE = 0.6
_CAPITALISED_MIN_WORDS = 4
# Words remembered; past this many the memory starts over, as the matcher's does.
_KNOWN_WORDS_LIMIT = 400_000


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A phrase as written (its most frequent written form), the number of items it stands in, one
    of them, and the term of the list it nearly is (for an acronym: the name it stood beside)."""

    phrase: str
    count: int
    example_id: str
    term: str


@dataclass(frozen=True, slots=True)
class _Term:
    watchlist: str
    term: str
    words: tuple[str, ...]  # normalised
    content: tuple[str, ...]  # its content words, normalised, in order
    function: frozenset[str]  # its function words: the only ones a near miss may hold inside
    function_count: int  # … or as many others
    need: int  # content words to find: at least two, and two thirds
    # Content words that make the name a name on their own (its first, and any written with a
    # capital inside the term): a quoted part of the term must keep one of them.
    naming: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Candidate:
    term: _Term
    phrase: str
    start: int  # offsets in the prepared text
    end: int
    found: int


@dataclass(slots=True)
class _Tally:
    """What one phrase (its words casefolded, without quotes) has gathered for one watchlist: the
    items it stands in, how it was written, where each writing was first met, and the terms it
    nearly is."""

    items: set[int] = field(default_factory=set)
    forms: Counter[str] = field(default_factory=Counter)
    first_id: dict[str, tuple[int, str]] = field(default_factory=dict)  # form -> (ordinal, id)
    terms: Counter[str] = field(default_factory=Counter)


class _Text:
    """One text of an item as words with their places, and the facts about them a near miss needs,
    each worked out when first asked."""

    def __init__(self, prepared: str, scanned: str, words: list[str], names: set[str]) -> None:
        self.prepared = prepared
        self.words = words
        self._names = names  # the words that are content words of some term
        self._scanned = scanned
        self._starts: list[int] | None = None
        self._norms: dict[int, str] = {}
        self._shouting: bool | None = None
        self._quoted: list[tuple[int, int]] | None = None

    @property
    def starts(self) -> list[int]:
        """Where each word starts: found once a text needs it (few do)."""
        if self._starts is None:
            self._starts = word_starts(self._scanned)
        return self._starts

    def end(self, i: int) -> int:
        return self.starts[i] + len(self.words[i])

    def before(self, i: int) -> str:
        """The text between word i-1 (or the start) and word i."""
        return self.prepared[self.end(i - 1) if i else 0 : self.starts[i]]

    def soft(self, i: int) -> bool:
        """Whether words i-1 and i may belong to one name: nothing but spaces, quotes and hyphens
        between them."""
        return _SOFT.fullmatch(self.before(i)) is not None

    def norm(self, i: int) -> str:
        norm = self._norms.get(i)
        if norm is None:
            norm = self._norms[i] = normalise_word(self.words[i])
        return norm

    def capitalised(self, i: int) -> bool:
        """Whether word i begins with a capital that may mark a name: not in a headline set in
        title case or capitals, and not as the first word of a sentence unless the next is
        capitalised too (Russian Freedom Legion said …)."""
        word = self.words[i]
        if not word[:1].isupper() or self.shouting():
            return False
        if not self._sentence_start(i):
            return True
        # At a sentence's start, the next word of weight must be capitalised too: Liberty of
        # Russia Legion, not «Новый добровольческий корпус».
        following = i + 1
        while (
            following < len(self.words)
            and self.soft(following)
            and self.norm(following) in FUNCTION_WORDS
        ):
            following += 1
        return (
            following < len(self.words)
            and self.soft(following)
            and self.words[following][:1].isupper()
        )

    def _sentence_start(self, i: int) -> bool:
        if i == 0:
            return True
        before = self.before(i).rstrip().rstrip(_OPENING_QUOTES).rstrip()
        return before[-1:] in _SENTENCE_END and bool(before)

    def shouting(self) -> bool:
        if self._shouting is None:
            # The names themselves are left out: they are capitalised in any case.
            long_words = [
                w
                for w in self.words
                if len(w) >= _CAPITALISED_MIN_WORDS and w.isalpha() and w not in self._names
            ]
            capitals = sum(1 for w in long_words if w[0].isupper())
            self._shouting = len(
                long_words
            ) >= _CAPITALISED_MIN_WORDS and capitals >= _CAPITALISED_SHARE * len(long_words)
        return self._shouting

    def quoted(self) -> list[tuple[int, int]]:
        """The runs of words that stand in quotes, as (first, last) word indices."""
        if self._quoted is None:
            runs: list[tuple[int, int]] = []
            for found in _QUOTED.finditer(self.prepared):
                group = next(g for g in range(1, 6) if found.group(g) is not None)
                first = bisect_left(self.starts, found.start(group))
                last = bisect_left(self.starts, found.end(group)) - 1
                if first <= last:
                    runs.append((first, last))
            self._quoted = runs
        return self._quoted

    def phrase(self, lo: int, hi: int) -> str:
        """Words lo..hi as written, with the quote that closes (or opens) one inside them, without
        invisible characters and with single spaces."""
        start, end = self.starts[lo], self.end(hi)
        text = self.prepared
        inside = text[start:end]
        for opening, closing in _QUOTE_PAIRS:
            if inside.count(opening) > inside.count(closing) and text[end : end + 1] == closing:
                end += 1
            elif (
                inside.count(closing) > inside.count(opening) and text[start - 1 : start] == opening
            ):
                start -= 1
            inside = text[start:end]
        for quote in _STRAIGHT_QUOTES:
            if inside.count(quote) % 2:
                if text[end : end + 1] == quote:
                    end += 1
                elif start and text[start - 1] == quote:
                    start -= 1
                inside = text[start:end]
        # A possessive is grammar, not the name (the Justice Department's → Justice Department).
        return _POSSESSIVE.sub("", " ".join(strip_invisible(inside).split()))


def _shares_prefix(a: str, b: str) -> bool:
    return (
        len(a) >= _SHARED_PREFIX
        and len(b) >= _SHARED_PREFIX
        and a[:_SHARED_PREFIX] == b[:_SHARED_PREFIX]
    )


class Suggester:
    """Gathers near misses item by item (`add`), then ranks them per watchlist (`ranked`)."""

    def __init__(
        self, watchlists: Iterable[Watchlist], *, morphology: Morphology | None = None
    ) -> None:
        self._morph = morphology or default_morphology()
        self._watchlists = list(watchlists)
        self._terms: list[_Term] = []
        # Content words by key, and those written as prefixes (`word*`), each as (term, index).
        self._by_key: dict[str, list[tuple[int, int]]] = {}
        self._by_prefix: list[tuple[str, int, int]] = []
        for watchlist in self._watchlists:
            for term in watchlist.terms:
                self._add_term(watchlist.name, term)
        # Every list's terms and exclusions: a phrase any of them matches is no name a list lacks
        # (its own list has it, or it is another list's, or one its list keeps out). An item's
        # matches by term, too: an item that holds the term itself is no near miss of it.
        exclusions = [
            Watchlist(f"{w.name}\0exclude", w.exclude) for w in self._watchlists if w.exclude
        ]
        self._known = Matcher(
            [Watchlist(w.name, w.terms) for w in self._watchlists] + exclusions,
            morphology=self._morph,
        )
        # The names an acronym may stand beside: the lists' terms of two content words or more.
        names = [
            Watchlist(
                w.name, tuple(dict.fromkeys(t.term for t in self._terms if t.watchlist == w.name))
            )
            for w in self._watchlists
        ]
        self._names = Matcher([w for w in names if w.terms], morphology=self._morph)
        # Word as written -> the (term, content word) pairs it may be; most words are none.
        self._hits: dict[str, tuple[tuple[int, int], ...]] = {}
        self._learnt: set[str] = set()
        self._hitting: set[str] = set()
        self._known_phrases: dict[str, bool] = {}
        self._tallies: dict[str, dict[tuple[str, ...], _Tally]] = {
            w.name: {} for w in self._watchlists
        }
        self._items = 0

    def _add_term(self, watchlist: str, term: str) -> None:
        words, last_is_prefix = term_words(term)
        content = [i for i, w in enumerate(words) if w not in FUNCTION_WORDS]
        if len(content) < 2:
            return
        # Which words the term writes with a capital, inside it: a name's own words.
        written = [w for w in words_of(scan_text(prepare_text(term))) if normalise_word(w)]
        naming = {0} | {
            n for n, i in enumerate(content) if i and i < len(written) and written[i][:1].isupper()
        }
        index = len(self._terms)
        self._terms.append(
            _Term(
                watchlist,
                term,
                words,
                tuple(words[i] for i in content),
                frozenset(w for w in words if w in FUNCTION_WORDS),
                sum(1 for w in words if w in FUNCTION_WORDS),
                max(2, ceil(2 * len(content) / 3)),
                frozenset(naming),
            )
        )
        for n, i in enumerate(content):
            if last_is_prefix and i == len(words) - 1:
                self._by_prefix.append((words[i], index, n))
                continue
            for key in self._morph.term_keys(words[i]):
                self._by_key.setdefault(key, []).append((index, n))

    # --- words ---------------------------------------------------------------------------

    def _learn(self, word: str) -> None:
        norm = normalise_word(word)
        found: dict[tuple[int, int], None] = {}
        if norm and not norm.isdigit():
            for key in self._morph.token_keys(norm):
                found.update(dict.fromkeys(self._by_key.get(key, ())))
            for prefix, term, n in self._by_prefix:
                if norm.startswith(prefix):
                    found[(term, n)] = None
        self._hits[word] = tuple(found)
        self._learnt.add(word)
        if found:
            self._hitting.add(word)

    def _present(self, words: list[str]) -> set[str]:
        """The words of `words` that are content words of some term, learning new words once."""
        # A set beside the dict: a set checks a list of words without a step in Python.
        if not self._learnt.issuperset(words):
            unknown = set(words) - self._learnt
            if len(self._learnt) + len(unknown) > _KNOWN_WORDS_LIMIT:
                self._hits.clear()
                self._learnt.clear()
                self._hitting.clear()
                unknown = set(words)
            for word in unknown:
                self._learn(word)
        return self._hitting.intersection(words)

    # --- items ---------------------------------------------------------------------------

    def add(self, item_id: str, title: str, summary: str) -> None:
        """Read one item (its title and summary as plain text) for near misses."""
        ordinal = self._items
        self._items += 1
        found: list[tuple[str, str, str]] = []  # (watchlist, phrase, term)
        held: list[set[tuple[str, str]]] = []

        def matched() -> set[tuple[str, str]]:
            if not held:
                held.append(self._matched_terms(title, summary))
            return held[0]

        for text in (title, summary):
            prepared = prepare_text(text)
            scanned = scan_text(prepared)
            words = words_of(scanned)
            present = self._present(words)
            # Two content words at least, so two words that may be one (a name beside an acronym
            # is such a pair too): most texts end here.
            if len(present) < 2:
                continue
            places = self._places(words, present)
            if not places:
                continue
            parsed = _Text(prepared, scanned, words, self._hitting)
            candidates = self._near_misses(parsed, places, matched)
            found.extend((c.term.watchlist, c.phrase, c.term.term) for c in candidates)
            if "(" in prepared:
                found.extend(self._acronyms(parsed, candidates))
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for watchlist, phrase, term in found:
            key = tuple(normalise_word(w) for w in words_of(scan_text(phrase)))
            tally = self._tallies[watchlist].setdefault(key, _Tally())
            if (watchlist, key) not in seen:
                seen.add((watchlist, key))
                tally.items.add(ordinal)
            tally.forms[phrase] += 1
            tally.first_id.setdefault(phrase, (ordinal, item_id))
            tally.terms[term] += 1

    def _matched_terms(self, title: str, summary: str) -> set[tuple[str, str]]:
        return {
            (m.watchlist, m.term)
            for found in self._known.match(title, summary).values()
            for m in found
        }

    def _is_known(self, phrase: str) -> bool:
        known = self._known_phrases.get(phrase)
        if known is None:
            if len(self._known_phrases) > _KNOWN_WORDS_LIMIT:
                self._known_phrases.clear()
            known = self._known_phrases[phrase] = bool(self._known.match(phrase))
        return known

    def _places(self, words: list[str], present: set[str]) -> dict[int, list[tuple[int, int]]]:
        """Where the content words of each term stand, as (word index, content word), for the
        terms with enough of them in the text."""
        by_term: dict[int, list[tuple[int, int]]] = {}
        for at in compress(range(len(words)), map(present.__contains__, words)):
            taken: set[int] = set()
            for index, n in self._hits[words[at]]:
                if index not in taken:  # a word stands for one content word of a term
                    taken.add(index)
                    by_term.setdefault(index, []).append((at, n))
        return {
            index: places
            for index, places in by_term.items()
            if len({n for _, n in places}) >= self._terms[index].need
        }

    def _near_misses(
        self,
        text: _Text,
        by_term: dict[int, list[tuple[int, int]]],
        matched: Callable[[], set[tuple[str, str]]],
    ) -> list[_Candidate]:
        """The near misses of the text, at most one of a list in one place; `matched` tells the
        terms the whole item holds (asked only when there is a near miss: it reads every word)."""
        candidates = [c for index, p in by_term.items() for c in self._clusters(index, text, p)]
        if candidates:
            holds = matched()
            candidates = [c for c in candidates if (c.term.watchlist, c.term.term) not in holds]
        # Two terms of one list may find overlapping phrases: the one with more words found wins.
        candidates.sort(key=lambda c: (-c.found, -(c.end - c.start), c.start))
        kept: list[_Candidate] = []
        for candidate in candidates:
            if all(
                k.term.watchlist != candidate.term.watchlist
                or candidate.end <= k.start
                or k.end <= candidate.start
                for k in kept
            ):
                kept.append(candidate)
        return kept

    def _clusters(
        self, index: int, text: _Text, places: list[tuple[int, int]]
    ) -> Iterable[_Candidate]:
        term = self._terms[index]
        window = len(term.words) + _SLACK
        i = 0
        while i < len(places):
            first = places[i][0]
            last = i
            while last + 1 < len(places) and places[last + 1][0] - first < window:
                last += 1
            # The most words found first; a word too far may spoil it, so fewer are tried next.
            for j in range(last, i, -1):
                cluster = places[i : j + 1]
                if len({n for _, n in cluster}) != len(cluster) or len(cluster) < term.need:
                    continue
                candidate = self._candidate(index, text, cluster)
                if candidate is not None:
                    yield candidate
                    i = j
                    break
            i += 1

    def _candidate(
        self, index: int, text: _Text, cluster: list[tuple[int, int]]
    ) -> _Candidate | None:
        """The near miss these found words make, or None: see the rules in `suggest`."""
        term = self._terms[index]
        at = dict(cluster)
        lo, hi = cluster[0][0], cluster[-1][0]
        missing = set(range(len(term.content))) - set(at.values())
        in_order = all(a[1] < b[1] for a, b in pairwise(cluster))
        budget = len(missing)
        stand_ins = 0

        def of_term(i: int) -> bool:
            """Whether word i is a content word of this term (found, or one found twice)."""
            return any(t == index for t, _ in self._hits.get(text.words[i], ()))

        def stands_in(i: int, *, quoted: bool = False) -> bool:
            """Whether word i may stand for a missing content word: it is written like one
            (Russian for Russia, Свободная for Свобода); or it begins with the same letter, is
            capitalised (or quoted with the words found) and stands where the missing word would,
            among the words found in the term's order (Российский добровольческий корпус). Another
            first letter is most often another thing of the kind: Ukrainian Volunteer Corps."""
            norm = text.norm(i)
            if norm in FUNCTION_WORDS or not norm.isalpha() or of_term(i):
                return False
            if any(_shares_prefix(norm, term.content[m]) for m in missing):
                return True
            if not in_order or not (quoted or text.capitalised(i)):
                return False
            left = [n for p, n in cluster if p < i]
            right = [n for p, n in cluster if p > i]
            return any(
                norm[0] == term.content[m][0]
                and (not left or max(left) < m)
                and (not right or m < min(right))
                for m in missing
            )

        # Between the words found: the term's function words, or as many others as it has
        # (Freedom for Russia Legion), and words that stand for missing ones.
        other_function_words = term.function_count
        for i in range(lo + 1, hi + 1):
            if not text.soft(i):
                return None
            norm = text.norm(i)
            if i in at or norm in term.function:
                continue
            if norm in FUNCTION_WORDS and other_function_words:
                other_function_words -= 1
                continue
            if budget and stands_in(i):
                budget -= 1
                stand_ins += 1
                continue
            return None
        # Widen to the words that stand for missing ones beside the words found (a function word
        # of the term may come between: Legion of Free Russia).
        for step in (-1, 1):
            while budget:
                edge = lo if step < 0 else hi
                near, far = edge + step, edge + 2 * step
                if not 0 <= near < len(text.words) or not text.soft(max(edge, near)):
                    break
                if stands_in(near):
                    taken = near
                elif (
                    text.norm(near) in term.function
                    and 0 <= far < len(text.words)
                    and text.soft(max(near, far))
                    and stands_in(far)
                ):
                    taken = far
                else:
                    break
                lo, hi = min(lo, taken), max(hi, taken)
                budget -= 1
                stand_ins += 1
        quoted = (lo, hi) in text.quoted()
        if not quoted and budget:
            # Widen to the quotes the words found stand in («Российский добровольческий корпус»),
            # if what else they hold stands for words missing.
            for first, last in text.quoted():
                if first <= lo and hi <= last and last - first < len(term.words):
                    extra = [
                        i
                        for i in (*range(first, lo), *range(hi + 1, last + 1))
                        if text.norm(i) not in term.function
                    ]
                    if len(extra) <= budget and all(stands_in(i, quoted=True) for i in extra):
                        lo, hi, quoted = first, last, True
                        stand_ins += len(extra)
                    break
        if stand_ins == 0 and len(at) < len(term.content):
            # Nothing stands for the missing words: the words found must make a name by
            # themselves, quoted, a run of the term in its order that keeps a naming word
            # («Свободы России» of Легион Свобода России, not «Добровольческий корпус» of Русский
            # добровольческий корпус).
            found = sorted(at.values())
            run = in_order and found == list(range(found[0], found[-1] + 1))
            if not (quoted and run and term.naming.intersection(found)):
                return None
        phrase = text.phrase(lo, hi)
        if self._is_known(phrase):
            return None
        return _Candidate(term, phrase, text.starts[lo], text.end(hi), len(at))

    # --- acronyms --------------------------------------------------------------------------

    def _acronyms(self, text: _Text, candidates: list[_Candidate]) -> list[tuple[str, str, str]]:
        """Unknown acronyms in brackets right after one of a list's names, or before it: the
        Russian Volunteer Corps (RDK), ЛСР (Легион «Свобода России»). A near miss found in the
        text counts as a name of its list here too."""
        prepared = text.prepared
        found: list[tuple[str, str, str]] = []
        # Each bracket is looked at where it stands: a pattern run over a long text from every
        # place would cost more than all the rest.
        at = prepared.find("(")
        while at >= 0:
            after = _BRACKETED_ACRONYM.match(prepared, at)
            if after and self._may_be_acronym(after.group(1)):
                before = prepared[:at].rstrip()
                for watchlist, term in self._names_ending(before, candidates):
                    found.append((watchlist, after.group(1), term))
            leading = _ACRONYM_BEFORE.search(prepared, max(0, at - 12), at)
            inside = _NAME_IN_BRACKETS.match(prepared, at) if leading else None
            if leading and inside and self._may_be_acronym(leading.group(1)):
                name = inside.group(1)
                for watchlist, term in self._names_filling(name, inside.start(1), candidates):
                    found.append((watchlist, leading.group(1), term))
            at = prepared.find("(", at + 1)
        return found

    def _may_be_acronym(self, word: str) -> bool:
        return (
            word.isupper()
            and word.isalpha()
            and word not in _NOT_ACRONYMS
            and not self._is_known(word)
        )

    def _names_ending(self, before: str, candidates: list[_Candidate]) -> Iterable[tuple[str, str]]:
        for candidate in candidates:
            between = before[candidate.end :]
            if candidate.end <= len(before) and not between.strip(_CLOSING_QUOTES + " "):
                yield candidate.term.watchlist, candidate.term.term
        tail = strip_invisible(before[-400:]).rstrip(_CLOSING_QUOTES + " ")
        for watchlist, matches in self._names.match(tail).items():
            for match in matches:
                if tail.endswith(match.text.rstrip(_CLOSING_QUOTES)):
                    yield watchlist, match.term
                    break

    def _names_filling(
        self, inside: str, offset: int, candidates: list[_Candidate]
    ) -> Iterable[tuple[str, str]]:
        wanted = [normalise_word(w) for w in words_of(scan_text(inside))]
        while wanted and wanted[0] in FUNCTION_WORDS:  # (the Russian Volunteer Corps)
            wanted.pop(0)
        for candidate in candidates:
            if offset <= candidate.start and candidate.end <= offset + len(inside):
                words = [normalise_word(w) for w in words_of(scan_text(candidate.phrase))]
                if words == wanted:
                    yield candidate.term.watchlist, candidate.term.term
        for watchlist, matches in self._names.match(inside).items():
            for match in matches:
                if [normalise_word(w) for w in words_of(scan_text(match.text))] == wanted:
                    yield watchlist, match.term
                    break

    # --- ranking ---------------------------------------------------------------------------

    def ranked(self) -> dict[str, list[Suggestion]]:
        """Every watchlist, in the order given, with its phrases: the most items first, then by
        phrase. The forms of one phrase (Свободы России, Свобода России) count as one, shown as
        written most often."""
        result: dict[str, list[Suggestion]] = {}
        for watchlist in self._watchlists:
            groups = self._merged(self._tallies[watchlist.name])
            suggestions: list[Suggestion] = []
            for group in groups:
                items: set[int] = set()
                forms: Counter[str] = Counter()
                terms: Counter[str] = Counter()
                first_id: dict[str, tuple[int, str]] = {}
                for tally in group:
                    items |= tally.items
                    forms.update(tally.forms)
                    terms.update(tally.terms)
                    for form, seen in tally.first_id.items():
                        if form not in first_id or seen < first_id[form]:
                            first_id[form] = seen
                # The form written most often; of equals, the one met first.
                phrase = min(forms, key=lambda f: (-forms[f], first_id[f]))
                term = min(terms, key=lambda t: (-terms[t], t))
                suggestions.append(Suggestion(phrase, len(items), first_id[phrase][1], term))
            suggestions.sort(key=lambda s: (-s.count, s.phrase.casefold(), s.phrase))
            result[watchlist.name] = suggestions
        return result

    def _merged(self, tallies: dict[tuple[str, ...], _Tally]) -> list[list[_Tally]]:
        """Tallies of phrases that are forms of one another, together: as many words, each pair
        sharing a dictionary form."""
        keys = list(tallies)
        parent = list(range(len(keys)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        word_keys = {w: self._morph.token_keys(w) for key in keys for w in key}
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                if len(keys[a]) == len(keys[b]) and all(
                    not word_keys[x].isdisjoint(word_keys[y])
                    for x, y in zip(keys[a], keys[b], strict=True)
                ):
                    parent[root(b)] = root(a)
        groups: dict[int, list[_Tally]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(root(i), []).append(tallies[key])
        return list(groups.values())


def suggest(
    watchlists: Sequence[Watchlist],
    items: Iterable[tuple[str, str, str]],
    *,
    morphology: Morphology | None = None,
) -> dict[str, list[Suggestion]]:
    """Phrases the watchlists lack, found in `items` (id, title, summary as plain text), ranked per
    watchlist in the order given (every watchlist is a key; most have no phrase).

    A phrase is a near miss of a term of two content words or more (words other than
    `FUNCTION_WORDS`) when, in one text of an item (title or summary, never across), at least two
    and two thirds of them stand, in any grammatical form, within the term's length plus two words;
    between them stand only spaces, quotes, hyphens, the term's own function words (or as many
    others) and words that stand for the missing ones; the item does not hold that term (it may
    hold another of the list: a phrase beside another name of the list is most likely the same
    thing named another way, and it still names it in a way the list lacks); and something says it
    is a name: every content word is there (in another order, or with a word between); or a word
    stands for a missing one, written like it (Russian for Russia, Free for Freedom) or capitalised
    (or quoted with them), with its first letter, where it would stand (Российский добровольческий
    корпус); or the words found stand alone in quotes, in the term's order, and keep a naming word
    of the term («Свободы России»). Phrases that any list's terms or exclusions match are left out.

    An acronym is one of 2 to 5 capitals, unknown to every list, in brackets right after a name of
    the list of two content words or more (or a near miss of one), or before such a name in
    brackets: the Russian Volunteer Corps (RDK), RDK (Russian Volunteer Corps).
    """
    suggester = Suggester(watchlists, morphology=morphology)
    for item_id, title, summary in items:
        suggester.add(item_id, title, summary)
    return suggester.ranked()
