"""How replicas share work through the database (SQLite and PostgreSQL): claims on due feeds and
holds on chats, their expiry, and the advisory lock that gives Telegram updates to one replica."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.core.domain import FeedSpec, Watchlist
from bot.ops.replica import UpdatesLock, replica_name, updates_lock_key
from bot.storage.repository import Repository
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_schema

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
RVC = Watchlist("rvc", ("РДК",))


@pytest.fixture
def five_feeds(repo: Repository) -> Repository:
    repo.sync_config([FeedSpec(f"https://{n}.example/rss") for n in range(5)], [RVC], NOW)
    return repo


def test_replicas_claim_different_due_feeds_and_no_more_than_asked(
    five_feeds: Repository,
) -> None:
    first = five_feeds.claim_due_feeds(NOW, "a", LEASE, 3)
    second = five_feeds.claim_due_feeds(NOW, "b", LEASE, 3)
    assert len(first) == 3
    assert len(second) == 2
    assert {f.id for f in first}.isdisjoint(f.id for f in second)
    assert five_feeds.claim_due_feeds(NOW, "c", LEASE, 3) == []


def test_a_claim_ends_with_the_poll_or_runs_out(five_feeds: Repository) -> None:
    claimed = five_feeds.claim_due_feeds(NOW, "a", LEASE, 5)
    polled, dead = claimed[0], claimed[1:]
    # The poll of one ends (its state saved, due again at once here); the others' replica died.
    five_feeds.save_feed_state(replace(polled, last_polled_at=NOW, next_poll_at=NOW))
    [again] = five_feeds.claim_due_feeds(NOW, "b", LEASE, 5)
    assert again.id == polled.id
    five_feeds.save_feed_state(replace(again, next_poll_at=NOW + timedelta(days=1)))
    # Only when the lease has run out do the dead replica's feeds go to another.
    assert five_feeds.claim_due_feeds(NOW + LEASE - timedelta(seconds=1), "c", LEASE, 5) == []
    taken = five_feeds.claim_due_feeds(NOW + LEASE, "c", LEASE, 5)
    assert sorted(f.id for f in taken) == sorted(f.id for f in dead)


def test_unchanged_feeds_saved_together_end_their_claims(five_feeds: Repository) -> None:
    claimed = five_feeds.claim_due_feeds(NOW, "a", LEASE, 5)
    five_feeds.save_feed_states([replace(f, next_poll_at=NOW) for f in claimed])
    assert len(five_feeds.claim_due_feeds(NOW, "b", LEASE, 5)) == 5


def test_a_crashed_single_process_clears_its_own_claims(five_feeds: Repository) -> None:
    five_feeds.register_chat(100, "private", "analyst", NOW)
    five_feeds.claim_due_feeds(NOW, "a", LEASE, 2)
    assert five_feeds.claim_chat(100, "a", NOW, LEASE) is not None
    assert five_feeds.clear_leases() == 3
    assert len(five_feeds.claim_due_feeds(NOW, "b", LEASE, 5)) == 5
    assert five_feeds.claim_chat(100, "b", NOW, LEASE) is not None


def test_a_chat_is_held_by_one_replica_at_a_time(repo: Repository) -> None:
    repo.register_chat(100, "private", "analyst", NOW)
    held = repo.claim_chat(100, "a", NOW, LEASE)
    assert held is not None
    assert held.id == 100
    assert repo.claim_chat(100, "b", NOW, LEASE) is None
    # The holder renews its hold; the other still waits, until the renewed lease runs out.
    later = NOW + timedelta(minutes=1)
    assert repo.claim_chat(100, "a", later, LEASE) is not None
    assert repo.claim_chat(100, "b", NOW + LEASE, LEASE) is None
    assert repo.claim_chat(100, "b", later + LEASE, LEASE) is not None


def test_a_released_chat_is_free_or_held_through_a_wait(repo: Repository) -> None:
    repo.register_chat(100, "private", "analyst", NOW)
    assert repo.claim_chat(100, "a", NOW, LEASE) is not None
    repo.release_chat(100, "b")  # not b's to release
    assert repo.claim_chat(100, "b", NOW, LEASE) is None
    repo.release_chat(100, "a")
    assert repo.claim_chat(100, "b", NOW, LEASE) is not None
    # Telegram said wait 30 s: nobody sends to the chat before then.
    wait = NOW + timedelta(seconds=30)
    repo.release_chat(100, "b", hold_until=wait)
    assert repo.claim_chat(100, "a", NOW + timedelta(seconds=29), LEASE) is None
    assert repo.claim_chat(100, "a", wait, LEASE) is not None


def test_an_inactive_or_unknown_chat_is_not_held(repo: Repository) -> None:
    repo.register_chat(100, "private", "analyst", NOW)
    repo.deactivate_chat(100, "blocked the bot")
    assert repo.claim_chat(100, "a", NOW, LEASE) is None
    assert repo.claim_chat(999, "a", NOW, LEASE) is None


def test_replica_names_differ_and_lock_keys_follow_the_bot() -> None:
    assert replica_name() != replica_name()
    assert updates_lock_key("123:abc") == updates_lock_key("123:other-secret")
    assert updates_lock_key("123:abc") != updates_lock_key("124:abc")
    assert -(2**63) <= updates_lock_key("123:abc") < 2**63


# --- the advisory lock (PostgreSQL only: SQLite is one process) ------------------------------


@pytest.fixture
def postgres() -> Iterator[Engine]:
    schemas = _postgres_schema()
    database = next(schemas)
    engine = create_engine(database.url, connect_args=database.connect_args)
    try:
        yield engine
    finally:
        engine.dispose()
        schemas.close()  # drops the schema


@pytest.mark.postgres
def test_one_replica_at_a_time_holds_the_updates_lock(postgres: Engine) -> None:
    key = updates_lock_key(f"{uuid.uuid4().int % 10**9}:token")
    first, second = UpdatesLock(postgres, key), UpdatesLock(postgres, key)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert first.still_held()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


@pytest.mark.postgres
def test_a_lock_whose_connection_died_is_lost_and_taken(postgres: Engine) -> None:
    key = updates_lock_key(f"{uuid.uuid4().int % 10**9}:token")
    holder, other = UpdatesLock(postgres, key), UpdatesLock(postgres, key)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        assert holder.try_acquire()
        # What a replica's death (SIGKILL) does to its connection: the session ends (waited for:
        # the lock goes only when the backend has exited).
        with admin.connect() as connection:
            ended = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": key},
            ).all()
        assert ended == [(True,)]
        assert other.try_acquire()
        assert not holder.still_held()
        assert not holder.held
    finally:
        holder.release()
        other.release()
        admin.dispose()
