"""SQLModel tables of feedwatch; only the repository and the migrations import them.

Every schema change comes with an Alembic migration in `migrations/versions/`; a test compares the
migrated schema with these tables on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlmodel import Field, SQLModel

from bot.storage.types import UtcDateTime

NO_TOPIC = 0
"""The outbox's `thread_id` for a row that goes to the chat itself, not to a forum topic."""

# Rows that grow with every poll get 64-bit ids; SQLite only autoincrements a plain INTEGER key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class FeedRow(SQLModel, table=True):
    __tablename__ = "feed"

    id: int | None = Field(default=None, primary_key=True)
    # The URL as configured identifies the feed; `url` is where it is fetched now (a 301/308 moves it).
    origin_url: str = Field(sa_type=Text, unique=True)
    url: str = Field(sa_type=Text)
    name: str | None = Field(default=None, sa_type=Text)
    source: str = Field(default="config", max_length=16)
    enabled: bool = True
    interval_seconds: int | None = None
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, sa_type=Text)
    body_hash: str | None = Field(default=None, max_length=64)
    next_poll_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)
    last_polled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    consecutive_failures: int = 0
    # When the current run of failures began, and when the chats were told it had lasted days.
    failing_since: datetime | None = Field(default=None, sa_type=UtcDateTime)
    missed_posts: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    failure_notified_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    # The replica polling the feed now, and until when its claim holds (replicas.md: leases).
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ItemRow(SQLModel, table=True):
    __tablename__ = "item"
    __table_args__ = (
        UniqueConstraint("feed_id", "key", name="uq_item_feed_key"),
        # Hits are counted by when their items were seen (spike alerts read 15 single hours).
        Index("ix_item_seen_at", "seen_at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    feed_id: int = Field(
        sa_column=Column(ForeignKey("feed.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    key: str = Field(max_length=512)
    title: str = Field(sa_type=Text)
    link: str | None = Field(default=None, sa_type=Text)
    summary: str = Field(sa_type=Text)
    published_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    seen_at: datetime = Field(sa_type=UtcDateTime)
    # A channel post's facts; a feed's items leave the defaults.
    forwarded_from: str | None = Field(default=None, sa_type=Text)
    views: str | None = Field(default=None, max_length=32)
    media: str = Field(  # kinds, a comma between: "photo,video"
        default="", sa_column=Column(String(256), nullable=False, server_default="")
    )
    edited: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    author: str | None = Field(default=None, sa_type=Text)
    cites: str | None = Field(default=None, max_length=128)
    # The feed's categories (tags) of the item, a line each; None before migration 0011.
    categories: str | None = Field(default=None, sa_type=Text)
    # Read on its feed's first poll, and older than the archive age then: digests hold it apart.
    archived: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class WatchlistRow(SQLModel, table=True):
    __tablename__ = "watchlist"

    id: int | None = Field(default=None, primary_key=True)
    # Configured lists are known by their name; a chat's own list by "label@chat_id", which no
    # configured name can be (they hold no "@").
    name: str = Field(max_length=100, unique=True)
    owner_chat_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    title: str | None = Field(default=None, sa_type=Text)
    terms: list[str] = Field(sa_type=JSON)
    require: list[str] = Field(sa_type=JSON)
    exclude: list[str] = Field(sa_type=JSON)
    # The terms' contexts: [{"term", "near", "not_near", "within"}]; None before migration 0010.
    contexts: list[dict[str, Any]] | None = Field(default=None, sa_type=JSON)
    # Where the list looks and on what (None: everywhere; title and summary), since 0011.
    sources: list[str] | None = Field(default=None, sa_type=JSON)
    skip_sources: list[str] | None = Field(default=None, sa_type=JSON)
    fields: list[str] | None = Field(default=None, sa_type=JSON)
    source: str = Field(default="config", max_length=16)
    retired: bool = False
    updated_at: datetime = Field(sa_type=UtcDateTime)


class ChatRow(SQLModel, table=True):
    __tablename__ = "chat"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    type: str = Field(max_length=16)
    title: str | None = Field(default=None, sa_type=Text)
    active: bool = True
    inactive_reason: str | None = Field(default=None, sa_type=Text)
    # None: the configured default; 0: each hit as it comes (`/every instant`).
    digest_interval_seconds: int | None = None
    last_digest_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    paused: bool = False
    timezone: str | None = Field(default=None, max_length=64)
    # Quiet hours as minutes after midnight in the chat's time zone; both set or both None.
    quiet_start: int | None = None
    quiet_end: int | None = None
    language: str | None = Field(default=None, max_length=16)
    # A private chat that configures a channel (`/channel @name`) names it here.
    managing_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    # The replica sending to the chat now, and until when no other may (also held through a 429).
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # `/spikes on`: an alert at once when a followed watchlist's hour is far above its usual.
    spike_alerts: bool = False


class SubscriptionRow(SQLModel, table=True):
    __tablename__ = "subscription"
    __table_args__ = (
        UniqueConstraint("chat_id", "watchlist_id", name="uq_subscription_chat_watchlist"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), nullable=False)
    )
    watchlist_id: int = Field(
        sa_column=Column(ForeignKey("watchlist.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # The forum topic the chat subscribed from: its digests go there.
    thread_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UtcDateTime)


class ForumTopicRow(SQLModel, table=True):
    """A forum topic's name as last seen on a message sent in it: the Bot API has no way to ask
    for it, and `/watchlists` names the topic each list's digests go to."""

    __tablename__ = "forum_topic"

    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True)
    )
    thread_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    title: str = Field(sa_type=Text)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class ChatFeedRow(SQLModel, table=True):
    """A feed a chat added with `/addfeed`: its items reach only the chats that added it."""

    __tablename__ = "chat_feed"
    __table_args__ = (UniqueConstraint("chat_id", "feed_id", name="uq_chat_feed"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), nullable=False)
    )
    feed_id: int = Field(
        sa_column=Column(ForeignKey("feed.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = Field(sa_type=UtcDateTime)


class HitRow(SQLModel, table=True):
    __tablename__ = "hit"
    __table_args__ = (UniqueConstraint("item_id", "watchlist_id", name="uq_hit_item_watchlist"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    item_id: int = Field(
        sa_column=Column(BigId, ForeignKey("item.id", ondelete="CASCADE"), nullable=False)
    )
    watchlist_id: int = Field(
        sa_column=Column(ForeignKey("watchlist.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # [{"term": …, "text": …}]: which term matched and the words as they stand in the item.
    matches: list[dict[str, Any]] = Field(sa_type=JSON)
    created_at: datetime = Field(sa_type=UtcDateTime)


class DeliveryRow(SQLModel, table=True):
    """The outbox: one row per chat, item and forum topic; `sent_at` is set only when Telegram
    confirmed."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("chat_id", "item_id", "thread_id", name="uq_delivery_chat_item_thread"),
        Index("ix_delivery_pending", "chat_id", "sent_at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), nullable=False)
    )
    item_id: int = Field(
        sa_column=Column(BigId, ForeignKey("item.id", ondelete="CASCADE"), nullable=False)
    )
    # The forum topic it goes to; NO_TOPIC (0): the chat itself. Not NULL, so that the unique key
    # holds one row per chat, item and topic.
    thread_id: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Open rows: None (pending) or "held" (came while the chat was paused; offered on /resume).
    # Closed rows: "sent"; "summarised" (in a backlog summary, left to /hits); "archived" (a
    # feed's archive item, counted in a digest, left to /hits); "dropped" (the chat
    # no longer follows any watchlist the item hit); "skipped" (held, and the chat declined them);
    # "duplicate" (before 0006: a story the chat had got from another outlet; now such an item
    # is sent as an update line under that story).
    outcome: str | None = Field(default=None, max_length=16)
    message_id: int | None = Field(default=None, sa_type=BigInteger)


class NoticeRow(SQLModel, table=True):
    """A message to a chat outside its digests, as facts (a feed failing for days: which, why,
    since when); written in the chat's language when it is sent, once."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_pending", "chat_id", "sent_at"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), nullable=False)
    )
    feed_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("feed.id", ondelete="CASCADE"), nullable=True),
    )
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    failing_since: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SpikeAlertRow(SQLModel, table=True):
    """A spike alert to a chat, recorded before it is sent: the record is what keeps a chat to one
    alert per watchlist in `bot.trends.spikes.COOLDOWN`, on every replica, and an alert is sent at most
    once (`attempted_at` is set before each try and cleared only when Telegram said no)."""

    __tablename__ = "spike_alert"
    __table_args__ = (
        UniqueConstraint("chat_id", "watchlist_id", "hour", name="uq_spike_alert_chat_list_hour"),
        Index("ix_spike_alert_pending", "sent_at", "outcome"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("chat.id", ondelete="CASCADE"), nullable=False)
    )
    watchlist_id: int = Field(
        sa_column=Column(ForeignKey("watchlist.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    # The forum topic the chat follows the watchlist from.
    thread_id: int | None = Field(default=None, sa_type=BigInteger)
    # The clock hour (UTC) in which the counted hour ended.
    hour: datetime = Field(sa_type=UtcDateTime)
    count: int
    baseline: float
    spread: float
    # The hour counted, and whether the chat's own feeds counted in it: what the alert's story
    # lines are read from again, when it is written (in the chat's language then) or retried.
    counted_from: datetime | None = Field(default=None, sa_type=UtcDateTime)
    counted_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
    own_feeds: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = Field(sa_type=UtcDateTime)
    attempted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # None while it waits to go; "sent"; "failed" (refused, or the chat is gone); "unsure" (the
    # try may have reached Telegram: never sent again); "expired" (could not go within the hour).
    outcome: str | None = Field(default=None, max_length=16)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
