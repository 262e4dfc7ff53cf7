"""The bot's answers in Russian and Ukrainian (`bot.render.i18n`): the menu, the language a chat
is answered in, and the English fallback."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.chat.commands import COMMANDS, menu
from bot.ops.config import TOO_DEEP, TOO_LARGE
from bot.render.i18n import language_of, tr
from tests.render.catalogs import TRANSLATIONS


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _literal_templates(path: Path, function: str, position: int) -> list[str]:
    """String literals passed at `position` to calls of `function` in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or len(node.args) <= position:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        argument = node.args[position]
        if name == function and isinstance(argument, ast.Constant):
            found.append(str(argument.value))
        elif name == function and isinstance(argument, ast.IfExp):
            found += [
                str(branch.value)
                for branch in (argument.body, argument.orelse)
                if isinstance(branch, ast.Constant)
            ]
    return found


def test_every_menu_entry_and_import_refusal_reads_in_each_language() -> None:
    """The command menu and the reasons /import refuses a file unread: constants, said through the
    catalog where a chat reads them (tests/render/test_i18n.py checks every msgid of the code)."""
    english = [command.description for command in menu("en")]
    assert english == [about for _, _, about in COMMANDS]
    for lang in ("ru", "uk"):
        said = [command.description for command in menu(lang)]
        assert all(re.search("[а-яіїєґ]", text) for text in said), said
        assert not set(said) & set(english)
        for template in (TOO_DEEP, TOO_LARGE):
            assert tr(lang, template) != template
            assert template in TRANSLATIONS


def test_the_table_of_tests_shows_the_catalogs() -> None:
    """`TRANSLATIONS`, msgid -> (Russian, Ukrainian), is read from the catalogs; a plural entry
    stands under its English singular with the form said of 5."""
    assert TRANSLATIONS["Now following: {names}."] == (
        "Теперь в подписках: {names}.",
        "Тепер у підписках: {names}.",
    )
    assert TRANSLATIONS["{count} outlet"] == ("{count} изданий", "{count} видань")
    assert len(TRANSLATIONS) > 200
    for template in sorted(TRANSLATIONS):
        russian, ukrainian = TRANSLATIONS[template]
        assert _placeholders(russian) == _placeholders(ukrainian) == _placeholders(template)


@pytest.mark.parametrize(
    ("code", "language"),
    [("ru", "ru"), ("uk-UA", "uk"), ("UK", "uk"), ("en-GB", "en"), ("de", "en"), (None, "en")],
)
def test_language_of_a_telegram_language_code(code: str | None, language: str) -> None:
    assert language_of(code) == language


def test_tr_falls_back_to_english_and_fills_placeholders() -> None:
    assert tr("uk", "Now following: {names}.", names="rvc") == "Тепер у підписках: rvc."
    assert tr("de", "Now following: {names}.", names="rvc") == "Now following: rvc."
    assert tr("ru", "A sentence with no translation yet.") == "A sentence with no translation yet."
