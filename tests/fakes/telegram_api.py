"""A fake Telegram Bot API server: real HTTP on 127.0.0.1, every request checked against api.json.

Point python-telegram-bot at `FakeBotApi.url`, push updates, then assert on what the bot sent.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import html
import itertools
import json
import math
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

JSONDict = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
# Sender of pushed group messages when the test names nobody.
DEFAULT_USER_ID = 424242
TEXT_MAX = 4096
CAPTION_MAX = 1024
# Long polls are capped so that a bot's shutdown never waits on the fake for long.
LONG_POLL_CAP = 1.0
# Nested objects deeper than this are accepted unchecked (keyboards need 4 levels).
MAX_CHECK_DEPTH = 8

_MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")


def default_spec_path() -> Path:
    """The Bot API spec kept in the repository (tests/data/telegram-bot-api, with its SOURCES.md)."""
    return Path(__file__).resolve().parents[1] / "data" / "telegram-bot-api" / "api.json"


@functools.lru_cache(maxsize=4)
def _load_spec(path: str) -> _Spec:
    # Parsed once per run: api.json is ~1 MB and every test starts a server.
    with open(path, encoding="utf-8") as fh:
        return _Spec(json.load(fh))


# --------------------------------------------------------------------------------------------
# Formatting: Telegram's HTML dialect (strict) and MarkdownV2 (loose, never an error)
# --------------------------------------------------------------------------------------------


class EntityParseError(ValueError):
    """The text is not valid in its parse_mode; `str()` is the part after "can't parse entities: "."""


_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
        "tg-time",
    }
)
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]+));")
_TAG_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_END_TAG_RE = re.compile(r"</([A-Za-z][A-Za-z0-9-]*)\s*>")
_ATTR_NAME_RE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*")
_UNQUOTED_VALUE_RE = re.compile(r"[^\s\"'`=<>]+")
_TIME_FORMAT_RE = re.compile(r"r|w?[dD]?[tT]?")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(match: re.Match[str]) -> str | None:
    decimal, hexa, name = match.groups()
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _decode_attribute(raw: str) -> str:
    # Inside attribute values Telegram keeps an unknown "&..." literally (URLs with query strings).
    def repl(match: re.Match[str]) -> str:
        decoded = _decode_entity(match)
        return match.group(0) if decoded is None else decoded

    return _ENTITY_RE.sub(repl, raw)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the plain text
    language: str | None = None


def _entity_for(tag: _OpenTag, end: int) -> JSONDict | None:
    length = end - tag.start
    if length <= 0:  # Telegram silently drops empty entities
        return None
    entity: JSONDict = {"offset": tag.start, "length": length}
    if tag.name in _SIMPLE_ENTITY:
        entity["type"] = _SIMPLE_ENTITY[tag.name]
        if tag.name == "pre" and tag.language:
            entity["language"] = tag.language
    elif tag.name == "a":
        href = tag.attrs["href"]
        user = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if user:
            uid = int(user.group(1))
            entity["type"] = "text_mention"
            entity["user"] = {"id": uid, "is_bot": False, "first_name": f"User {uid}"}
        else:
            entity["type"] = "text_link"
            entity["url"] = href
    elif tag.name == "tg-emoji":
        entity["type"] = "custom_emoji"
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    elif tag.name == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
    elif tag.name == "tg-time":
        entity["type"] = "date_time"
        entity["unix_time"] = int(tag.attrs["unix"])
        if tag.attrs.get("format"):
            entity["date_time_format"] = tag.attrs["format"]
    return entity


def _check_tag_attributes(name: str, attrs: dict[str, str], where: int) -> None:
    if name == "a" and not attrs.get("href"):
        raise EntityParseError(
            f'Tag "a" must have a non-empty "href" attribute at byte offset {where}'
        )
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
    if name == "tg-emoji" and not re.fullmatch(r"\d+", attrs.get("emoji-id", "")):
        raise EntityParseError(
            f'Tag "tg-emoji" must have a numeric "emoji-id" at byte offset {where}'
        )
    if name == "tg-time":
        if not re.fullmatch(r"\d+", attrs.get("unix", "")):
            raise EntityParseError(
                f'Tag "tg-time" must have a numeric "unix" at byte offset {where}'
            )
        if not _TIME_FORMAT_RE.fullmatch(attrs.get("format", "")):
            raise EntityParseError(
                f'Invalid tg-time format "{attrs["format"]}" at byte offset {where}'
            )


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram HTML into (plain text, entities with UTF-16 offsets) or raise EntityParseError.

    Stricter than Telegram in one way, as its documentation asks: every `<`, `>` and `&` that is
    not part of a tag or an entity must be escaped (Telegram itself tolerates a stray `&` or `>`).
    """
    out: list[str] = []
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[JSONDict] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            match = _ENTITY_RE.match(text, i)
            decoded = _decode_entity(match) if match else None
            if match is None or decoded is None:
                raise EntityParseError(
                    f'Character "&" must be escaped as "&amp;" (byte offset {_byte_offset(text, i)})'
                )
            out.append(decoded)
            utf16 += _utf16_len(decoded)
            i = match.end()
            continue
        if ch == ">":
            raise EntityParseError(
                f'Character ">" must be escaped as "&gt;" (byte offset {_byte_offset(text, i)})'
            )
        if ch != "<":
            out.append(ch)
            utf16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue
        where = _byte_offset(text, i)
        if text.startswith("</", i):
            end_match = _END_TAG_RE.match(text, i)
            if end_match is None:
                raise EntityParseError(f"Unclosed end tag at byte offset {where}")
            name = end_match.group(1).lower()
            if not stack:
                raise EntityParseError(f'Unexpected end tag "</{name}>" at byte offset {where}')
            top = stack.pop()
            if top.name != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {where}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            parent = stack[-1] if stack else None
            if top.name == "code" and parent is not None and parent.name == "pre":
                # <pre><code class="language-x"> is one pre entity with a language.
                cls = top.attrs.get("class", "")
                if cls.startswith("language-") and len(cls) > len("language-"):
                    parent.language = cls[len("language-") :]
            else:
                entity = _entity_for(top, utf16)
                if entity is not None:
                    entities.append(entity)
            i = end_match.end()
            continue
        name_match = _TAG_NAME_RE.match(text, i + 1)
        if name_match is None:
            raise EntityParseError(f'Character "<" must be escaped as "&lt;" (byte offset {where})')
        name = name_match.group(0).lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {where}')
        attrs: dict[str, str] = {}
        j = name_match.end()
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {where}')
            if text[j] == ">":
                j += 1
                break
            attr_match = _ATTR_NAME_RE.match(text, j)
            if attr_match is None:
                raise EntityParseError(
                    f'Unexpected "{text[j]}" in start tag "{name}" at byte offset {where}'
                )
            attr_name = attr_match.group(0).lower()
            j = attr_match.end()
            while j < n and text[j].isspace():
                j += 1
            value = ""
            if j < n and text[j] == "=":
                j += 1
                while j < n and text[j].isspace():
                    j += 1
                if j < n and text[j] in "\"'":
                    close = text.find(text[j], j + 1)
                    if close < 0:
                        raise EntityParseError(
                            f'Unclosed start tag "{name}" at byte offset {where}'
                        )
                    value = _decode_attribute(text[j + 1 : close])
                    j = close + 1
                else:
                    value_match = _UNQUOTED_VALUE_RE.match(text, j)
                    if value_match is None:
                        raise EntityParseError(
                            f'Empty attribute "{attr_name}" value in tag "{name}" '
                            f"at byte offset {where}"
                        )
                    value = _decode_attribute(value_match.group(0))
                    j = value_match.end()
            attrs[attr_name] = value
        _check_tag_attributes(name, attrs, where)
        stack.append(_OpenTag(name, attrs, utf16))
        i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MD_LINK_RE = re.compile(r"!?\[((?:[^\]\\]|\\.)*)\]\((?:[^)\\]|\\.)*\)")


def parse_markdown(text: str) -> tuple[str, list[JSONDict]]:
    """Approximate plain text of MarkdownV2/Markdown: drop markup and escapes; never raises."""
    text = _MD_LINK_RE.sub(lambda m: m.group(1), text)
    text = re.sub(r"(?m)^\*?>", "", text)  # blockquote markers
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch not in "*_~|`":
            out.append(ch)
        i += 1
    return "".join(out), []


def _trim(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    # Telegram strips leading/trailing whitespace of texts and captions and clips entities.
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = _utf16_len(text[: len(text) - len(text.lstrip())])
    size = _utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(size, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def format_text(text: str, parse_mode: str | None) -> tuple[str, list[JSONDict]]:
    """Plain text and entities Telegram would store for `text` sent with `parse_mode` (trimmed)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        plain, entities = parse_html(text)
    elif mode in ("markdownv2", "markdown"):
        plain, entities = parse_markdown(text)
    else:
        plain, entities = text, []
    return _trim(plain, entities)


# --------------------------------------------------------------------------------------------
# Checking parameters against the spec
# --------------------------------------------------------------------------------------------

_DISCRIMINATOR_RE = re.compile(r"(?:always|must be)\s+[\"“]?([A-Za-z_]+)[\"”]?")
_INT_RE = re.compile(r"-?\d{1,20}")
_FLOAT_RE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


@dataclass(frozen=True)
class _Param:
    """A top-level parameter as received: a string (form, multipart, query) or a JSON value."""

    value: Any


class _Spec:
    """api.json with the lookups the checker and the response builders need."""

    def __init__(self, data: JSONDict) -> None:
        self.methods: dict[str, JSONDict] = data["methods"]
        self.types: dict[str, JSONDict] = data["types"]
        self.version: str = data.get("version", "?")
        self._by_lower = {name.lower(): name for name in self.methods}
        self._discriminators: dict[str, tuple[str, str] | None] = {}

    def method(self, name: str) -> str | None:
        """Canonical name of a method; Telegram matches method names case-insensitively."""
        return self._by_lower.get(name.lower())

    def fields(self, method: str) -> dict[str, JSONDict]:
        return {f["name"]: f for f in self.methods[method].get("fields", [])}

    def discriminator(self, type_name: str) -> tuple[str, str] | None:
        """(field, constant) that tells this subtype apart, e.g. ("status", "creator")."""
        if type_name not in self._discriminators:
            found = None
            for f in self.types.get(type_name, {}).get("fields", []):
                if f["name"] in ("type", "status", "source") and "one of" not in f["description"]:
                    match = _DISCRIMINATOR_RE.search(f["description"])
                    if match:
                        found = (f["name"], match.group(1))
                        break
            self._discriminators[type_name] = found
        return self._discriminators[type_name]

    def build(self, type_name: str, depth: int = 0, **overrides: Any) -> JSONDict:
        """A minimal valid object: every required field with a neutral value, then `overrides`."""
        spec = self.types[type_name]
        if "subtypes" in spec:
            first = next(s for s in spec["subtypes"] if s in self.types)
            return self.build(first, depth, **overrides)
        out: JSONDict = {}
        disc = self.discriminator(type_name)
        for f in spec.get("fields", []):
            if f["required"] and f["name"] not in overrides:
                out[f["name"]] = self._neutral(f["types"][0], depth)
        if disc:
            out[disc[0]] = disc[1]
        out.update(overrides)
        return out

    def _neutral(self, type_name: str, depth: int) -> Any:
        simple = {"Integer": 0, "Float": 0.0, "Boolean": False, "String": ""}
        if type_name in simple:
            return simple[type_name]
        if type_name.startswith("Array of ") or depth > 3 or type_name not in self.types:
            return []
        return self.build(type_name, depth + 1)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = json.dumps(text, ensure_ascii=False) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Checker:
    """Checks values against the spec's type strings; every method returns (decoded, errors)."""

    def __init__(self, spec: _Spec, files: Mapping[str, bytes]) -> None:
        self.spec = spec
        self.files = files
        self.attached: set[str] = set()  # file parts referenced by attach://<name>

    def value(self, value: Any, types: list[str], path: str, depth: int) -> tuple[Any, list[str]]:
        top = isinstance(value, _Param)
        raw = value.value if isinstance(value, _Param) else value
        deep_failures: list[list[str]] = []
        for type_name in types:
            decoded, errors, deep = self._one(raw, type_name, path, depth, top)
            if not errors:
                return decoded, []
            if deep:
                deep_failures.append(errors)
        if deep_failures:
            return raw, min(deep_failures, key=len)
        expected = " or ".join(types)
        return raw, [f"{path} must be {expected}, got {_short(raw)}"]

    def _one(
        self, raw: Any, type_name: str, path: str, depth: int, top: bool
    ) -> tuple[Any, list[str], bool]:
        fail: list[str] = ["type mismatch"]
        if type_name == "Integer":
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw, [], False
            if top and isinstance(raw, str) and _INT_RE.fullmatch(raw.strip()):
                return int(raw), [], False
            return raw, fail, False
        if type_name == "Float":
            if isinstance(raw, int | float) and not isinstance(raw, bool):
                return float(raw), [], False
            if top and isinstance(raw, str) and _FLOAT_RE.fullmatch(raw.strip()):
                return float(raw), [], False
            return raw, fail, False
        if type_name == "Boolean":
            if isinstance(raw, bool):
                return raw, [], False
            if top and isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
                return raw.lower() in ("true", "1"), [], False
            return raw, fail, False
        if type_name == "String":
            if isinstance(raw, str):
                return raw, [], False
            if top and isinstance(raw, int | float) and not isinstance(raw, bool):
                return str(raw), [], False  # a JSON body's number reaches Telegram as text
            return raw, fail, False
        if type_name == "InputFile":
            if isinstance(raw, str) and raw.startswith("attach://"):
                name = raw[len("attach://") :]
                if name in self.files:
                    self.attached.add(name)
                    return raw, [], False
                return raw, [f'{path} refers to a missing file part "{name}"'], True
            return raw, fail, False
        if type_name.startswith("Array of "):
            items = self._json(raw, top)
            if not isinstance(items, list):
                return raw, fail, False
            inner = type_name[len("Array of ") :]
            decoded_items, errors = [], []
            for index, item in enumerate(items):
                decoded, item_errors = self.value(item, [inner], f"{path}[{index}]", depth + 1)
                decoded_items.append(decoded)
                errors.extend(item_errors)
            return decoded_items, errors, True
        if type_name in self.spec.types:
            obj = self._json(raw, top)
            if not isinstance(obj, dict):
                return raw, fail, False
            return obj, self.object(obj, type_name, path, depth), True
        return raw, [], False  # a type string this checker does not know: accept

    @staticmethod
    def _json(raw: Any, top: bool) -> Any:
        if top and isinstance(raw, str):
            try:
                return json.loads(raw)
            except ValueError:
                return None
        return raw

    def object(self, obj: JSONDict, type_name: str, path: str, depth: int) -> list[str]:
        if depth > MAX_CHECK_DEPTH:
            return []
        spec = self.spec.types[type_name]
        if "subtypes" in spec:
            candidates = []
            for sub in spec["subtypes"]:
                disc = self.spec.discriminator(sub) if sub in self.spec.types else None
                if disc is None or obj.get(disc[0]) == disc[1]:
                    candidates.append(sub)
            if not candidates:
                return [f"{path} is not any kind of {type_name}: {_short(obj)}"]
            return self.value(obj, candidates, path, depth)[1]
        if "fields" not in spec:
            return []  # e.g. CallbackGame: an empty placeholder object
        fields = {f["name"]: f for f in spec["fields"]}
        errors = [
            f'{path} has unknown field "{k}" (not in {type_name})' for k in obj if k not in fields
        ]
        for name, f in fields.items():
            if name not in obj:
                if f["required"]:
                    errors.append(f'{path} lacks required field "{name}" of {type_name}')
                continue
            errors.extend(self.value(obj[name], f["types"], f"{path}.{name}", depth + 1)[1])
        disc = self.spec.discriminator(type_name)
        if disc and disc[0] in obj and obj[disc[0]] != disc[1]:
            errors.append(f'{path}.{disc[0]} must be "{disc[1]}" for {type_name}')
        errors.extend(self._limits(obj, type_name, path))
        return errors

    @staticmethod
    def _limits(obj: JSONDict, type_name: str, path: str) -> list[str]:
        # Limits that are only prose in the spec, and that bots commonly get wrong.
        errors = []
        if type_name == "InlineKeyboardButton" and isinstance(obj.get("callback_data"), str):
            size = len(obj["callback_data"].encode("utf-8"))
            if not 1 <= size <= 64:
                errors.append(
                    f"{path}.callback_data must be 1-64 bytes, got {size} (BUTTON_DATA_INVALID)"
                )
        if type_name == "BotCommand":
            command, description = obj.get("command"), obj.get("description")
            if isinstance(command, str) and not _BOT_COMMAND_RE.fullmatch(command):
                errors.append(
                    f"{path}.command must be 1-32 of a-z, 0-9, _ (BOT_COMMAND_INVALID), got {command!r}"
                )
            if isinstance(description, str) and not 1 <= len(description) <= 256:
                errors.append(
                    f"{path}.description must be 1-256 characters, got {len(description)}"
                )
        return errors


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake answered, in arrival order of its answer."""

    method: str
    # Decoded: ints as int where the spec says Integer, JSON decoded for objects/arrays, bools as bool.
    params: dict[str, Any]
    files: dict[str, bytes]  # multipart file parts by field name
    ok: bool  # whether we answered ok
    result: Any = None  # what we answered when ok, e.g. the sent Message as a dict
    error: str | None = None  # the description we answered when not ok


@dataclass
class _Failure:
    error_code: int
    description: str
    parameters: JSONDict | None
    chat_id: int | None = None  # only a call to this chat (None: any call)


@dataclass
class _Upload:
    content: bytes
    file_name: str
    mime_type: str


class _ApiError(Exception):
    """Answer `{"ok": false, ...}`; `invalid`, if given, is the client bug to add to `errors`."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        invalid: str | None = None,
        parameters: JSONDict | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.invalid = invalid
        self.parameters = parameters


@dataclass
class _Known:
    """What the fake remembers of a chat: its object, members seen, messages by id."""

    chat: JSONDict
    members: list[int] = field(default_factory=list)
    statuses: dict[int, str] = field(default_factory=dict)
    messages: dict[int, JSONDict] = field(default_factory=dict)
    last_message_id: int = 0


# Methods that post into a chat besides the send* ones that return a Message.
_FORWARDING_METHODS = frozenset(
    {"forwardMessage", "forwardMessages", "copyMessage", "copyMessages"}
)


class _RateLimits:
    """Telegram's published flood limits as sliding windows of the sends it accepted.

    A send is refused when the window it would fall in is full: `retry_after` is the time until the
    oldest send of that window leaves it. Refused sends are not counted.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        overall_per_second: int,
        private_per_second: int,
        group_per_minute: int,
    ) -> None:
        self.clock = clock
        # (limit, window in seconds) per kind of window.
        self.overall = (overall_per_second, 1.0)
        self.private = (private_per_second, 1.0)
        self.group = (group_per_minute, 60.0)
        self._sent: collections.deque[float] = collections.deque()
        self._per_chat: dict[int | str, collections.deque[float]] = {}

    def admit(self, chat_id: int | str) -> int | None:
        """Count a send to `chat_id` and return None, or return the whole seconds to wait."""
        now = self.clock()
        private = isinstance(chat_id, int) and chat_id > 0
        chat_window = self.private if private else self.group
        chat_sent = self._per_chat.setdefault(chat_id, collections.deque())
        wait = max(
            self._wait(self._sent, *self.overall, now), self._wait(chat_sent, *chat_window, now)
        )
        if wait > 0:
            return max(1, math.ceil(wait))
        self._sent.append(now)
        chat_sent.append(now)
        return None

    @staticmethod
    def _wait(sent: collections.deque[float], limit: int, window: float, now: float) -> float:
        while sent and sent[0] <= now - window:  # a send at s counts in (s, s + window)
            sent.popleft()
        if len(sent) < limit:
            return 0.0
        # This send may go once all but limit - 1 of those in the window have left it.
        return sent[len(sent) - limit] + window - now


class FakeBotApi:
    """A Telegram Bot API server for tests: checks requests against api.json, records them.

    Use as a context manager (or `start()`/`stop()`), or through the `fake_bot_api` fixture.
    Wait for the bot with `wait_for` (sync tests) or `await wait_for_async` (async tests: a
    blocking `wait_for` on the event loop would stall the bot it waits for).
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        spec_path: Path | None = None,
        *,
        bot_username: str = "feedwatch_test_bot",
    ) -> None:
        self.token = token
        self.spec_path = spec_path or default_spec_path()
        self.spec = _load_spec(str(self.spec_path))
        self.requests: list[RecordedRequest] = []
        self.errors: list[str] = []
        id_part = token.split(":", 1)[0]
        self.bot_user: JSONDict = {
            "id": int(id_part) if id_part.isdigit() else 123456,
            "is_bot": True,
            "first_name": "Feedwatch Test",
            "username": bot_username,
        }
        # One re-entrant lock for all state: predicates given to wait_for call back into us.
        self._cond = threading.Condition(threading.RLock())
        self._before_answer: dict[str, Callable[[], None]] = {}
        self._updates: list[JSONDict] = []  # not yet confirmed, ascending update_id
        self._pushed_ids: list[int] = []
        self._next_update_id = 1
        self._acked_offset = 0
        self._failures: dict[str, collections.deque[_Failure]] = collections.defaultdict(
            collections.deque
        )
        self._chats: dict[int | str, _Known] = {}
        self._users: dict[int, JSONDict] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._files: dict[str, _Upload] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(1)
        self._limits: _RateLimits | None = None
        self.rate_limited = 0  # how many sends enforce_limits answered with 429
        self._stopping = False
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("FakeBotApi is already started")
        self._stopping = False
        self._server = _HttpServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() may wait for the loop
            name="fake-bot-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Answer pending long polls with [], stop serving, close every connection and thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        thread.join()
        server.server_close()
        server.close_connections()
        self._server = self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`: the bot's api_url (PTB base_url is this + "/bot")."""
        if self._server is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- inspecting ------------------------------------------------------------------------

    def calls(self, method: str) -> list[RecordedRequest]:
        """Every recorded request of `method` (case-insensitive), answered ok or not."""
        with self._cond:
            return [r for r in self.requests if r.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[RecordedRequest]:
        """Successful sendMessage requests, optionally only those to `chat_id`."""
        return [
            r
            for r in self.calls("sendMessage")
            if r.ok and (chat_id is None or r.params.get("chat_id") == chat_id)
        ]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        """Plain texts (tags removed, entities decoded, trimmed) of `sent_messages(chat_id)`."""
        return [r.result["text"] for r in self.sent_messages(chat_id)]

    def take_errors(self) -> list[str]:
        """Return and clear `errors`: for tests that send invalid requests on purpose."""
        with self._cond:
            taken, self.errors = self.errors, []
            return taken

    def updates_consumed(self) -> bool:
        """Whether every pushed update was confirmed by a getUpdates with a higher offset."""
        with self._cond:
            return all(uid < self._acked_offset for uid in self._pushed_ids)

    def wait_for(self, predicate: Callable[[FakeBotApi], bool], timeout: float = 10.0) -> None:
        """Block until `predicate(self)` holds, re-checked after every request and push.

        Raises AssertionError with the recorded requests and errors when `timeout` passes.
        """
        with self._cond:
            if self._cond.wait_for(lambda: predicate(self), timeout=timeout):
                return
            raise AssertionError(
                f"condition not met within {timeout:g}s on the fake Bot API\n{self.summary()}"
            )

    async def wait_for_async(
        self,
        predicate: Callable[[FakeBotApi], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - the worker thread's wait, as in wait_for
    ) -> None:
        """`wait_for` in a worker thread, so that the bot on this event loop keeps running."""
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    async def ask(self, chat_id: int, text: str, **push: Any) -> RecordedRequest:
        """Send `text` as a user (`push_message`'s options: `language_code`, `user_id` …) and
        return the bot's first message to the chat after it."""
        before = len(self.sent_messages(chat_id))
        self.push_message(chat_id, text, **push)
        await self.wait_for_async(lambda f: len(f.sent_messages(chat_id)) > before)
        return self.sent_messages(chat_id)[before]

    def summary(self, last: int = 30) -> str:
        """The last `last` requests and all errors, one line each, for failure messages."""
        with self._cond:
            lines = [f"{len(self.requests)} request(s) recorded; the last {last}:"]
            for r in self.requests[-last:]:
                shown = ", ".join(f"{k}={_short(v, 50)}" for k, v in r.params.items())
                verdict = "ok" if r.ok else f"FAILED ({r.error})"
                lines.append(f"  {r.method}({shown}) -> {verdict}")
            lines.append(f"{len(self.errors)} error(s):")
            lines.extend(f"  - {e}" for e in self.errors)
            return "\n".join(lines)

    # -- driving ---------------------------------------------------------------------------

    def push_update(self, update: JSONDict) -> int:
        """Queue a raw Update for getUpdates; assigns `update_id` if missing and returns it.

        Raises ValueError if the update does not match the spec's Update type: a test's
        hand-written update must be one Telegram could send.
        """
        with self._cond:
            update = dict(update)
            uid = update.setdefault("update_id", self._next_update_id)
            if not isinstance(uid, int) or uid < self._acked_offset:
                raise ValueError(f"update_id {uid!r} is already confirmed or invalid")
            problems = self.validate_object("Update", update)
            if problems:
                raise ValueError("not a valid Update: " + "; ".join(problems))
            self._next_update_id = max(self._next_update_id, uid + 1)
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
            self._pushed_ids.append(uid)
            self._cond.notify_all()
            return uid

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        document: JSONDict | None = None,
        reply_to: JSONDict | None = None,
        username: str = "analyst",
        language_code: str = "en",
    ) -> int:
        """Queue an Update with a user's Message; returns its update_id.

        A leading "/command" (or "/command@bot") gets a bot_command entity, as Telegram adds.
        With `document` (see `add_file`) the text becomes the caption. `reply_to` is the replied-to
        message; its missing chat/date/from default to this chat, now, and the bot.
        """
        with self._cond:
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else DEFAULT_USER_ID)
            user = {
                "id": uid,
                "is_bot": False,
                "first_name": username.capitalize() or "User",
                "username": username,
                "language_code": language_code,
            }
            self._users[uid] = user
            known = self._remember_chat(chat_id, chat_type, user, forum=is_topic_message)
            if uid not in known.members:
                known.members.append(uid)
            message: JSONDict = {
                "message_id": self._next_message_id(chat_id),
                "date": int(time.time()),
                "chat": dict(known.chat),
            }
            if known.chat["type"] == "channel":
                message["sender_chat"] = dict(known.chat)
            else:
                message["from"] = user
            if message_thread_id is not None:
                message["message_thread_id"] = message_thread_id
            if is_topic_message:
                message["is_topic_message"] = True
            key = "caption" if document is not None else "text"
            if text or document is None:
                message[key] = text
                command = _command_entity(text)
                if command:
                    message["caption_entities" if document is not None else "entities"] = [command]
            if document is not None:
                file_id = (
                    document.get("file_id") or f"BQACAgIAAxkBAAI{next(self._file_counter):06d}"
                )
                message["document"] = {
                    "file_id": file_id,
                    "file_unique_id": self._unique_id(file_id),
                    **document,
                }
            if reply_to is not None:
                message["reply_to_message"] = {
                    "chat": dict(known.chat),
                    "date": int(time.time()),
                    "from": self.bot_user,
                    **reply_to,
                }
            known.messages[message["message_id"]] = message
            kind = "channel_post" if known.chat["type"] == "channel" else "message"
            return self.push_update({kind: message})

    def push_callback_query(
        self, chat_id: int, data: str, *, message_id: int, user_id: int | None = None
    ) -> int:
        """Queue an Update with a button press on message `message_id`; returns its update_id.

        The query's message is the one the fake sent (or saw pushed) with that id, if any.
        """
        with self._cond:
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else DEFAULT_USER_ID)
            user = self._users.get(uid) or {"id": uid, "is_bot": False, "first_name": f"User {uid}"}
            known = self._remember_chat(chat_id, None, user)
            if uid not in known.members:
                known.members.append(uid)
            message = known.messages.get(message_id) or {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": dict(known.chat),
                "from": self.bot_user,
            }
            query = {
                "id": f"{next(self._callback_counter)}{abs(chat_id) % 10_000:04d}",
                "from": user,
                "chat_instance": f"{abs(chat_id) * 7919 % 10**12}",
                "data": data,
                "message": message,
            }
            return self.push_update({"callback_query": query})

    def push_my_chat_member(
        self,
        chat_id: int,
        status: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Queue the `my_chat_member` Update Telegram sends when the bot's own status in a chat
        changes to `status`; returns its update_id.

        In a private chat: "kicked" when the user blocks the bot, "member" when they unblock it.
        In a group: "left" or "kicked" when `user_id` (an administrator) removes the bot, "member"
        or "administrator" when the bot is added back. The old status is the bot's last one here
        (what getChatMember said: "member" in a private chat, "administrator" in a group), and
        getChatMember says `status` from now on.
        """
        if status not in _MEMBER_STATUSES:
            raise ValueError(f"status must be one of {_MEMBER_STATUSES}, got {status!r}")
        with self._cond:
            uid = user_id if user_id is not None else (chat_id if chat_id > 0 else DEFAULT_USER_ID)
            user = self._users.get(uid) or {"id": uid, "is_bot": False, "first_name": f"User {uid}"}
            self._users[uid] = user
            known = self._remember_chat(chat_id, chat_type, user)
            bot_id = self.bot_user["id"]
            old = self._member(known, bot_id)
            known.statuses[bot_id] = status
            changed = {
                "chat": dict(known.chat),
                "from": user,
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": self._member(known, bot_id),
            }
            return self.push_update({"my_chat_member": changed})

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str,
        parameters: JSONDict | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `times` valid calls of `method` (to `chat_id` only, when given) fail
        like Telegram would.

        E.g. `fail_next("sendMessage", 429, "Too Many Requests: retry after 3", {"retry_after": 3})`
        or `fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")`.
        """
        canonical = self.spec.method(method)
        if canonical is None:
            raise ValueError(f"{method!r} is not a Bot API method in {self.spec_path}")
        with self._cond:
            for _ in range(times):
                self._failures[canonical].append(
                    _Failure(error_code, description, parameters, chat_id)
                )

    def clear_failures(self, method: str) -> None:
        """Forget the failures `fail_next` queued for `method` and that have not happened."""
        canonical = self.spec.method(method) or method
        with self._cond:
            self._failures.pop(canonical, None)

    def before_answering(self, method: str, action: Callable[[], None]) -> None:
        """Run `action` once, in the server's thread, when the next successful call of `method`
        has been done and recorded but before its answer leaves: a test's fault (the database
        going away) strikes while the bot's request is in flight."""
        canonical = self.spec.method(method)
        if canonical is None:
            raise ValueError(f"{method!r} is not a Bot API method in {self.spec_path}")
        with self._cond:
            self._before_answer[canonical] = action

    def enforce_limits(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        overall_per_second: int = 30,
        private_per_second: int = 1,
        group_per_minute: int = 20,
    ) -> None:
        """Refuse message sends beyond Telegram's published limits, as Telegram does, with
        429 "Too Many Requests: retry after N" and parameters {"retry_after": N}.

        Off by default. The windows slide: more than `overall_per_second` sends in any second, more
        than `private_per_second` to one private chat (positive id) in any second, or more than
        `group_per_minute` to one group, supergroup or channel (negative id or "@username") in any
        minute. N is the seconds until the send would fit, rounded up, at least 1. Refused sends do
        not count; `rate_limited` counts them. Message sends are the send* methods that return a
        Message, and forward/copy. Calling it again starts empty windows; tests pass a `clock`.
        """
        with self._cond:
            self._limits = _RateLimits(
                clock, overall_per_second, private_per_second, group_per_minute
            )

    def _rate_limit(self, method: str, params: Mapping[str, Any]) -> None:
        """Raise 429 when enforce_limits is on and this send does not fit (lock held)."""
        limits = self._limits
        chat_id = params.get("chat_id")
        if limits is None or not isinstance(chat_id, int | str) or not self._is_send(method):
            return
        wait = limits.admit(chat_id)
        if wait is not None:
            self.rate_limited += 1
            raise _ApiError(
                429, f"Too Many Requests: retry after {wait}", parameters={"retry_after": wait}
            )

    def _is_send(self, method: str) -> bool:
        if method in _FORWARDING_METHODS:
            return True
        returns = self.spec.methods[method]["returns"]
        return method.startswith("send") and returns in (["Message"], ["Array of Message"])

    def set_chat_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Fix what getChatMember/getChatAdministrators say of `user_id` in `chat_id`.

        Unset users: the bot is "administrator" in groups; in a group the first user seen is
        "creator", later ones "administrator"; in a private chat everyone is "member".
        """
        if status not in _MEMBER_STATUSES:
            raise ValueError(f"status must be one of {_MEMBER_STATUSES}, got {status!r}")
        with self._cond:
            known = self._remember_chat(chat_id, None, None)
            known.statuses[user_id] = status
            if user_id not in known.members and user_id != self.bot_user["id"]:
                known.members.append(user_id)

    def validate_object(self, type_name: str, obj: JSONDict) -> list[str]:
        """Problems of `obj` as a `type_name` of the spec (e.g. "Message"); [] if it is valid."""
        return _Checker(self.spec, {}).value(obj, [type_name], type_name, 0)[1]

    def add_file(
        self, content: bytes, file_name: str = "file.txt", mime_type: str = "text/plain"
    ) -> JSONDict:
        """Store a downloadable file; returns a Document dict for `push_message(document=...)`."""
        with self._cond:
            file_id = self._store_file(_Upload(content, file_name, mime_type))
            return self._document(file_id)

    # -- request handling (called from handler threads) -------------------------------------

    def _handle_http(
        self, verb: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, bytes, str]:
        """Answer one HTTP request: (status, body, content type). `headers` keys are lowercase."""
        parts = urlsplit(target)
        path = unquote(parts.path)  # PTB's file URLs percent-encode the token's ":"
        file_match = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        if verb == "GET" and file_match:
            return self._download(file_match.group(1), file_match.group(2))
        api_match = re.fullmatch(r"/bot([^/]*)/([^/]*)", path)
        if api_match is None:
            with self._cond:
                self._invalid(f"{verb} {path}: not a Bot API path (/bot<token>/<method>)")
                return _json_response(
                    404, {"ok": False, "error_code": 404, "description": "Not Found"}
                )
        token, raw_method = api_match.groups()
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        files: dict[str, _Upload] = {}
        try:
            self._parse_body(headers, body, params, files)
        except _ApiError as exc:
            with self._cond:
                return self._answer_error(raw_method, params, {}, exc)
        with self._cond:
            method = self.spec.method(raw_method) or raw_method
            file_bytes = {name: upload.content for name, upload in files.items()}
            try:
                if token != self.token:
                    wrong = f"wrong token {token!r} (the fake accepts {self.token!r})"
                    raise _ApiError(401, "Unauthorized", invalid=wrong)
                if self.spec.method(raw_method) is None:
                    unknown = f"no such method in the spec ({self.spec.version})"
                    raise _ApiError(404, "Not Found", invalid=unknown)
                decoded, formatted = self._check(method, params, file_bytes)
            except _ApiError as exc:
                return self._answer_error(method, params, file_bytes, exc)
            failures = self._failures.get(method)
            failure = next(
                (f for f in failures or () if f.chat_id in (None, decoded.get("chat_id"))), None
            )
            if failure is not None:  # injected after the checks: an invalid request is reported
                assert failures is not None
                failures.remove(failure)
                injected = _ApiError(
                    failure.error_code, failure.description, parameters=failure.parameters
                )
                return self._answer_error(method, decoded, file_bytes, injected)
            try:
                self._rate_limit(method, decoded)
                result = self._result(method, decoded, files, formatted)
            except _ApiError as exc:
                return self._answer_error(method, decoded, file_bytes, exc)
            returns = self.spec.methods[method]["returns"]
            for problem in _Checker(self.spec, {}).value(result, returns, "result", 0)[1]:
                self._invalid(f"{method}: the fake's own answer breaks the spec: {problem}")
            self._record(RecordedRequest(method, decoded, file_bytes, True, result))
            before = self._before_answer.pop(method, None)
        if before is not None:  # outside the lock: the action may wait on the bot
            before()
        return _json_response(200, {"ok": True, "result": result})

    def _parse_body(
        self,
        headers: Mapping[str, str],
        body: bytes,
        params: dict[str, Any],
        files: dict[str, _Upload],
    ) -> None:
        content_type = headers.get("content-type", "")
        kind = content_type.split(";", 1)[0].strip().lower()
        try:
            if not body:
                return
            if kind == "application/json":
                data = json.loads(body)
                if not isinstance(data, dict):
                    raise ValueError("the JSON body must be an object")
                params.update(data)
            elif kind == "multipart/form-data":
                _parse_multipart(body, content_type, params, files)
            else:
                params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except ValueError as exc:  # also UnicodeDecodeError and json.JSONDecodeError
            problem = f"can't parse the request body: {exc}"
            raise _ApiError(400, f"Bad Request: {problem}", invalid=problem) from exc

    def _check(
        self, method: str, params: dict[str, Any], files: dict[str, bytes]
    ) -> tuple[dict[str, Any], dict[str, tuple[str, list[JSONDict]]]]:
        """Check params; return them decoded plus parsed text/caption. Raise the first error."""
        fields = self.spec.fields(method)
        checker = _Checker(self.spec, files)
        errors: list[str] = [f'unknown parameter "{k}"' for k in params if k not in fields]
        decoded: dict[str, Any] = {k: v for k, v in params.items() if k not in fields}
        for name, spec_field in fields.items():
            types = spec_field["types"]
            if name in files and "InputFile" in types:
                checker.attached.add(name)
                continue
            if name not in params:
                if spec_field["required"]:
                    errors.append(f'required parameter "{name}" is missing')
                continue
            value = params[name]
            if value == "" and spec_field["required"] and name != "text":
                errors.append(f'required parameter "{name}" is empty')
                continue
            decoded[name], value_errors = checker.value(_Param(value), types, name, 0)
            errors.extend(value_errors)
        errors.extend(
            f'unexpected file part "{name}" (no parameter or attach:// refers to it)'
            for name in files
            if name not in checker.attached
        )
        formatted: dict[str, tuple[str, list[JSONDict]]] = {}
        errors.extend(self._check_formatting(method, decoded, fields, formatted))
        if errors:
            for error in errors:
                self._invalid(f"{method}: {error}")
            raise _ApiError(400, f"Bad Request: {errors[0]}")
        return decoded, formatted

    @staticmethod
    def _check_formatting(
        method: str,
        params: dict[str, Any],
        fields: Mapping[str, JSONDict],
        formatted: dict[str, tuple[str, list[JSONDict]]],
    ) -> list[str]:
        parse_mode = params.get("parse_mode")
        if isinstance(parse_mode, str) and parse_mode.lower() not in (
            "",
            "html",
            "markdownv2",
            "markdown",
        ):
            return [f'unsupported parse_mode "{parse_mode}"']
        mode = parse_mode if isinstance(parse_mode, str) else None
        errors: list[str] = []
        limits = []
        if method in ("sendMessage", "editMessageText") and "text" in fields:
            limits.append(("text", 1, TEXT_MAX, "message", "entities"))
        if "caption" in fields:
            limits.append(("caption", 0, CAPTION_MAX, "message caption", "caption_entities"))
        # `what` starts Telegram's own words ("message is too long"), which bots match on.
        for name, low, high, what, entities_name in limits:
            value = params.get(name)
            if not isinstance(value, str):
                continue
            try:
                plain, entities = format_text(value, mode)
            except EntityParseError as exc:
                errors.append(f"can't parse entities: {exc} (in {name})")
                continue
            if mode is None and isinstance(params.get(entities_name), list):
                entities = params[entities_name]
            if len(plain) < low:
                errors.append(f"{what} text is empty")
            elif len(plain) > high:
                errors.append(
                    f"{what} is too long ({len(plain)} characters after entity parsing, max {high})"
                )
            formatted[name] = (plain, entities)
        return errors

    def _answer_error(
        self, method: str, params: dict[str, Any], files: dict[str, bytes], exc: _ApiError
    ) -> tuple[int, bytes, str]:
        if exc.invalid:
            self._invalid(f"{method}: {exc.invalid}")
        self._record(RecordedRequest(method, params, files, False, None, exc.description))
        payload: JSONDict = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            payload["parameters"] = exc.parameters
        return _json_response(exc.code, payload)

    def _invalid(self, message: str) -> None:
        self.errors.append(message)
        self._cond.notify_all()

    def _record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        self._cond.notify_all()

    def _download(self, token: str, path: str) -> tuple[int, bytes, str]:
        with self._cond:
            upload = next(
                (u for fid, u in self._files.items() if self._file_path(fid) == path), None
            )
            if token != self.token or upload is None:
                self._invalid(f"download of {path!r}: no such file (or wrong token {token!r})")
                return _json_response(
                    404, {"ok": False, "error_code": 404, "description": "Not Found"}
                )
            return 200, upload.content, "application/octet-stream"

    # -- results ---------------------------------------------------------------------------

    def _result(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, _Upload],
        formatted: dict[str, tuple[str, list[JSONDict]]],
    ) -> Any:
        handler = getattr(self, f"_do_{method}", None)
        if handler is not None:
            return handler(params, files, formatted)
        returns = self.spec.methods[method]["returns"]
        if "Message" in returns and "chat_id" in params:
            return self._new_message(params, formatted)
        if returns == ["Array of Message"]:
            return [self._new_message(params, formatted)]
        kind = returns[0]
        simple = {"Boolean": True, "String": "", "Integer": 0}
        if kind in simple:
            return simple[kind]
        if kind.startswith("Array of ") or kind not in self.spec.types:
            return []
        return self.spec.build(kind)

    def _do_getMe(self, *_: Any) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _do_getUpdates(self, params: dict[str, Any], *_: Any) -> list[JSONDict]:
        offset = params.get("offset", 0)
        limit = min(max(params.get("limit", 100), 1), 100)
        wait = min(max(params.get("timeout", 0), 0), LONG_POLL_CAP)
        if offset > 0:
            self._acked_offset = max(self._acked_offset, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:  # Telegram: keep only the last -offset updates
            dropped = self._updates[:offset]
            self._updates = self._updates[offset:]
            if dropped:
                self._acked_offset = max(self._acked_offset, dropped[-1]["update_id"] + 1)
        self._cond.wait_for(lambda: self._stopping or bool(self._updates), timeout=wait)
        return [] if self._stopping else self._updates[:limit]

    def _do_setMyCommands(self, params: dict[str, Any], *_: Any) -> bool:
        self._commands[self._commands_key(params)] = params["commands"]
        return True

    def _do_deleteMyCommands(self, params: dict[str, Any], *_: Any) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _do_getMyCommands(self, params: dict[str, Any], *_: Any) -> list[JSONDict]:
        return self._commands.get(self._commands_key(params), [])

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code", "")

    def _do_sendMessage(
        self, params: dict[str, Any], _files: Any, formatted: dict[str, Any]
    ) -> JSONDict:
        return self._new_message(params, formatted)

    def _do_sendDocument(
        self, params: dict[str, Any], files: dict[str, _Upload], formatted: dict[str, Any]
    ) -> JSONDict:
        upload = files.get("document")
        file_id = self._store_file(upload) if upload is not None else params["document"]
        return self._new_message(params, formatted, document=self._document(file_id))

    def _do_sendPhoto(
        self, params: dict[str, Any], files: dict[str, _Upload], formatted: dict[str, Any]
    ) -> JSONDict:
        upload = files.get("photo")
        file_id = self._store_file(upload) if upload is not None else params["photo"]
        size = len(upload.content) if upload is not None else 1024
        photo = [
            {"file_id": f"{file_id}-s", "file_unique_id": f"{file_id[-8:]}s", "width": 90,
             "height": 90, "file_size": max(size // 10, 1)},
            {"file_id": file_id, "file_unique_id": f"{file_id[-8:]}x", "width": 800,
             "height": 800, "file_size": size},
        ]  # fmt: skip
        return self._new_message(params, formatted, photo=photo)

    def _edited_chat(self, params: dict[str, Any]) -> _Known | None:
        """The chat of a message to edit; None for an inline message (nothing to keep). Editing
        needs chat_id and message_id without inline_message_id, as Telegram says."""
        if "inline_message_id" in params:
            return None
        if "chat_id" not in params or "message_id" not in params:
            problem = "chat_id and message_id are required without inline_message_id"
            raise _ApiError(400, f"Bad Request: {problem}", invalid=problem)
        return self._remember_chat(params["chat_id"], None, None)

    def _do_editMessageText(
        self, params: dict[str, Any], _files: Any, formatted: dict[str, Any]
    ) -> JSONDict | bool:
        known = self._edited_chat(params)
        if known is None:
            return True
        message = dict(known.messages.get(params["message_id"]) or {})
        message.update(
            message_id=params["message_id"],
            date=message.get("date", int(time.time())),
            chat=dict(known.chat),
            edit_date=int(time.time()),
        )
        message.setdefault("from", self.bot_user)
        message.pop("entities", None)
        message.pop("reply_markup", None)
        if "text" in formatted:
            message["text"], entities = formatted["text"]
            if entities:
                message["entities"] = entities
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        known.messages[message["message_id"]] = message
        return message

    def _do_editMessageReplyMarkup(self, params: dict[str, Any], *_: Any) -> JSONDict | bool:
        """As Telegram does: the message's keyboard replaced (or removed, when none is given),
        and "message is not modified" when it would not change."""
        known = self._edited_chat(params)
        if known is None:
            return True
        current = known.messages.get(params["message_id"])
        if current is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        message = dict(current)
        message.pop("reply_markup", None)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        if message.get("reply_markup") == current.get("reply_markup"):
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["edit_date"] = int(time.time())
        known.messages[params["message_id"]] = message
        return message

    def _do_getChat(self, params: dict[str, Any], *_: Any) -> JSONDict:
        chat = self._remember_chat(params["chat_id"], None, None).chat
        return self.spec.build("ChatFullInfo", **chat, accent_color_id=0, max_reaction_count=11)

    def _do_getChatMember(self, params: dict[str, Any], *_: Any) -> JSONDict:
        known = self._remember_chat(params["chat_id"], None, None)
        return self._member(known, params["user_id"])

    def _do_getChatAdministrators(self, params: dict[str, Any], *_: Any) -> list[JSONDict]:
        known = self._remember_chat(params["chat_id"], None, None)
        if known.chat["type"] == "private":
            # What Telegram answers; a bot may rely on it, so it is not flagged as invalid.
            raise _ApiError(400, "Bad Request: there are no administrators in the private chat")
        members = [self._member(known, uid) for uid in [*known.members, self.bot_user["id"]]]
        return [m for m in members if m["status"] in ("creator", "administrator")]

    def _do_getChatMemberCount(self, params: dict[str, Any], *_: Any) -> int:
        known = self._remember_chat(params["chat_id"], None, None)
        return len(known.members) + 1

    def _do_getFile(self, params: dict[str, Any], *_: Any) -> JSONDict:
        file_id = params["file_id"]
        upload = self._files.get(file_id)
        if upload is None:
            raise _ApiError(
                400, "Bad Request: invalid file_id", invalid=f"unknown file_id {file_id!r}"
            )
        return {
            "file_id": file_id,
            "file_unique_id": self._unique_id(file_id),
            "file_size": len(upload.content),
            "file_path": self._file_path(file_id),
        }

    # -- helpers (called with the lock held) -------------------------------------------------

    def _remember_chat(
        self,
        chat_id: int | str,
        chat_type: str | None,
        user: JSONDict | None,
        *,
        forum: bool = False,
    ) -> _Known:
        known = self._chats.get(chat_id)
        if known is None:
            if isinstance(chat_id, str):  # "@channelusername"
                numeric = -(1_000_000_000_000 + sum(map(ord, chat_id)) * 7919)
                chat = {"id": numeric, "type": chat_type or "channel", "title": chat_id,
                        "username": chat_id.lstrip("@")}  # fmt: skip
            else:
                kind = chat_type or (
                    "private"
                    if chat_id > 0
                    else "supergroup"
                    if chat_id < -1_000_000_000_000
                    else "group"
                )
                chat = {"id": chat_id, "type": kind}
                if kind == "private":
                    source = user or self._users.get(chat_id) or {"first_name": f"User {chat_id}"}
                    chat["first_name"] = source["first_name"]
                    if source.get("username"):
                        chat["username"] = source["username"]
                else:
                    chat["title"] = f"Test {kind} {chat_id}"
            known = self._chats[chat_id] = _Known(chat)
        elif chat_type is not None and known.chat["type"] != chat_type:
            known.chat["type"] = chat_type
        if forum and known.chat["type"] == "supergroup":
            known.chat["is_forum"] = True
        return known

    def _next_message_id(self, chat_id: int | str) -> int:
        known = self._remember_chat(chat_id, None, None)
        known.last_message_id += 1
        return known.last_message_id

    def _new_message(
        self, params: dict[str, Any], formatted: dict[str, Any], **content: Any
    ) -> JSONDict:
        chat_id = params["chat_id"]
        known = self._remember_chat(chat_id, None, None)
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": dict(known.chat),
        }
        if known.chat["type"] == "channel":
            message["sender_chat"] = dict(known.chat)
        else:
            message["from"] = self.bot_user
        if "message_thread_id" in params:
            message["message_thread_id"] = params["message_thread_id"]
            if known.chat["type"] == "supergroup":
                message["is_topic_message"] = True
        for name, entities_name in (("text", "entities"), ("caption", "caption_entities")):
            if name in formatted:
                plain, entities = formatted[name]
                if plain:
                    message[name] = plain
                if entities:
                    message[entities_name] = entities
        message.update(content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # only inline keyboards come back on a Message
        known.messages[message["message_id"]] = message
        return message

    def _member(self, known: _Known, user_id: int) -> JSONDict:
        bot_id = self.bot_user["id"]
        status = known.statuses.get(user_id)
        if status is None:
            if known.chat["type"] == "private":
                status = "member"
            elif user_id == bot_id:
                status = "administrator"
            else:
                humans = [u for u in known.members if u not in known.statuses]
                status = "creator" if humans[:1] == [user_id] else "administrator"
        user = self.bot_user if user_id == bot_id else self._users.get(user_id)
        user = user or {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
        subtype = next(
            s
            for s in self.spec.types["ChatMember"]["subtypes"]
            if self.spec.discriminator(s) == ("status", status)
        )
        overrides: JSONDict = {"user": user}
        if status == "administrator":
            for f in self.spec.types[subtype]["fields"]:
                if f["name"].startswith("can_") and f["types"] == ["Boolean"]:
                    overrides[f["name"]] = True
            overrides["can_be_edited"] = False
        elif status == "restricted":
            overrides["is_member"] = True
        return self.spec.build(subtype, **overrides)

    def _store_file(self, upload: _Upload) -> str:
        file_id = f"BQACAgIAAxkBAAI{next(self._file_counter):06d}"
        self._files[file_id] = upload
        return file_id

    @staticmethod
    def _unique_id(file_id: str) -> str:
        return f"AgAD{file_id[-6:]}"

    def _file_path(self, file_id: str) -> str:
        upload = self._files[file_id]
        suffix = Path(upload.file_name).suffix
        return f"documents/file_{file_id[-6:]}{suffix}"

    def _document(self, file_id: str) -> JSONDict:
        document: JSONDict = {"file_id": file_id, "file_unique_id": self._unique_id(file_id)}
        upload = self._files.get(file_id)
        if upload is not None:
            document.update(
                file_name=upload.file_name,
                mime_type=upload.mime_type,
                file_size=len(upload.content),
            )
        return document


_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


def _command_entity(text: str) -> JSONDict | None:
    match = _COMMAND_RE.match(text)
    if match is None:
        return None
    return {"type": "bot_command", "offset": 0, "length": _utf16_len(match.group(0))}


def _json_response(status: int, payload: JSONDict) -> tuple[int, bytes, str]:
    return status, json.dumps(payload, ensure_ascii=False).encode("utf-8"), "application/json"


def _parse_multipart(
    body: bytes, content_type: str, params: dict[str, Any], files: dict[str, _Upload]
) -> None:
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + (match.group(1) or match.group(2)).encode("latin-1")
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        header_lines = head.decode("utf-8", "replace").split("\r\n")
        disposition = next(
            (h for h in header_lines if h.lower().startswith("content-disposition:")), ""
        )
        part_type = next(
            (
                h.split(":", 1)[1].strip()
                for h in header_lines
                if h.lower().startswith("content-type:")
            ),
            "application/octet-stream",
        )
        name = re.search(r';\s*name="([^"]*)"', disposition)
        if name is None:
            raise ValueError(f"multipart part without a name: {disposition!r}")
        filename = re.search(r';\s*filename="([^"]*)"', disposition)
        if filename is not None:
            files[name.group(1)] = _Upload(content, html.unescape(filename.group(1)), part_type)
        else:
            params[name.group(1)] = content.decode("utf-8")


class _HttpServer(ThreadingHTTPServer):
    """Tracks its connection threads so that `stop()` can close them and not leak any."""

    daemon_threads = True

    def __init__(self, fake: FakeBotApi) -> None:
        self.fake = fake
        self._lock = threading.Lock()
        self._live: dict[threading.Thread, socket.socket] = {}
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name="fake-bot-api-connection",
            daemon=True,
        )
        with self._lock:
            self._live[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._live.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return  # the client went away (e.g. PTB cancelled a long poll): not our concern
        with self.fake._cond:
            self.fake._invalid(f"fake Bot API crashed: {traceback.format_exc()}")

    def close_connections(self) -> None:
        with self._lock:
            live = dict(self._live)
        for sock in live.values():
            with contextlib.suppress(OSError):  # already closed by its thread
                sock.shutdown(socket.SHUT_RDWR)
        for thread in live:
            thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's httpx client expects
    # One buffered write per response and no Nagle: else each request waits ~40 ms on delayed ACKs.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_POST(self) -> None:
        body = self._read_body()
        try:
            status, payload, content_type = self.server.fake._handle_http(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
        except Exception:
            with self.server.fake._cond:
                self.server.fake._invalid(f"fake Bot API crashed: {traceback.format_exc()}")
            status, payload, content_type = _json_response(
                500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the recorded requests are the log


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotApi]:
    """A started FakeBotApi; at teardown it is stopped and must have seen no invalid request."""
    with FakeBotApi() as server:
        yield server
    assert not server.errors, "the fake Bot API got invalid requests:\n" + server.summary()
