"""Typed feedwatch settings: pydantic models read from a TOML file and FEEDWATCH_* variables.
Every problem is reported at once, one sentence each naming file, table and key; files are read
only when regular and small, and TOML only when shallow, so no input costs unbounded memory."""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, NamedTuple, TypeVar, cast, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, PlainValidator, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.core.channel_address import NOT_A_CHANNEL, channel_name, channel_url, is_telegram_link
from bot.core.domain import FeedSpec, Watchlist
from bot.core.errors import ConfigError
from bot.core.said import N_, Said, said

DEFAULT_CONFIG_PATH = Path("config/feedwatch.toml")

# A real config or watchlist file is a few kilobytes and nests two or three levels; these refuse
# what would cost memory or recursion (tomllib recurses once per nested array or inline table).
MAX_TOML_BYTES = 1024 * 1024
MAX_TOML_DEPTH = 32
MAX_TOKEN_FILE_BYTES = 4096
# Why a TOML document is refused before it is parsed, in words a chat reads translated.
TOO_LARGE = N_("the file is larger than {size}")
TOO_DEEP = N_("the file nests arrays and tables too deep (line {line}): at most {depth} levels")
# How much of a value a problem quotes: a 100 KB term is named by its start.
_QUOTED_AT_MOST = 256

_MASK = "********"
_PASSWORD = re.compile(r"(://[^/:@]*:)[^/@]*@")


# --- durations ---------------------------------------------------------------------------------

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
# Units in falling order, each at most once; 12 digits keep int() and timedelta() from blowing up.
_DURATION = re.compile("".join(f"(?:([0-9]{{1,12}}){unit})?" for unit, _ in _UNITS))


def parse_duration(text: str) -> timedelta:
    """Read "90s", "10m", "1h", "1d" or a combination in falling order such as "1h30m"."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        raise ValueError(
            said("{text} is not a duration; write it as 90s, 10m, 1h or 1d", text=quoted(text))
        )
    seconds = sum(int(n) * size for n, (_, size) in zip(match.groups(), _UNITS, strict=True) if n)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(said("{text} is too long for a duration", text=repr(text))) from None


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


# --- how a problem quotes what it is about ------------------------------------------------------


def clipped(text: str) -> str:
    """At most `_QUOTED_AT_MOST` characters of `text`, "…" ending a longer one."""
    return text if len(text) <= _QUOTED_AT_MOST else text[: _QUOTED_AT_MOST - 1] + "…"


def quoted(text: str) -> str:
    """`text` as a problem quotes it: repr-style, clipped."""
    return repr(clipped(text))


def toml_type(value: object) -> str:
    """The TOML name of `value`'s type ("a string"), since that is the language the user wrote in."""
    kinds: tuple[tuple[type, str], ...] = (
        (bool, said("a boolean")),
        (int, said("an integer")),
        (float, said("a float")),
        (str, said("a string")),
        (list, said("an array")),
        (dict, said("a table")),
    )
    return next((name for cls, name in kinds if isinstance(value, cls)), said("a date or time"))


def unknown_key(key: str, value: object, known: Mapping[str, str]) -> str:
    """The problem with `key`, which is not one of `known` (a key and how a user would write it)."""
    if isinstance(value, dict):
        what = said("unknown table [{key}]", key=key)
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        what = said("unknown table [[{key}]]", key=key)
    else:
        what = said("unknown key {key}", key=quoted(key))
    if len(key) > _QUOTED_AT_MOST:  # no known key is long; difflib would take its time to say so
        return what
    close = difflib.get_close_matches(key, list(known), n=1)
    return (
        said("{problem}; did you mean {known}?", problem=what, known=known[close[0]])
        if close
        else what
    )


# --- value checks: each takes a TOML value and returns the typed one or raises ValueError -------
# They are pydantic's only validators (PlainValidator): the sentence a check raises is the one a
# user reads, and pydantic's own messages, which quote the value, never are.

_Check = Callable[[object], Any]


def stripped(value: object) -> str:
    """A TOML string, its spaces stripped; anything else is a problem."""
    if not isinstance(value, str):
        # translators: {type} is "a string", "an array", "a table"…, as translated on their own
        raise ValueError(said("must be a string, not {type}", type=toml_type(value)))
    return value.strip()


def _optional(check: _Check) -> _Check:
    """`check`, letting None through: TOML has no null, so only code sets a key to None."""
    return lambda value: None if value is None else check(value)


def _secret(value: object) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(stripped(value))


# No duration key needs more than a year, and far larger ones overflow the scheduler's datetimes.
_LONGEST = timedelta(days=365)


def _duration(shortest: timedelta, longest: timedelta = _LONGEST) -> _Check:
    def check(value: object) -> timedelta:
        if isinstance(value, timedelta):  # set in code rather than written
            td, written = value, str(value)
        elif isinstance(value, str):
            td, written = parse_duration(value), value.strip()
        else:
            raise ValueError(f'must be a duration string such as "10m", not {toml_type(value)}')
        if td < shortest:
            raise ValueError(
                f"{written!r} is too short; the minimum is {format_duration(shortest)}"
            )
        if td > longest:
            raise ValueError(f"{written!r} is too long; the maximum is {format_duration(longest)}")
        return td

    return check


def _integer(low: int, high: int) -> _Check:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, not {toml_type(value)}")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range; use {low} to {high}")
        return value

    return check


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # a file may quote it, as it always could
    raise ValueError(f"must be true or false, not {toml_type(value)}")


def _http_url(value: object) -> str:
    url = stripped(value)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # urlsplit refuses broken IPv6 hosts
        valid = False
    if not valid or any(ch.isspace() for ch in url):
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook_secret(value: object) -> SecretStr:
    secret = _secret(value)
    if secret and not _WEBHOOK_SECRET.fullmatch(secret.get_secret_value()):
        # Telegram's rule for secret_token; the value itself stays out of the message.
        raise ValueError("must be 1 to 256 letters, digits, _ and -")
    return secret


def _optional_http_url(value: object) -> str:
    return _http_url(value) if stripped(value) else ""


def _base_url(value: object) -> str:
    return _http_url(value).rstrip("/")


def _base_urls(value: object) -> tuple[str, ...]:
    if isinstance(value, str):  # from the environment: URLs a comma or a space apart
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"must be a list of http(s) URLs, not {toml_type(value)}")
    return tuple(_base_url(item) for item in value)


def _feed_url(value: object) -> str:
    """A feed's URL, or a public channel's address (`@name`, `t.me/name`, `t.me/s/name`) as the
    channel is stored: `https://t.me/s/<name>`."""
    name = channel_name(stripped(value)) if isinstance(value, str) else None
    if name is not None:
        return channel_url(name)
    if isinstance(value, str) and (value.strip().startswith("@") or is_telegram_link(value)):
        raise ValueError(NOT_A_CHANNEL)
    return _http_url(value)


def _proxy_url(value: object) -> str:
    url = stripped(value)
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https", "socks5", "socks5h") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(f"{url!r} is not a proxy URL (http://, https:// or socks5://HOST:PORT)")
    return url


def _bot_api_url(value: object) -> str:
    """The Bot API's base URL, written either as `http://host:port` or, as python-telegram-bot's
    `base_url` and the local Bot API server's guides write it, `http://host:port/bot`."""
    return _optional_http_url(value).rstrip("/").removesuffix("/bot")


_DATABASE_URL = re.compile(r"(?:sqlite|postgresql)(?:\+\w+)?://.*", re.DOTALL)


def _database_url(value: object) -> str:
    url = stripped(value)
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
        text = stripped(value)
        if (text or not optional) and not (
            (match := _LISTEN.fullmatch(text)) and int(match[1]) <= 65535
        ):
            off = ', or "" to turn it off' if optional else ""
            raise ValueError(
                f"{text!r} is not an address to listen on; write HOST:PORT such as {example}{off}"
            )
        return text

    return check


OptionalText = Annotated[
    str | None, PlainValidator(_optional(lambda value: stripped(value) or None))
]
_Duration = Annotated[timedelta, PlainValidator(_duration(timedelta(seconds=1)))]  # 1s or more

# Every table of a config file: frozen, and any key it does not declare is a problem.
TABLE = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


# --- the settings --------------------------------------------------------------------------------


class DatabaseSettings(BaseModel):
    model_config = TABLE

    url: Annotated[str, PlainValidator(_database_url)] = "sqlite:///feedwatch.db"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A PostgreSQL URL may carry a password; settings get logged, the password must not be.
        yield "url", _PASSWORD.sub(r"\1***@", self.url)


class TelegramSettings(BaseModel):
    model_config = TABLE

    token: Annotated[SecretStr, PlainValidator(_secret)] = SecretStr("")
    api_url: Annotated[str, PlainValidator(_bot_api_url)] = ""
    # Empty: updates are fetched with getUpdates by one replica at a time. A public https URL:
    # Telegram posts them there, to any replica behind it (webhook_listen is where each listens).
    webhook_url: Annotated[str, PlainValidator(_optional_http_url)] = ""
    webhook_listen: Annotated[str, PlainValidator(_listen("0.0.0.0:8443", optional=False))] = (
        "0.0.0.0:8443"
    )
    webhook_secret: Annotated[SecretStr, PlainValidator(_webhook_secret)] = SecretStr("")
    # Messages a private chat may get at once before they are paced to one a second (Telegram's
    # limit there); a local Bot API server without limits may allow more.
    private_burst: Annotated[int, PlainValidator(_integer(1, 1000))] = 1


class PollingSettings(BaseModel):
    model_config = TABLE

    interval: Annotated[timedelta, PlainValidator(_duration(timedelta(minutes=1)))] = timedelta(
        minutes=10
    )
    timeout: _Duration = timedelta(seconds=30)  # the whole request: a server that drips is cut off
    connect_timeout: _Duration = timedelta(seconds=10)
    # Bodies are read as a stream and cut off past this.
    max_body_mib: Annotated[int, PlainValidator(_integer(1, 1024))] = 10
    max_redirects: Annotated[int, PlainValidator(_integer(0, 20))] = 5
    concurrency: Annotated[int, PlainValidator(_integer(1, 1024))] = 64
    per_host: Annotated[int, PlainValidator(_integer(1, 64))] = 4
    # At most one request in this span to t.me (and telegram.me), which serves every channel.
    telegram_pace: _Duration = timedelta(seconds=1)
    # Where channel pages (/s/<name>) are read: t.me, then each fallback when one cannot be
    # reached; a mirror or a front proxy may stand in.
    telegram_base_url: Annotated[str, PlainValidator(_base_url)] = "https://t.me"
    telegram_fallback_urls: Annotated[tuple[str, ...], PlainValidator(_base_urls)] = (
        "https://telegram.me",
    )
    # An HTTP or SOCKS proxy (http://, socks5://) for channel pages, where t.me is blocked.
    proxy: Annotated[str, PlainValidator(_proxy_url)] = ""
    # How far back a channel is read on its first poll, and after a gap: whichever comes first.
    channel_depth: _Duration = timedelta(hours=24)
    channel_depth_posts: Annotated[int, PlainValidator(_integer(1, 10_000))] = 100
    # Items a feed's first poll finds older than this are its archive, not news: digests count
    # them apart ("12 older items from Meduza's archive") and /hits lists them. "0s": none are.
    archive_age: Annotated[timedelta, PlainValidator(_duration(timedelta(0)))] = timedelta(hours=24)
    tick: _Duration = timedelta(seconds=30)
    # Off, feeds may reach only public addresses; tests and the demo serve feeds on 127.0.0.1.
    allow_private_addresses: Annotated[bool, PlainValidator(_boolean)] = False
    # Processes that parse feeds (None: one per core; 0: a thread of the bot's own process).
    parse_workers: Annotated[int | None, PlainValidator(_optional(_integer(0, 64)))] = None
    # How long a replica's claim on a feed (or a chat's outbox) holds: a replica that dies gives
    # its work back after this. It must outlast a poll: the request timeout and the parsing.
    lease: Annotated[
        timedelta, PlainValidator(_duration(timedelta(seconds=5), timedelta(hours=1)))
    ] = timedelta(minutes=2)


class DigestSettings(BaseModel):
    model_config = TABLE

    interval: Annotated[
        timedelta, PlainValidator(_duration(timedelta(minutes=5), timedelta(days=7)))
    ] = timedelta(hours=1)
    tick: _Duration = timedelta(minutes=1)


class MetricsSettings(BaseModel):
    model_config = TABLE

    # Where /metrics and /healthz are served, HOST:PORT; empty: not at all.
    listen: Annotated[str, PlainValidator(_listen("127.0.0.1:9108", optional=True))] = (
        "127.0.0.1:9108"
    )

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) to bind, the brackets of an IPv6 host removed; None when turned off."""
        if not self.listen:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.removeprefix("[").removesuffix("]"), int(port)


class _Sections(BaseModel):
    """The tables of settings: a new field here is a new [table] of the config file, and each of
    its keys can be set by FEEDWATCH_<TABLE>__<KEY> as well."""

    model_config = TABLE

    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    polling: PollingSettings = PollingSettings()
    digest: DigestSettings = DigestSettings()
    metrics: MetricsSettings = MetricsSettings()


class Settings(_Sections):
    """Everything feedwatch runs with: the tables of settings, the feeds and watchlists, and the
    file they were read from."""

    source: Path | None = None
    feeds: tuple[FeedSpec, ...] = ()
    watchlists: tuple[Watchlist, ...] = ()


def _section_models(cls: type[BaseModel] = _Sections) -> dict[str, type[BaseModel]]:
    return {
        name: cast(type[BaseModel], field.annotation) for name, field in cls.model_fields.items()
    }


class _FeedTable(BaseModel):
    model_config = TABLE

    url: Annotated[str, PlainValidator(_feed_url)]
    name: OptionalText = None
    interval: Annotated[
        timedelta | None, PlainValidator(_optional(_duration(timedelta(minutes=1))))
    ] = None


# Top-level keys of a config file as a user would write them, for "did you mean" hints.
CONFIG_KEYS = {"watchlist_files": "'watchlist_files'"} | {
    name: f"[{name}]" for name in _Sections.model_fields
}
CONFIG_KEYS |= {"feed": "[[feed]]", "watchlist": "[[watchlist]]"}


# --- turning pydantic's findings into sentences ------------------------------------------------


class Problem(NamedTuple):
    """What is wrong with one key of a table. `at` is "" for the key's value and "[2]" for its
    second item; None when the key itself is the problem (unknown, or missing)."""

    key: str
    at: str | None
    message: str


def sentence(where: str, problem: Problem) -> str:
    """`problem` as it is reported: "{where} interval: …", or "{where}: unknown key …"."""
    # Said, not plain: a chat that imports a file reads the problem's words in its own language.
    if problem.at is None:
        return Said("{where}: {problem}", {"where": where, "problem": problem.message})
    return Said(
        "{where} {key}{at}: {problem}",
        {"where": where, "key": problem.key, "at": problem.at, "problem": problem.message},
    )


_Model = TypeVar("_Model", bound=BaseModel)


def check_table(
    model: type[_Model], table: Mapping[str, object]
) -> tuple[_Model | None, list[Problem]]:
    """`table` read as a `model`, or None and every problem, in the order of the table's keys."""
    try:
        return model.model_validate(table), []
    except ValidationError as error:
        problems = [_problem(model, table, detail) for detail in error.errors(include_input=False)]
    # The keys as written, then the missing ones as declared; pydantic lists unknown keys last.
    order = {key: index for index, key in enumerate(dict.fromkeys([*table, *model.model_fields]))}
    problems.sort(key=lambda problem: order[problem.key])
    return None, problems


def _problem(model: type[BaseModel], table: Mapping[str, object], detail: ErrorDetails) -> Problem:
    key, *inside = detail["loc"]
    key = str(key)
    if detail["type"] == "extra_forbidden":
        known = {name: repr(name) for name in model.model_fields}
        return Problem(key, None, unknown_key(key, table[key], known))
    if detail["type"] == "missing":
        return Problem(key, None, said("missing key {key}", key=repr(key)))
    at = "".join(f"[{part + 1}]" if isinstance(part, int) else f".{part}" for part in inside)
    error = detail.get("ctx", {}).get("error")
    # A check's own sentence, or none of pydantic's: those quote the value, and it may be secret.
    said_by_check = detail["type"] == "value_error" and error
    message = _message(error) if said_by_check else said("is not valid")
    return Problem(key, at, message)


def _message(error: object) -> str:
    """A check's sentence as it raised it: the `Said` itself, when it is one, for a chat to read in
    its own language."""
    args = error.args if isinstance(error, Exception) else ()
    return args[0] if len(args) == 1 and isinstance(args[0], Said) else str(error)


def tables(
    doc: Mapping[str, object], key: str, file: str, problems: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield each `[[key]]` table with its label, "[[feed]] #2 (Example)"."""
    raw = doc.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(table, dict) for table in raw):
        problems.append(
            said(
                "{file}: {key} must be written as [[{key}]] tables, not {type}",
                file=file,
                key=key,
                type=toml_type(raw),
            )
        )
        return
    for index, table in enumerate(raw, 1):
        name = table.get("name")
        label = f" ({clipped(name.strip())})" if isinstance(name, str) and name.strip() else ""
        yield f"[[{key}]] #{index}{label}", table


def unknown_keys(
    doc: Mapping[str, object], known: Mapping[str, str], file: str, hint: str = ""
) -> list[str]:
    """A problem for each top-level key of `doc` that is not one of `known`."""
    return [
        Said(
            "{file}: {problem}{hint}",
            {"file": file, "problem": unknown_key(key, value, known), "hint": hint},
        )
        for key, value in doc.items()
        if key not in known
    ]


# --- reading files: regular, small and shallow only --------------------------------------------


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
        raise ConfigError(
            [said("{file}: not valid TOML: the file is not UTF-8 text", file=file)]
        ) from None
    if (line := _too_deep(text, MAX_TOML_DEPTH)) is not None:
        raise TomlRefused(file, TOO_DEEP, line=line, depth=MAX_TOML_DEPTH)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # its message carries the line and column
        raise ConfigError(
            [said("{file}: not valid TOML: {error}", file=file, error=str(error))]
        ) from None


def read_toml(path: Path, problems: list[str], not_found: str) -> dict[str, Any] | None:
    """The TOML document at `path`; None when it cannot be read, with the problem added
    (`not_found` when there is no such file)."""
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


# --- the sources of settings: a config file and the environment --------------------------------


def _read_feeds(doc: Mapping[str, object], file: str, problems: list[str]) -> list[FeedSpec]:
    feeds: list[FeedSpec] = []
    seen: dict[str, str] = {}
    for label, table in tables(doc, "feed", file, problems):
        feed, wrong = check_table(_FeedTable, table)
        problems.extend(sentence(f"{file}: {label}", problem) for problem in wrong)
        valid_url = "url" in table and "url" not in {problem.key for problem in wrong}
        url = _feed_url(table["url"]) if valid_url else None
        if url in seen:
            problems.append(f"{file}: {label} url: duplicate URL; also in {seen[url]}")
        elif url is not None:
            seen[url] = label
            if feed is not None:
                feeds.append(FeedSpec(**dict(feed)))
    return feeds


class _Schema(BaseSettings, _Sections):
    """The tables of settings as pydantic-settings builds them from sources, the first source
    winning key by key over the next and over the defaults. The sources are given (`_layered`):
    never os.environ, a .env file or a secrets directory behind the caller's back."""

    model_config = SettingsConfigDict(
        env_prefix="FEEDWATCH_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        hide_input_in_errors=True,
    )
    sources: ClassVar[tuple[PydanticBaseSettingsSource, ...]] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return cls.sources


def _layered(*given: PydanticBaseSettingsSource) -> _Schema:
    """The tables of settings from the `given` sources, the first winning."""

    # pydantic-settings asks a class for its sources; a class of this call's own holds them.
    class Layered(_Schema):
        sources = given

    return Layered()


class _Checked(PydanticBaseSettingsSource):
    """A source that checks its values as it reads them: `problems` holds a sentence for each one
    that is wrong, `secrets` the text of each secret it read (no sentence may show one), and
    pydantic-settings is handed only the valid values."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.problems: list[str] = []
        self.secrets: set[str] = set()
        self.values: dict[str, dict[str, object]] = {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)

    def _keep(self, section: str, table: Mapping[str, object]) -> list[Problem]:
        """Check `table` as the `section` table: keep its valid keys, return the problems."""
        _, wrong = check_table(_section_models(self.settings_cls)[section], table)
        bad = {problem.key for problem in wrong}
        self.values[section] = {key: value for key, value in table.items() if key not in bad}
        return wrong


def _is_secret(field: FieldInfo) -> bool:
    return field.annotation is SecretStr


class _ConfigFile(_Checked):
    """The tables of settings of a parsed config file."""

    def __init__(
        self, settings_cls: type[BaseSettings], doc: Mapping[str, object], file: str
    ) -> None:
        super().__init__(settings_cls)
        for section, model in _section_models(settings_cls).items():
            table = doc.get(section, {})
            if not isinstance(table, dict):
                self.problems.append(
                    f"{file}: {section} must be written as a [{section}] table, not {toml_type(table)}"
                )
                continue
            wrong = self._keep(section, table)
            self.problems += [sentence(f"{file}: [{section}]", problem) for problem in wrong]
            for key, field in model.model_fields.items():
                raw = table.get(key)
                if (
                    _is_secret(field)
                    and isinstance(raw, str | int | float)
                    and not isinstance(raw, bool)
                ):
                    self.secrets.add(str(raw))


# The names these settings had before every key could be set as FEEDWATCH_<TABLE>__<KEY>; Docker
# Compose files and scripts use them, so they stay.
_OLD_NAMES = {
    ("database", "url"): "FEEDWATCH_DATABASE_URL",
    ("telegram", "token"): "FEEDWATCH_TELEGRAM_TOKEN",
    ("telegram", "api_url"): "FEEDWATCH_TELEGRAM_API_URL",
    ("telegram", "webhook_url"): "FEEDWATCH_TELEGRAM_WEBHOOK_URL",
    ("telegram", "webhook_secret"): "FEEDWATCH_TELEGRAM_WEBHOOK_SECRET",
}
_TOKEN_FILE = "FEEDWATCH_TELEGRAM_TOKEN_FILE"  # noqa: S105 - the variable's name, not a token
# A whole number as an environment variable writes it; 12 digits keep int() from blowing up.
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")


class _Environment(_Checked):
    """The settings that variables of `env` set: FEEDWATCH_<TABLE>__<KEY> for every key, the old
    names of five, and the token read from the file FEEDWATCH_TELEGRAM_TOKEN_FILE names. A
    variable that is empty, or only spaces, counts as unset."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        prefix = self.config.get("env_prefix", "")
        nested = self.config.get("env_nested_delimiter") or "__"
        self.names: dict[tuple[str, str], str] = {}  # the variable that set each key
        known = {_TOKEN_FILE}
        for section, model in _section_models(settings_cls).items():
            table: dict[str, object] = {}
            for key, field in model.model_fields.items():
                names = [f"{prefix}{section}{nested}{key}".upper()]
                names += [_OLD_NAMES[section, key]] if (section, key) in _OLD_NAMES else []
                known.update(names)
                if (name := self._set(env, names)) is None:
                    continue
                if _is_secret(field):
                    self.secrets.add(env[name])
                try:
                    table[key] = _from_text(field, env[name])
                except ValueError as error:
                    self.problems.append(f"environment variable {name}: {error}")
                    continue
                self.names[section, key] = name
            for problem in self._keep(section, table):
                variable = self.names[section, problem.key]
                self.problems.append(f"environment variable {variable}: {problem.message}")
        self._read_token_file(env)
        # A misspelt name would be ignored without a word: the file's "did you mean" applies.
        for name in sorted(env):
            ours = name.startswith(prefix) and nested in name.removeprefix(prefix)
            if ours and name not in known and env[name].strip():
                unknown = _unknown_variable(name, known)
                self.problems.append(f"environment variable {clipped(name)}: {unknown}")

    def _set(self, env: Mapping[str, str], names: list[str]) -> str | None:
        """Which of `names` (a key's variables, the current one first) is set; both is a problem."""
        given = [name for name in names if env.get(name, "").strip()]
        if len(given) > 1:
            self.problems.append(
                f"environment variables {given[1]} and {given[0]} are both set; set only one"
            )
        return given[0] if given else None

    def _read_token_file(self, env: Mapping[str, str]) -> None:
        if not (token_file := env.get(_TOKEN_FILE, "")).strip():
            return
        path = Path(token_file)
        text, failure = None, ""
        try:
            text = _read_file(path, MAX_TOKEN_FILE_BYTES).decode("utf-8")
        except FileNotFoundError:
            failure = f"file not found: {path.resolve()}"
        except (OSError, UnicodeDecodeError, _Unreadable) as error:
            reason = (
                error.strerror
                if isinstance(error, OSError)
                else "not UTF-8 text"
                if isinstance(error, UnicodeDecodeError)
                else str(error)
            )
            failure = f"cannot read {path}: {reason}"
        if text is not None:  # read even when it is not used, so that no sentence shows it
            self.secrets.add(text)
        if ("telegram", "token") in self.names:
            self.problems.append(
                f"environment variables {self.names['telegram', 'token']} and {_TOKEN_FILE} are "
                "both set; set only one"
            )
        elif text is None:
            self.problems.append(f"environment variable {_TOKEN_FILE}: {failure}")
        elif not text.strip():
            self.problems.append(f"environment variable {_TOKEN_FILE}: the file {path} is empty")
        else:
            self.values.setdefault("telegram", {})["token"] = SecretStr(text.strip())


def _from_text(field: FieldInfo, text: str) -> object:
    """A variable's text as the key's check takes it: as written, but read as TOML writes a whole
    number or a boolean for a key that takes one. Raises ValueError when it is not one."""
    written = text.strip()
    if field.annotation is bool:
        if written.lower() not in ("true", "false"):
            raise ValueError(f"{quoted(written)} is not true or false")
        return written.lower() == "true"
    if int in (field.annotation, *get_args(field.annotation)):
        if not _WHOLE_NUMBER.fullmatch(written):
            raise ValueError(f"{quoted(written)} is not a whole number")
        return int(written)
    return text


def _unknown_variable(name: str, known: set[str]) -> str:
    close = (
        difflib.get_close_matches(name, sorted(known), n=1) if len(name) <= _QUOTED_AT_MOST else []
    )
    return "unknown setting" + (f"; did you mean {close[0]}?" if close else "")


# --- the API -------------------------------------------------------------------------------------


def config_path(explicit: Path | None, env: Mapping[str, str]) -> Path:
    """The config file to read: `explicit`, else $FEEDWATCH_CONFIG, else the default."""
    if explicit is not None:
        return explicit
    return Path(env["FEEDWATCH_CONFIG"]) if env.get("FEEDWATCH_CONFIG") else DEFAULT_CONFIG_PATH


def check_config(
    path: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[Settings | None, list[str]]:
    """Read and check everything; return the settings (only when valid) and every problem found.
    The environment overrides the file, key by key; `env` is os.environ unless given."""
    env = os.environ if env is None else env
    source = config_path(path, env)
    problems: list[str] = []
    if source == DEFAULT_CONFIG_PATH:
        not_found = (
            f"config file not found: {source.resolve()} (none was given, and this is the default, "
            "relative to the current directory); run from the repository's folder, or give a "
            "file with --config PATH or FEEDWATCH_CONFIG"
        )
    else:
        not_found = (
            f"config file not found: {source}; the repository's config/feedwatch.toml is an "
            "example to start from"
        )
    doc = read_toml(source, problems, not_found)
    file = _ConfigFile(_Schema, doc or {}, str(source))
    feeds: list[FeedSpec] = []
    watchlists: list[Watchlist] = []
    if doc is not None:
        # Imported here, not at the top: the watchlist format builds on this module's reading
        # of TOML and its sentences, so importing it as this module loads would be a cycle.
        from bot.ops.watchlist_file import config_watchlists

        problems += unknown_keys(doc, CONFIG_KEYS, str(source))
        problems += file.problems
        feeds = _read_feeds(doc, str(source), problems)
        watchlists = config_watchlists(doc, source, problems)
    environment = _Environment(_Schema, env)
    problems += environment.problems
    sections = _layered(environment, file)
    polling = sections.polling
    if polling.lease <= polling.timeout:
        problems.append(
            f"{source}: [polling] lease: {format_duration(polling.lease)} must be longer than "
            f"the request timeout ({format_duration(polling.timeout)}), or a slow poll would be "
            "taken over while it runs"
        )
    if problems:
        # As written and as stripped; blank ones are no secret, and masking them would mask spaces.
        secrets = {
            form for text in file.secrets | environment.secrets for form in (text, text.strip())
        }
        for secret in sorted((form for form in secrets if form.strip()), key=len, reverse=True):
            problems = [problem.replace(secret, _MASK) for problem in problems]
        return None, problems
    settings = Settings(
        source=source, **dict(sections), feeds=tuple(feeds), watchlists=tuple(watchlists)
    )
    return settings, []


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Like `check_config`, but raise `ConfigError` listing every problem."""
    settings, problems = check_config(path, env)
    if settings is None:
        raise ConfigError(problems)
    return settings


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
