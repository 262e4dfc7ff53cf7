"""A first look at an item's text: one Aho-Corasick pass (ahocorasick-rs) over the casefolded text
for the stems of every term's keys finds the words that may be forms of a term, so only those are
read and analysed. Text the pass cannot judge (invisible characters, ё, words mixing scripts) is
left to the word-by-word reading."""

from __future__ import annotations

from collections.abc import Iterable

from ahocorasick_rs import AhoCorasick, MatchKind

from bot.core.matching.normalize import APOSTROPHES, INVISIBLE

_COMBINING = [
    chr(code) for low, high in ((0x0300, 0x036F), (0x0483, 0x0489)) for code in range(low, high + 1)
]
_LATIN = "abcdefghijklmnopqrstuvwxyz"
_CYRILLIC = [chr(code) for code in range(0x0400, 0x0500)]
# normalise_word reads a word typed in two scripts in one when its letters of the other script all
# look alike (Kурск, Vоlunteer): then some Latin and Cyrillic letters stand side by side, one of
# them a look-alike.
_LATIN_LOOKALIKES = "abcehikmoptxy"
_CYRILLIC_LOOKALIKES = "авсенікмортху"
_MIXED = sorted(
    {latin + cyrillic for latin in _LATIN_LOOKALIKES for cyrillic in _CYRILLIC}
    | {cyrillic + latin for latin in _LATIN_LOOKALIKES for cyrillic in _CYRILLIC}
    | {latin + cyrillic for latin in _LATIN for cyrillic in _CYRILLIC_LOOKALIKES}
    | {cyrillic + latin for latin in _LATIN for cyrillic in _CYRILLIC_LOOKALIKES}
)
# What `normalise_word` changes in a word beyond casefolding: with these in the text a stem may
# stand there spelt otherwise, so the text is read word by word.
_UNSURE = [*INVISIBLE, *_COMBINING, "ё", *_MIXED]


class StemScan:
    """The stems of one matcher's keys in one automaton."""

    def __init__(self, stems: Iterable[str]) -> None:
        patterns: set[str] = set()
        for stem in stems:
            # normalise_word makes every apostrophe a straight one: a stem with one may stand in
            # the text with any.
            patterns.update(stem.replace("'", mark) for mark in ("'", *APOSTROPHES))
        # Only where a word begins counts: a stem that begins with another is found by it.
        ordered: list[str] = []
        for pattern in sorted(patterns):  # each right after its shortest beginning in the list
            if not ordered or not pattern.startswith(ordered[-1]):
                ordered.append(pattern)
        self._unsure_from = len(ordered)
        self._automaton = AhoCorasick(ordered + _UNSURE, matchkind=MatchKind.LeftmostLongest)

    def word_starts(self, scanned: str) -> list[int] | None:
        """Where the words of `scanned` begin that begin with a stem, in order; None when the text
        must be read word by word."""
        folded = scanned.casefold()
        if len(folded) != len(scanned):  # ß → ss: places would not line up
            return None
        # Leftmost-longest: a match inside a word never hides the start of the next word, since
        # a stem holds no separator. Each step below is one pass in C over the matches.
        found = self._automaton.find_matches_as_indexes(folded)
        if not found:
            return []
        if max(found)[0] >= self._unsure_from:
            return None
        padded = " " + scanned  # padded[start] is the character before `start`
        starts = [start for _, start, _ in found]
        inside = map(str.isalnum, map(padded.__getitem__, starts))
        starts = [start for start, within in zip(starts, inside, strict=True) if not within]
        # After an apostrophe that joins it to a word (п'ять), a start is inside that word.
        return [
            start
            for start in starts
            if padded[start] not in APOSTROPHES or not padded[start - 1].isalnum()
        ]
