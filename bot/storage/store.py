"""The database engine and session every store shares: one transaction per call, and the
driver's errors turned into `StorageError` here, at the edge."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session

from bot.core.errors import StorageError
from bot.storage import migrate


def create_db_engine(url: str, *, connect_args: Mapping[str, Any] | None = None) -> Engine:
    """An engine that behaves alike on SQLite and PostgreSQL: foreign keys on, threads allowed."""
    parsed = make_url(url)
    args: dict[str, Any] = dict(connect_args or {})
    if parsed.get_backend_name() == "sqlite":
        args.setdefault("check_same_thread", False)
        in_memory = parsed.database in (None, "", ":memory:")
        engine = create_engine(url, connect_args=args, poolclass=StaticPool if in_memory else None)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if not in_memory:
                # WAL lets the scheduler read while a command handler writes.
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, connect_args=args, pool_pre_ping=True)


class Store:
    """A connection to feedwatch's database; the stores built on it speak domain objects."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite in a file, in WAL mode: each transaction may say how it is synced.
        self._wal = engine.dialect.name == "sqlite" and engine.url.database not in (
            None,
            "",
            ":memory:",
        )

    @classmethod
    def open(cls, url: str, *, connect_args: Mapping[str, Any] | None = None) -> Self:
        """Connect and bring the schema up to date (migrations run on every start)."""
        try:
            engine = create_db_engine(url, connect_args=connect_args)
        except SQLAlchemyError as error:
            raise StorageError(f"cannot open the database: {reason(error)}") from error
        try:
            migrate.upgrade(engine)
        except SQLAlchemyError as error:
            engine.dispose()
            raise StorageError(f"cannot open the database: {reason(error)}") from error
        except migrate.UnknownRevision as error:
            # Most often a database a newer feedwatch has migrated: its revision is unknown here.
            engine.dispose()
            raise StorageError(
                f"cannot bring the database schema up to date: {error}; is it from a newer "
                "feedwatch?"
            ) from error
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _session(self, *, durable: bool = True) -> Iterator[Session]:
        """One transaction. `durable=False` (SQLite only) lets its commit skip the fsync: a power
        cut may then undo it, and any after it, but never one before a durable commit, since the
        write-ahead log is synced in order. For what a later poll reads again (new items with
        their feed's state); never for what says a message was sent."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                self._synced(session.connection(), durable)
                yield session
        except SQLAlchemyError as error:
            raise StorageError(f"database error: {reason(error)}") from error

    @contextmanager
    def _connection(self, *, durable: bool = True) -> Iterator[Connection]:
        """`_session` without the ORM: for the poll's hot paths, whose rows are read or written
        once (no identity map, no flush, no ORM statement compilation)."""
        try:
            with self.engine.begin() as connection:
                self._synced(connection, durable)
                yield connection
        except SQLAlchemyError as error:
            raise StorageError(f"database error: {reason(error)}") from error

    def _synced(self, connection: Connection, durable: bool) -> None:
        if self._wal:
            # Before the first write, so outside SQLite's transaction: the driver opens it at
            # the first INSERT or UPDATE.
            synced = "FULL" if durable else "NORMAL"
            connection.exec_driver_sql(f"PRAGMA synchronous={synced}")


def reason(error: SQLAlchemyError) -> str:
    """The driver's own first line, without SQLAlchemy's statement dump and links."""
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
