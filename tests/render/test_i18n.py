"""The catalogs: every msgid the code says (found by Babel's extractor, as `make i18n-extract` finds
them) has a Russian and a Ukrainian translation, not fuzzy, with the English placeholders and, for a
sentence with a count, all three plural forms; the committed template and .mo files are what the
code and the .po files make; and `ntr` picks the form each language uses for a number."""

from __future__ import annotations

import ast
import io
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.core.errors import RefusedError
from bot.core.said import nsaid, said
from bot.render.i18n import DOMAIN, LOCALES, catalog, ntr, tr, translated

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = ("ru", "uk")


def _keywords() -> dict[str, tuple[int, ...] | None]:
    """The Makefile's I18N_KEYWORDS, as Babel's extractor takes them ("ntr:2,3": 2nd and 3rd)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [line] = re.findall(r"^I18N_KEYWORDS := (.+)$", makefile, re.MULTILINE)
    keywords: dict[str, tuple[int, ...] | None] = {}
    for word in line.split():
        name, _, places = word.partition(":")
        keywords[name] = tuple(int(p) for p in places.split(",")) if places else None
    return keywords


def _extracted() -> dict[str | tuple[str, str], Message]:
    """Every msgid of bot/, extracted in memory as `make i18n-extract` does."""
    found = Catalog()
    method_map = [("**.py", "python")]
    for path, line, message, comments, context in extract_from_dir(
        ROOT / "bot", method_map, keywords=_keywords(), comment_tags=("translators:",)
    ):
        found.add(message, None, [(path, line)], auto_comments=comments, context=context)
    return {message.id: message for message in found if message.id}


EXTRACTED = _extracted()


def _po(lang: str) -> Catalog:
    with (LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        return read_po(file, locale=lang)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _forms(message: Message) -> Iterator[str]:
    yield from message.string if isinstance(message.string, tuple) else (message.string,)


def test_the_code_says_its_sentences_through_the_catalog() -> None:
    assert len(EXTRACTED) > 200
    plural = [key for key in EXTRACTED if isinstance(key, tuple)]
    assert len(plural) >= 20
    # Each kind of marker is found: a chat answer, a count, an argument's error, a storage refusal,
    # a constant translated later, and the digest's own sentences.
    for msgid in (
        "the channel has no public preview",
        ("feedwatch · {count} new mention", "feedwatch · {count} new mentions"),
        "«{zone}» is not a time zone we know; write a city (Kyiv, Москва), an offset from UTC (+3) "
        "or Area/City (Europe/Kyiv)",
        "this chat has no watchlist {label}",
        "not an http or https URL",
        "then {outlets}",
        "must be a string, not {type}",
    ):
        assert msgid in EXTRACTED


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_msgid_is_translated_with_its_placeholders(lang: str) -> None:
    po = _po(lang)
    assert po.plural_forms == get_plural(lang).plural_forms
    assert po.num_plurals == 3
    problems = []
    for msgid, extracted in EXTRACTED.items():
        message = po.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        if message is None or message.id != extracted.id:
            problems.append(f"missing: {msgid!r}")
            continue
        forms = list(_forms(message))
        english = msgid[-1] if isinstance(msgid, tuple) else msgid
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        if isinstance(msgid, tuple) and len(forms) != 3:
            problems.append(f"{len(forms)} plural forms: {msgid!r}")
        for form in forms:
            if not form.strip():
                problems.append(f"untranslated: {msgid!r}")
            elif _placeholders(form) != _placeholders(english):
                problems.append(f"placeholders {sorted(_placeholders(form))}: {msgid!r}")
    assert problems == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_catalog_holds_the_templates_msgids_and_no_other(lang: str) -> None:
    """`make i18n-update` was run: no msgid the code no longer says lingers in a catalog."""
    po = _po(lang)
    assert {message.id for message in po if message.id} == set(EXTRACTED)
    assert not po.obsolete


def test_the_template_is_what_the_code_says() -> None:
    """`make i18n-extract` was run after the last change to a sentence."""
    with (LOCALES / f"{DOMAIN}.pot").open("rb") as file:
        template = read_po(file)
    committed = {m.id: m.auto_comments for m in template if m.id}
    assert committed == {msgid: m.auto_comments for msgid, m in EXTRACTED.items()}


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_committed_mo_file_is_the_compiled_po_file(lang: str) -> None:
    """`make i18n-compile` was run after the last change to a catalog."""
    compiled = io.BytesIO()
    write_mo(compiled, _po(lang))
    mo = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    assert mo.read_bytes() == compiled.getvalue()


@pytest.mark.parametrize(
    ("lang", "singular", "plural", "expected"),
    [
        (
            "ru",
            "{count} outlet",
            "{count} outlets",
            ["1 издание", "2 издания", "5 изданий", "11 изданий", "21 издание", "22 издания",
             "25 изданий"],
        ),
        (
            "uk",
            "feedwatch · {count} new mention",
            "feedwatch · {count} new mentions",
            [f"feedwatch · {n}" for n in ("1 нова згадка", "2 нові згадки", "5 нових згадок",
             "11 нових згадок", "21 нова згадка", "22 нові згадки", "25 нових згадок")],
        ),
        (
            "ru",
            "<b>The last {count} hit</b>",
            "<b>The last {count} hits</b>",
            [f"<b>{n}</b>" for n in ("Последнее 1 совпадение", "Последние 2 совпадения",
             "Последние 5 совпадений", "Последние 11 совпадений", "Последнее 21 совпадение",
             "Последние 22 совпадения", "Последние 25 совпадений")],
        ),
        (
            "uk",
            "({count} time in a row)",
            "({count} times in a row)",
            ["(1 раз поспіль)", "(2 рази поспіль)", "(5 разів поспіль)", "(11 разів поспіль)",
             "(21 раз поспіль)", "(22 рази поспіль)", "(25 разів поспіль)"],
        ),
        (
            "en",
            "{count} outlet",
            "{count} outlets",
            ["1 outlet", "2 outlets", "5 outlets", "11 outlets", "21 outlets", "22 outlets",
             "25 outlets"],
        ),
    ],
)  # fmt: skip
def test_ntr_says_the_form_of_each_number(
    lang: str, singular: str, plural: str, expected: list[str]
) -> None:
    said_of = [ntr(lang, singular, plural, n) for n in (1, 2, 5, 11, 21, 22, 25)]
    assert said_of == expected


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_plural_entry_has_three_distinct_uses(lang: str) -> None:
    """Russian and Ukrainian say 1 and 21, 2 to 4 and 22, 5 to 20 and 25 differently: the catalog's
    Plural-Forms sends each to its own form."""
    translations = catalog(lang)
    # msgid "{count} term" has three different forms in both languages.
    forms = {translations.ngettext("{count} term", "{count} terms", n) for n in (1, 2, 5)}
    assert len(forms) == 3
    assert {translations.ngettext("{count} term", "{count} terms", n) for n in (21, 22, 25)} == (
        forms
    )


def test_a_said_sentence_is_english_until_a_chat_reads_it() -> None:
    problem = nsaid("is longer than {count} characters", "is longer than {count} characters", 200)
    error = ValueError(said("the term «{term}» {problem}", term="Kursk…", problem=problem))
    assert str(error) == "the term «Kursk…» is longer than 200 characters"
    assert translated("ru", error) == "термин «Kursk…» длиннее 200 символов"
    assert translated("uk", error) == "термін «Kursk…» довший за 200 символів"
    assert translated("de", error) == str(error)
    assert translated("ru", ValueError("plain")) == "plain"
    # An error that keeps its template and parameters is translated from them.
    refused = RefusedError("this chat has no watchlist {label}", label="kursk")
    assert translated("uk", refused) == "у цьому чаті немає списку kursk"
    # tr() takes one as its msgid, or as a parameter, and translates it.
    assert tr("uk", said("no terms given")) == "не вказано термінів"
    assert tr("ru", "Not done: {reason}.", reason=said("is empty")) == "Не сделано: пуст."


def test_the_chat_modules_write_no_english_sentence_into_an_answer() -> None:
    """An answer is built from tr()/ntr() (or what they return): a string literal with English words
    handed straight to Telegram would reach a Russian or Ukrainian chat in English."""
    sends = {"_answer", "_answer_lines", "answer", "reply_text", "edit_text", "fitted", "append"}
    found = []
    for path in sorted((ROOT / "bot" / "chat").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", None))
            if name not in sends:
                continue
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                for literal in _literals(argument):
                    if _english_words(literal):
                        found.append(f"{path.name}:{node.lineno}: {literal!r}")
    assert found == []


def _literals(node: ast.AST) -> Iterator[str]:
    """The string literals of an expression, not looking into calls (their results are theirs)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            yield from _literals(part)
    elif isinstance(node, ast.Dict):  # its keys are names, its values what is said
        for value in node.values:
            yield from _literals(value)
    elif not isinstance(node, ast.Call | ast.Lambda):
        for child in ast.iter_child_nodes(node):
            yield from _literals(child)


def _english_words(text: str) -> list[str]:
    """Words of three or more Latin letters, outside tags, commands and format specs."""
    text = re.sub(r"<[^>]*>|/\w+|%\w", " ", text)
    return re.findall(r"\b[A-Za-z]{3,}\b", text)


def test_an_english_count_of_one_is_singular() -> None:
    """ "1 hits", "1 items": each sentence with a count has its own English singular."""
    with (LOCALES / "feedwatch.pot").open(encoding="utf-8") as template:
        extracted = read_po(template)
    same = [m.id[0] for m in extracted if isinstance(m.id, tuple) and m.id[0] == m.id[1]]
    # Those whose count is never one, or reads the same either way ("hits: 1").
    allowed = {
        "Busiest day: {when}, hits: {count}.",
        "Busiest hour: {when}, hits: {count}.",
        "Send the {count}",
        "The newest {count}",
        "The text after /{command} is too long: at most {count} characters.",
        "feedwatch · {count} new mentions, too many for one digest",
        "is longer than {count} characters",
        "updates to stories already sent: {count}",
    }
    assert sorted(set(same) - allowed) == []
