"""Logging set-up: one readable line per event, with secrets (the bot token) scrubbed from every line.

python-telegram-bot puts the token in request URLs, and httpx logs those URLs; nothing may print it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

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
        return True


def setup_logging(level: int = logging.INFO, *, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Every request URL carries the token; these libraries' INFO lines add noise and risk.
    for noisy in ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
