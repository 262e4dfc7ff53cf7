"""Word forms: the keys under which a word is matched, so that every grammatical form of a term hits.

Russian and Ukrainian words are reduced to their dictionary forms by pymorphy3 (its dictionaries ship
as PyPI packages and load offline); English words also count as their singular. A place name also
matches its adjective (Курск → курский, Белгород → белгородский, Курськ → курський).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import pymorphy3

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


LONGEST_ANALYSED = 60
"""Letters of the longest word the dictionaries are asked about."""


class Morphology:
    """pymorphy3 for Russian and Ukrainian, behind a cache: news repeats its words."""

    def __init__(self) -> None:
        self._ru: Any = pymorphy3.MorphAnalyzer(lang="ru")
        self._uk: Any = pymorphy3.MorphAnalyzer(lang="uk")
        # Analysers are not documented as thread-safe; matching runs in worker threads.
        self._lock = threading.Lock()
        self.token_keys = lru_cache(maxsize=_CACHE_SIZE)(self._token_keys)
        self.term_keys = lru_cache(maxsize=_CACHE_SIZE)(self._term_keys)
        self.is_proper_name = lru_cache(maxsize=_CACHE_SIZE)(self._is_proper_name)

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


_default: Morphology | None = None
_default_lock = threading.Lock()


def default_morphology() -> Morphology:
    """The process's one analyser (loading the dictionaries takes a fraction of a second)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Morphology()
        return _default
