"""The repository on SQLite and PostgreSQL alike: migrations, config sync, items, hits and the outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from bot.core.domain import FeedSpec, Match, ParsedItem, Watchlist
from bot.core.errors import StorageError
from bot.storage.repository import Repository
from tests.conftest import Database

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
RVC = Watchlist("rvc", ("Russian Volunteer Corps", "РДК"), title="Russian Volunteer Corps")
KURSK = Watchlist("kursk", ("Kursk", "Курск*"))


def item(key: str, title: str = "A title", link: str | None = None) -> ParsedItem:
    return ParsedItem(key, title, link or f"https://news.example/{key}", "summary", NOW)


def hit(watchlist: str, text: str = "РДК") -> dict[str, tuple[Match, ...]]:
    return {watchlist: (Match(watchlist, text, text),)}


@pytest.fixture
def seeded(repo: Repository) -> Repository:
    repo.sync_config(
        [FeedSpec("https://a.example/rss", "A"), FeedSpec("https://b.example/rss", "B")],
        [RVC, KURSK],
        NOW,
    )
    return repo


def feed_id(repo: Repository, url: str) -> int:
    return next(f.id for f in repo.feeds() if f.url == url)


def test_migrations_build_exactly_the_schema_the_tables_describe(repo: Repository) -> None:
    with repo.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), SQLModel.metadata
        )
    assert diff == []


def test_opening_twice_keeps_the_data(database: Database) -> None:
    first = database.open()
    first.sync_config([FeedSpec("https://a.example/rss")], [RVC], NOW)
    first.close()
    second = database.open()
    try:
        assert [f.url for f in second.feeds()] == ["https://a.example/rss"]
    finally:
        second.close()


def test_sync_config_adds_due_feeds_and_retires_what_left_the_file(seeded: Repository) -> None:
    assert {f.url for f in seeded.due_feeds(NOW)} == {
        "https://a.example/rss",
        "https://b.example/rss",
    }
    seeded.sync_config(
        [FeedSpec("https://a.example/rss", "A renamed", timedelta(minutes=30))],
        [KURSK],
        NOW + timedelta(hours=1),
    )
    feeds = seeded.feeds()
    assert [(f.url, f.name, f.interval) for f in feeds] == [
        ("https://a.example/rss", "A renamed", timedelta(minutes=30))
    ]
    assert [w.name for w in seeded.watchlists()] == ["kursk"]


def test_store_items_is_idempotent_per_feed_and_key(seeded: Repository) -> None:
    a = feed_id(seeded, "https://a.example/rss")
    b = feed_id(seeded, "https://b.example/rss")
    first = seeded.store_items(a, [(item("1"), hit("rvc")), (item("2"), {})], NOW)
    assert (first.new_items, first.new_hits) == (2, 1)
    again = seeded.store_items(a, [(item("1"), hit("rvc")), (item("2"), {})], NOW)
    assert (again.new_items, again.new_hits, again.new_deliveries) == (0, 0, 0)
    # The same key in another feed is another item.
    other = seeded.store_items(b, [(item("1"), {})], NOW)
    assert other.new_items == 1
    assert seeded.counts().items == 3
    assert seeded.unseen_keys(a, ["1", "2", "3"]) == {"3"}


def test_store_items_takes_a_key_listed_twice_once(seeded: Repository) -> None:
    a = feed_id(seeded, "https://a.example/rss")
    seeded.register_chat(100, "private", "analyst", NOW)
    seeded.subscribe(100, ["rvc"], NOW)
    result = seeded.store_items(a, [(item("1"), hit("rvc")), (item("1", "Again"), hit("rvc"))], NOW)
    assert (result.new_items, result.new_hits, result.new_deliveries) == (1, 1, 1)
    assert [p.item.title for p in seeded.pending_deliveries(100)] == ["A title"]


def test_store_items_saves_the_feed_state_in_the_same_transaction(seeded: Repository) -> None:
    feed = next(f for f in seeded.feeds() if f.url == "https://a.example/rss")
    later = NOW + timedelta(minutes=30)
    first = seeded.store_items(
        feed.id, [(item("1"), {})], NOW, state=replace(feed, body_hash="b1", next_poll_at=later)
    )
    # Nothing new in the body: the state (its hash, its schedule) is saved all the same.
    second = seeded.store_items(
        feed.id, [(item("1"), {})], NOW, state=replace(feed, body_hash="b2", next_poll_at=later)
    )
    assert (first.new_items, second.new_items) == (1, 0)
    saved = next(f for f in seeded.feeds() if f.id == feed.id)
    assert (saved.body_hash, saved.next_poll_at, saved.item_count) == ("b2", later, 1)
    assert feed not in seeded.due_feeds(NOW)


def test_the_state_of_many_feeds_is_saved_in_one_call(seeded: Repository) -> None:
    a, b = seeded.feeds()
    later = NOW + timedelta(hours=1)
    gone = replace(a, id=a.id + b.id + 1000)  # a feed that no longer exists is skipped
    saved = seeded.save_feed_states(
        [
            replace(a, etag='"a2"', next_poll_at=later, last_success_at=NOW),
            replace(b, last_modified="Tue, 12 Mar 2024 05:40:00 GMT", next_poll_at=later),
            gone,
        ]
    )
    assert saved == 2
    after = {f.id: f for f in seeded.feeds()}
    assert (after[a.id].etag, after[a.id].last_success_at) == ('"a2"', NOW)
    assert after[b.id].last_modified == "Tue, 12 Mar 2024 05:40:00 GMT"
    assert seeded.due_feeds(NOW) == []
    assert seeded.save_feed_states([]) == 0


def test_hits_queue_one_delivery_per_following_chat_and_item(seeded: Repository) -> None:
    a = feed_id(seeded, "https://a.example/rss")
    seeded.register_chat(100, "private", "analyst", NOW)
    seeded.register_chat(200, "group", "desk", NOW)
    seeded.subscribe(100, ["rvc", "kursk"], NOW)
    seeded.subscribe(200, ["kursk"], NOW)
    both = {"rvc": hit("rvc")["rvc"], "kursk": (Match("kursk", "Kursk", "Kursk"),)}
    result = seeded.store_items(a, [(item("1"), both), (item("2"), hit("rvc"))], NOW)
    assert (result.new_hits, result.new_deliveries) == (3, 3)

    pending = seeded.pending_deliveries(100)
    assert [p.item.key for p in pending] == ["1", "2"]
    assert {m.watchlist for m in pending[0].matches} == {"rvc", "kursk"}
    assert pending[0].item.feed_name == "A"
    assert pending[0].item.published == NOW  # aware UTC on both databases
    assert [p.item.key for p in seeded.pending_deliveries(200)] == ["1"]
    assert [c.id for c in seeded.chats_with_pending()] == [100, 200]


def test_mark_sent_closes_rows_once(seeded: Repository) -> None:
    a = feed_id(seeded, "https://a.example/rss")
    seeded.register_chat(100, "private", None, NOW)
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.store_items(a, [(item("1"), hit("rvc"))], NOW)
    ids = [p.id for p in seeded.pending_deliveries(100)]
    assert seeded.mark_sent(ids, NOW, message_id=7) == 1
    assert seeded.mark_sent(ids, NOW, message_id=8) == 0
    assert seeded.pending_deliveries(100) == []
    assert seeded.chats_with_pending() == []


def test_an_unsubscribed_watchlist_leaves_its_deliveries_without_matches(
    seeded: Repository,
) -> None:
    a = feed_id(seeded, "https://a.example/rss")
    seeded.register_chat(100, "private", None, NOW)
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.store_items(a, [(item("1"), hit("rvc"))], NOW)
    seeded.unsubscribe(100, ["rvc"])
    [pending] = seeded.pending_deliveries(100)
    assert pending.matches == ()


def test_subscribe_reports_changed_unchanged_and_unknown(seeded: Repository) -> None:
    seeded.register_chat(100, "private", None, NOW)
    first = seeded.subscribe(100, ["rvc", "nope", "rvc"], NOW)
    assert (first.changed, first.unchanged, first.unknown) == (("rvc",), (), ("nope",))
    second = seeded.subscribe(100, ["rvc", "kursk"], NOW)
    assert (second.changed, second.unchanged) == (("kursk",), ("rvc",))
    assert [w.name for w in seeded.chat_watchlists(100)] == ["kursk", "rvc"]
    gone = seeded.unsubscribe(100, ["kursk", "kursk", "lsr"])
    assert (gone.changed, gone.unchanged, gone.unknown) == (("kursk",), (), ("lsr",))


def test_subscribing_an_unregistered_chat_is_a_clear_error(seeded: Repository) -> None:
    with pytest.raises(StorageError, match="send /start"):
        seeded.subscribe(999, ["rvc"], NOW)


def test_a_deactivated_chat_gets_no_new_deliveries_until_it_comes_back(seeded: Repository) -> None:
    a = feed_id(seeded, "https://a.example/rss")
    seeded.register_chat(100, "private", None, NOW)
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.deactivate_chat(100, "Forbidden: bot was blocked by the user")
    assert seeded.store_items(a, [(item("1"), hit("rvc"))], NOW).new_deliveries == 0
    assert seeded.chat(100) is not None
    assert seeded.chat(100).active is False  # type: ignore[union-attr]
    seeded.register_chat(100, "private", None, NOW)
    assert seeded.store_items(a, [(item("2"), hit("rvc"))], NOW).new_deliveries == 1


def test_migrate_chat_moves_subscriptions_and_outbox(seeded: Repository) -> None:
    a = feed_id(seeded, "https://a.example/rss")
    seeded.register_chat(-100, "group", "desk", NOW)
    seeded.subscribe(-100, ["rvc"], NOW)
    seeded.store_items(a, [(item("1"), hit("rvc"))], NOW)
    seeded.migrate_chat(-100, -1001234567890)
    assert seeded.chat(-100) is None
    assert [w.name for w in seeded.chat_watchlists(-1001234567890)] == ["rvc"]
    assert [p.item.key for p in seeded.pending_deliveries(-1001234567890)] == ["1"]


def test_save_feed_state_keeps_health_and_a_moved_url(seeded: Repository) -> None:
    [feed, other] = seeded.feeds()
    saved = seeded.save_feed_state(
        replace(
            feed,
            url="https://a.example/feed.xml",
            etag='"v1"',
            last_error="HTTP 500 Internal Server Error",
            consecutive_failures=2,
            next_poll_at=NOW + timedelta(hours=1),
        )
    )
    assert (saved.url, saved.etag, saved.consecutive_failures) == (
        "https://a.example/feed.xml",
        '"v1"',
        2,
    )
    assert seeded.due_feeds(NOW) == [other]
    # The configured URL stays the feed's identity: syncing the same config keeps the move.
    seeded.sync_config(
        [FeedSpec("https://a.example/rss", "A"), FeedSpec("https://b.example/rss", "B")],
        [RVC, KURSK],
        NOW,
    )
    assert [f.url for f in seeded.feeds()] == [
        "https://a.example/feed.xml",
        "https://b.example/rss",
    ]


def test_an_unreachable_database_is_a_storage_error_with_a_reason() -> None:
    with pytest.raises(StorageError, match="cannot open the database"):
        Repository.open("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
