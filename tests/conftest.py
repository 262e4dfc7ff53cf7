"""Shared fixtures: databases (SQLite and PostgreSQL, each test in a schema of its own), the loopback
guard that fails any test reaching past 127.0.0.1, and the fake servers."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import settings

from bot.storage.repository import Repository
from tests.fakes.channel_server import channel_server
from tests.fakes.feed_server import feed_server
from tests.fakes.telegram_api import fake_bot_api

__all__ = ["channel_server", "fake_bot_api", "feed_server"]

POSTGRES_ADMIN_URL = os.environ.get(
    "FEEDWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# CI explores the same examples on every run, so that a red run is the code's doing, never the dice's;
# a developer's runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if IN_CI:
    settings.load_profile("ci")


# --- no network but loopback -------------------------------------------------------------------

_real_connect = socket.socket.connect
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise AssertionError(f"test tried to reach {address[0]}: tests use loopback only")
    return _real_connect(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not _is_loopback(host):
        raise AssertionError(f"test tried to resolve {host!r}: tests use loopback only")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


# --- databases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """Where one test's database lives: a URL and the connect arguments that pin its schema."""

    kind: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)

    def open(self) -> Repository:
        return Repository.open(self.url, connect_args=self.connect_args)

    @property
    def config_url(self) -> str:
        """The database as a config file names it: PostgreSQL's schema as a connect option in
        the URL."""
        return f"{self.url}?{urlencode(self.connect_args)}" if self.connect_args else self.url


@contextmanager
def postgres_made(create: str, drop: str) -> Iterator[None]:
    """Run `create` (a CREATE SCHEMA or DATABASE) on the test server, and `drop` afterwards. Skips
    when the server is unreachable, and fails then under CI=true: PostgreSQL tests must run."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(create))
    except OperationalError as error:
        admin.dispose()
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {error.orig}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()


def _postgres_schema() -> Iterator[Database]:
    schema = f"fw_test_{uuid.uuid4().hex[:12]}"
    with postgres_made(f'CREATE SCHEMA "{schema}"', f'DROP SCHEMA "{schema}" CASCADE'):
        yield Database("postgresql", POSTGRES_ADMIN_URL, {"options": f"-c search_path={schema}"})


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Database]:
    """Each storage test runs once on a fresh SQLite file and once in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'feedwatch.db'}")
    else:
        yield from _postgres_schema()


@pytest.fixture
def repo(database: Database) -> Iterator[Repository]:
    repository = database.open()
    try:
        yield repository
    finally:
        repository.close()


# --- the process's logging and environment ------------------------------------------------------

# The loggers `bot.ops.logs.setup_logging` sets levels or filters on.
_CONFIGURED_LOGGERS = (
    "httpx", "httpcore", "telegram", "telegram.ext.Updater", "apscheduler", "apscheduler.scheduler",
)  # fmt: skip


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The CLI and `setup_logging` configure the process's logging; put it back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    loggers = {name: logging.getLogger(name) for name in _CONFIGURED_LOGGERS}
    saved = {name: (logger.level, logger.filters[:]) for name, logger in loggers.items()}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, (logger_level, filters) in saved.items():
            loggers[name].setLevel(logger_level)
            loggers[name].filters[:] = filters


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, restored_logging: None) -> None:
    """For tests of the `feedwatch` command: no FEEDWATCH_* variable of the developer's shell
    leaks in (FEEDWATCH_DATABASE_URL would point the commands elsewhere), and the logging the
    command sets up is undone afterwards."""
    for name in list(os.environ):
        if name.startswith("FEEDWATCH_"):
            monkeypatch.delenv(name)
