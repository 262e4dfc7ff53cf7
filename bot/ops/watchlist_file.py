"""The watchlist file format: [[watchlist]] tables in a config file, in the files it names in
`watchlist_files`, and in the TOML documents a chat imports (/import) and exports (/export)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import tomli_w
from pydantic import BaseModel, BeforeValidator, PlainValidator

from bot.core.domain import (
    CONTEXT_WITHIN,
    CONTEXT_WITHIN_MOST,
    DEFAULT_FIELDS,
    ITEM_FIELDS,
    TermContext,
    Watchlist,
)
from bot.core.errors import ConfigError
from bot.core.matching.terms import term_problem
from bot.core.said import said
from bot.ops.config import (
    CONFIG_KEYS,
    TABLE,
    OptionalText,
    TomlRefused,
    check_table,
    parse_toml,
    quoted,
    read_toml,
    sentence,
    stripped,
    tables,
    toml_type,
    unknown_keys,
)

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_WATCHLIST_FILE_KEYS = {"watchlist": "[[watchlist]]"}


def _name(value: object) -> str:
    name = stripped(value)
    if not _NAME.fullmatch(name):
        raise ValueError(
            said(
                "{name} is not a valid name; use 1 to 64 letters, digits, - and _",
                name=quoted(name),
            )
        )
    return name


def _term(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(said("must be a string, not {type}", type=toml_type(value)))
    if why := term_problem(value):
        raise ValueError(said("term {term} {problem}", term=quoted(value), problem=why))
    return value.strip()


def _array(*, allow_empty: bool) -> BeforeValidator:
    """An array of terms; each term is then checked on its own, so that every bad one is named."""

    def check(value: object) -> object:
        if not isinstance(value, list | tuple):
            raise ValueError(said("must be an array of strings, not {type}", type=toml_type(value)))
        if not value and not allow_empty:
            raise ValueError(said("the list is empty"))
        return value

    return BeforeValidator(check)


_Term = Annotated[str, PlainValidator(_term)]

_CONTEXT_KEYS = ("term", "near", "not_near", "within")
_CONTEXT_EXAMPLE = '{ term = "РДК", near = ["боец", "корпус"], within = 12 }'


def _term_entry(value: object) -> str | TermContext:
    """A term: a string, or an inline table that gives it a context,
    `{ term = "РДК", near = [...], not_near = [...], within = 12 }`."""
    if not isinstance(value, dict):
        if isinstance(value, str):
            return _term(value)
        raise ValueError(
            said(
                "must be a string or a table such as {example}, not {type}",
                example=_CONTEXT_EXAMPLE,
                type=toml_type(value),
            )
        )
    unknown = [key for key in value if key not in _CONTEXT_KEYS]
    if unknown:
        raise ValueError(
            said(
                "unknown key {key} in a term's table; it takes term, near, not_near and within",
                key=quoted(str(unknown[0])),
            )
        )
    if "term" not in value:
        raise ValueError(said("a term's table needs its term: {example}", example=_CONTEXT_EXAMPLE))
    term = _term(value["term"])
    near, not_near = _context_words(value, "near"), _context_words(value, "not_near")
    if not near and not not_near:
        raise ValueError(
            said(
                "{term} has no near or not_near words; write it as a plain string",
                term=quoted(term),
            )
        )
    within = value.get("within", CONTEXT_WITHIN)
    if (
        isinstance(within, bool)
        or not isinstance(within, int)
        or not 1 <= within <= CONTEXT_WITHIN_MOST
    ):
        raise ValueError(
            said("within must be a number of words from 1 to {most}", most=CONTEXT_WITHIN_MOST)
        )
    return TermContext(term, near, not_near, within)


def _context_words(table: Mapping[str, object], key: str) -> tuple[str, ...]:
    words = table.get(key, [])
    if not isinstance(words, list):
        raise ValueError(
            said("{key} must be an array of strings, not {type}", key=key, type=toml_type(words))
        )
    checked = []
    for index, word in enumerate(words, 1):
        try:
            checked.append(_term(word))
        except ValueError as error:
            raise ValueError(
                said("{key}[{index}]: {problem}", key=key, index=index, problem=error.args[0])
            ) from None
    return tuple(checked)


_TermEntry = Annotated[str | TermContext, PlainValidator(_term_entry)]


def _sources(value: object) -> tuple[str, ...]:
    """Sources as a list names them: a feed's name, a host (meduza.io), an address or @channel."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(
            said(
                "must be an array of feed names, hosts or @channels, such as {example}",
                example='["Meduza", "kyivindependent.com", "@rusvolcorps"]',
            )
        )
    return tuple(dict.fromkeys(v.strip() for v in value))


def _fields(value: object) -> tuple[str, ...]:
    known = ", ".join(ITEM_FIELDS)
    if not isinstance(value, list) or not value:
        raise ValueError(said("must be a non-empty array of fields: {fields}", fields=known))
    for field in value:
        if field not in ITEM_FIELDS:
            raise ValueError(
                said(
                    "unknown field {field}; the fields are {fields}",
                    field=quoted(str(field)),
                    fields=known,
                )
            )
    return tuple(f for f in ITEM_FIELDS if f in value)


class _WatchlistTable(BaseModel):
    model_config = TABLE

    name: Annotated[str, PlainValidator(_name)]
    title: OptionalText = None
    terms: Annotated[tuple[_TermEntry, ...], _array(allow_empty=False)]
    require: Annotated[tuple[_Term, ...], _array(allow_empty=True)] = ()
    exclude: Annotated[tuple[_Term, ...], _array(allow_empty=True)] = ()
    sources: Annotated[tuple[str, ...], PlainValidator(_sources)] = ()
    skip_sources: Annotated[tuple[str, ...], PlainValidator(_sources)] = ()
    fields: Annotated[tuple[str, ...], PlainValidator(_fields)] = DEFAULT_FIELDS


def _read_watchlists(
    doc: Mapping[str, object], file: str, problems: list[str], names: dict[str, str]
) -> list[Watchlist]:
    """Read the `[[watchlist]]` tables of one file; `names` maps the names seen so far to where."""
    watchlists: list[Watchlist] = []
    for label, table in tables(doc, "watchlist", file, problems):
        where = f"{file}: {label}"
        watchlist, wrong = check_table(_WatchlistTable, table)
        problems.extend(sentence(where, problem) for problem in wrong)
        if "name" in table and "name" not in {problem.key for problem in wrong}:
            name = _name(table["name"])
            # Case-blind, so that "RVC" and "rvc" cannot both exist and confuse chat commands.
            if (also := names.get(name.lower())) is not None:
                problems.append(
                    said("{where}: duplicate name; also defined in {also}", where=where, also=also)
                )
                continue
            names[name.lower()] = f"{file} {label.partition(' (')[0]}"
        if watchlist is not None:
            watchlists.append(_watchlist(watchlist))
    return watchlists


def _watchlist(table: _WatchlistTable) -> Watchlist:
    """A checked table as a watchlist: a term's inline table gives the term and its context."""
    entries = table.terms
    return Watchlist(
        name=table.name,
        title=table.title,
        terms=tuple(e.term if isinstance(e, TermContext) else e for e in entries),
        require=table.require,
        exclude=table.exclude,
        contexts=tuple(e for e in entries if isinstance(e, TermContext)),
        sources=table.sources,
        skip_sources=table.skip_sources,
        fields=table.fields,
    )


def _read_watchlist_files(
    doc: Mapping[str, object], file: str, base: Path, problems: list[str], names: dict[str, str]
) -> list[Watchlist]:
    """Follow `watchlist_files`, relative to the directory of the file that names them."""
    entries = doc.get("watchlist_files", [])
    if not isinstance(entries, list):
        problems.append(
            f"{file}: watchlist_files: must be an array of strings, not {toml_type(entries)}"
        )
        return []
    watchlists: list[Watchlist] = []
    seen: set[Path] = set()
    for index, entry in enumerate(entries, 1):
        where = f"{file}: watchlist_files[{index}]"
        if not isinstance(entry, str):
            problems.append(f"{where}: must be a string, not {toml_type(entry)}")
            continue
        path = base / entry.strip()
        if path.resolve() in seen:
            problems.append(f"{where}: {entry!r} is listed twice")
            continue
        seen.add(path.resolve())
        not_found = f"{where}: file {entry!r} not found (looked for {path.resolve()})"
        if (listed := read_toml(path, problems, not_found)) is not None:
            hint = "; a watchlist file holds only [[watchlist]] tables"
            problems += unknown_keys(listed, _WATCHLIST_FILE_KEYS, str(path), hint)
            watchlists += _read_watchlists(listed, str(path), problems, names)
    return watchlists


def config_watchlists(
    doc: Mapping[str, object], source: Path, problems: list[str]
) -> list[Watchlist]:
    """The watchlists of the config file `source` (parsed: `doc`): its own [[watchlist]] tables,
    then those of its `watchlist_files`. Adds a problem for each thing wrong."""
    names: dict[str, str] = {}
    watchlists = _read_watchlists(doc, str(source), problems, names)
    return watchlists + _read_watchlist_files(doc, str(source), source.parent, problems, names)


def load_watchlists(path: Path) -> tuple[Watchlist, ...]:
    """The watchlists of a watchlist file or of a config file (following its `watchlist_files`)."""
    problems: list[str] = []
    doc = read_toml(path, problems, f"watchlist file not found: {path}")
    watchlists: list[Watchlist] = []
    if doc is not None:
        problems += unknown_keys(doc, CONFIG_KEYS, str(path))
        watchlists = config_watchlists(doc, path, problems)
        if not watchlists and not problems:
            problems.append(f"{path}: no [[watchlist]] tables found")
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
        problems += unknown_keys(doc, {"watchlist": "[[watchlist]] tables"}, file)
        watchlists = _read_watchlists(doc, file, problems, {})
        if not watchlists and not problems:
            problems.append(said("{file}: no [[watchlist]] tables found", file=file))
    if problems:
        raise ConfigError(problems)
    return tuple(watchlists)


def watchlists_document(watchlists: Sequence[Watchlist]) -> str:
    """Watchlists as a TOML document in the format of `config/watchlists.toml` (`/export`)."""
    documented = []
    for watchlist in watchlists:
        table: dict[str, Any] = {"name": watchlist.label}
        if watchlist.title:
            table["title"] = watchlist.title
        contexts = {context.term: context for context in watchlist.contexts}
        table["terms"] = [_term_table(term, contexts.get(term)) for term in watchlist.terms]
        if watchlist.require:
            table["require"] = list(watchlist.require)
        if watchlist.exclude:
            table["exclude"] = list(watchlist.exclude)
        if watchlist.sources:
            table["sources"] = list(watchlist.sources)
        if watchlist.skip_sources:
            table["skip_sources"] = list(watchlist.skip_sources)
        if watchlist.fields != DEFAULT_FIELDS:
            table["fields"] = list(watchlist.fields)
        documented.append(table)
    return tomli_w.dumps({"watchlist": documented})


def _term_table(term: str, context: TermContext | None) -> str | dict[str, Any]:
    """A term as the file writes it: a string, or an inline table with its context."""
    if context is None:
        return term
    table: dict[str, Any] = {"term": term}
    if context.near:
        table["near"] = list(context.near)
    if context.not_near:
        table["not_near"] = list(context.not_near)
    if context.within != CONTEXT_WITHIN:
        table["within"] = context.within
    return table
