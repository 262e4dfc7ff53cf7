"""Whether a running feedwatch does its job, for /healthz: the database answers, poll rounds keep
finishing (one within a few polling ticks; before the first one, counted from start-up), and the
last one stored something unless only the feeds themselves were at fault.

The check runs in the HTTP server's thread: it reads only what the poll tick writes (one attribute
each, which Python assigns atomically) and asks the database on a connection of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.core.domain import PollOutcome
from bot.core.errors import StorageError

TICKS = 3
"""How many polling ticks may pass without a finished poll round before the bot counts as stuck."""


def _seconds(td: timedelta) -> str:
    return f"{td.total_seconds():.0f} s"


def stored_something(outcomes: Sequence[PollOutcome]) -> bool:
    """Whether a feed of the round was read and stored (a feed that did not change does not count,
    nor one that failed)."""
    return any(o.error is None and not o.not_modified for o in outcomes)


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
        # The last poll round failed as a whole (until one finishes).
        self.failed_round: str | None = None
        # A round stored nothing while feeds failed inside feedwatch (until one stores something:
        # rounds with no feed due, or only unchanged ones, say nothing about it either way).
        self.fruitless_round: str | None = None

    def round_finished(
        self, outcomes: Sequence[PollOutcome] = (), internal: Mapping[str, str] | None = None
    ) -> None:
        """A poll round finished (with or without feeds due), with its feeds' outcomes and the
        feeds among them that failed inside feedwatch (the database, the parse pool, a bug), by
        URL with the reason."""
        now = self._clock()
        self.last_round_at = now
        self.failed_round = None
        if stored_something(outcomes):
            self.fruitless_round = None
        elif internal:
            url, reason = list(internal.items())[-1]
            self.fruitless_round = (
                f"the poll round at {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC stored nothing: "
                f"{len(internal)} of its {len(outcomes)} feeds failed inside feedwatch (the "
                f"database, the parse pool or a bug), and no feed was stored since; the last, "
                f"{url}: {reason}"
            )

    def round_failed(self, reason: str) -> None:
        """A poll round failed as a whole (the database refused the claim, or a bug): it stored
        nothing, and it does not count as finished."""
        self.failed_round = f"the last poll round failed: {reason}"

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
        problems.extend(p for p in (self.failed_round, self.fruitless_round) if p is not None)
        return problems
