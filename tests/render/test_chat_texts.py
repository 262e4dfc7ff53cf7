"""The bot's answers in Russian and Ukrainian: every sentence the code says through `tr`, every
menu entry and every refusal has both translations, with the same placeholders as the English."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from bot.chat.commands import COMMANDS
from bot.ops.config import TOO_DEEP, TOO_LARGE
from bot.render.texts import TRANSLATIONS, language_of, tr

ROOT = Path(__file__).resolve().parents[2]


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


SAID = sorted(
    {t for path in (ROOT / "bot" / "chat").glob("*.py") for t in _literal_templates(path, "tr", 1)}
    | {t for t in _literal_templates(ROOT / "bot" / "storage" / "chats.py", "RefusedError", 0)}
    | {t for t in _literal_templates(ROOT / "bot" / "render" / "digest.py", "say", 0)}
    | {about for _, _, about in COMMANDS}
    # Why /import refuses a file unread: config.py's words, which a chat reads translated.
    | {TOO_DEEP, TOO_LARGE}
)


def test_the_code_says_something_through_tr() -> None:
    assert len(SAID) > 60


@pytest.mark.parametrize("template", SAID)
def test_every_sentence_the_bot_says_is_translated(template: str) -> None:
    assert template in TRANSLATIONS


@pytest.mark.parametrize("template", sorted(TRANSLATIONS))
def test_translations_keep_the_placeholders(template: str) -> None:
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
