"""Logging set-up: one readable line per event (or one JSON object per line, for log collectors),
with secrets (the bot token) scrubbed from every line.

python-telegram-bot puts the token in request URLs, and httpx logs those URLs; nothing may print it.
What people write in their chats is not logged either: our own lines name a chat by its id only,
and python-telegram-bot's debug lines, which dump whole updates, are held back.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]

REDACTED = "[token]"


class RedactSecrets(logging.Filter):
    """Replaces each secret in a record's final message (arguments included) and its exception."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            try:
                message = record.getMessage()
            except Exception:  # a library's malformed log call must not crash the caller
                message = f"{record.msg} (unformattable arguments: {record.args!r})"
            record.msg = self._scrub(message)
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = self._scrub(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
            elif record.exc_text:
                record.exc_text = self._scrub(record.exc_text)
            if record.stack_info:
                record.stack_info = self._scrub(record.stack_info)
        return True


# Characters that end a line for some readers (Python's splitlines among them) but that JSON may
# leave raw; escaped, so that one record stays one line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (ISO 8601, UTC), level, logger, message, and
    exception (the traceback as text) and stack when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False).translate(_LINE_BREAKS)


def _skip_alembic_context(record: logging.LogRecord) -> bool:
    """Alembic's two lines before any migration ("Context impl SQLiteImpl.", "Will assume
    non-transactional DDL.") say how, not what: left out; each migration run is still said."""
    message = str(record.msg)
    return not message.startswith(("Context impl", "Will assume"))


def setup_logging(
    level: int = logging.INFO, *, secrets: Iterable[str] = (), fmt: LogFormat = "text"
) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Every request URL carries the token; these libraries' INFO lines add noise and risk.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Alembic's plugin set-up and the dictionaries' loading say nothing an operator acts on; the
    # migrations run (alembic.runtime.migration) are still logged.
    for chatty in ("alembic.runtime.plugins", "pymorphy3"):
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    logging.getLogger("alembic.runtime.migration").addFilter(_skip_alembic_context)
    # python-telegram-bot's DEBUG lines carry every update and every request's parameters: what
    # people write in their chats, their names, the bot's answers. Never logged, not even with -v.
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))
    # A poll round longer than its tick is normal with many feeds (the next tick waits for it);
    # APScheduler would say so at WARNING on every tick.
    logging.getLogger("apscheduler.scheduler").addFilter(_skip_busy_ticks)


def _skip_busy_ticks(record: logging.LogRecord) -> bool:
    return "maximum number of running instances reached" not in str(record.msg)


class Withheld(Exception):
    """Stands in, in a log, for an exception whose message may quote what someone wrote in a chat:
    it names the exception's type and keeps its traceback (code and line numbers, no values)."""


def withheld(error: BaseException) -> BaseException:
    """`error` fit for the log, with its causes and contexts: each one a `Withheld` with the same
    traceback, and not a word of any message or note, however deep in the chain."""
    stand_ins: dict[int, BaseException] = {}

    def stand_in(original: BaseException) -> BaseException:
        if id(original) in stand_ins:  # a chain may loop back on itself
            return stand_ins[id(original)]
        kind = type(original)
        module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
        copy = Withheld(f"{module}{kind.__qualname__} (message withheld: it may quote a chat)")
        stand_ins[id(original)] = copy
        copy.__traceback__ = original.__traceback__
        if original.__cause__ is not None:
            copy.__cause__ = stand_in(original.__cause__)
        if original.__context__ is not None:
            copy.__context__ = stand_in(original.__context__)
        copy.__suppress_context__ = original.__suppress_context__
        return copy

    return stand_in(error)
