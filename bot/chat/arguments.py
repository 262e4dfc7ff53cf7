"""Reading the arguments of chat commands: names, comma-separated terms, durations, quiet hours.

Pure: each function takes the text as typed and returns a value or raises `ValueError` with a
sentence that can be shown to the user as it is, quoting at most `QUOTED_AT_MOST` characters.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.chat.time_zones import zone_for
from bot.core.domain import CONTEXT_WITHIN, CONTEXT_WITHIN_MOST, TermContext
from bot.core.limits import QUOTED_AT_MOST
from bot.core.matching import term_problem
from bot.core.said import said
from bot.ops.config import format_duration, parse_duration

LABEL = re.compile(r"[\w-]{1,64}")  # letters of any script: «рдк» names a list as «rvc» does
PHRASE_WORDS = 3
"""A /watch with this many words and no comma is one phrase, unless its first word names a list."""
SHORTEST_DIGEST = timedelta(minutes=5)
LONGEST_DIGEST = timedelta(days=7)
INSTANT = timedelta(0)


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


def phrase_watch(args: str, lists: Collection[str]) -> tuple[str, list[str]] | None:
    """`/watch Russian Volunteer Corps`: a phrase of `PHRASE_WORDS` words or more with no comma,
    whose first word names none of `lists` and holds no "_", is one term, and names a new list
    after itself (russian_volunteer_corps). None when `args` is `NAME TERM[, TERM…]` as usual."""
    words = args.split()
    if "," in args or len(words) < PHRASE_WORDS:
        return None
    if "_" in words[0]:
        return None  # my_lsr is a list's name, as people write names, not a word of a phrase
    if words[0].casefold() in {name.casefold() for name in lists}:
        return None
    phrase = " ".join(words)
    slug = ""
    for word in re.findall(r"\w+", phrase.casefold()):
        longer = f"{slug}_{word}" if slug else word
        if len(longer) > 64:
            break
        slug = longer
    return label(slug[:64] or "phrase"), terms(phrase)


# `/watch NAME TERM near WORD, WORD not near WORD within N`, with the keywords in any of the
# three languages: a context belongs to the one term before it.
_CONTEXT = re.compile(r"\s(not\s+near|не\s+рядом|не\s+поруч|near|рядом|поруч)\s", re.IGNORECASE)
_WITHIN = re.compile(r"\s(?:within|в\s+пределах|в\s+межах)\s+(\d{1,3})\s*(?:\w+)?\s*$", re.I)
_NEGATIONS = ("not", "не")


def watch_in_context(args: str) -> tuple[str, TermContext] | None:
    """`NAME TERM near WORD[, WORD…] [not near WORD[, …]] [within N]` as typed after /watch: the
    list and the term with its context; None when no `near` or `not near` stands in `args`."""
    name, _, rest = args.strip().partition(" ")
    pieces = _CONTEXT.split(f" {rest} ")
    if len(pieces) == 1:
        return None
    if "," in pieces[0]:
        raise ValueError(said("a context belongs to one term: /watch NAME TERM near WORD, WORD"))
    [term] = terms(pieces[0])
    near: list[str] = []
    not_near: list[str] = []
    within = CONTEXT_WITHIN
    for keyword, words in zip(pieces[1::2], pieces[2::2], strict=True):
        if found := _WITHIN.search(" " + words):
            within = int(found.group(1))
            words = (" " + words)[: found.start()]
        negated = keyword.casefold().startswith(_NEGATIONS)
        (not_near if negated else near).extend(terms(words))
    if not 1 <= within <= CONTEXT_WITHIN_MOST:
        raise ValueError(
            said("within must be a number of words from 1 to {most}", most=CONTEXT_WITHIN_MOST)
        )
    return label(name), TermContext(term, tuple(near), tuple(not_near), within)


def name_and_terms(args: str) -> tuple[str, list[str]]:
    """`NAME TERM[, TERM…]` as typed after a command."""
    name, _, rest = args.strip().partition(" ")
    if not name:
        raise ValueError(said("no watchlist name given"))
    return label(name), terms(rest)


# Units of a duration as people write them, in English, Russian and Ukrainian: "30 minutes",
# "2 часа", "2 години", "an hour", "1 day".
_UNITS: dict[str, timedelta] = {
    **dict.fromkeys(
        ("m", "min", "mins", "minute", "minutes", "мин", "минута", "минуты", "минут", "минуту",
         "хв", "хвилина", "хвилини", "хвилин", "хвилину"),
        timedelta(minutes=1),
    ),
    **dict.fromkeys(
        ("h", "hr", "hrs", "hour", "hours", "ч", "час", "часа", "часов", "год", "година",
         "години", "годин", "годину"),
        timedelta(hours=1),
    ),
    **dict.fromkeys(
        ("d", "day", "days", "д", "день", "дня", "дней", "сутки", "суток", "дн", "дні", "днів",
         "добу", "доба"),
        timedelta(days=1),
    ),
}  # fmt: skip
_NATURAL = re.compile(r"(?:(\d{1,4})|an?|один|одна|одну)?\s*([^\W\d_]+)\.?")


def _natural_duration(text: str) -> timedelta | None:
    """ "30 minutes", "2 часа", "2 години", "hour", "1 день": a count (one when left out) and a
    unit, in any case; None when `text` is no such thing."""
    match = _NATURAL.fullmatch(" ".join(text.lower().split()))
    unit = _UNITS.get(match[2]) if match else None
    if match is None or unit is None:
        return None
    return unit * int(match[1] or 1)


def digest_interval(text: str) -> timedelta:
    """`/every`: a duration between 5 minutes and 7 days ("30m", "30 minutes", "2 часа", "2
    години"), or `instant` (zero)."""
    if text.strip().lower() in ("instant", "now", "0"):
        return INSTANT
    try:
        interval = parse_duration(text)
    except ValueError as error:
        natural = _natural_duration(text)
        if natural is None:
            raise ValueError(said("{error}, or instant", error=error.args[0])) from None
        interval = natural
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


_MOMENT = re.compile(r"([01]?\d|2[0-3])(?:[:.]([0-5]\d))?\s*(am|pm|a\.m\.|p\.m\.)?")


def _minutes(text: str) -> int | None:
    """A time of day as minutes after midnight: "22:00", "7", "11pm", "7:30 am"."""
    match = _MOMENT.fullmatch(text.strip().lower())
    if match is None:
        return None
    hour, minute, half = int(match[1]), int(match[2] or 0), (match[3] or "").replace(".", "")
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    return hour * 60 + minute


def quiet_hours(text: str) -> tuple[int, int] | None:
    """`/quiet 22:00-07:00` (or 11pm-7am, 22-7) as minutes after midnight, or None for `off`."""
    cleaned = text.strip().lower()
    if cleaned in ("off", "none", "no"):
        return None
    start, dash, end = cleaned.replace("–", "-").replace("—", "-").partition("-")
    begin, finish = _minutes(start), _minutes(end)
    if not dash or begin is None or finish is None:
        raise ValueError(
            said(
                "«{hours}» is not a span of hours; write it as 22:00-07:00, or off",
                hours=shown(text),
            )
        )
    if begin == finish:
        raise ValueError(said("quiet hours must start and end at different times"))
    return begin, finish


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def timezone(text: str) -> str:
    """A time zone as people name it: a city in English, Russian or Ukrainian (Kyiv, Москва,
    Київ), an offset from UTC (+3) or an IANA name (Europe/Kyiv), in any case."""
    wanted = text.strip()
    if not wanted:
        raise ValueError(said("no time zone given"))
    name = zone_for(wanted)
    if name is None:
        raise ValueError(
            said(
                "«{zone}» is not a time zone we know; write a city (Kyiv, Москва), an offset from "
                "UTC (+3) or Area/City (Europe/Kyiv)",
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
