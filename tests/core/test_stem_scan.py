"""The stem scan (bot/core/matching/prefilter.py): every word that may be a form of a term begins
with one of the stems of its keys, so one pass over the text finds it; it finds what reading every
word finds, on generated text, on tricky spellings and on the corpora; and the other words are not
analysed, which is what makes a first match quick."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.domain import TermContext, Watchlist
from bot.core.matching import Matcher, paradigm_endings
from bot.core.matching.morphology import Morphology, default_morphology, guessed_endings
from bot.core.matching.normalize import normalise_word
from bot.sources.parsing import parse_feed
from tests.shared_corpus import corpus_documents

REPO = Path(__file__).resolve().parents[2]


def _folded(word: str) -> str:
    return normalise_word(word)


def test_the_endings_written_down_are_those_of_the_installed_dictionaries() -> None:
    morph = default_morphology()
    analysers = (morph._ru, morph._uk)
    computed = set().union(*(guessed_endings(a) for a in analysers))
    assert computed == set(paradigm_endings.GUESSED_ENDINGS), (
        "the dictionaries changed: write bot/core/matching/paradigm_endings.py again"
    )
    prefixed: set[str] = set()
    prefixes: set[str] = set()
    for analyser in analysers:
        dictionary = analyser.dictionary
        for paradigm in dictionary.paradigms:
            count = len(paradigm) // 3
            used = {dictionary.paradigm_prefixes[paradigm[2 * count + i]] for i in range(count)}
            if used - {""}:
                prefixes |= used - {""}
                prefixed.add(dictionary.suffixes[paradigm[0]].replace("ё", "е"))
    assert prefixed == set(paradigm_endings.PREFIXED_ENDINGS)
    assert prefixes == set(paradigm_endings.FORM_PREFIXES)


@pytest.mark.parametrize(
    "term",
    [
        # Places, the founding units, names the dictionaries know and guess.
        "Курск", "Белгород", "Тёткино", "Київ", "Харківщина", "Свобода", "корпус",
        "добровольческий", "Залужный", "Бздыщенко", "Орёл", "Русский",
        # Words whose stem changes: люди of человек, лучший of хороший, шёл of идти.
        "человек", "хороший", "идти", "ребёнок",
        # English plurals.
        "party", "militia", "force",
    ],
)  # fmt: skip
def test_every_form_of_a_term_begins_with_a_stem(term: str) -> None:
    morph = default_morphology()
    keys = morph.term_keys(_folded(term))
    stems = {stem for key in keys for stem in morph.key_stems(key)}
    forms: set[str] = set()
    for analyser in (morph._ru, morph._uk):
        for parse in analyser.parse(_folded(term)):
            forms.update(_folded(form.word) for form in parse.lexeme)
    for key in keys:
        forms |= {key, key + "s", key + "es", key[:-1] + "ies"} if key.isascii() else {key}
    # Only the forms that are read as the term: the scan must find each of them.
    matching = {form for form in forms if morph.token_keys(form) & keys}
    assert matching
    missed = {form for form in matching if not form.startswith(tuple(stems))}
    assert not missed, f"{term}: {sorted(missed)} begin with none of {sorted(stems)}"


class _Counting:
    """The real morphology, counting the words of text it is asked about."""

    def __init__(self) -> None:
        real = default_morphology()
        self.asked: list[str] = []
        self.term_keys = real.term_keys
        self.key_stems = real.key_stems
        self.is_proper_name = real.is_proper_name
        self._real = real

    def token_keys(self, word: str) -> frozenset[str]:
        self.asked.append(word)
        return self._real.token_keys(word)


def test_only_the_words_that_begin_with_a_stem_are_analysed() -> None:
    counting = _Counting()
    matcher = Matcher([Watchlist("kursk", ("Курск",))], morphology=cast(Morphology, counting))
    # Words that begin as курск does (ку-) but can be no form of it: before the scan, each
    # was analysed, since its first two letters begin a key.
    others = " ".join(f"кумир{n} купол кубок куница" for n in range(50))
    assert matcher.match(f"Под Курском {others}", "В курской области тихо") == {
        "kursk": matcher.match("Под Курском", "В курской области тихо")["kursk"]
    }
    assert set(counting.asked) <= {"курском", "курской", "под", "в", "области", "тихо"}
    assert "купол" not in counting.asked


def _both(watchlists: list[Watchlist]) -> tuple[Matcher, Matcher]:
    return Matcher(watchlists), Matcher(watchlists, stem_scan=False)


@pytest.mark.parametrize(
    ("terms", "text"),
    [
        (("Курск",), "Kурске"),  # a Latin K
        (("Курск",), "Кур\u00adском"),  # a soft hyphen
        (("Орёл",), "в Орле и в Орёле"),
        (("Орел",), "под Орлом"),
        (("Дем'янка",), "у Дем’янка та Дем`янка"),  # apostrophes of every kind
        (("ять",), "п'ять і ять"),  # after an apostrophe that joins a word
        (("Strasse",), "Straße STRASSE"),  # ß casefolds to two letters
        (("Курск",), "Ку́рск"),  # a stress mark
        (
            ("Russian Volunteer Corps",),
            "the Russian\u00a0Volunteer  Corps, RUSSIAN VOLUNTEER CORPS",
        ),
        (("Свобода России",), "легион «Свобода России» и «Свободы России»"),
        (("Kursk",), "Kursk's governor"),
        (("party",), "parties and partying"),
        (("человек",), "человеку и людям"),
        (("хороший",), "хорошему и лучшему"),
        (("Курск",), "_Курск_ и Курск_"),
    ],
)
def test_the_scan_finds_what_reading_every_word_finds(terms: tuple[str, ...], text: str) -> None:
    scanned, read = _both([Watchlist("list", terms)])
    found = scanned.match(text)
    assert found == read.match(text)
    assert found, f"{terms} should hit {text!r}"


_LETTERS = "курсклбелгородпятьдемяндкорпусkurskpartyies'’\u00adёÉéßKКП"
_words = st.text(alphabet=_LETTERS, min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    terms=st.lists(st.lists(_words, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=4),
    text=st.lists(
        st.one_of(_words, st.sampled_from([" ", "  ", "\n", ", ", "«", "»", "-", "'", "’", "_"])),
        max_size=30,
    ).map("".join),
)
def test_on_any_text_the_scan_agrees_with_reading_every_word(terms: list[str], text: str) -> None:
    lists = [Watchlist(f"l{n}", (term,)) for n, term in enumerate(terms)]
    # A context term, whose finds are weighed by how many words apart they stand.
    lists.append(
        Watchlist(
            "near", (terms[0],), contexts=(TermContext(terms[0], near=(terms[-1],), within=2),)
        )
    )
    scanned, read = _both(lists)
    assert scanned.match(text, text[::-1]) == read.match(text, text[::-1])


def _corpus_items() -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    documents = [
        *sorted((REPO / "config" / "demo").glob("*.*")),
        *corpus_documents("news"),
        *corpus_documents("telegram"),
    ]
    for path in documents:
        if path.suffix == ".md":
            continue
        try:
            feed = parse_feed(path.read_bytes(), source=path.name)
        except Exception:  # noqa: S112 - fragments that are no feed are no text to match
            continue
        items += [(item.title, item.summary) for item in feed.items]
    return items


def test_on_the_corpora_the_scan_finds_what_reading_every_word_finds() -> None:
    """Terms as a user writes them: the capitalised words and pairs of the items themselves (the
    names they report), Russian and Ukrainian ones too, in lists of twenty with excludes."""
    items = _corpus_items()
    assert len(items) > 30
    names: dict[str, None] = {}
    for title, summary in items:
        words = [w.strip(".,:;!?«»\"()[]'’") for w in f"{title} {summary}".split()]
        for first, second in itertools.pairwise(words):
            if first[:1].isupper() and len(first) > 2:
                names[first] = None
                if second[:1].isupper() and len(second) > 2:
                    names[f"{first} {second}"] = None
    rng = random.Random(7)
    terms = list(names)
    rng.shuffle(terms)
    terms = terms[:3000]
    lists = [
        Watchlist(
            f"l{n}",
            tuple(terms[n : n + 20]),
            exclude=("погода",) if n % 60 == 0 else (),
            # Every third list wants its first term near its second, or never near its third.
            contexts=(
                TermContext(terms[n], near=(terms[n + 1],))
                if n % 3 == 0
                else TermContext(terms[n], not_near=(terms[n + 2],), within=3),
            )
            if n % 3 != 2
            else (),
        )
        for n in range(0, len(terms) - 2, 20)
    ]
    scanned, read = _both(lists)
    differ: list[Any] = [
        (title, scanned.match(title, summary), read.match(title, summary))
        for title, summary in items
        if scanned.match(title, summary) != read.match(title, summary)
    ]
    assert not differ[:3]
    assert sum(bool(read.match(t, s)) for t, s in items) > len(items) // 4
