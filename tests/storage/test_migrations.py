"""The Alembic migrations on SQLite and PostgreSQL: an empty database reaches exactly the schema the
tables describe, and a database at any older revision keeps every row and value on its way to head.

Revisions are read from the migration scripts, so a new migration is tested without editing this
file; data for its new columns is optional (rows written before it must read as the model's
defaults), data for a new table is welcome here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic_core import PydanticUndefined
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session, SQLModel, select

from bot.core.errors import StorageError
from bot.storage import migrate
from bot.storage.repository import Repository
from bot.storage.store import create_db_engine
from bot.storage.tables import (
    ChatFeedRow,
    ChatRow,
    DeliveryRow,
    FeedRow,
    HitRow,
    ItemRow,
    NoticeRow,
    SubscriptionRow,
    WatchlistRow,
)
from tests.conftest import Database

SCRIPTS = ScriptDirectory.from_config(migrate.alembic_config())
HEAD = SCRIPTS.get_current_head()
# Base first, head last.
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]
OLDER = REVISIONS[:-1]

T0 = datetime(2024, 3, 10, 8, 0, tzinfo=UTC)
T1 = datetime(2024, 3, 11, 9, 30, 15, 123456, tzinfo=UTC)
T2 = datetime(2024, 3, 12, 23, 59, 59, tzinfo=UTC)
BIG = 5_000_000_000  # more than 32 bits: item, hit and delivery ids are 64-bit
CHANNEL = -1_002_000_000_001

# Representative rows, by table in the order of their foreign keys, with the values they must have
# at head. A column a revision lacks is left out when inserting there, and must then read as the
# model's default; so a column missing here must read as its default from every revision.
DATA: dict[type[SQLModel], list[dict[str, Any]]] = {
    ChatRow: [
        {
            "id": 1001,
            "type": "private",
            "title": "Оля «Ж»",
            "active": True,
            "inactive_reason": None,
            "digest_interval_seconds": 0,
            "last_digest_at": T1,
            "created_at": T0,
            "paused": True,
            "timezone": "Europe/Kyiv",
            "quiet_start": 1320,
            "quiet_end": 420,
            "language": "uk",
            "managing_chat_id": CHANNEL,
        },
        {
            "id": CHANNEL,
            "type": "channel",
            "title": None,
            "active": False,
            "inactive_reason": "Forbidden: bot was kicked",
            "digest_interval_seconds": 86400,
            "created_at": T1,
        },
    ],
    FeedRow: [
        {
            "id": 7,
            "origin_url": "https://a.example/rss",
            "url": "https://moved.example/rss?x=1&y=2",
            "name": "Outlet «A»",
            "source": "config",
            "enabled": True,
            "interval_seconds": 600,
            "etag": 'W/"abc"',
            "last_modified": "Tue, 12 Mar 2024 05:40:00 GMT",
            "body_hash": "f" * 64,
            "next_poll_at": T2,
            "last_polled_at": T1,
            "last_success_at": T1,
            "last_error": None,
            "consecutive_failures": 0,
            "created_at": T0,
            "failing_since": T0,
            "failure_notified_at": T1,
        },
        {
            "id": 8,
            "origin_url": "https://chat.example/feed",
            "url": "https://chat.example/feed",
            "source": "chat",
            "enabled": False,
            "last_error": "HTTP 404",
            "consecutive_failures": 3,
            "created_at": T0,
        },
    ],
    WatchlistRow: [
        {
            "id": 3,
            "name": "kursk",
            "title": "Курская область",
            "terms": ["Курск*", "Kursk"],
            "require": [],
            "exclude": ["Kursk FC"],
            "source": "config",
            "retired": False,
            "updated_at": T0,
        },
        {
            "id": 4,
            "name": "drones@1001",
            "title": None,
            "terms": ["дрон*", 'quote " and \\ backslash'],
            "require": ["Курск"],
            "exclude": [],
            "source": "chat",
            "retired": False,
            "updated_at": T1,
            "owner_chat_id": 1001,
        },
        {
            "id": 5,
            "name": "old",
            "terms": ["old"],
            "require": [],
            "exclude": [],
            "source": "config",
            "retired": True,
            "updated_at": T0,
        },
    ],
    ItemRow: [
        {
            "id": BIG + 1,
            "feed_id": 7,
            "key": "guid-1",
            "title": "Бой под Курском",
            "link": "https://a.example/1",
            "summary": "РДК & <b>not a tag</b>\nsecond line",
            "published_at": T0,
            "seen_at": T1,
        },
        {
            "id": BIG + 2,
            "feed_id": 8,
            "key": "k" * 512,
            "title": "",
            "link": None,
            "summary": "",
            "published_at": None,
            "seen_at": T2,
        },
    ],
    SubscriptionRow: [
        {"id": 1, "chat_id": 1001, "watchlist_id": 3, "created_at": T0, "thread_id": 42},
        {"id": 2, "chat_id": CHANNEL, "watchlist_id": 4, "created_at": T1},
    ],
    ChatFeedRow: [{"id": 1, "chat_id": 1001, "feed_id": 8, "created_at": T0}],
    HitRow: [
        {
            "id": BIG + 10,
            "item_id": BIG + 1,
            "watchlist_id": 3,
            "matches": [{"term": "Курск*", "text": "Курском"}, {"term": "Kursk", "text": "KURSK"}],
            "created_at": T1,
        },
        {"id": BIG + 11, "item_id": BIG + 2, "watchlist_id": 5, "matches": [], "created_at": T2},
    ],
    DeliveryRow: [
        {
            "id": BIG + 20,
            "chat_id": 1001,
            "item_id": BIG + 1,
            "created_at": T1,
            "sent_at": T2,
            "outcome": "sent",
            "message_id": 2**40,
            "thread_id": 42,
        },
        {
            "id": BIG + 21,
            "chat_id": CHANNEL,
            "item_id": BIG + 2,
            "created_at": T2,
            "sent_at": None,
            "outcome": "held",
        },
    ],
    # Sent: it survives 0007, which keeps facts instead of text (an unsent one is told again:
    # see the test of that below).
    NoticeRow: [
        {
            "id": 1,
            "chat_id": 1001,
            "text": "The feed <b>A</b> has failed",
            "created_at": T1,
            "sent_at": T2,
        }
    ],
}


@pytest.fixture
def engine(database: Database) -> Iterator[Engine]:
    """An engine on the test's database (in PostgreSQL, pinned to its schema), with no schema yet."""
    engine = create_db_engine(database.url, connect_args=database.connect_args)
    try:
        yield engine
    finally:
        engine.dispose()


def revision_of(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_the_head_read_off_the_file_names_is_alembics() -> None:
    """A start checks the database against `migrate.head()` without loading Alembic: the newest
    file's number must be the revision Alembic would migrate to."""
    assert migrate.head() == HEAD


def test_a_start_on_a_database_at_head_does_not_load_alembic(tmp_path: Path) -> None:
    """Alembic and the PostgreSQL dialect it imports cost a tenth of a second at every start:
    only a database that needs a migration loads them."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    Repository.open(url).close()  # made, and migrated, here
    probe = (
        "import sys; from bot.storage.repository import Repository; "
        f"Repository.open({url!r}).close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == "[]", ran.stderr


def test_the_revisions_form_one_line_from_0001_to_head() -> None:
    assert REVISIONS[0] == "0001"
    assert len(SCRIPTS.get_heads()) == 1
    assert REVISIONS[-1] == HEAD
    assert len(REVISIONS) >= 3


def test_an_empty_database_upgraded_to_head_has_exactly_the_tables_schema(engine: Engine) -> None:
    assert revision_of(engine) is None
    migrate.upgrade(engine)
    assert revision_of(engine) == HEAD
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata
        )
    assert diff == []
    migrate.upgrade(engine)  # already there: nothing to do
    assert revision_of(engine) == HEAD


# Known losses, by (database, starting revision).
@pytest.mark.parametrize("start", OLDER)
def test_rows_written_at_an_older_revision_survive_the_upgrade_to_head(
    engine: Engine, database: Database, start: str
) -> None:
    # On SQLite this needs foreign keys off while tables are rebuilt: with them on, 0002's rebuild
    # of chat and watchlist cascaded and deleted every subscription, hit and delivery.
    migrate.upgrade(engine, start)
    assert revision_of(engine) == start
    inserted = insert_rows(engine)
    assert set(inserted) >= {"chat", "feed", "watchlist", "item", "subscription", "hit", "delivery"}

    migrate.upgrade(engine)

    assert revision_of(engine) == HEAD
    with Session(engine) as session:
        for model, rows in DATA.items():
            table = model.__table__.name  # type: ignore[attr-defined]
            if table not in inserted:
                continue
            stored = {
                row.id: row.model_dump()  # type: ignore[attr-defined]
                for row in session.exec(select(model))
            }
            assert set(stored) == {row["id"] for row in rows}, table
            for row in rows:
                assert stored[row["id"]] == expected(model, row, inserted[table]), table
    # And the repository reads them as the bot would.
    repo = database.open()
    try:
        assert [w.name for w in repo.watchlists()] == ["drones@1001", "kursk"]
        (past,) = repo.recent_hits(1001, 10)
        assert (past.item.title, past.item.feed_name, past.sent_at) == (
            "Бой под Курском",
            "Outlet «A»",
            T2,
        )
        assert [(m.term, m.text) for m in past.matches] == [
            ("Курск*", "Курском"),
            ("Kursk", "KURSK"),
        ]
    finally:
        repo.close()


def insert_rows(engine: Engine) -> dict[str, set[str]]:
    """Write `DATA` with plain SQL, each row with the columns the schema has now; returns the
    columns written, by table (tables the schema lacks are left out)."""
    written: dict[str, set[str]] = {}
    with engine.begin() as connection:
        schema = inspect(connection)
        tables = set(schema.get_table_names())
        for model, rows in DATA.items():
            table = model.__table__.name  # type: ignore[attr-defined]
            if table not in tables:
                continue
            present = {column["name"] for column in schema.get_columns(table)}
            written[table] = present
            for row in rows:
                values = {name: sql_value(v) for name, v in row.items() if name in present}
                names = ", ".join(f'"{name}"' for name in values)
                params = ", ".join(f":{name}" for name in values)
                connection.execute(
                    text(f'INSERT INTO "{table}" ({names}) VALUES ({params})'),  # noqa: S608
                    values,
                )
    return written


def sql_value(value: object) -> object:
    """A value as a plain driver takes it: naive UTC times, JSON as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def expected(model: type[SQLModel], row: dict[str, Any], written: set[str]) -> dict[str, Any]:
    """Every field of the model: the value written, or, for a column added since or left out,
    the model's default (what a row written by the bot today would hold)."""
    result: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in row and name in written:
            result[name] = row[name]
        elif field.default is not PydanticUndefined:
            result[name] = field.default
        else:
            raise AssertionError(f"{model.__name__}.{name} has no default: add it to DATA")
    return result


def test_opening_a_database_from_a_newer_feedwatch_is_a_storage_error(
    engine: Engine, database: Database
) -> None:
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StorageError, match="is it from a newer feedwatch"):
        database.open().close()


def test_an_unsent_notice_of_text_is_told_again_from_facts_after_0007(
    engine: Engine, database: Database
) -> None:
    """A notice queued as text before 0007 has no facts to be written from: it goes, and its
    feed is told again at its next failure; an unsent spike alert of text expires."""
    migrate.upgrade(engine, "0006")
    with engine.begin() as connection:
        for statement, values in (
            (
                "INSERT INTO chat (id, type, active, created_at, paused, spike_alerts) "
                "VALUES (1001, 'private', true, :t, false, true)",
                {},
            ),
            (
                "INSERT INTO feed (id, origin_url, url, source, enabled, consecutive_failures, "
                "created_at, failure_notified_at) VALUES (7, 'https://a.example/', "
                "'https://a.example/', 'config', true, 9, :t, :t)",
                {},
            ),
            (
                "INSERT INTO notice (id, chat_id, text, created_at) "
                "VALUES (1, 1001, 'The feed A has failed', :t)",
                {},
            ),
            (
                'INSERT INTO watchlist (id, name, terms, "require", exclude, source, retired, '
                "updated_at) VALUES (3, 'rvc', '[]', '[]', '[]', 'config', false, :t)",
                {},
            ),
            (
                "INSERT INTO subscription (id, chat_id, watchlist_id, created_at) "
                "VALUES (1, 1001, 3, :t)",
                {},
            ),
            (
                "INSERT INTO spike_alert (id, chat_id, watchlist_id, hour, count, baseline, spread, "
                "text, created_at) VALUES (1, 1001, 3, :t, 12, 1.0, 0.5, 'Spike', :t)",
                {},
            ),
        ):
            connection.execute(text(statement), {"t": sql_value(T1), **values})
    migrate.upgrade(engine)
    repo = database.open()
    try:
        assert repo.pending_notices() == []
        [feed] = repo.feeds()
        assert repo.tell_chats_feed_is_failing(feed.id, "HTTP 500", T1, T2) == 1
        assert repo.pending_spike_alerts(T1) == []
        [record] = repo.spike_alert_log(1001)
        assert record.outcome == "expired"
    finally:
        repo.close()
