"""Outages of what feedwatch depends on (the database, the parse pool, the Telegram Bot API), told in
the log as one line when one begins, one summary a minute while it lasts and one when it ends.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

SUMMARY_EVERY = timedelta(minutes=1)
"""While a dependency stays away, one line this often (at the first failure after each mark)."""


def plain(error: BaseException) -> str:
    """An exception as a short reason: its type, and the first line of its message if any."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def duration(span: timedelta) -> str:
    """A span the way an operator reads it: "0 s", "12 min 30 s", "3 h 5 min"."""
    seconds = max(0, int(span.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{seconds} s"


class OutageReporter:
    """The log of one dependency's outages. Callers say when it failed and when it worked, with the
    time; every decision takes `now` from them, so that tests move a clock instead of sleeping.

    A failure while the dependency works begins an outage: one ERROR line with the reason (and the
    traceback when `error` is given: an unexpected error is worth one). Failures while it is away
    are counted, and the first one after each minute of the outage gives a summary line. A success
    while it is away ends the outage with one INFO line. Used from the event loop only."""

    def __init__(
        self,
        what: str,
        *,
        logger: logging.Logger | None = None,
        every: timedelta = SUMMARY_EVERY,
    ) -> None:
        self.what = what
        self._log = logger or log
        self._every = every
        self.since: datetime | None = None
        self._failures = 0
        self._unreported = 0
        self._next_summary: datetime | None = None

    @property
    def away(self) -> bool:
        return self.since is not None

    def failed(
        self, now: datetime, reason: str, *, error: BaseException | None = None
    ) -> str | None:
        """One failure at `now`; returns the line logged for it, or None when it is only counted."""
        self._failures += 1
        self._unreported += 1
        if self.since is None or self._next_summary is None:
            self.since, self._next_summary = now, now + self._every
            self._unreported = 0
            line = f"{self.what} went away: {reason}"
            self._log.error(line, exc_info=error)
            return line
        if now < self._next_summary:
            return None
        # The next mark is the first whole minute of the outage after now, so that ticks that come
        # late or in bursts still give one line a minute, never two.
        marks = (now - self.since) // self._every + 1
        self._next_summary = self.since + self._every * marks
        line = (
            f"{self.what} is still away after {duration(now - self.since)}: "
            f"{self._unreported} failures since the last line; the last: {reason}"
        )
        self._unreported = 0
        self._log.error(line)
        return line

    def worked(self, now: datetime) -> str | None:
        """It worked at `now`; returns the line logged when that ends an outage, else None."""
        if self.since is None:
            return None
        failures = f"{self._failures} failure" + ("" if self._failures == 1 else "s")
        line = f"{self.what} came back after {duration(now - self.since)} ({failures})"
        self.since = self._next_summary = None
        self._failures = self._unreported = 0
        self._log.info(line)
        return line
