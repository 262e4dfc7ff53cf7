"""Word forms: the keys under which a word is matched, so that every grammatical form of a term hits.

Russian and Ukrainian words are reduced to their dictionary forms by pymorphy3 (its dictionaries ship
as PyPI packages and load offline); English words also count as their singular. A place name also
matches its adjective (Курск → курский, Белгород → белгородский, Курськ → курський).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from bot.core.matching.paradigm_endings import FORM_PREFIXES, GUESSED_ENDINGS, PREFIXED_ENDINGS

_UKRAINIAN_ONLY = frozenset("іїєґ")
_RUSSIAN_ONLY = frozenset("ыэъ")
_VOWELS = frozenset("аеиоуыэюяіїє")
_CACHE_SIZE = 262_144
_PROPER_NAME_TAGS = frozenset({"Geox", "Name", "Surn", "Patr", "Orgn", "Trad"})


def is_cyrillic(word: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in word)


def english_singulars(word: str) -> set[str]:
    """The singulars a plural English word may stand for: RVCs → RVC, militias → militia,
    forces → force (and forc), parties → party. Short words are left alone (bus, gas)."""
    bases: set[str] = set()
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        bases.add(word[:-1])
        if word.endswith("ies"):
            bases.add(word[:-3] + "y")
        elif word.endswith("es"):
            bases.add(word[:-2])
    return bases


def adjectives_of(lemma: str) -> set[str]:
    """Dictionary forms of the adjective a place name makes: курск → курский, белгород →
    белгородский, курськ → курський, одеса → одеський. Wrong guesses for words that are not
    places name no real word, so they never match anything."""
    stem = lemma[:-1] if lemma[-1:] in _VOWELS else lemma
    if stem.endswith("ь"):
        stem = stem[:-1]
    forms = {stem + "ский", stem + "ський"}
    if stem.endswith("ск") or stem.endswith("ськ"):
        forms |= {stem + "ий", stem + "ой"}
    return forms


HEAD_LETTERS = 2
"""Letters of a word's start that its dictionary forms keep (Орёл, Орла: «ор»): a word whose
first two letters begin no key of a term is not analysed."""

LONGEST_ANALYSED = 60
"""Letters of the longest word the dictionaries are asked about."""


_LONGEST_ENDING = max(map(len, GUESSED_ENDINGS | PREFIXED_ENDINGS))


def _folded(word: str) -> str:
    return word.replace("ё", "е")


class Morphology:
    """pymorphy3 for Russian and Ukrainian, behind a cache: news repeats its words."""

    def __init__(self) -> None:
        # Imported here: only matching needs the dictionaries, and `poll --once` on an unchanged
        # feed matches nothing (start-up, issue 19).
        import pymorphy3

        self._ru: Any = pymorphy3.MorphAnalyzer(lang="ru")
        self._uk: Any = pymorphy3.MorphAnalyzer(lang="uk")
        # Analysers are not documented as thread-safe; matching runs in worker threads.
        self._lock = threading.Lock()
        self.token_keys = lru_cache(maxsize=_CACHE_SIZE)(self._token_keys)
        self.term_keys = lru_cache(maxsize=_CACHE_SIZE)(self._term_keys)
        self.is_proper_name = lru_cache(maxsize=_CACHE_SIZE)(self._is_proper_name)
        self.key_stems = lru_cache(maxsize=_CACHE_SIZE)(self._key_stems)

    def _analysers(self, word: str) -> tuple[Any, ...]:
        letters = set(word)
        if letters & _UKRAINIAN_ONLY:
            return (self._uk,)
        if letters & _RUSSIAN_ONLY:
            return (self._ru,)
        return (self._ru, self._uk)

    def _parses(self, word: str) -> list[Any]:
        if len(word) > LONGEST_ANALYSED:
            # No word of a dictionary is this long, and pymorphy3 takes "не" off the front of
            # «НЕНЕНЕ…» once a level, deeper than Python's stack: a hostile item is only itself.
            return []
        with self._lock:
            return [parse for analyser in self._analysers(word) for parse in analyser.parse(word)]

    def _token_keys(self, word: str) -> frozenset[str]:
        """Keys of a word of item text: itself and every dictionary form it may be a form of."""
        if is_cyrillic(word):
            return frozenset({word, *(p.normal_form for p in self._parses(word))})
        if word.isascii():
            return frozenset({word, *english_singulars(word)})
        return frozenset({word})

    def _is_proper_name(self, word: str) -> bool:
        """Whether the dictionary's likeliest known reading of a Russian or Ukrainian word is a
        name, surname, place or organisation (stories tell «Курской» from «области» by it)."""
        parses = [p for p in self._parses(word) if p.is_known]
        return bool(parses) and bool(_PROPER_NAME_TAGS & parses[0].tag.grammemes)

    def _term_keys(self, word: str) -> frozenset[str]:
        """Keys of a word of a term: its dictionary forms, and for a noun the adjective it makes."""
        if not is_cyrillic(word):
            return frozenset({word})
        # Readings from a dictionary outrank guesses: the Ukrainian analyser guesses Russian
        # курская to be a word of its own, which must not hide the adjective курский.
        parses = self._parses(word)
        parses = [p for p in parses if p.is_known] or parses
        # A term is usually written in its dictionary form; then only that reading counts, so
        # that Київ does not also stand for кий, whose plural genitive is spelt the same.
        as_written = [p for p in parses if p.normal_form == word]
        keys = {word}
        for parse in as_written or parses:
            keys.add(parse.normal_form)
            if parse.tag.POS == "NOUN":
                keys |= adjectives_of(parse.normal_form)
        return frozenset(keys)

    def _key_stems(self, key: str) -> frozenset[str]:
        """Beginnings one of which every word of text with `key` among its keys begins with (as
        `token_keys` reads it: casefolded, ё as е), so that a scan for them finds every word that
        may be a form of the key and the others need no analysis. "" when no beginning is sure."""
        if not is_cyrillic(key):
            # An English plural's singular: parties → party, so "parties" begins with no "party".
            plural = key[:-1] + "ies" if key.endswith("y") and key.isascii() else key
            return frozenset({key, plural})
        key = _folded(key)
        # A guessed word and its dictionary form share the paradigm's stem: the key without the
        # longest dictionary-form ending it may have. A word whose first two letters begin no
        # key is not analysed (Matcher._learn), so a stem keeps at least those.
        longest = max(
            (n for n in range(1, _LONGEST_ENDING + 1) if key[len(key) - n :] in GUESSED_ENDINGS),
            default=0,
        )
        stem = key[: len(key) - longest]
        stem = stem if len(stem) >= HEAD_LETTERS else key[:HEAD_LETTERS]
        stems = {stem}
        if any(key[len(key) - n :] in PREFIXED_ENDINGS for n in range(1, _LONGEST_ENDING + 1)):
            stems.update(prefix + stem for prefix in FORM_PREFIXES)  # наибольший, побольше
        # A word the dictionaries know may change its stem (люди of человек): its forms, whole.
        for analyser in (self._ru, self._uk):
            stems.update(_irregular_forms(analyser, key, stem))
        return frozenset(stems)


def _irregular_forms(analyser: Any, key: str, stem: str) -> set[str]:
    """The forms of the words `analyser` knows with the dictionary form `key` whose stem is
    shorter than `stem`."""
    dictionary = analyser.dictionary
    forms: set[str] = set()
    for written, found in dictionary.words.similar_items(key, analyser.char_substitutes):
        for paradigm_id, index in found:
            if index != 0:  # a form, not the dictionary form
                continue
            paradigm = dictionary.paradigms[paradigm_id]
            count = len(paradigm) // 3
            start = len(dictionary.paradigm_prefixes[paradigm[2 * count]])
            own_stem = written[start : len(written) - len(dictionary.suffixes[paradigm[0]])]
            if _folded(own_stem).startswith(stem):
                continue
            forms.update(
                _folded(
                    dictionary.paradigm_prefixes[paradigm[2 * count + i]]
                    + own_stem
                    + dictionary.suffixes[paradigm[i]]
                )
                for i in range(count)
            )
    return forms


def guessed_endings(analyser: Any) -> set[str]:
    """The dictionary-form endings of the paradigms by which `analyser` guesses unknown words
    (what paradigm_endings.py lists, computed: about a second a dictionary)."""
    dictionary = analyser.dictionary
    return {
        _folded(dictionary.suffixes[dictionary.paradigms[paradigm_id][0]])
        for dawg in dictionary.prediction_suffixes_dawgs
        for _, (_, paradigm_id, _) in dawg.items()
    }


_default: Morphology | None = None
_default_lock = threading.Lock()


def default_morphology() -> Morphology:
    """The process's one analyser (loading the dictionaries takes a fraction of a second)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Morphology()
        return _default
