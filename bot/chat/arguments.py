"""Reading the arguments of chat commands: names, comma-separated terms, durations, quiet hours.

Pure: each function takes the text as typed and returns a value or raises `ValueError` with a
sentence that can be shown to the user as it is, quoting at most `QUOTED_AT_MOST` characters.
"""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.core.limits import QUOTED_AT_MOST
from bot.core.matching import term_problem
from bot.core.said import said
from bot.ops.config import format_duration, parse_duration

LABEL = re.compile(r"[A-Za-z0-9_-]{1,64}")
SHORTEST_DIGEST = timedelta(minutes=5)
LONGEST_DIGEST = timedelta(days=7)
INSTANT = timedelta(0)
_CLOCK = re.compile(r"([01]?\d|2[0-3])[:.]([0-5]\d)")


def shown(text: str, most: int = QUOTED_AT_MOST) -> str:
    """What was typed, as an answer quotes it: at most `most` characters, "…" ending a longer one."""
    return text if len(text) <= most else text[: most - 1] + "…"


def label(text: str) -> str:
    if not LABEL.fullmatch(text):
        raise ValueError(
            said(
                "«{name}» cannot name a watchlist: use 1 to 64 letters, digits, - and _",
                name=shown(text),
            )
        )
    return text


def terms(text: str) -> list[str]:
    """Comma-separated terms, each checked by the matcher's rules; repeats told once."""
    found = [part.strip() for part in text.split(",")]
    found = [part for part in found if part]
    if not found:
        raise ValueError(said("no terms given"))
    for term in found:
        problem = term_problem(term)
        if problem:
            raise ValueError(said("the term «{term}» {problem}", term=shown(term), problem=problem))
    return list(dict.fromkeys(found))


def name_and_terms(args: str) -> tuple[str, list[str]]:
    """`NAME TERM[, TERM…]` as typed after a command."""
    name, _, rest = args.strip().partition(" ")
    if not name:
        raise ValueError(said("no watchlist name given"))
    return label(name), terms(rest)


def digest_interval(text: str) -> timedelta:
    """`/every`: a duration between 5 minutes and 7 days, or `instant` (zero)."""
    if text.strip().lower() in ("instant", "now", "0"):
        return INSTANT
    try:
        interval = parse_duration(text)
    except ValueError as error:
        raise ValueError(said("{error}, or instant", error=error.args[0])) from None
    if not SHORTEST_DIGEST <= interval <= LONGEST_DIGEST:
        raise ValueError(
            said(
                "{interval} is out of range: a digest comes every {shortest} at the most often "
                "and every {longest} at the least",
                interval=format_duration(interval),
                shortest=format_duration(SHORTEST_DIGEST),
                longest=format_duration(LONGEST_DIGEST),
            )
        )
    return interval


def quiet_hours(text: str) -> tuple[int, int] | None:
    """`/quiet HH:MM-HH:MM` as minutes after midnight, or None for `off`."""
    cleaned = text.strip().lower()
    if cleaned in ("off", "none", "no"):
        return None
    start, dash, end = cleaned.replace("–", "-").replace("—", "-").partition("-")
    first, second = _CLOCK.fullmatch(start.strip()), _CLOCK.fullmatch(end.strip())
    if not dash or first is None or second is None:
        raise ValueError(
            said(
                "«{hours}» is not a span of hours; write it as 22:00-07:00, or off",
                hours=shown(text),
            )
        )
    begin = int(first[1]) * 60 + int(first[2])
    finish = int(second[1]) * 60 + int(second[2])
    if begin == finish:
        raise ValueError(said("quiet hours must start and end at different times"))
    return begin, finish


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def timezone(text: str) -> str:
    """An IANA time zone name such as Europe/Kyiv, written in any case."""
    wanted = text.strip()
    if not wanted:
        raise ValueError(said("no time zone given"))
    known = {name.lower(): name for name in available_timezones()}
    name = known.get(wanted.lower())
    if name is None:
        raise ValueError(
            said(
                "«{zone}» is not a time zone; write it as Area/City, such as Europe/Kyiv",
                zone=shown(wanted),
            )
        )
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:  # listed but unreadable: a broken tz database
        raise ValueError(
            said("the time zone {zone} cannot be read on this server", zone=name)
        ) from None
    return name
