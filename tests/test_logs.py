"""Tests of bot.logs: the bot token never reaches a log line, whatever carries it."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest

from bot.logs import REDACTED, RedactSecrets, setup_logging

TOKEN = "123456789:AAE-very-secret-token_value"
NOISY = ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Put the root logger and the loggers setup_logging touches back as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in NOISY}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, noisy_level in levels.items():
            logging.getLogger(name).setLevel(noisy_level)


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
