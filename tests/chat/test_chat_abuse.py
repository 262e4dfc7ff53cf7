"""Chat commands typed with hostile input: arguments far longer than any real one (10,000
characters, 100 KB) at every command, and TOML files built to break `/import`. Each is refused
with a sentence that names the limit, in the sender's language and within Telegram's limits (the
fake Bot API checks every request), and no log record carries what the user typed.
"""

from __future__ import annotations

import io
import logging
import string
import sys
from collections.abc import AsyncIterator
from contextlib import suppress
from pathlib import Path

import pytest

from bot.app import FeedwatchApp
from bot.chat.commands import COMMANDS
from bot.core.limits import argument_limit
from bot.ops.logs import setup_logging
from tests.builders import Clock, write_settings
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

CHAT = 111
# Typed into every hostile argument; no log record may contain it.
MARKER = "Qz7LeakMarker"
SIZES = (10_000, 100 * 1024)

TOO_LONG = {
    "en": "The text after /{command} is too long: at most {limit} characters.",
    "ru": "Текст после /{command} слишком длинный: не больше {limit} символов.",
    "uk": "Текст після /{command} задовгий: не більше {limit} символів.",
}

SHARED = """
[[watchlist]]
name = "rvc"
title = "Russian Volunteer Corps"
terms = ["Russian Volunteer Corps", "RVC", "РДК"]
"""


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def logged(record: logging.LogRecord) -> str:
    """Everything a record could put in a log: message, arguments, exception (its causes and
    contexts too, as the formatter prints them), and stack."""
    parts = [str(record.msg), repr(record.args)]
    with suppress(Exception):
        parts.append(record.getMessage())
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
        seen: set[int] = set()
        error: BaseException | None = record.exc_info[1]
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            parts += [repr(error.args), repr(getattr(error, "__notes__", None))]
            error = error.__cause__ or error.__context__
    parts += [record.exc_text or "", record.stack_info or ""]
    return "\n".join(parts)


@pytest.fixture
def log(
    restored_logging: None, monkeypatch: pytest.MonkeyPatch, fake_bot_api: FakeBotApi
) -> tuple[_Keep, io.StringIO]:
    """The project's own log set-up at DEBUG (what `-v` gives), writing to a captured stderr, and
    every record that reaches the root logger, kept before any filter touches it."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    setup_logging(logging.DEBUG, secrets=[fake_bot_api.token])
    keep = _Keep()
    logging.getLogger().handlers.insert(0, keep)  # `restored_logging` takes it away
    return keep, err


def leaks(log: tuple[_Keep, io.StringIO], marker: str = MARKER) -> list[str]:
    keep, err = log
    found = [logged(r) for r in keep.records if marker.lower() in logged(r).lower()]
    if marker.lower() in err.getvalue().lower():
        found.append(err.getvalue())
    return found


@pytest.fixture
async def app(
    tmp_path: Path, fake_bot_api: FakeBotApi, log: tuple[_Keep, io.StringIO]
) -> AsyncIterator[FeedwatchApp]:
    settings = write_settings(
        tmp_path, [], token=fake_bot_api.token, api_url=fake_bot_api.url, watchlists=SHARED
    )
    async with FeedwatchApp(settings, clock=Clock()) as running:
        await running.start(schedule=False)
        try:
            yield running
        finally:
            await running.stop()


async def ask(fake: FakeBotApi, text: str, **push: object) -> RecordedRequest:
    before = len(fake.sent_messages(CHAT))
    fake.push_message(CHAT, text, **push)  # type: ignore[arg-type]
    await fake.wait_for_async(lambda f: len(f.sent_messages(CHAT)) > before)
    return fake.sent_messages(CHAT)[before]


async def say(fake: FakeBotApi, text: str, **push: object) -> str:
    return str((await ask(fake, text, **push)).result["text"])


# An argument for each command shaped to reach the part of it that quotes what was typed (today,
# or in some future version): a name, a term, a URL, a duration, hours, a zone, a channel.
SHAPES = {
    "subscribe": f"rvc {MARKER}",
    "unsubscribe": f"rvc {MARKER}",
    "watch": f"kursk {MARKER}",
    "exclude": f"kursk {MARKER}",
    "require": f"kursk {MARKER}",
    "unwatch": f"{MARKER}",
    "test": f"Заявление РДК {MARKER}",
    "hits": f"5{MARKER}",
    "stats": f"rvc {MARKER}",
    "every": f"{MARKER}",
    "quiet": f"22:00-{MARKER}",
    "tz": f"Europe/{MARKER}",
    "addfeed": f"http://127.0.0.1:9/{MARKER}",
    "removefeed": f"http://127.0.0.1:9/{MARKER}",
    "spikes": f"{MARKER}",
    "channel": f"@{MARKER}",
}


def overlong(command: str, size: int) -> str:
    """The text of a message `/command ARGUMENT` whose argument has `size` characters."""
    start = SHAPES.get(command, MARKER)
    return f"/{command} {start}{'x' * (size - len(start))}"


def test_every_command_has_a_limit_well_within_what_telegram_delivers() -> None:
    for name, _, _ in COMMANDS:
        assert 0 < argument_limit(name) < min(SIZES)
        assert argument_limit(name) <= 3000  # room for the answer's own words within 4096
    assert argument_limit("watch") >= 1000  # a real list of terms fits
    assert argument_limit("addfeed") >= 2000  # and a real URL


@pytest.mark.parametrize("command", [name for name, _, _ in COMMANDS])
async def test_an_overlong_argument_is_refused_with_its_limit_and_never_logged(
    app: FeedwatchApp,
    fake_bot_api: FakeBotApi,
    log: tuple[_Keep, io.StringIO],
    command: str,
) -> None:
    for size, lang in ((SIZES[0], "en"), (SIZES[1], "ru"), (SIZES[0], "uk")):
        text = overlong(command, size)
        assert len(text) == len(command) + 2 + size
        answer = await say(fake_bot_api, text, language_code=lang)
        assert answer == TOO_LONG[lang].format(command=command, limit=argument_limit(command))
    # Refused before anything was done or stored.
    assert app.repo.own_watchlists(CHAT) == []
    assert leaks(log) == []


def short_names(length: int) -> str:
    """Distinct names of one or two letters and digits, comma-separated, at most `length` long."""
    chars = string.ascii_letters + string.digits
    names = [*chars, *(a + b for a in chars for b in chars)]
    text = ""
    for name in names:
        if len(text) + len(name) + 1 > length:
            return text
        text = f"{text},{name}" if text else name
    return text


async def test_an_argument_at_its_limit_is_read_and_its_answer_fits_in_a_message(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, log: tuple[_Keep, io.StringIO]
) -> None:
    # At the limit, not over it: the commands read these, and quote parts of them back.
    limit = argument_limit("watch")
    long_term = f"{MARKER}{'ы' * (limit - 6 - len(MARKER))}"
    texts = [
        f"/watch kursk {long_term}",
        "/watch kursk " + ",".join(f"t{i}" for i in range(180)),
        # A thousand names of one or two characters, each quoted back as «a, »: longer than typed.
        "/subscribe " + short_names(argument_limit("subscribe")),
        "/subscribe " + " ".join(f"n{i}{MARKER}" for i in range(argument_limit("subscribe") // 20)),
        "/unwatch kursk " + short_names(argument_limit("unwatch") - 6),
        f"/unwatch {long_term}",
        "/stats " + short_names(argument_limit("stats")),
        "/stats " + " ".join(f"s{i}{MARKER}" for i in range(argument_limit("stats") // 20)),
        "/test " + " ".join(f"РДК rvc Rvc RVC {MARKER}" for _ in range(limit // 32)),
        f"/tz {MARKER}{'z' * (argument_limit('tz') - len(MARKER))}",
        f"/every {MARKER}{'1' * (argument_limit('every') - len(MARKER))}",
        f"/addfeed http://127.0.0.1:9/{MARKER}{'u' * (argument_limit('addfeed') - 40)}",
        f"/removefeed http://127.0.0.1:9/{'u' * (argument_limit('removefeed') - 20)}",
    ]
    for text in texts:
        assert len(text.partition(" ")[2]) <= argument_limit(text.split()[0][1:])
        answer = await say(fake_bot_api, text)
        assert answer  # answered, within Telegram's limits: the fake checks
        assert "Something went wrong" not in answer
    assert leaks(log) == []


async def test_a_refused_term_is_quoted_shortened_when_very_long(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    term = "Kursk" + "x" * 2000
    answer = await say(fake_bot_api, f"/watch kursk {term}")
    assert answer.startswith("The term «Kurskxxx")
    assert "…» is longer than 200 characters" in answer
    assert len(answer) < 600


async def test_unknown_names_are_listed_a_few_at_most(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    names = [f"nosuch{i}" for i in range(60)]
    answer = await say(fake_bot_api, "/subscribe rvc " + " ".join(names))
    assert "Now following: rvc." in answer
    assert "No watchlist called nosuch0, nosuch1," in answer
    assert "nosuch9 and 50 more." in answer
    assert "nosuch10," not in answer


async def test_an_unknown_overlong_command_is_answered_within_limits(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, log: tuple[_Keep, io.StringIO]
) -> None:
    for size in SIZES:
        answer = await say(fake_bot_api, f"/{MARKER}{'q' * size} and more")
        assert answer.startswith(f"There is no command /{MARKER}qqq")
        assert len(answer) < 1000
    assert leaks(log) == []


# --- the error handler ----------------------------------------------------------------------


async def test_an_unexpected_error_is_logged_with_its_traceback_but_without_the_users_text(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, log: tuple[_Keep, io.StringIO]
) -> None:
    """Telegram refuses the answer to a refused term: the handler's BadRequest is raised while the
    ValueError that quotes the term is being handled, so the term is in its chained context. The
    error is logged, type, command and traceback, without one word of what was typed."""
    fake_bot_api.fail_next("sendMessage", 400, "Bad Request: message is too long", chat_id=CHAT)
    answer = await say(fake_bot_api, f"/watch kursk {MARKER}{'x' * 300}")
    assert answer == "Something went wrong on our side; it has been logged."
    keep, err = log
    [record] = [r for r in keep.records if r.levelno >= logging.ERROR]
    text = logged(record)
    assert "/watch" in record.getMessage()
    assert "BadRequest" in text
    assert "ValueError" in text  # the chained cause is there, by type
    assert "bot/chat/lists.py" in text.replace("\\", "/")  # and where it was raised
    assert "Traceback" in err.getvalue()
    assert leaks(log) == []


async def test_an_answer_about_an_error_that_fails_too_is_logged_without_the_users_text(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, log: tuple[_Keep, io.StringIO]
) -> None:
    fake_bot_api.fail_next(
        "sendMessage", 400, "Bad Request: message is too long", chat_id=CHAT, times=2
    )
    fake_bot_api.push_message(CHAT, f"/watch kursk {MARKER}{'x' * 300}")
    await fake_bot_api.wait_for_async(lambda f: len(f.calls("sendMessage")) >= 2)
    await say(fake_bot_api, "/hits")  # updates are handled in turn: the first is done
    keep, _ = log
    errors = [r for r in keep.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2
    assert leaks(log) == []


# --- /import --------------------------------------------------------------------------------


async def import_file(fake: FakeBotApi, content: bytes, lang: str = "en") -> str:
    document = fake.add_file(content, "watchlists.toml", "application/toml")
    return await say(fake, "/import", document=document, language_code=lang)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            "Nothing was imported: the file nests arrays and tables too deep (line 3): at most "
            "32 levels.",
        ),
        (
            "ru",
            "Ничего не импортировано: в файле массивы и таблицы вложены слишком глубоко "
            "(строка 3): не больше 32 уровней.",
        ),
        (
            "uk",
            "Нічого не імпортовано: у файлі масиви й таблиці вкладено надто глибоко (рядок 3): "
            "найбільша глибина — 32.",
        ),
    ],
)
async def test_import_refuses_a_deeply_nested_document_before_parsing_it(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, lang: str, expected: str
) -> None:
    deep = b'[[watchlist]]\nname = "kursk"\nterms = ' + b"[" * 10_000 + b"]" * 10_000 + b"\n"
    assert await import_file(fake_bot_api, deep, lang) == expected
    assert app.repo.own_watchlists(CHAT) == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Nothing was imported: the file is larger than 1 MiB."),
        ("ru", "Ничего не импортировано: файл больше 1 MiB."),
        ("uk", "Нічого не імпортовано: файл більший за 1 MiB."),
    ],
)
async def test_import_refuses_a_document_over_its_size_limit(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, lang: str, expected: str
) -> None:
    # A comment makes it valid TOML: the size alone refuses it, whatever the file says it is.
    big = b'[[watchlist]]\nname = "kursk"\nterms = ["Kursk"]\n#' + b"x" * (1024 * 1024) + b"\n"
    assert await import_file(fake_bot_api, big, lang) == expected
    assert app.repo.own_watchlists(CHAT) == []


async def test_import_quotes_no_more_than_a_little_of_a_huge_term_or_key(
    app: FeedwatchApp, fake_bot_api: FakeBotApi, log: tuple[_Keep, io.StringIO]
) -> None:
    term = MARKER + "x" * (100 * 1024)
    document = (
        f'[[watchlist]]\nname = "kursk"\nterms = ["{term}"]\n'
        f'[[watchlist]]\nname = "other"\nterms = ["a"]\n{term} = 1\n'
    ).encode()
    answer = await import_file(fake_bot_api, document)
    assert answer.startswith("Nothing was imported:\n• watchlists.toml: [[watchlist]] #1 (kursk)")
    assert f"{MARKER}xxx" in answer
    assert "is longer than 200 characters" in answer
    assert "unknown key" in answer
    assert len(answer) < 1500
    assert leaks(log) == []


async def test_a_long_watchlists_and_feeds_answer_fits_telegram(
    app: FeedwatchApp, fake_bot_api: FakeBotApi
) -> None:
    """Fifty lists of 200 terms of 199 characters, and a hundred feeds with long names: the
    answers come in as many messages as they need, each within Telegram's limit (the fake
    refuses any longer one)."""
    chat = 4242
    app.repo.register_chat(chat, "private", None, app.clock())
    for n in range(50):
        terms = [f"term{n}x{t}" + "y" * (199 - len(f"term{n}x{t}")) for t in range(200)]
        app.repo.add_terms(chat, f"list{n}", "terms", terms, app.clock())
    for n in range(100):
        url = f"https://feeds{n}.example/{'p' * 900}"
        app.repo.add_chat_feed(chat, url, f"Feed {n} " + "n" * 200, app.clock())
    for command in ("/watchlists", "/feeds"):
        before = len(fake_bot_api.sent_messages(chat))
        fake_bot_api.push_message(chat, command)
        fake_bot_api.push_message(chat, "/help")  # answered after the command's last message
        await fake_bot_api.wait_for_async(
            lambda f, since=before: any(
                "Limits:" in m.result["text"] for m in f.sent_messages(chat)[since:]
            )
        )
        answers = fake_bot_api.sent_messages(chat)[before:-1]
        assert len(answers) >= 2, command
        assert fake_bot_api.take_errors() == []
