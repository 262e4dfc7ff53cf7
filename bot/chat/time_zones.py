"""A time zone from what a person types after /tz: an IANA name (Europe/Kyiv), a city in English,
Russian or Ukrainian (Kyiv, Киев, Київ, Москва), or an offset from UTC (+3, UTC-5, GMT+03:00).
City names come from Babel's locale data (CLDR); the index is made once, when first asked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from zoneinfo import available_timezones

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone, get_timezone_location

__all__ = ["LANGUAGES", "offset_label", "zone_for"]

LANGUAGES = ("en", "ru", "uk")
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+\-\u2212])\s*(\d{1,2})(?::?00)?", re.IGNORECASE)
_ETC = re.compile(r"Etc/GMT([+-])(\d{1,2})")


def _key(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


@cache
def _cities() -> dict[str, str]:
    """Every way of naming a zone's city, casefolded, to the zone: the city in each language,
    and the last part of the IANA name ("New_York" as "new york")."""
    index: dict[str, str] = {}
    locales = [Locale.parse(lang) for lang in LANGUAGES]
    aliases = _aliases()
    # Canonical zones first: an alias (Europe/Belfast) never takes its city's name (London).
    for zone in sorted(_zones().values(), key=lambda z: (z in aliases, z)):
        area, _, city = zone.partition("/")
        if not city or area in ("Etc", "SystemV", "US", "Brazil", "Canada", "Chile", "Mexico"):
            continue
        names = {city.rpartition("/")[2]}
        if zone not in aliases:
            try:
                tz = get_timezone(zone)
            except LookupError:
                pass
            else:
                names.update(
                    get_timezone_location(tz, locale=lo, return_city=True) for lo in locales
                )
        for name in names:
            index.setdefault(_key(name), aliases.get(zone, zone))
    return index


@cache
def _aliases() -> dict[str, str]:
    """Old and linked zone names to the zone that stands for them now (Europe/Kiev: Europe/Kyiv)."""
    found: Mapping[str, str] = get_global("zone_aliases")
    zones = set(_zones().values())
    return {alias: zone for alias, zone in found.items() if zone in zones}


@cache
def _zones() -> dict[str, str]:
    """The zones this machine knows, by their name in lower case: `available_timezones` walks the
    tz database's folders on every call, so once is enough."""
    return {name.lower(): name for name in available_timezones()}


def zone_for(text: str) -> str | None:
    """The IANA zone `text` names, or None. An offset gives a fixed zone, "Etc/GMT-3" for UTC+3
    (POSIX's signs are the other way round)."""
    wanted = text.strip()
    if not wanted:
        return None
    if (name := _zones().get(wanted.lower())) is not None:
        return _aliases().get(name, name)
    if (offset := _OFFSET.fullmatch(wanted)) is not None:
        hours, ahead = int(offset[2]), offset[1] == "+"
        if hours == 0:
            return "UTC"
        if hours > (14 if ahead else 12):
            return None
        # "+3" is three hours ahead of UTC: Etc/GMT-3.
        return f"Etc/GMT{'-' if ahead else '+'}{hours}"
    return _cities().get(_key(wanted))


def offset_label(zone: str) -> str:
    """How a chat reads a fixed zone: "UTC+3" for Etc/GMT-3; other zones by their name."""
    match = _ETC.fullmatch(zone)
    if match is None:
        return zone
    return f"UTC{'-' if match[1] == '+' else '+'}{int(match[2])}"
