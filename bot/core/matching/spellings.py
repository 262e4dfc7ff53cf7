"""A proper name's spellings in the other scripts, for the bot to offer ("add these too"): Kursk →
Курск, Курськ; Харків → Kharkiv, Харьков, Kharkov. It only computes offers; nothing is added to a
watchlist here, and nothing is added anywhere without the owner choosing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from translitua import RussianInternationalPassport1997, UkrainianKMU, translit

from bot.core.matching.morphology import default_morphology
from bot.core.matching.normalize import term_words

__all__ = ["EXONYMS", "Language", "Spelling", "other_spellings"]

# translitua (2.0, July 2026: typed, MIT, no dependencies) romanises Cyrillic with the official
# tables: the Ukrainian national system (KMU 2010: Kyiv, Kharkiv, Zaporizhzhia) and Russian passport
# romanisation (Belgorod, Bryansk, Tetkino). No maintained library reads Latin back into Cyrillic by
# these systems, so a Latin name is read here by the inverse of the Russian table, and the short table
# of exonyms below holds what no rule can give (Kyiv/Kiev/Киев/Київ, Курск/Курськ, Тёткино/Тьоткіно).
#
# The rules:
#
# - A name is a term whose every word is capitalised (Курск, Ростов-на-Дону, Владимир Путин, Ту-22М3)
#   or any form in the exonym table, in any case (киев). Common words (курс), terms with a common word
#   in them (Русский добровольческий корпус) and acronyms (РДК, RVC, ВСУ) get no offer: an acronym is
#   translated, not transliterated, and a Latin one has no fixed Cyrillic form. Neither do words that
#   mix Latin and Cyrillic letters, or hold other letters or punctuation.
# - A name in the exonym table is offered in every form the table has in the other languages, and
#   nothing else (Київ → Kyiv, Kiev, Киев; Kyiv → Киев, Київ: its own language's Kiev is no offer).
# - Cyrillic is Ukrainian when it has і, ї, є, ґ, an apostrophe or -ськ/-цьк/-зьк, Russian otherwise,
#   and is offered in Latin by that language's system (apostrophes left out, as common English spelling
#   does: Vasilyev). Only the table knows the other Cyrillic language's form (Курск → Курськ).
# - Latin is offered in Russian Cyrillic, read by the inverse of the Russian table with the usual
#   English spellings too (Tyotkino → Тёткино, Zelensky → Зеленский). Where the reading is ambiguous
#   (a soft sign: Tver, Tver'; ц or тс: Bratsk; и or й: Shoigu; е or э: Elista), the reading the
#   dictionary knows as a name wins (pymorphy3's: Тверь, Братск, Шойгу, Элиста), the plainest one
#   otherwise. Latin the Russian table never writes (c, h, j, q, w or x on their own, an apostrophe:
#   Horlivka, Washington) gets no offer; a Ukrainian name in Latin needs the exonym table.
# - A prefix term (Курск*) is offered as prefixes (Kursk*, Курськ*); the end of its last word is not
#   the end of a word, so no soft sign or -ий is added there.
# - An offer never repeats the term or another offer as the matcher reads them (case, ё/е and
#   apostrophes do not count); offers come in the order en, ru, uk.

Language = Literal["en", "ru", "uk"]
_LANGUAGES: tuple[Language, ...] = ("en", "ru", "uk")


@dataclass(frozen=True, slots=True)
class Spelling:
    """One offer: the name as written in `language` ("en" for Latin, "ru" or "uk" for Cyrillic)."""

    text: str
    language: Language


# English (the current name first), Russian, Ukrainian; "/" between the forms of one language.
# A group with no Ukrainian form left it out for want of a settled one.
EXONYMS: tuple[tuple[str, str, str], ...] = (
    ("Kyiv/Kiev", "Киев", "Київ"),
    ("Kharkiv/Kharkov", "Харьков", "Харків"),
    ("Odesa/Odessa", "Одесса", "Одеса"),
    ("Lviv/Lvov", "Львов", "Львів"),
    ("Zaporizhzhia/Zaporozhye", "Запорожье", "Запоріжжя"),
    ("Dnipro", "Днепр", "Дніпро"),
    ("Donetsk", "Донецк", "Донецьк"),
    ("Luhansk/Lugansk", "Луганск", "Луганськ"),
    ("Mariupol", "Мариуполь", "Маріуполь"),
    ("Mykolaiv/Nikolaev", "Николаев", "Миколаїв"),
    ("Kherson", "Херсон", "Херсон"),
    ("Sumy", "Сумы", "Суми"),
    ("Chernihiv/Chernigov", "Чернигов", "Чернігів"),
    ("Kupiansk/Kupyansk", "Купянск", "Куп'янськ"),
    ("Vovchansk/Volchansk", "Волчанск", "Вовчанськ"),
    ("Avdiivka/Avdeyevka", "Авдеевка", "Авдіївка"),
    ("Chornobyl/Chernobyl", "Чернобыль", "Чорнобиль"),
    ("Crimea", "Крым", "Крим"),
    ("Sevastopol", "Севастополь", "Севастополь"),
    ("Belgorod", "Белгород", "Бєлгород/Білгород"),
    ("Kursk", "Курск", "Курськ"),
    ("Bryansk", "Брянск", "Брянськ"),
    ("Tyotkino/Tetkino", "Тёткино", "Тьоткіно"),
    ("Kozinka", "Козинка", "Козинка"),
    ("Glotovo", "Глотово", ""),
    ("Sudzha", "Суджа", "Суджа"),
    ("Shebekino", "Шебекино", "Шебекине"),
    ("Moscow", "Москва", "Москва"),
    ("Kremlin", "Кремль", "Кремль"),
    ("Russia", "Россия", "Росія"),
    ("Ukraine", "Украина", "Україна"),
    ("Belarus", "Беларусь/Белоруссия", "Білорусь"),
)

Key = tuple[tuple[str, ...], bool]
"""A term as the matcher reads it: its normalised words and whether it is a prefix."""


def _key(text: str) -> Key:
    return term_words(text)


def _group_spellings(group: tuple[str, str, str]) -> tuple[Spelling, ...]:
    return tuple(
        Spelling(form, language)
        for language, forms in zip(_LANGUAGES, group, strict=True)
        for form in forms.split("/")
        if form
    )


def _exonym_index() -> dict[tuple[str, ...], tuple[tuple[Spelling, ...], frozenset[Language]]]:
    """Each form's words → its group, and the languages the form is written in (Москва: ru, uk)."""
    index: dict[tuple[str, ...], tuple[tuple[Spelling, ...], frozenset[Language]]] = {}
    for spellings in map(_group_spellings, EXONYMS):
        for spelling in spellings:
            words = _key(spelling.text)[0]
            languages = frozenset(s.language for s in spellings if _key(s.text)[0] == words)
            index[words] = (spellings, languages)
    return index


_EXONYM_INDEX = _exonym_index()

_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz")
_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ")
_APOSTROPHES = "'\u2019\u02bc"
# A word: letters, then letters or digits, in parts joined by hyphens or apostrophes (Ту-22М3,
# Ростов-на-Дону, Куп'янськ).
_WORD = re.compile(rf"[^\W\d_][^\W_]*(?:[-{_APOSTROPHES}][^\W_]+)*")
_UKRAINIAN_SIGNS = re.compile(rf"[іїєґ]|[сцз]ьк|\w[{_APOSTROPHES}]\w", re.IGNORECASE)
_RUSSIAN_SIGNS = re.compile("[ыэъё]", re.IGNORECASE)


def _is_name_word(word: str) -> bool:
    """Capitalised and not an acronym: Курск, Ту-22М3, МиГ-29, not РДК, RVC, курс or Я."""
    if not _WORD.fullmatch(word):
        return False
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) >= 2 and letters[0].isupper() and not all(ch.isupper() for ch in letters)


def _script(text: str) -> Literal["latin", "cyrillic"] | None:
    letters = {ch.lower() for ch in text if ch.isalpha()}
    if letters and letters <= _LATIN:
        return "latin"
    if letters and letters <= _CYRILLIC:
        return "cyrillic"
    return None  # no letters, both scripts, or letters of neither alphabet


# Latin → Russian Cyrillic: the inverse of the passport table, plus the English spellings
# Wikipedia and BGN/PCGN use (yo for ё, ye for е after a vowel or a soft sign).
_LETTERS = {
    "shch": "щ", "zh": "ж", "kh": "х", "ts": "ц", "ch": "ч", "sh": "ш",
    "yo": "ё", "ya": "я", "yu": "ю", "ye": "е",
    "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и", "k": "к",
    "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р", "s": "с", "t": "т", "u": "у",
    "f": "ф", "y": "ы",
}  # fmt: skip
_LONGEST_UNIT = max(map(len, _LETTERS))
_VOWELS = frozenset("аеёиоуыэюя")
_HARD = frozenset("кгхжшчщ")  # ы never follows these in Russian: the y after them is и
_SOFTENABLE = frozenset("бвдзлмнпрстф")  # where a soft sign the Latin drops may have stood
_CONSONANT_UNITS = frozenset(u for u, c in _LETTERS.items() if c not in _VOWELS and u != "y")
_MOST_VARIANT_SLOTS = 12


def _units(letters: str) -> list[str] | None:
    """Split lowercase Latin letters into the table's units, longest first; None when a letter
    is not one the table writes (c, h, j, q, w, x on their own)."""
    units: list[str] = []
    at = 0
    while at < len(letters):
        for size in range(_LONGEST_UNIT, 0, -1):
            unit = letters[at : at + size]
            if unit in _LETTERS:
                units.append(unit)
                at += size
                break
        else:
            return None
    return units


def _options(unit: str, before: str, word_end: bool) -> tuple[str, ...]:
    """What `unit` may stand for after the Cyrillic letter `before` ("" at the start), the
    likeliest first."""
    after_consonant = before != "" and before not in _VOWELS and before not in "йь"
    if unit == "y":
        if before == "" or before in _VOWELS:
            return ("й",)  # Maykop, Tolstoy, Dobryy
        if before in _HARD:
            return ("ий",) if word_end else ("и",)  # Zelensky, Dostoyevsky
        return ("ы", "ий") if word_end else ("ы",)  # Sumy; Nizhny
    if unit in ("ya", "yu", "yo"):
        letter = _LETTERS[unit]
        return (letter, "ь" + letter) if after_consonant else (letter,)  # Bryansk; Ulyanovsk
    if unit == "ye":
        return ("ье",) if after_consonant else ("е",)  # Vasilyev; Yelets, Dostoyevsky
    if unit == "e" and before == "":
        return ("е", "э")  # Elista
    if unit == "i" and before in _VOWELS:
        return ("и", "й")  # Mikhail; Shoigu
    if unit == "ts":
        return ("ц", "тс")  # Donetsk; Bratsk
    return (_LETTERS[unit],)


def _slots(letters: str, word_end: bool) -> list[tuple[str, ...]] | None:
    """The Russian reading of a run of Latin letters as a list of choices, the first of each
    the plain reading; None when the letters are not the table's."""
    units = _units(letters.lower())
    if units is None:
        return None
    slots: list[tuple[str, ...]] = []
    before = ""
    at = 0
    for index, unit in enumerate(units):
        last = index == len(units) - 1
        options = _options(unit, before, word_end and last)
        if letters[at].isupper():
            options = tuple(option[:1].upper() + option[1:] for option in options)
        at += len(unit)
        slots.append(options)
        before = options[0][-1].lower()
        following = None if last else units[index + 1]
        if before in _SOFTENABLE and (
            following in _CONSONANT_UNITS or (following is None and word_end)
        ):
            slots.append(("", "ь"))  # Tver, Yaroslavl, Tobolsk
    return slots


def _readings(slots: list[tuple[str, ...]]) -> Iterator[str]:
    """The plain reading, then those that differ from it in one choice, then in two."""
    choices = [index for index, options in enumerate(slots) if len(options) > 1]
    most = 2 if len(choices) <= _MOST_VARIANT_SLOTS else 1
    for count in range(most + 1):
        for chosen in combinations(choices, count):
            yield "".join(
                options[1] if index in chosen else options[0] for index, options in enumerate(slots)
            )


def _russian_word(
    word: str, word_end: bool, known_name: Callable[[str], bool] | None
) -> str | None:
    """A Latin word in Russian Cyrillic, part by part (Rostov-na-Donu, Su-34); None when it is
    not the table's Latin."""
    parts = re.findall(r"[A-Za-z]+|[^A-Za-z]+", word)
    read: list[str] = []
    for index, part in enumerate(parts):
        if not part[0].isalpha():
            if any(ch in _APOSTROPHES for ch in part):
                return None
            read.append(part)
            continue
        slots = _slots(part, word_end or index < len(parts) - 1)
        if slots is None:
            return None
        readings = _readings(slots)
        plain = next(readings)
        choice = plain
        if any(len(options) > 1 for options in slots):
            known = known_name or default_morphology().is_proper_name
            for reading in (plain, *readings):
                if known(reading.lower().replace("ё", "е")):
                    choice = reading
                    break
        read.append(choice)
    return "".join(read)


def _from_latin(
    words: list[str], prefix: bool, known_name: Callable[[str], bool] | None
) -> tuple[Spelling, ...]:
    read: list[str] = []
    for index, word in enumerate(words):
        word_end = not (prefix and index == len(words) - 1)
        cyrillic = _russian_word(word, word_end, known_name)
        if cyrillic is None:
            return ()
        read.append(cyrillic)
    return (Spelling(" ".join(read), "ru"),)


def _from_cyrillic(text: str) -> tuple[Spelling, ...]:
    ukrainian = bool(_UKRAINIAN_SIGNS.search(text))
    if ukrainian and _RUSSIAN_SIGNS.search(text):
        return ()  # letters of both languages: no name of either
    if ukrainian:
        latin = translit(text, UkrainianKMU)
    else:
        latin = translit(text, RussianInternationalPassport1997)
    latin = "".join(ch for ch in latin if ch not in _APOSTROPHES)
    return (Spelling(latin, "en"),) if latin.isascii() else ()


def other_spellings(
    term: str, *, known_name: Callable[[str], bool] | None = None
) -> tuple[Spelling, ...]:
    """The same name in the other scripts and languages (never in the term's own: Latin is "en"),
    without repeats (compared as the matcher compares terms), ordered en, ru, uk; () when the term
    is not a name.

    `known_name` says whether a lowercase Russian word is a name the dictionary knows; it picks
    among the readings of an ambiguous Latin name. By default it is the matcher's pymorphy3
    (`default_morphology().is_proper_name`), loaded on the first such name."""
    stripped = term.strip()
    prefix = stripped.endswith("*")
    stem = stripped.rstrip("*").strip()
    words = stem.split()
    script = _script(stem)
    if not words or script is None:
        return ()
    found: tuple[Spelling, ...]
    exonym = _EXONYM_INDEX.get(_key(stem)[0])
    if exonym is not None:
        group, own = exonym
        found = tuple(spelling for spelling in group if spelling.language not in own)
    elif not all(_is_name_word(word) for word in words):
        found = ()
    elif script == "latin":
        found = _from_latin(words, prefix, known_name)
    else:
        found = _from_cyrillic(" ".join(words))
    suffix = "*" if prefix else ""
    seen = {_key(stripped)}
    offers: list[Spelling] = []
    for spelling in sorted(found, key=lambda s: _LANGUAGES.index(s.language)):
        offer = Spelling(spelling.text + suffix, spelling.language)
        key = _key(offer.text)
        if key not in seen:
            seen.add(key)
            offers.append(offer)
    return tuple(offers)
