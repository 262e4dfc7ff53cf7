"""A Russian and a Ukrainian user at every command of the real bot (against the fake Bot API):
its usage line, its argument errors (missing, malformed, over-long) and the refusals behind them,
and what a file sent to /import is refused for. No answer leaves a sentence in English."""

from __future__ import annotations

import re
import string
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.chat.commands import COMMANDS
from bot.core.limits import argument_limit
from tests.builders import Clock, write_settings
from tests.fakes.telegram_api import FakeBotApi
from tests.render.test_i18n import EXTRACTED

CHAT = 111
SENTINEL = "/zz_sentinel"

# A shared list with a Cyrillic title: a title is the operator's data, not the bot's words.
SHARED = """
[[watchlist]]
name = "rvc"
title = "Русский добровольческий корпус"
terms = ["RVC", "РДК"]
"""

# What each command is sent with: no argument (its usage, or its answer), and arguments that are
# wrong in each way it checks. The overlong argument of every command is added below.
ASKED = {
    "start": [""],
    "help": [""],
    "subscribe": ["", "nosuch"],
    "unsubscribe": ["", "nosuch"],
    "watch": [
        "",
        "bad!name Курск",
        "kursk",
        "kursk ***",
        "kursk " + "й" * 201,
        "my Курск",
        "my РДК near боец not near культур*",
        "my РДК, RDK near боец",
    ],
    "exclude": ["", "nosuch війна"],
    "require": ["", "rvc війна"],
    "unwatch": ["", "bad!name", "nosuch", "nosuch війна"],
    "watchlists": [""],
    "test": ["", "Погода в Киеве"],
    "suggest": ["", "nosuch", "rvc"],
    "hits": ["", "abc", "99"],
    "stats": ["", "1 2", "500", "nosuch"],
    "digest": [""],
    "every": ["", "abc", "1m", "99999999999999d"],
    "quiet": ["", "abc", "10:00-10:00", "off"],
    "tz": ["", "Nowhere/City"],
    "feeds": [""],
    "addfeed": ["", "ftp://example.org/feed"],
    "removefeed": ["", "https://example.org/feed"],
    "importopml": [""],
    "spikes": ["", "maybe", "on", "off"],
    "pause": [""],
    "resume": [""],
    "export": [""],
    "import": [""],
    "channel": ["", "off"],
}

# A watchlist file with a problem of every kind /import reports.
BAD_TOML = """
rules = 1
[[watchlist]]
name = "bad name"
terms = "Курск"
[[watchlist]]
name = "ok"
terms = ["", 5]
colour = "red"
[[watchlist]]
terms = ["Курск"]
[[watchlist]]
name = "dup"
terms = ["a"]
[[watchlist]]
name = "DUP"
terms = ["b"]
"""

# Words that are data, or syntax, in every language: names, formats, units, keywords of commands.
NOT_ENGLISH = {
    "feedwatch", "telegram", "toml", "opml", "rss", "atom", "utc", "mib", "kib", "xmlurl",
    "watchlist", "instant", "off", "on", "http", "https", "ftp", "europe", "kyiv", "rvc", "kursk",
    "nosuch", "abc", "name", "bad", "nowhere", "city", "area",
}  # fmt: skip


# A command, or a placeholder of its syntax (NAME, TERM, HH): /help shows the syntax as it is.
SYNTAX = r"/\w+|\b[A-Z_]{2,}\b"


@pytest.fixture
async def app(tmp_path: Path, fake_bot_api: FakeBotApi) -> AsyncIterator[FeedwatchApp]:
    settings = write_settings(
        tmp_path, [], token=fake_bot_api.token, api_url=fake_bot_api.url, watchlists=SHARED
    )
    async with FeedwatchApp(settings, clock=Clock()) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def answers(fake: FakeBotApi, text: str, lang: str, **push: object) -> list[str]:
    """Every text the bot sent in answer to `text` (messages and captions), as the user reads
    them: the sentinel command that follows is answered after them, updates being handled in turn."""
    before = len(fake.requests)
    sentinels = _sentinels(fake)
    fake.push_message(CHAT, text, language_code=lang, **push)  # type: ignore[arg-type]
    fake.push_message(CHAT, SENTINEL, language_code=lang)
    await fake.wait_for_async(lambda f: _sentinels(f) > sentinels)
    said = []
    for call in list(fake.requests)[before:]:
        if call.method not in ("sendMessage", "sendDocument", "sendPhoto") or not call.ok:
            continue
        result = call.result if isinstance(call.result, dict) else {}
        shown = result.get("text") or result.get("caption")
        if shown and SENTINEL not in shown:
            said.append(str(shown))
    return said


def _sentinels(fake: FakeBotApi) -> int:
    return sum(SENTINEL in str(m.result.get("text")) for m in fake.sent_messages(CHAT))


def english_left(text: str, typed: str) -> list[str]:
    """What of `text` still reads as English: two Latin words in a row, outside what was typed,
    commands, quotes, syntax in capitals and the words of `NOT_ENGLISH`."""
    text = re.sub(rf"«[^»]*»|'[^']*'|\[\[?\w+\]\]?|(?:https?|ftp)://\S+|{SYNTAX}", " ", text)
    words = set(re.findall(r"[A-Za-z]+", typed.lower())) | NOT_ENGLISH
    found = []
    for run in re.findall(r"[A-Za-z]{2,}(?:[\s,.;:()-]+[A-Za-z]{2,})+", text):
        english = [w for w in re.findall(r"[A-Za-z]{2,}", run) if w.lower() not in words]
        if len(english) >= 2:
            found.append(run)
    return found


def _fragments() -> list[str]:
    """The parts of every English msgid between its placeholders that have two words or more."""
    parts = set()
    for msgid in EXTRACTED:
        for english in msgid if isinstance(msgid, tuple) else (msgid,):
            for literal, *_ in string.Formatter().parse(english):
                literal = re.sub(r"<[^>]*>", "", literal).strip(" .:;,")
                # Two words of the sentence's own: syntax in capitals and commands do not count.
                words = re.findall(r"[A-Za-z]{2,}", re.sub(SYNTAX, " ", literal))
                if len([word for word in words if word.lower() not in NOT_ENGLISH]) >= 2:
                    parts.add(literal)
    return sorted(parts)


FRAGMENTS = _fragments()


def check(lang: str, typed: str, said: list[str]) -> list[str]:
    problems = []
    if not said:
        problems.append(f"{typed!r}: no answer")
    for text in said:
        if not re.search("[а-яіїєґ]", text, re.IGNORECASE):
            problems.append(f"{lang} {typed!r}: no Cyrillic in {text!r}")
        if left := english_left(text, typed):
            problems.append(f"{lang} {typed!r}: English {left} in {text!r}")
        if verbatim := [f for f in FRAGMENTS if f in text]:
            problems.append(f"{lang} {typed!r}: English msgid {verbatim} in {text!r}")
    return problems


def test_every_command_is_asked_for() -> None:
    assert set(ASKED) == {name for name, _, _ in COMMANDS}


@pytest.mark.parametrize("lang", ["ru", "uk"])
async def test_usage_lines_and_argument_errors_read_in_the_users_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, lang: str
) -> None:
    await answers(fake_bot_api, "/watch kursk Курск", lang)  # an own list, for its commands
    problems = []
    for command, arguments in ASKED.items():
        overlong = "x" * (argument_limit(command) + 1)
        for argument in [*arguments, overlong]:
            typed = f"/{command} {argument}".strip()
            problems += check(lang, typed, await answers(fake_bot_api, typed, lang))
    for typed in ("/nosuchcommand", "/channel @nosuch"):
        problems += check(lang, typed, await answers(fake_bot_api, typed, lang))
    assert problems == []
    assert fake_bot_api.take_errors() == []


@pytest.mark.parametrize("lang", ["ru", "uk"])
async def test_a_refused_watchlist_file_is_explained_in_the_users_language(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, lang: str
) -> None:
    for content in (BAD_TOML.encode(), b"\xff\xfe not text"):
        document = fake_bot_api.add_file(content, "lists.toml", "application/toml")
        said = await answers(fake_bot_api, "/import", lang, document=document)
        typed = "/import lists.toml " + content.decode(errors="ignore")  # its keys and names
        assert check(lang, typed, said) == []
    assert len(said[0].splitlines()) == 2
    document = fake_bot_api.add_file(b"[[watchlist]\nname = 1", "lists.toml", "application/toml")
    [refused] = await answers(fake_bot_api, "/import", lang, document=document)
    # tomllib's own account of a syntax error stays as it came, in English, after our words.
    assert refused.startswith(("Ничего не импортировано:\n", "Нічого не імпортовано:\n"))
    assert ": некорректный TOML: " in refused or ": некоректний TOML: " in refused


def test_the_check_finds_an_english_sentence() -> None:
    """The checks above catch what they are for: an answer left in English."""
    assert check(
        "ru", "/tz abc", ["Usage: /tz CITY, such as /tz Kyiv, or an offset from UTC: /tz +3"]
    )
    assert check("uk", "/watch", ["Не вказано назву списку.\nFor example: /watch kursk Курськ"])
    assert check("ru", "/hits", ["Использование: /hits [N], N от 1 до 50 (по умолчанию 10)"]) == []
