"""Apply the Alembic migrations to a database, from code: on start, in tests and `feedwatch db upgrade`."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import StorageError

# Alembic (and the PostgreSQL dialect it brings) loads only when a database needs a migration:
# a start on a database already at the newest revision reads one row and goes on.
if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION_FILE = re.compile(r"(\d{4})_\w+\.py")


class UnknownRevision(StorageError):
    """The database stands at a revision this feedwatch does not know (a newer one migrated it)."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head() -> str:
    """The newest revision, read off the names of the migration files ("0011_….py" is 0011):
    each revision is named by its file's number (tests/storage/test_migrations.py checks that
    this is Alembic's head)."""
    numbers = [
        found.group(1)
        for path in (MIGRATIONS / "versions").iterdir()
        if (found := _REVISION_FILE.fullmatch(path.name))
    ]
    return max(numbers)


def current_revision(connection: Connection) -> str | None:
    """The revision the database stands at, None when it has no schema yet."""
    try:
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:  # no such table: a new database
        connection.rollback()
        return None
    connection.rollback()  # read only: end the transaction the read began
    return None if found is None else str(found)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; a database already there is left as it is."""
    if revision == "head":
        with engine.connect() as connection:
            if current_revision(connection) == head():
                return
    from alembic import command
    from alembic.util.exc import CommandError

    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it, dropping the old one and renaming the copy.
            # With foreign keys on, the drop would delete every row that points at the table
            # (ON DELETE CASCADE): subscriptions, hits, the outbox. The pragma only takes effect
            # outside a transaction; the check afterwards proves the copies line up again.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                try:
                    command.upgrade(config, revision)
                except CommandError as error:
                    raise UnknownRevision(str(error)) from error
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise StorageError(
                            f"the migration left {len(broken)} rows pointing at nothing "
                            f"(first: table {broken[0][0]}); nothing was changed"
                        )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
