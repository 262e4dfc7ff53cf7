"""Tests of bot.ops.logs: the bot token never reaches a log line, whatever carries it, and an outage is a
few lines, not a traceback on every tick."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import FeedwatchApp
from bot.cli import main
from bot.ops.logs import REDACTED, RedactSecrets, setup_logging
from tests.builders import Clock, rss, write_settings
from tests.conftest import Database
from tests.fakes.feed_server import FeedServer
from tests.fakes.telegram_api import FakeBotApi
from tests.ops.test_metrics import app_database_url, running

TOKEN = "123456789:AAE-very-secret-token_value"


pytestmark = pytest.mark.usefixtures("restored_logging")


@pytest.fixture
def stream() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own whose one handler, with the filter, writes to a StringIO."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets([TOKEN]))
    logger = logging.getLogger("feedwatch.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


URL = f"https://api.telegram.org/bot{TOKEN}/getMe"


def test_a_token_in_the_message_is_redacted(stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = stream
    logger.warning(f"request to {URL} failed")
    assert out.getvalue() == (
        f"WARNING feedwatch.test_logs: request to https://api.telegram.org/bot{REDACTED}/getMe "
        "failed\n"
    )


def test_a_token_in_the_arguments_is_redacted(stream: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = stream
    logger.info("HTTP Request: %s %s %r", "POST", URL, {"token": TOKEN})
    text = out.getvalue()
    assert TOKEN not in text
    assert f"POST https://api.telegram.org/bot{REDACTED}/getMe" in text
    assert f"{{'token': '{REDACTED}'}}" in text


def test_a_token_in_the_exception_text_is_redacted(
    stream: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = stream
    try:
        try:
            raise ConnectionError(f"cannot reach {URL}")
        except ConnectionError as inner:
            raise RuntimeError(f"getMe failed for token {TOKEN}") from inner
    except RuntimeError:
        logger.exception("polling failed")
    text = out.getvalue()
    assert TOKEN not in text
    assert "Traceback" in text
    assert f"RuntimeError: getMe failed for token {REDACTED}" in text
    assert f"ConnectionError: cannot reach https://api.telegram.org/bot{REDACTED}/getMe" in text


def test_a_record_without_the_token_is_unchanged(
    stream: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = stream
    logger.info("polled %d feeds: %s", 3, "ok")
    assert out.getvalue() == "INFO feedwatch.test_logs: polled 3 feeds: ok\n"


def test_every_occurrence_of_every_secret_is_redacted() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets(["first-secret", "second-secret"]))
    record = logging.LogRecord(
        "x",
        logging.ERROR,
        __file__,
        1,
        "%s and %s and first-secret",
        ("first-secret", "second-secret"),
        None,
    )
    handler.handle(record)
    assert out.getvalue() == f"{REDACTED} and {REDACTED} and {REDACTED}\n"


def test_an_empty_secret_redacts_nothing() -> None:
    # With no token configured the CLI passes "": that must not put [token] between every letter.
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets(["", ""]))
    handler.handle(logging.LogRecord("x", logging.INFO, __file__, 1, "plain %s", ("text",), None))
    assert out.getvalue() == "plain text\n"


def test_a_malformed_log_call_does_not_raise_out_of_the_filter(
    stream: tuple[logging.Logger, io.StringIO], capsys: pytest.CaptureFixture[str]
) -> None:
    # The logging module never lets a bad format string crash the caller (it reports it on stderr);
    # the filter must not either, or a library's sloppy log call takes the bot down.
    logger, _ = stream
    logger.warning("%d items from %s", "not a number", URL)
    assert TOKEN not in capsys.readouterr().err


def test_setup_logging_redacts_the_token_from_an_httpx_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    setup_logging(logging.DEBUG, secrets=[TOKEN])
    logging.getLogger("httpx").warning("HTTP Request: POST %s %s", URL, '"HTTP/1.1 409 Conflict"')
    logging.getLogger("telegram.ext.Application").error("token %s rejected", TOKEN)
    text = err.getvalue()
    assert TOKEN not in text
    assert f"WARNING httpx: HTTP Request: POST https://api.telegram.org/bot{REDACTED}/getMe" in text
    assert f"ERROR telegram.ext.Application: token {REDACTED} rejected" in text
    assert len(text.splitlines()) == 2


def test_setup_logging_silences_the_info_lines_of_chatty_libraries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    setup_logging(logging.DEBUG, secrets=[TOKEN])
    logging.getLogger("httpx").info("HTTP Request: POST %s", URL)
    logging.getLogger("httpcore.http11").debug("send_request_headers %s", URL)
    logging.getLogger("feedwatch.test_logs").debug("our own debug line")
    assert err.getvalue().splitlines()[-1].endswith("DEBUG feedwatch.test_logs: our own debug line")
    assert "HTTP Request" not in err.getvalue()
    assert "send_request_headers" not in err.getvalue()


def test_setup_logging_replaces_the_root_handlers_and_sets_the_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    root = logging.getLogger()
    setup_logging(logging.WARNING, secrets=[TOKEN])
    setup_logging(logging.WARNING, secrets=[TOKEN])  # twice: still one handler, no doubled lines
    assert len(root.handlers) == 1
    assert root.level == logging.WARNING
    logging.getLogger("feedwatch").info("not shown")
    logging.getLogger("feedwatch").warning("shown %s", TOKEN)
    assert err.getvalue().count("shown") == 1
    assert err.getvalue().rstrip().endswith(f"WARNING feedwatch: shown {REDACTED}")


# --- JSON lines ----------------------------------------------------------------------------------

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def json_lines(text: str) -> list[dict[str, str]]:
    """Every line of `text` as a JSON object; fails on a line that is not one."""
    records = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(record, dict) for record in records)
    return records


def test_json_logs_are_one_object_per_line_with_the_token_redacted_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    setup_logging(logging.DEBUG, secrets=[TOKEN], fmt="json")
    log = logging.getLogger("feedwatch.test_logs")
    log.info("polled %d feeds", 3)
    log.warning("request to %s failed\nsecond line\u2028third\x85fourth", URL)
    try:
        try:
            raise ConnectionError(f"cannot reach {URL}")
        except ConnectionError as inner:
            raise RuntimeError(f"getMe failed for token {TOKEN}") from inner
    except RuntimeError:
        log.exception("Курск: polling failed")
    log.debug("with a stack", stack_info=True)
    text = err.getvalue()

    assert TOKEN not in text
    assert len(text.splitlines()) == 4
    info, warning, error, debug = json_lines(text)
    assert info == {
        "time": info["time"],
        "level": "INFO",
        "logger": "feedwatch.test_logs",
        "message": "polled 3 feeds",
    }
    assert ISO_UTC.fullmatch(info["time"])
    assert warning["level"] == "WARNING"
    assert warning["message"] == (
        f"request to https://api.telegram.org/bot{REDACTED}/getMe failed\nsecond line"
        "\u2028third\x85fourth"
    )
    assert error["message"] == "Курск: polling failed"
    assert "Курск" in text  # kept readable, not \u-escaped
    exception = error["exception"]
    assert exception.startswith("Traceback (most recent call last):")
    assert f"RuntimeError: getMe failed for token {REDACTED}" in exception
    assert (
        f"ConnectionError: cannot reach https://api.telegram.org/bot{REDACTED}/getMe" in exception
    )
    assert "exception" not in info
    assert debug["stack"].startswith("Stack (most recent call last):")


def test_json_logs_format_an_exception_without_secrets_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    setup_logging(logging.INFO, fmt="json")
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logging.getLogger("feedwatch").error("failed", exc_info=True)
    [record] = json_lines(err.getvalue())
    assert record["exception"].endswith("ValueError: bad\nvalue")


def test_the_log_format_option_reaches_the_log(
    tmp_path: Path, feed_server: FeedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = feed_server.add("/broken.rss", b"oops", status=500, content_type="text/plain")
    write_settings(tmp_path, [broken], token="")
    config = str(tmp_path / "feedwatch.toml")
    assert main(["--log-format", "json", "poll", "--once", "--config", config]) == 0
    [record] = json_lines(capsys.readouterr().err)
    assert record["level"] == "WARNING"
    assert record["logger"] == "bot.services.poll"
    assert record["message"].startswith(f"{broken}: HTTP 500")


# --- what people write in private chats ------------------------------------------------------

CHAT = 111
USERNAME = "agent_username_q"
TYPED = {
    "/watch dossier_zx Секретный термин, Privatus Phrase": "dossier_zx",
    "/exclude dossier_zx Hiddenword": "Hiddenword",
    "/test Private note about Privatus Phrase": "Private note",
    "/subscribe nosuchlist_qq": "nosuchlist_qq",
    "/frobnicate classified-arg": "classified-arg",
}


async def test_the_contents_of_private_chats_never_reach_the_log(
    tmp_path: Path, fake_bot_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    setup_logging(logging.DEBUG, secrets=[fake_bot_api.token], fmt="json")
    settings = write_settings(
        tmp_path,
        [],
        token=fake_bot_api.token,
        api_url=fake_bot_api.url,
        metrics_listen="127.0.0.1:0",
    )
    async with FeedwatchApp(settings) as app:
        await app.start(schedule=False)
        try:
            for typed in TYPED:
                answers = len(fake_bot_api.sent_messages(CHAT)) + 1
                fake_bot_api.push_message(CHAT, typed, username=USERNAME)
                await fake_bot_api.wait_for_async(
                    lambda f: len(f.sent_messages(CHAT)) >= answers  # noqa: B023 - awaited here
                )
            # Not a command: no answer, but the update is read all the same.
            fake_bot_api.push_message(CHAT, "confidential chatter", username=USERNAME)
            await fake_bot_api.wait_for_async(lambda f: f.updates_consumed())
        finally:
            await app.stop()
    # The bot did hear it all: its answers quote what was typed.
    answered = " ".join(fake_bot_api.sent_texts(CHAT))
    assert "Privatus Phrase" in answered
    assert "nosuchlist_qq" in answered

    text = err.getvalue()
    records = json_lines(text)
    loggers = {record["logger"] for record in records}
    assert "bot.ops.metrics" in loggers  # the capture works: our own lines are in it
    assert any(name.startswith("telegram") for name in loggers)  # and the library's INFO lines
    secret_bits = [
        *TYPED.values(),
        "Секретный термин",
        "Privatus Phrase",
        "frobnicate",
        "confidential chatter",
        USERNAME,
        fake_bot_api.token,
    ]
    leaked = [bit for bit in secret_bits if bit.lower() in text.lower()]
    assert leaked == []


# --- exceptions whose messages quote a chat ----------------------------------------------------


def _raise_chained(typed: str) -> None:
    """A RuntimeError raised while a ValueError was handled, which a KeyError caused: each quotes
    `typed`, in its message or a note."""
    try:
        try:
            raise KeyError(typed)
        except KeyError as cause:
            raise ValueError(f"the term «{typed}» is too long") from cause
    except ValueError:
        error = RuntimeError(f"could not answer {typed}")
        error.add_note(f"note: {typed}")
        raise error  # noqa: B904 - the implicit context is what is tested


def test_withheld_logs_types_and_frames_of_the_whole_chain_but_no_message(
    stream: tuple[logging.Logger, io.StringIO],
) -> None:
    from bot.ops.logs import withheld

    logger, out = stream
    typed = "Qz7TypedByAUser"
    with pytest.raises(RuntimeError) as raised:
        _raise_chained(typed)
    logger.error("unexpected %s", raised.type.__name__, exc_info=withheld(raised.value))
    text = out.getvalue()
    assert typed not in text
    for kind in ("RuntimeError", "ValueError", "KeyError"):
        assert f"{kind} (message withheld" in text
    assert "in _raise_chained" in text  # where each was raised
    assert "The above exception was the direct cause" in text
    assert "During handling of the above exception" in text


def test_withheld_copes_with_a_chain_that_loops() -> None:
    from bot.ops.logs import withheld

    first, second = ValueError("Qz7a"), KeyError("Qz7b")
    first.__context__, second.__context__ = second, first
    formatted = logging.Formatter().formatException((Exception, withheld(first), None))
    assert "Qz7" not in formatted
    assert "ValueError (message withheld" in formatted


# --- a dependency that goes away ----------------------------------------------------------------


@contextmanager
def database_away(app: FeedwatchApp, database: Database, tmp_path: Path) -> Iterator[str]:
    """The app's database gone for real while inside, and back as it was afterwards; yields the
    reason the database gives. SQLite: the file holds something that is not a database. PostgreSQL:
    the app's schema is renamed away (the server answers; none of our tables is there)."""
    if database.kind == "sqlite":
        app.repo.engine.dispose()
        db = tmp_path / "feedwatch.db"
        files = [db, db.with_name("feedwatch.db-wal"), db.with_name("feedwatch.db-shm")]
        saved = {path: path.read_bytes() for path in files if path.exists()}
        for path in files:
            path.unlink(missing_ok=True)
        db.write_bytes(b"this is not a database " * 512)
        try:
            yield "file is not a database"
        finally:
            app.repo.engine.dispose()
            db.unlink()
            for path, content in saved.items():
                path.write_bytes(content)
    else:
        schema = database.connect_args["options"].partition("search_path=")[2]
        with app.repo.engine.connect() as conn:
            conn.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{schema}_away"'))
            conn.commit()
        try:
            yield 'relation "hit" does not exist'
        finally:
            with app.repo.engine.connect() as conn:
                conn.execute(text(f'ALTER SCHEMA "{schema}_away" RENAME TO "{schema}"'))
                conn.commit()


async def test_a_database_outage_is_one_line_then_one_a_minute_then_one_when_it_is_back(
    database: Database, tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    url = feed_server.add("/a.rss", rss(("raid", "RVC claims raid", "")))
    settings = write_settings(tmp_path, [url], database_url=app_database_url(database))
    async with running(settings, clock=clock) as app:
        await app._poll_tick()
        await app._digest_tick()  # the digest is sent: nothing is due during the outage
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        setup_logging(logging.INFO)
        # A little over five minutes of outage, both ticks every 2 s: 302 failed ticks.
        with database_away(app, database, tmp_path) as reason:
            for _ in range(151):
                clock.advance(seconds=2)
                await app._poll_tick()
                await app._digest_tick()
        clock.advance(seconds=2)
        await app._poll_tick()
        await app._digest_tick()
    logged = err.getvalue()
    # The time stamp is the wall clock's; the rest is the line.
    lines = [line.split(" ", 2)[-1] for line in logged.splitlines()]
    assert lines == [
        f"ERROR bot.app: the database went away: {reason}",
        *(
            f"ERROR bot.app: the database is still away after {minutes} min: 60 failures since "
            f"the last line; the last: {reason}"
            for minutes in range(1, 6)
        ),
        "INFO bot.app: the database came back after 5 min 2 s (302 failures)",
    ]
    assert "Traceback" not in logged


def test_setup_logging_leaves_out_what_no_operator_acts_on_and_keeps_the_migrations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make run` once logged seven alembic plugin lines and the dictionaries' loading."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    setup_logging(logging.INFO)
    logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.schemas")
    logging.getLogger("pymorphy3.opencorpora_dict.wrapper").info("Loading dictionaries from x")
    migration = logging.getLogger("alembic.runtime.migration")
    migration.info("Context impl SQLiteImpl.")
    migration.info("Will assume non-transactional DDL.")
    migration.info("Running upgrade %s -> %s, %s", "0007", "0008", "channel posts")
    assert [line.split(" ", 3)[-1] for line in err.getvalue().splitlines()] == [
        "alembic.runtime.migration: Running upgrade 0007 -> 0008, channel posts"
    ]
