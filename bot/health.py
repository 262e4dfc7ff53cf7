"""Whether a running feedwatch does its job, for /healthz: the database answers, and poll rounds
keep finishing (one within a few polling ticks; before the first one, counted from start-up).

The check runs in the HTTP server's thread: it reads only the timestamps the poll tick writes (one
attribute each, which Python assigns atomically) and asks the database on a connection of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.errors import StorageError

TICKS = 3
"""How many polling ticks may pass without a finished poll round before the bot counts as stuck."""


def _seconds(td: timedelta) -> str:
    return f"{td.total_seconds():.0f} s"


class Health:
    """The facts /healthz answers from, and the check itself."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        tick: timedelta,
        ping: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._ping = ping
        self.limit = tick * TICKS
        self.started_at = clock()
        self.last_round_at: datetime | None = None

    def round_finished(self) -> None:
        """A poll round finished (with or without feeds due, whatever each feed's outcome)."""
        self.last_round_at = self._clock()

    def problems(self) -> list[str]:
        """What is wrong, in plain words, one sentence each; empty when healthy."""
        problems = []
        try:
            self._ping()
        except StorageError as error:
            problems.append(f"database: {str(error).removeprefix('database error: ')}")
        now, last = self._clock(), self.last_round_at
        if last is None:
            waited = now - self.started_at
            if waited > self.limit:
                problems.append(
                    f"no poll round has finished since start-up {_seconds(waited)} ago "
                    f"(the limit is {_seconds(self.limit)}, {TICKS} polling ticks)"
                )
        elif now - last > self.limit:
            problems.append(
                f"no poll round finished for {_seconds(now - last)} (the limit is "
                f"{_seconds(self.limit)}, {TICKS} polling ticks); the last one at "
                f"{last.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
            )
        return problems
