"""Typed feedwatch settings read from a TOML file, its watchlist files and FEEDWATCH_* variables.

Checking reports every problem at once, one sentence each naming the file, table and key. Files
are read only when regular and small, and TOML only when shallow: no input costs unbounded memory.
No business logic lives here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hmac
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from bot.domain import FeedSpec, Watchlist
from bot.errors import ConfigError
from bot.matching.terms import term_problem

DEFAULT_CONFIG_PATH = Path("config/feedwatch.toml")

# A real config or watchlist file is a few kilobytes and nests two or three levels; these refuse
# what would cost memory or recursion (tomllib recurses once per nested array or inline table).
MAX_TOML_BYTES = 1024 * 1024
MAX_TOML_DEPTH = 32
MAX_TOKEN_FILE_BYTES = 4096
# Why a TOML document is refused before it is parsed, in words a chat reads translated.
TOO_LARGE = "the file is larger than {size}"
TOO_DEEP = "the file nests arrays and tables too deep (line {line}): at most {depth} levels"
# How much of a value a problem quotes: a 100 KB term is named by its start.
_QUOTED_AT_MOST = 256

_MASK = "********"
_PASSWORD = re.compile(r"(://[^/:@]*:)[^/@]*@")


class Secret:
    """A string that stays out of logs and tracebacks: repr and str mask it, `reveal()` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"Secret('{_MASK if self._value else ''}')"

    def __str__(self) -> str:
        return _MASK if self._value else ""


_NO_TOKEN = Secret("")


@dataclass(frozen=True, slots=True, repr=False)
class DatabaseSettings:
    url: str = "sqlite:///feedwatch.db"

    def __repr__(self) -> str:
        # A PostgreSQL URL may carry a password; settings get logged, the password must not be.
        url = _PASSWORD.sub(r"\1***@", self.url)
        return f"DatabaseSettings(url={url!r})"


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    token: Secret = _NO_TOKEN
    api_url: str = ""
    # Empty: updates are fetched with getUpdates by one replica at a time. A public https URL:
    # Telegram posts them there, to any replica behind it (webhook_listen is where each listens).
    webhook_url: str = ""
    webhook_listen: str = "0.0.0.0:8443"
    webhook_secret: Secret = _NO_TOKEN


@dataclass(frozen=True, slots=True)
class PollingSettings:
    interval: timedelta = timedelta(minutes=10)
    timeout: timedelta = timedelta(seconds=30)  # the whole request: a server that drips is cut off
    connect_timeout: timedelta = timedelta(seconds=10)
    max_body_mib: int = 10  # read as a stream and cut off past this
    max_redirects: int = 5
    concurrency: int = 64
    per_host: int = 4
    tick: timedelta = timedelta(seconds=30)
    # Off, feeds may reach only public addresses; tests and the demo serve feeds on 127.0.0.1.
    allow_private_addresses: bool = False
    # Processes that parse feeds (None: one per core; 0: a thread of the bot's own process).
    parse_workers: int | None = None
    # How long a replica's claim on a feed (or a chat's outbox) holds: a replica that dies gives
    # its work back after this. It must outlast a poll: the request timeout and the parsing.
    lease: timedelta = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class DigestSettings:
    interval: timedelta = timedelta(hours=1)
    tick: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    # Where /metrics and /healthz are served, HOST:PORT; empty: not at all.
    listen: str = "127.0.0.1:9108"

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) to bind, the brackets of an IPv6 host removed; None when turned off."""
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.removeprefix("[").removesuffix("]"), int(port)


@dataclass(frozen=True, slots=True)
class Settings:
    source: Path | None = None
    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    polling: PollingSettings = PollingSettings()
    digest: DigestSettings = DigestSettings()
    metrics: MetricsSettings = MetricsSettings()
    feeds: tuple[FeedSpec, ...] = ()
    watchlists: tuple[Watchlist, ...] = ()


# --- durations ---------------------------------------------------------------------------------

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
# Units in falling order, each at most once; 12 digits keep int() and timedelta() from blowing up.
_DURATION = re.compile("".join(f"(?:([0-9]{{1,12}}){unit})?" for unit, _ in _UNITS))


def parse_duration(text: str) -> timedelta:
    """Read "90s", "10m", "1h", "1d" or a combination in falling order such as "1h30m"."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        raise ValueError(f"{_quoted(text)} is not a duration; write it as 90s, 10m, 1h or 1d")
    seconds = sum(int(n) * size for n, (_, size) in zip(match.groups(), _UNITS, strict=True) if n)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is too long for a duration") from None


def format_duration(td: timedelta) -> str:
    """Write `td` as `parse_duration` reads it ("1h30m", "0s"), dropping fractions of a second."""
    if td < timedelta(0):
        raise ValueError(f"{td} is negative; a duration cannot be")
    seconds = td.days * 86400 + td.seconds
    parts = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# --- value checks: each takes a TOML value and returns the typed one or raises ValueError ---

_Check = Callable[[object], Any]


class _Invalid(ValueError):
    """Several problems under one key, each with the suffix that points inside it ("[3]")."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def _clipped(text: str) -> str:
    """At most `_QUOTED_AT_MOST` characters of `text`, "…" ending a longer one."""
    return text if len(text) <= _QUOTED_AT_MOST else text[: _QUOTED_AT_MOST - 1] + "…"


def _quoted(text: str) -> str:
    """`text` as a problem quotes it: repr-style, clipped."""
    return repr(_clipped(text))


def _kind(value: object) -> str:
    # TOML's names for the types, since that is the language the user wrote in.
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
    )
    return next((name for cls, name in kinds if isinstance(value, cls)), "a date or time")


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {_kind(value)}")
    return value.strip()


def _optional_text(value: object) -> str | None:
    return _string(value) or None


def _secret(value: object) -> Secret:
    return Secret(_string(value))


# No duration key needs more than a year, and far larger ones overflow the scheduler's datetimes.
_LONGEST = timedelta(days=365)


def _duration(shortest: timedelta, longest: timedelta = _LONGEST) -> _Check:
    def check(value: object) -> timedelta:
        if not isinstance(value, str):
            raise ValueError(f'must be a duration string such as "10m", not {_kind(value)}')
        td = parse_duration(value)
        if td < shortest:
            raise ValueError(
                f"{value.strip()!r} is too short; the minimum is {format_duration(shortest)}"
            )
        if td > longest:
            raise ValueError(
                f"{value.strip()!r} is too long; the maximum is {format_duration(longest)}"
            )
        return td

    return check


def _integer(low: int, high: int) -> _Check:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, not {_kind(value)}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range; use {low} to {high}")
        return value

    return check


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # from an environment variable
    raise ValueError(f"must be true or false, not {_kind(value)}")


def _http_url(value: object) -> str:
    url = _string(value)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # urlsplit refuses broken IPv6 hosts
        valid = False
    if not valid or any(ch.isspace() for ch in url):
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook_secret(value: object) -> Secret:
    secret = _secret(value)
    if secret and not _WEBHOOK_SECRET.fullmatch(secret.reveal()):
        # Telegram's rule for secret_token; the value itself stays out of the message.
        raise ValueError("must be 1 to 256 letters, digits, _ and -")
    return secret


def _optional_http_url(value: object) -> str:
    return _http_url(value) if _string(value) else ""


def _bot_api_url(value: object) -> str:
    """The Bot API's base URL, written either as `http://host:port` or, as python-telegram-bot's
    `base_url` and the local Bot API server's guides write it, `http://host:port/bot`."""
    return _optional_http_url(value).rstrip("/").removesuffix("/bot")


_DATABASE_URL = re.compile(r"(?:sqlite|postgresql)(?:\+\w+)?://.*", re.DOTALL)


def _database_url(value: object) -> str:
    url = _string(value)
    if not _DATABASE_URL.fullmatch(url):
        # Only the scheme is quoted: the rest of a database URL may hold a password.
        scheme = url.partition("://")[0] if re.match(r"[A-Za-z][\w+.-]*://", url) else ""
        what = f"database {scheme!r} is not supported" if scheme else "is not a database URL"
        raise ValueError(f"{what}; write sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB")
    return url


_LISTEN = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})")


def _listen(example: str, *, optional: bool) -> _Check:
    """HOST:PORT to serve on ("[::1]:9108" for IPv6; port 0: any free one); with `optional`, ""
    turns the service off."""

    def check(value: object) -> str:
        text = _string(value)
        if (text or not optional) and not (
            (match := _LISTEN.fullmatch(text)) and int(match[1]) <= 65535
        ):
            off = ', or "" to turn it off' if optional else ""
            raise ValueError(
                f"{text!r} is not an address to listen on; write HOST:PORT such as {example}{off}"
            )
        return text

    return check


_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _watchlist_name(value: object) -> str:
    name = _string(value)
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{_quoted(name)} is not a valid name; use 1 to 64 letters, digits, - and _"
        )
    return name


def _terms(allow_empty: bool) -> _Check:
    def check(value: object) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise ValueError(f"must be an array of strings, not {_kind(value)}")
        if not value and not allow_empty:
            raise ValueError("the list is empty")
        terms: list[str] = []
        problems: list[tuple[str, str]] = []
        for index, term in enumerate(value, 1):
            if not isinstance(term, str):
                problems.append((f"[{index}]", f"must be a string, not {_kind(term)}"))
            elif why := term_problem(term):
                problems.append((f"[{index}]", f"term {_quoted(term)} {why}"))
            else:
                terms.append(term.strip())
        if problems:
            raise _Invalid(problems)
        return tuple(terms)

    return check


# --- the schema: known keys of every table and how to check them -------------------------------

_SECTIONS: dict[str, tuple[type, dict[str, _Check]]] = {
    "database": (DatabaseSettings, {"url": _database_url}),
    "telegram": (
        TelegramSettings,
        {
            "token": _secret,
            "api_url": _bot_api_url,
            "webhook_url": _optional_http_url,
            "webhook_listen": _listen("0.0.0.0:8443", optional=False),
            "webhook_secret": _webhook_secret,
        },
    ),
    "polling": (
        PollingSettings,
        {
            "interval": _duration(timedelta(minutes=1)),
            "timeout": _duration(timedelta(seconds=1)),
            "connect_timeout": _duration(timedelta(seconds=1)),
            "max_body_mib": _integer(1, 1024),
            "max_redirects": _integer(0, 20),
            "concurrency": _integer(1, 1024),
            "per_host": _integer(1, 64),
            "tick": _duration(timedelta(seconds=1)),
            "allow_private_addresses": _boolean,
            "parse_workers": _integer(0, 64),
            "lease": _duration(timedelta(seconds=5), timedelta(hours=1)),
        },
    ),
    "digest": (
        DigestSettings,
        {
            "interval": _duration(timedelta(minutes=5), timedelta(days=7)),
            "tick": _duration(timedelta(seconds=1)),
        },
    ),
    "metrics": (MetricsSettings, {"listen": _listen("127.0.0.1:9108", optional=True)}),
}
_FEED = {"url": _http_url, "name": _optional_text, "interval": _duration(timedelta(minutes=1))}
_WATCHLIST = {
    "name": _watchlist_name,
    "title": _optional_text,
    "terms": _terms(allow_empty=False),
    "require": _terms(allow_empty=True),
    "exclude": _terms(allow_empty=True),
}
# Top-level keys as a user would write them, for "did you mean" hints.
_CONFIG_KEYS = {"watchlist_files": "'watchlist_files'"} | {name: f"[{name}]" for name in _SECTIONS}
_CONFIG_KEYS |= {"feed": "[[feed]]", "watchlist": "[[watchlist]]"}
_WATCHLIST_FILE_KEYS = {"watchlist": "[[watchlist]]"}

_ENV_OVERRIDES = {
    "FEEDWATCH_DATABASE_URL": ("database", "url"),
    "FEEDWATCH_TELEGRAM_TOKEN": ("telegram", "token"),
    "FEEDWATCH_TELEGRAM_API_URL": ("telegram", "api_url"),
    "FEEDWATCH_TELEGRAM_WEBHOOK_URL": ("telegram", "webhook_url"),
    "FEEDWATCH_TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
}
_TOKEN_FILE = "FEEDWATCH_TELEGRAM_TOKEN_FILE"  # noqa: S105 - the variable's name, not a token


def _unknown(key: str, value: object, known: Mapping[str, str]) -> str:
    if isinstance(value, dict):
        what = f"table [{key}]"
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        what = f"table [[{key}]]"
    else:
        what = f"key {_quoted(key)}"
    if len(key) > _QUOTED_AT_MOST:  # no known key is long; difflib would take its time to say so
        return f"unknown {what}"
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"unknown {what}" + (f"; did you mean {known[close[0]]}?" if close else "")


def _read_table(
    raw: Mapping[str, object],
    checks: Mapping[str, _Check],
    where: str,
    problems: list[str],
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Check every key of `raw`; return the valid values and add a problem for each invalid one."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        check = checks.get(key)
        if check is None:
            problems.append(f"{where}: {_unknown(key, value, {k: repr(k) for k in checks})}")
            continue
        try:
            values[key] = check(value)
        except _Invalid as error:
            problems.extend(f"{where} {key}{at}: {message}" for at, message in error.problems)
        except ValueError as error:
            problems.append(f"{where} {key}: {error}")
    problems.extend(f"{where}: missing key {key!r}" for key in required if key not in raw)
    return values


def _tables(
    doc: Mapping[str, object], key: str, file: str, problems: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield each `[[key]]` table with its label, "[[feed]] #2 (Example)"."""
    raw = doc.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(table, dict) for table in raw):
        problems.append(f"{file}: {key} must be written as [[{key}]] tables, not {_kind(raw)}")
        return
    for index, table in enumerate(raw, 1):
        name = table.get("name")
        label = f" ({_clipped(name.strip())})" if isinstance(name, str) and name.strip() else ""
        yield f"[[{key}]] #{index}{label}", table


def _check_top_level(
    doc: Mapping[str, object],
    known: Mapping[str, str],
    file: str,
    problems: list[str],
    hint: str = "",
) -> None:
    problems.extend(
        f"{file}: {_unknown(key, value, known)}{hint}"
        for key, value in doc.items()
        if key not in known
    )


class TomlRefused(ConfigError):
    """A TOML document refused before it is parsed: too large or nested too deep. `template` and
    `params` let a chat read why in its own language; `problems` holds the sentence in English."""

    def __init__(self, file: str, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__([f"{file}: {template.format(**params)}"])


class _Unreadable(ValueError):
    """A file refused before it is read, and why: not a regular file, or too large."""


def size_text(limit: int) -> str:
    """A size as the sentences about files say it: "1 MiB", "4 KiB"."""
    mib = 1024 * 1024
    return f"{limit / mib:g} MiB" if limit >= mib else f"{limit / 1024:g} KiB"


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _read_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, never more than `limit` + 1 read. Raises OSError
    (FileNotFoundError when there is none) or `_Unreadable` for a directory, a FIFO, a device
    such as /dev/zero, or a file over `limit`."""
    # Non-blocking, so that opening a FIFO with no writer returns; it is refused just below.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode  # of what was opened: a path swapped meanwhile changes nothing
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _FILE_KINDS if test(mode)), "something else")
            raise _Unreadable(f"not a regular file but {kind}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)  # a size on disk may lie (/proc); what is read cannot
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _Unreadable(TOO_LARGE.format(size=size_text(limit)))
    return data


_TOML_SYNTAX = re.compile(r"""[\[\]{}#"']""")
_BASIC_END = re.compile(r'\\.|["\n]', re.DOTALL)
_LITERAL_END = re.compile(r"['\n]")
_MULTILINE_BASIC_END = re.compile(r'\\.|"{3,}', re.DOTALL)
_MULTILINE_LITERAL_END = re.compile(r"'{3,}")


def _string_end(text: str, start: int) -> int:
    """Where the TOML string that opens at `start` ends: basic "…" (with escapes) and literal '…'
    on one line, or their multi-line forms between three quotes (a closing run of up to five
    holds two of the string's own). An unclosed one ends at the end of its line, or of the text:
    tomllib refuses it there, before reading any bracket after it."""
    quote = text[start]
    multiline = text.startswith(quote * 3, start)
    if quote == "'":
        pattern = _MULTILINE_LITERAL_END if multiline else _LITERAL_END
    else:
        pattern = _MULTILINE_BASIC_END if multiline else _BASIC_END
    pos = start + (3 if multiline else 1)
    while (found := pattern.search(text, pos)) is not None:
        pos = found.end()
        if not found.group().startswith("\\"):
            return pos
    return len(text)


def _too_deep(text: str, most: int) -> int | None:
    """The line on which brackets first nest deeper than `most`, or None: arrays, inline tables
    and table headers, counted outside strings and comments. One pass, no recursion, so that a
    document 10,000 levels deep is refused before tomllib recurses into it."""
    depth, pos = 0, 0
    while (found := _TOML_SYNTAX.search(text, pos)) is not None:
        char, pos = found.group(), found.end()
        if char in "[{":
            depth += 1
            if depth > most:
                return text.count("\n", 0, pos) + 1
        elif char in "]}":
            depth = max(depth - 1, 0)
        elif char == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        else:
            pos = _string_end(text, pos - 1)
    return None


def parse_toml(data: bytes, file: str) -> dict[str, Any]:
    """`data` read as TOML, after the checks that keep tomllib's cost bounded: at most
    `MAX_TOML_BYTES`, nested at most `MAX_TOML_DEPTH` deep (else `TomlRefused`). Raises
    ConfigError with the sentence when it is not UTF-8 or not TOML."""
    if len(data) > MAX_TOML_BYTES:
        raise TomlRefused(file, TOO_LARGE, size=size_text(MAX_TOML_BYTES))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{file}: not valid TOML: the file is not UTF-8 text"]) from None
    if (line := _too_deep(text, MAX_TOML_DEPTH)) is not None:
        raise TomlRefused(file, TOO_DEEP, line=line, depth=MAX_TOML_DEPTH)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # its message carries the line and column
        raise ConfigError([f"{file}: not valid TOML: {error}"]) from None


def _read_toml(path: Path, problems: list[str], not_found: str) -> dict[str, Any] | None:
    try:
        return parse_toml(_read_file(path, MAX_TOML_BYTES), str(path))
    except FileNotFoundError:
        problems.append(not_found)
    except OSError as error:
        problems.append(f"{path}: cannot read the file: {error.strerror}")
    except _Unreadable as error:
        problems.append(f"{path}: {error}")
    except ConfigError as error:
        problems.extend(error.problems)
    return None


def _read_feeds(doc: Mapping[str, object], file: str, problems: list[str]) -> list[FeedSpec]:
    feeds: list[FeedSpec] = []
    seen: dict[str, str] = {}
    for label, table in _tables(doc, "feed", file, problems):
        before = len(problems)
        values = _read_table(table, _FEED, f"{file}: {label}", problems, required=("url",))
        url = values.get("url")
        if url in seen:
            problems.append(f"{file}: {label} url: duplicate URL; also in {seen[url]}")
        elif url is not None:
            seen[url] = label
        if len(problems) == before:
            feeds.append(FeedSpec(**values))
    return feeds


def _read_watchlists(
    doc: Mapping[str, object], file: str, problems: list[str], names: dict[str, str]
) -> list[Watchlist]:
    """Read the `[[watchlist]]` tables of one file; `names` maps the names seen so far to where."""
    watchlists: list[Watchlist] = []
    for label, table in _tables(doc, "watchlist", file, problems):
        where = f"{file}: {label}"
        before = len(problems)
        values = _read_table(table, _WATCHLIST, where, problems, required=("name", "terms"))
        name = values.get("name")
        if name is not None:
            # Case-blind, so that "RVC" and "rvc" cannot both exist and confuse chat commands.
            if (also := names.get(name.lower())) is not None:
                problems.append(f"{where}: duplicate name; also defined in {also}")
            else:
                names[name.lower()] = f"{file} {label.partition(' (')[0]}"
        if len(problems) == before:
            watchlists.append(Watchlist(**values))
    return watchlists


def _read_watchlist_files(
    doc: Mapping[str, object], file: str, base: Path, problems: list[str], names: dict[str, str]
) -> list[Watchlist]:
    """Follow `watchlist_files`, relative to the directory of the file that names them."""
    entries = doc.get("watchlist_files", [])
    if not isinstance(entries, list):
        problems.append(
            f"{file}: watchlist_files: must be an array of strings, not {_kind(entries)}"
        )
        return []
    watchlists: list[Watchlist] = []
    seen: set[Path] = set()
    for index, entry in enumerate(entries, 1):
        where = f"{file}: watchlist_files[{index}]"
        if not isinstance(entry, str):
            problems.append(f"{where}: must be a string, not {_kind(entry)}")
            continue
        path = base / entry.strip()
        if path.resolve() in seen:
            problems.append(f"{where}: {entry!r} is listed twice")
            continue
        seen.add(path.resolve())
        not_found = f"{where}: file {entry!r} not found (looked for {path.resolve()})"
        if (listed := _read_toml(path, problems, not_found)) is not None:
            hint = "; a watchlist file holds only [[watchlist]] tables"
            _check_top_level(listed, _WATCHLIST_FILE_KEYS, str(path), problems, hint)
            watchlists += _read_watchlists(listed, str(path), problems, names)
    return watchlists


def _read_env(env: Mapping[str, str], problems: list[str]) -> dict[tuple[str, str], Any]:
    """Return the valid overrides as (section, key) -> value; empty variables count as unset."""
    overrides: dict[tuple[str, str], Any] = {}
    for variable, (section, key) in _ENV_OVERRIDES.items():
        if (value := env.get(variable, "")).strip():
            try:
                overrides[section, key] = _SECTIONS[section][1][key](value)
            except ValueError as error:
                problems.append(f"environment variable {variable}: {error}")
    if (token_file := env.get(_TOKEN_FILE, "")).strip():
        if env.get("FEEDWATCH_TELEGRAM_TOKEN", "").strip():
            problems.append(
                f"environment variables FEEDWATCH_TELEGRAM_TOKEN and {_TOKEN_FILE} are both set; "
                "set only one"
            )
        else:
            path = Path(token_file)
            try:
                token = _read_file(path, MAX_TOKEN_FILE_BYTES).decode("utf-8").strip()
            except FileNotFoundError:
                token = None
                problems.append(
                    f"environment variable {_TOKEN_FILE}: file not found: {path.resolve()}"
                )
            except (OSError, UnicodeDecodeError, _Unreadable) as error:
                token = None
                reason = (
                    error.strerror
                    if isinstance(error, OSError)
                    else "not UTF-8 text"
                    if isinstance(error, UnicodeDecodeError)
                    else str(error)
                )
                problems.append(f"environment variable {_TOKEN_FILE}: cannot read {path}: {reason}")
            if token == "":
                problems.append(f"environment variable {_TOKEN_FILE}: the file {path} is empty")
            elif token is not None:
                overrides["telegram", "token"] = Secret(token)
    return overrides


def _token_texts(doc: Mapping[str, object] | None, env: Mapping[str, str]) -> set[str]:
    """Every form the token may take, so that no problem sentence can quote it."""
    texts = {env.get("FEEDWATCH_TELEGRAM_TOKEN", "")}
    telegram = doc.get("telegram") if doc else None
    raw = telegram.get("token") if isinstance(telegram, dict) else None
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        texts.add(str(raw))
    if token_file := env.get(_TOKEN_FILE):
        with contextlib.suppress(OSError, UnicodeDecodeError, _Unreadable):
            texts.add(_read_file(Path(token_file), MAX_TOKEN_FILE_BYTES).decode("utf-8"))
    return {form for text in texts for form in (text, text.strip()) if form}


# --- the API -------------------------------------------------------------------------------------


def config_path(explicit: Path | None, env: Mapping[str, str]) -> Path:
    """The config file to read: `explicit`, else $FEEDWATCH_CONFIG, else the default."""
    if explicit is not None:
        return explicit
    return Path(env["FEEDWATCH_CONFIG"]) if env.get("FEEDWATCH_CONFIG") else DEFAULT_CONFIG_PATH


def check_config(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[Settings | None, list[str]]:
    """Read and check everything; return the settings (only when valid) and every problem found."""
    env = os.environ if env is None else env
    source = config_path(path, env)
    problems: list[str] = []
    not_found = (
        f"config file not found: {source}; copy config/feedwatch.toml or set FEEDWATCH_CONFIG"
    )
    doc = _read_toml(source, problems, not_found)
    sections: dict[str, Any] = {name: cls() for name, (cls, _) in _SECTIONS.items()}
    feeds: list[FeedSpec] = []
    watchlists: list[Watchlist] = []
    if doc is not None:
        file = str(source)
        _check_top_level(doc, _CONFIG_KEYS, file, problems)
        for name, (cls, checks) in _SECTIONS.items():
            raw = doc.get(name, {})
            if isinstance(raw, dict):
                sections[name] = cls(**_read_table(raw, checks, f"{file}: [{name}]", problems))
            else:
                problems.append(
                    f"{file}: {name} must be written as a [{name}] table, not {_kind(raw)}"
                )
        feeds = _read_feeds(doc, file, problems)
        names: dict[str, str] = {}
        watchlists = _read_watchlists(doc, file, problems, names)
        watchlists += _read_watchlist_files(doc, file, source.parent, problems, names)
    for (section, key), value in _read_env(env, problems).items():
        sections[section] = dataclasses.replace(sections[section], **{key: value})
    polling: PollingSettings = sections["polling"]
    if polling.lease <= polling.timeout:
        problems.append(
            f"{source}: [polling] lease: {format_duration(polling.lease)} must be longer than "
            f"the request timeout ({format_duration(polling.timeout)}), or a slow poll would be "
            "taken over while it runs"
        )
    if problems:
        secrets = sorted(_token_texts(doc, env), key=len, reverse=True)
        for secret in secrets:
            problems = [problem.replace(secret, _MASK) for problem in problems]
        return None, problems
    return Settings(source, **sections, feeds=tuple(feeds), watchlists=tuple(watchlists)), []


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Like `check_config`, but raise `ConfigError` listing every problem."""
    settings, problems = check_config(path, env)
    if settings is None:
        raise ConfigError(problems)
    return settings


def load_watchlists(path: Path) -> tuple[Watchlist, ...]:
    """The watchlists of a watchlist file or of a config file (following its `watchlist_files`)."""
    problems: list[str] = []
    doc = _read_toml(path, problems, f"watchlist file not found: {path}")
    watchlists: list[Watchlist] = []
    if doc is not None:
        file = str(path)
        _check_top_level(doc, _CONFIG_KEYS, file, problems)
        names: dict[str, str] = {}
        watchlists = _read_watchlists(doc, file, problems, names)
        watchlists += _read_watchlist_files(doc, file, path.parent, problems, names)
        if not watchlists and not problems:
            problems.append(f"{file}: no [[watchlist]] tables found")
    if problems:
        raise ConfigError(problems)
    return tuple(watchlists)


def read_watchlists_document(data: bytes, file: str) -> tuple[Watchlist, ...]:
    """The watchlists of a TOML document sent to a chat (`/import`), checked as a watchlist file is;
    every problem is reported at once, with the document's name and the table. A document too
    large or too deep is refused before it is parsed, with `TomlRefused`."""
    problems: list[str] = []
    watchlists: list[Watchlist] = []
    try:
        doc: dict[str, Any] | None = parse_toml(data, file)
    except TomlRefused:
        raise
    except ConfigError as error:
        problems.extend(error.problems)
        doc = None
    if doc is not None:
        _check_top_level(doc, {"watchlist": "[[watchlist]] tables"}, file, problems)
        watchlists = _read_watchlists(doc, file, problems, {})
        if not watchlists and not problems:
            problems.append(f"{file}: no [[watchlist]] tables found")
    if problems:
        raise ConfigError(problems)
    return tuple(watchlists)


def watchlists_document(watchlists: Sequence[Watchlist]) -> str:
    """Watchlists as a TOML document in the format of `config/watchlists.toml` (`/export`)."""
    tables = []
    for watchlist in watchlists:
        table: dict[str, Any] = {"name": watchlist.label}
        if watchlist.title:
            table["title"] = watchlist.title
        table["terms"] = list(watchlist.terms)
        if watchlist.require:
            table["require"] = list(watchlist.require)
        if watchlist.exclude:
            table["exclude"] = list(watchlist.exclude)
        tables.append(table)
    return tomli_w.dumps({"watchlist": tables})


def summary(settings: Settings) -> str:
    """One line that says what the settings hold, for the log at start-up and `feedwatch check`."""

    def count(n: int, noun: str) -> str:
        return f"{n} {noun}{'' if n == 1 else 's'}"

    terms = sum(len(watchlist.terms) for watchlist in settings.watchlists)
    dialect = settings.database.url.partition(":")[0].partition("+")[0]
    telegram = (
        "telegram token set"
        if settings.telegram.token
        else "no telegram token (digests print to the terminal)"
    )
    return (
        f"{settings.source or 'built-in settings'}: {count(len(settings.feeds), 'feed')}, "
        f"{count(len(settings.watchlists), 'watchlist')} ({count(terms, 'term')}), "
        f"database {dialect}, {telegram}"
    )
