"""A proper name's spellings in the other scripts, offered when a name is added to a watchlist:
the exonym table, the national systems both ways, and no offer for what is not a name."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from translitua import UkrainianKMU, translit

from bot.core.matching.normalize import term_words
from bot.core.matching.spellings import EXONYMS, Spelling, other_spellings


def offers(term: str, known_name: Callable[[str], bool] | None = None) -> list[tuple[str, str]]:
    return [(s.text, s.language) for s in other_spellings(term, known_name=known_name)]


def no_dictionary(word: str) -> bool:
    return False


def is_latin(text: str) -> bool:
    return text.isascii()


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Kursk", [("Курск", "ru"), ("Курськ", "uk")]),
        ("Belgorod", [("Белгород", "ru"), ("Бєлгород", "uk"), ("Білгород", "uk")]),
        ("Курск", [("Kursk", "en"), ("Курськ", "uk")]),
        ("Курськ", [("Kursk", "en"), ("Курск", "ru")]),
        ("Київ", [("Kyiv", "en"), ("Kiev", "en"), ("Киев", "ru")]),
        ("Харків", [("Kharkiv", "en"), ("Kharkov", "en"), ("Харьков", "ru")]),
        ("Білгород", [("Belgorod", "en"), ("Белгород", "ru")]),
        ("Запоріжжя", [("Zaporizhzhia", "en"), ("Zaporozhye", "en"), ("Запорожье", "ru")]),
        ("Тёткино", [("Tyotkino", "en"), ("Tetkino", "en"), ("Тьоткіно", "uk")]),
        ("Tyotkino", [("Тёткино", "ru"), ("Тьоткіно", "uk")]),
        ("Odessa", [("Одесса", "ru"), ("Одеса", "uk")]),
        ("Крым", [("Crimea", "en"), ("Крим", "uk")]),
        ("Росія", [("Russia", "en"), ("Россия", "ru")]),
        ("Україна", [("Ukraine", "en"), ("Украина", "ru")]),
        ("Львов", [("Lviv", "en"), ("Lvov", "en"), ("Львів", "uk")]),
    ],
)
def test_the_founding_names_and_the_exonym_table(
    term: str, expected: list[tuple[str, str]]
) -> None:
    assert offers(term) == expected


def test_a_table_name_is_found_in_any_case_and_with_e_for_yo() -> None:
    assert offers("киев") == [("Kyiv", "en"), ("Kiev", "en"), ("Київ", "uk")]
    assert offers("KURSK") == [("Курск", "ru"), ("Курськ", "uk")]
    assert offers("Теткино") == offers("Тёткино")


def test_a_name_the_same_in_two_languages_is_offered_once() -> None:
    assert offers("Moscow") == [("Москва", "ru")]
    assert offers("Москва") == [("Moscow", "en")]
    assert offers("Херсон") == [("Kherson", "en")]


@pytest.mark.parametrize(
    ("ukrainian", "english"),
    [
        ("Київ", "Kyiv"),
        ("Харків", "Kharkiv"),
        ("Запоріжжя", "Zaporizhzhia"),
        ("Луганськ", "Luhansk"),
        ("Миколаїв", "Mykolaiv"),
        ("Чернігів", "Chernihiv"),
        ("Куп'янськ", "Kupiansk"),
        ("Авдіївка", "Avdiivka"),
        ("Одеса", "Odesa"),
        ("Львів", "Lviv"),
    ],
)
def test_the_tables_current_names_of_ukrainian_places_are_the_national_systems(
    ukrainian: str, english: str
) -> None:
    group = next(g for g in EXONYMS if ukrainian in g[2].split("/"))
    assert group[0].split("/")[0] == english == translit(ukrainian, UkrainianKMU)


@pytest.mark.parametrize(
    ("term", "latin"),
    [
        # Ukrainian: the national system of 2010 (KMU), word-initial є/ї/й/ю/я and зг included.
        ("Біла Церква", "Bila Tserkva"),
        ("Їжакевич", "Yizhakevych"),
        ("Згурівка", "Zghurivka"),
        ("Слов'янськ", "Sloviansk"),
        ("Слов’янськ", "Sloviansk"),
        ("Покровськ", "Pokrovsk"),
        # Russian: passport romanisation without its apostrophes.
        ("Тверь", "Tver"),
        ("Королёв", "Korolev"),
        ("Зеленский", "Zelenskiy"),
        ("Подъячев", "Podyachev"),
        ("Васильев", "Vasilyev"),
        ("Хабаровск", "Khabarovsk"),
        ("Ростов-на-Дону", "Rostov-na-Donu"),
        ("Владимир Путин", "Vladimir Putin"),
        ("Ту-22М3", "Tu-22M3"),
        ("Хабаровск*", "Khabarovsk*"),
    ],
)
def test_cyrillic_names_are_offered_in_latin_by_their_languages_system(
    term: str, latin: str
) -> None:
    assert offers(term) == [(latin, "en")]


@pytest.mark.parametrize(
    ("term", "cyrillic"),
    [
        ("Bryansk", "Брянск"),
        ("Sudzha", "Суджа"),
        ("Yekaterinburg", "Екатеринбург"),
        ("Khabarovsk", "Хабаровск"),
        ("Shchyokino", "Щёкино"),
        ("Maykop", "Майкоп"),
        ("Dobryy", "Добрый"),
        ("Zelensky", "Зеленский"),
        ("Zelenskiy", "Зеленский"),
        ("Vasilyev", "Васильев"),
        ("Vladimir Putin", "Владимир Путин"),
        ("Rostov-na-Donu", "Ростов-на-Дону"),
        ("Su-34", "Су-34"),
        ("MiG-29", "МиГ-29"),
        # Without a dictionary the plain reading: no soft sign, ц for ts.
        ("Tver", "Твер"),
        ("Irkutsk", "Иркуцк"),
    ],
)
def test_latin_names_are_read_in_russian_by_the_inverse_table(term: str, cyrillic: str) -> None:
    assert offers(term, known_name=no_dictionary)[0] == (cyrillic, "ru")


@pytest.mark.parametrize(
    ("term", "cyrillic"),
    [
        ("Tver", "Тверь"),
        ("Perm", "Пермь"),
        ("Ryazan", "Рязань"),
        ("Yaroslavl", "Ярославль"),
        ("Tyumen", "Тюмень"),
        ("Rylsk", "Рыльск"),
        ("Tobolsk", "Тобольск"),
        ("Ulyanovsk", "Ульяновск"),
        ("Irkutsk", "Иркутск"),
        ("Bratsk", "Братск"),
        ("Shoigu", "Шойгу"),
        ("Elista", "Элиста"),
        ("Mikhail", "Михаил"),
        ("Solovyov", "Соловьёв"),
    ],
)
def test_the_dictionary_picks_the_reading_that_is_a_known_name(term: str, cyrillic: str) -> None:
    assert offers(term) == [(cyrillic, "ru")]


def test_the_known_name_check_is_what_chooses_and_a_plain_reading_stays_without_it() -> None:
    assert offers("Tver", known_name=lambda word: word == "тверь") == [("Тверь", "ru")]
    assert offers("Tver", known_name=no_dictionary) == [("Твер", "ru")]
    assert offers("Glotovka") == [("Глотовка", "ru")]  # unknown to the dictionary: plain


def test_a_prefix_is_offered_as_prefixes_without_word_endings() -> None:
    assert offers("Курск*") == [("Kursk*", "en"), ("Курськ*", "uk")]
    assert offers("Kursk*") == [("Курск*", "ru"), ("Курськ*", "uk")]
    assert offers("Харків*") == [("Kharkiv*", "en"), ("Kharkov*", "en"), ("Харьков*", "ru")]

    def soft_sign(word: str) -> bool:
        return word.endswith("ь")

    assert offers("Tver", soft_sign) == [("Тверь", "ru")]
    assert offers("Tver*", soft_sign) == [("Твер*", "ru")]  # Твер* matches Твери, Тверской
    assert offers("Zelensky") == [("Зеленский", "ru")]
    assert offers("Zelensk*") == [("Зеленск*", "ru")]


@pytest.mark.parametrize(
    "term",
    [
        "РДК",  # acronyms are translated, not transliterated
        "ВСУ",
        "RVC",
        "NATO",
        "курс",  # common words
        "war",
        "новости",
        "Русский добровольческий корпус",  # a name of common words
        "РДК Курск",
        "Kурск",  # Latin K: mixed scripts
        "Курск Kursk",
        "Horlivka",  # h on its own: not the Russian table's Latin
        "Washington",
        "O'Brien",
        "St. Petersburg",
        "Бєлгородскый",  # Ukrainian є and Russian ы
        "Beograđ",
        "Я",
        "2024",
        "",
        "   ",
        "*",
    ],
)
def test_what_is_not_a_name_gets_no_offer(term: str) -> None:
    assert other_spellings(term) == ()


NAMES = [
    ("Kursk", "en"),
    ("Belgorod", "en"),
    ("Kyiv", "en"),
    ("Kiev", "en"),
    ("Tyotkino", "en"),
    ("Tetkino", "en"),
    ("Moscow", "en"),
    ("Tver", "en"),
    ("Vladimir Putin", "en"),
    ("Kursk*", "en"),
    ("Курск", "ru"),
    ("Курск*", "ru"),
    ("Москва", "ru"),
    ("Тёткино", "ru"),
    ("Теткино", "ru"),
    ("Харьков", "ru"),
    ("Тверь", "ru"),
    ("Курськ", "uk"),
    ("Київ", "uk"),
    ("Харків", "uk"),
    ("Білгород", "uk"),
    ("Бєлгород", "uk"),
    ("Запоріжжя", "uk"),
    ("Біла Церква", "uk"),
]


@pytest.mark.parametrize(("term", "language"), NAMES)
def test_every_offer_is_another_language_in_its_own_script(term: str, language: str) -> None:
    found = other_spellings(term)
    assert found
    for spelling in found:
        assert spelling.language != language
        assert is_latin(spelling.text) == (spelling.language == "en")


@pytest.mark.parametrize(("term", "language"), NAMES)
def test_no_offer_repeats_the_term_or_another_offer(term: str, language: str) -> None:
    keys = [term_words(s.text) for s in other_spellings(term)]
    assert term_words(term) not in keys
    assert len(keys) == len(set(keys))
    assert [s.language for s in other_spellings(term)] == sorted(
        (s.language for s in other_spellings(term)), key=["en", "ru", "uk"].index
    )


@pytest.mark.parametrize(
    "russian",
    ["Тверь", "Пермь", "Рязань", "Ярославль", "Иркутск", "Тобольск", "Ульяновск", "Шойгу",
     "Элиста", "Хабаровск", "Екатеринбург", "Рыльск", "Тюмень"],
)  # fmt: skip
def test_a_russian_name_comes_back_from_its_latin(russian: str) -> None:
    [latin] = other_spellings(russian)
    assert other_spellings(latin.text) == (Spelling(russian, "ru"),)


def test_the_exonym_table_is_short_and_each_form_names_one_place() -> None:
    assert 20 <= len(EXONYMS) <= 40
    owner: dict[tuple[str, ...], int] = {}
    for number, group in enumerate(EXONYMS):
        for language, forms in zip(("en", "ru", "uk"), group, strict=True):
            for form in filter(None, forms.split("/")):
                assert is_latin(form) == (language == "en"), form
                words = term_words(form)[0]
                assert owner.setdefault(words, number) == number, form
