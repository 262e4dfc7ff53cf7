"""Several feedwatch processes on one PostgreSQL database: each one's name, and the advisory lock
that lets exactly one of them take Telegram updates with getUpdates at a time.

Feeds and chats are shared through leases in the database (`Repository.claim_due_feeds`,
`ChatStore.claim_chat`); there is no protocol between the processes beyond PostgreSQL itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError


def replica_name() -> str:
    """This process among replicas: host, process id and a random tag (a restarted process with a
    reused pid is another replica)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


def updates_lock_key(bot_token: str) -> int:
    """The advisory-lock key for one bot's updates: several bots may share a database, one lock
    each. A signed 64-bit integer, as pg_try_advisory_lock takes."""
    bot_id = bot_token.split(":", 1)[0]
    digest = hashlib.sha256(f"feedwatch-updates:{bot_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class UpdatesLock:
    """A PostgreSQL advisory lock, held on a connection of its own for as long as this replica
    takes updates: a replica that dies drops the connection, and with it the lock."""

    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    def try_acquire(self) -> bool:
        """Take the lock if no other replica holds it (never waits)."""
        if self._connection is not None:
            return True
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
        except BaseException:
            connection.invalidate()
            raise
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def still_held(self) -> bool:
        """Whether the lock's connection is alive (a lost connection has lost the lock)."""
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            self.release()
            return False
        return True

    def release(self) -> None:
        """Let the lock go: the connection is closed for real, not returned to the pool with the
        lock still on it."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                # At once, for whoever waits; closing alone would free it when the server
                # notices the connection is gone.
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            with contextlib.suppress(SQLAlchemyError):
                connection.invalidate()
            connection.close()
