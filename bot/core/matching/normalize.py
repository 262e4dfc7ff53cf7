"""Text normalisation and tokenising for matching: the same rules for item text and for terms.

Item text is read as plain text (HTML is dropped before it gets here); each word keeps its place in that
text so that a hit can show the words as they stand.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters that hide inside words without changing them: soft hyphen, zero-width space/joiners,
# word joiner, byte-order mark. Feeds carry them from typesetting; they must not split or break words.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
APOSTROPHES = "'\u2019\u02bc\u2018`\u00b4\u2032"

# Combining marks left after NFC have no composed letter (a Russian stress mark over у in Ку́рск):
# they belong to the word but must not change what it matches.
_COMBINING = "\u0300-\u036f\u0483-\u0489"
_COMBINING_TABLE = {
    code: None
    for low, high in ((0x0300, 0x036F), (0x0483, 0x0489))
    for code in range(low, high + 1)
}

_INVISIBLE_TABLE = {ord(ch): None for ch in INVISIBLE}
_FOLD_TABLE = {
    **_INVISIBLE_TABLE,
    **_COMBINING_TABLE,
    **{ord(ch): "'" for ch in APOSTROPHES},
    ord("ё"): "е",
}

# A word: letters and digits, invisible characters allowed inside, and apostrophes between letters
# (Ukrainian п'ять, English Kursk's). No nested ambiguity, so it runs in linear time on any input.
# One character class, not an alternation: the regex scans every byte of every item, and this form
# runs twice as fast. It takes underscores for letters, so `scan_text` turns them into spaces.
# U+E000, a private-use character, is made a word of its own: `BARRIER` stands between the texts of
# one item so that they are read in one pass, and no term can match it (terms need letters).
BARRIER = "\n\ue000\n"
_WORD_CHAR = rf"[\w{INVISIBLE}{_COMBINING}\ue000]"
WORD = re.compile(rf"{_WORD_CHAR}+(?:[{APOSTROPHES}]{_WORD_CHAR}+)*")


# Latin and Cyrillic letters that look alike, casefolded. A word typed with both (Kурск with a Latin
# K, Vоlunteer with a Cyrillic о) is read in the script it can be written in, its majority first.
_LATIN_TO_CYRILLIC = dict(zip("abcehikmoptxy", "авсенікмортху", strict=True))
_CYRILLIC_TO_LATIN = {cyrillic: latin for latin, cyrillic in _LATIN_TO_CYRILLIC.items()}


def _one_script(word: str) -> str:
    latin = [ch for ch in word if "a" <= ch <= "z"]
    cyrillic = [ch for ch in word if "\u0400" <= ch <= "\u04ff"]
    if not latin or not cyrillic:
        return word
    as_cyrillic = all(ch in _LATIN_TO_CYRILLIC for ch in latin)
    as_latin = all(ch in _CYRILLIC_TO_LATIN for ch in cyrillic)
    if as_cyrillic and (len(cyrillic) >= len(latin) or not as_latin):
        return "".join(_LATIN_TO_CYRILLIC.get(ch, ch) for ch in word)
    if as_latin:
        return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in word)
    return word


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text: its normalised form and where it stands in that text."""

    norm: str
    start: int
    end: int


def prepare_text(text: str) -> str:
    """Compose characters (NFC) so that a letter typed with a combining mark is one letter."""
    return unicodedata.normalize("NFC", text)


def scan_text(prepared: str) -> str:
    """The text the word pattern reads, of the same length: it takes underscores for letters (to
    stay one fast character class), so they become spaces here."""
    return prepared.replace("_", " ")


def strip_invisible(text: str) -> str:
    """Drop soft hyphens and zero-width characters, for showing matched words as a reader sees them."""
    return text.translate(_INVISIBLE_TABLE)


def normalise_word(word: str) -> str:
    """Casefold a word and fold the variants that must not matter: ё/е, apostrophes, invisibles."""
    folded = _one_script(word.casefold().translate(_FOLD_TABLE))
    # English possessive: Kursk's is Kursk. Ukrainian apostrophes sit inside words and stay.
    while folded.endswith("'s"):
        folded = folded[:-2]
    return folded


def word_starts(scanned: str) -> list[int]:
    """Where each word of `words_of(scanned)` starts, in the same order: a phrase's place in a
    long text is then a look-up, not a search from its start (which made a live blog with
    thousands of phrase occurrences quadratic)."""
    return [found.start() for found in WORD.finditer(scanned)]


def words_of(scanned: str) -> list[str]:
    """The words of a scanned text as written, in order: the words `tokenise` finds, faster."""
    return WORD.findall(scanned)


def tokenise(text: str) -> list[Token]:
    """Split prepared text into words; punctuation, quotes, dashes and spaces are separators."""
    tokens = []
    for found in WORD.finditer(scan_text(text)):
        norm = normalise_word(found.group())
        if norm:
            tokens.append(Token(norm, found.start(), found.end()))
    return tokens


def term_words(term: str) -> tuple[tuple[str, ...], bool]:
    """The normalised words of a term and whether its last word is a prefix (`Белгород*`)."""
    stripped = term.strip()
    is_prefix = stripped.endswith("*")
    if is_prefix:
        stripped = stripped.rstrip("*")
    words = tuple(token.norm for token in tokenise(prepare_text(stripped)))
    return words, is_prefix and bool(words)
