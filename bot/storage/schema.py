"""The database's schema as an operator sees it: whether it answers, its Alembic revision against
the newest this feedwatch knows, and bringing it up to date (`feedwatch db`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from bot.core.errors import StorageError
from bot.storage import migrate
from bot.storage.store import Store, create_db_engine, reason
from bot.storage.tables import FeedRow


class SchemaStore(Store):
    """Whether the database answers."""

    def ping(self) -> None:
        """Ask the database something real (a table of ours, not just SELECT 1, which an empty
        SQLite file would answer); raise `StorageError` with the reason when it cannot say."""
        with self._session() as session:
            session.exec(select(FeedRow.id).limit(1)).first()


@dataclass(frozen=True, slots=True)
class SchemaRevision:
    """Where a database's schema stands: its Alembic revision (None: no schema yet) and the
    newest revision this feedwatch knows."""

    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def schema_revision(url: str) -> SchemaRevision:
    """The database's revision, read without changing anything."""
    from alembic.runtime.migration import MigrationContext

    try:
        engine = create_db_engine(url)
        try:
            with engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
        finally:
            engine.dispose()
    except SQLAlchemyError as error:
        raise StorageError(f"cannot read the database: {reason(error)}") from error
    return SchemaRevision(current, head_revision())


def upgrade_schema(url: str) -> tuple[SchemaRevision, SchemaRevision]:
    """Apply the migrations the database lacks; its revision before and after."""
    before = schema_revision(url)
    try:
        engine = create_db_engine(url)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
    except SQLAlchemyError as error:
        raise StorageError(f"cannot migrate the database: {reason(error)}") from error
    except migrate.UnknownRevision as error:
        # A revision this feedwatch does not know: the database was migrated by a newer one.
        raise StorageError(f"cannot migrate the database: {error}") from error
    return before, schema_revision(url)
