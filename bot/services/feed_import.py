"""Importing an OPML list: which of its feeds are new, each new one checked as a feed, the good
ones kept, and one report of what was added, already there and refused, with reasons. Shared by
`/importopml` (a chat's own feeds) and `feedwatch feeds import` (feeds for every chat)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.core.errors import RefusedError
from bot.core.said import Said, said
from bot.services.feed_check import FeedChecker
from bot.sources.opml import OpmlEntry

Kept = Literal["added", "already"]
Keep = Callable[[str, str | None], Awaitable[Kept]]
"""Keeps one checked feed (its URL and name): "added", or "already" when it was there; a
RefusedError when it may not be added."""
Progress = Callable[[int, int], Awaitable[object]]
"""Told (0, total) when the checks begin, then (done, total) as each one finishes."""


@dataclass(frozen=True, slots=True)
class Refused:
    entry: OpmlEntry
    reason: str
    """English; a `Said` is said in the chat's language where a chat reads it."""


@dataclass(slots=True)
class ImportReport:
    added: list[OpmlEntry] = field(default_factory=list)
    already: list[OpmlEntry] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    """In the file's order."""


async def import_feeds(
    entries: Sequence[OpmlEntry],
    checker: FeedChecker,
    keep: Keep,
    *,
    present: Collection[str] = (),
    room: int | None = None,
    room_reason: Said | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check the entries that are not `present` and keep those that are feeds.

    At most `room` are checked (None: all): a file of thousands must not make the bot fetch them,
    and the rest are refused with `room_reason`. Entries that cannot be feeds whatever their
    server says (`OpmlEntry.problem`) are refused unchecked."""
    report = ImportReport()
    reasons: dict[str, str] = {}
    to_check: list[OpmlEntry] = []
    for entry in entries:
        if entry.problem is not None:
            reasons[entry.url] = said(entry.problem)
        elif entry.url in present:
            report.already.append(entry)
        elif room is not None and len(to_check) >= room:
            reasons[entry.url] = room_reason or said("no room for more feeds")
        else:
            to_check.append(entry)
    titles: dict[str, str | None] = {}
    done = 0
    if progress is not None and to_check:
        await progress(0, len(to_check))
    async for checked in checker.check_all([entry.url for entry in to_check]):
        done += 1
        if checked.problem is None:
            titles[checked.url] = checked.title
        else:
            reasons[checked.url] = checked.problem
        if progress is not None:
            await progress(done, len(to_check))
    for entry in to_check:
        if entry.url not in titles:
            continue
        try:
            kept = await keep(entry.url, entry.title or titles[entry.url])
        except RefusedError as error:
            reasons[entry.url] = said(error.template, **error.params)
            continue
        (report.added if kept == "added" else report.already).append(entry)
    report.refused = [Refused(e, reasons[e.url]) for e in entries if e.url in reasons]
    return report
