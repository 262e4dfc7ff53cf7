"""Chats in the database: their settings, subscriptions, own watchlists and feeds, and the held and
past rows of their outbox. `Repository` builds on this store."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.domain import (
    CONSOLE_CHAT_ID,
    Chat,
    FeedState,
    Match,
    PendingDelivery,
    StoredItem,
    Watchlist,
    own_watchlist_name,
)
from bot.errors import RefusedError, StorageError
from bot.limits import MAX_FEEDS_PER_CHAT, MAX_LISTS_PER_CHAT, MAX_TERMS_PER_LIST
from bot.storage.store import Store
from bot.storage.tables import (
    NO_TOPIC,
    ChatFeedRow,
    ChatRow,
    DeliveryRow,
    FeedRow,
    ForumTopicRow,
    HitRow,
    ItemRow,
    SpikeAlertRow,
    SubscriptionRow,
    WatchlistRow,
)

CONFIG_SOURCE = "config"
CHAT_SOURCE = "chat"
# Imported from an OPML file by the operator: read for every chat like a configured feed, but not
# retired when it is missing from the config file.
IMPORT_SOURCE = "import"
SHARED_SOURCES = (CONFIG_SOURCE, IMPORT_SOURCE)
FeedImport = Literal["added", "already"]
HELD = "held"
RECENT_SENT_LIMIT = 5000
"""Rows sent in the story window that a digest compares new items with, at most."""
TermRole = Literal["terms", "require", "exclude"]


@dataclass(frozen=True, slots=True)
class SubscribeResult:
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TermsResult:
    """What `/watch`, `/exclude` or `/require` changed in a chat's own list."""

    created: bool
    added: tuple[str, ...]
    already: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Backlog:
    """A forum topic's (or the chat's) outbox too long for one digest, as its summary reads it."""

    total: int
    counts: dict[str, int]
    newest: list[PendingDelivery]
    last_id: int


@dataclass(frozen=True, slots=True)
class PastHit:
    """An item that reached a chat's outbox, for `/hits`."""

    item: StoredItem
    matches: tuple[Match, ...]
    sent_at: datetime | None


def watchlist_of(row: WatchlistRow) -> Watchlist:
    return Watchlist(
        name=row.name,
        title=row.title,
        terms=tuple(row.terms),
        require=tuple(row.require),
        exclude=tuple(row.exclude),
        owner=row.owner_chat_id,
    )


def chat_of(row: ChatRow) -> Chat:
    interval = row.digest_interval_seconds
    quiet = None
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = (row.quiet_start, row.quiet_end)
    return Chat(
        id=row.id,
        type=row.type,
        title=row.title,
        active=row.active,
        digest_interval=timedelta(seconds=interval) if interval is not None else None,
        last_digest_at=row.last_digest_at,
        paused=row.paused,
        timezone=row.timezone,
        quiet=quiet,
        language=row.language,
        managing_chat_id=row.managing_chat_id,
    )


def state_of(row: FeedRow, item_count: int = 0) -> FeedState:
    assert row.id is not None
    return FeedState(
        id=row.id,
        url=row.url,
        name=row.name,
        interval=timedelta(seconds=row.interval_seconds) if row.interval_seconds else None,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        next_poll_at=row.next_poll_at,
        last_polled_at=row.last_polled_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        consecutive_failures=row.consecutive_failures,
        item_count=item_count,
        failing_since=row.failing_since,
    )


def item_counts(session: Session) -> dict[int, int]:
    """How many items each feed has stored, by feed id."""
    return dict(
        session.exec(
            select(ItemRow.feed_id, func.count(col(ItemRow.id))).group_by(col(ItemRow.feed_id))
        ).all()
    )


def stored_item(item: ItemRow, feed: FeedRow) -> StoredItem:
    assert item.id is not None
    assert feed.id is not None
    return StoredItem(
        id=item.id,
        feed_id=feed.id,
        feed_name=feed.name or feed.url,
        key=item.key,
        title=item.title,
        link=item.link,
        summary=item.summary,
        published=item.published_at,
        seen_at=item.seen_at,
    )


def _open_rows() -> ColumnElement[bool]:
    """Outbox rows still to send: not sent and not held back."""
    return col(DeliveryRow.sent_at).is_(None) & col(DeliveryRow.outcome).is_(None)


def _rowcount(result: object) -> int:
    """Rows an UPDATE touched (SQLAlchemy types `execute` as a plain `Result`)."""
    return int(getattr(result, "rowcount", 0) or 0)


class ChatStore(Store):
    """Chats, their settings, subscriptions, own watchlists and feeds."""

    # --- chats ------------------------------------------------------------------------------
    #
    # May we send to this chat? Only while it is active. Every message the bot sends unasked (a
    # digest, an instant hit, a failing-feed notice, a spike alert) goes out while its sender
    # holds the chat (`claim_chat`), and only an active chat can be held; an answer goes only to
    # a chat that just wrote to the bot. A chat stops being active when Telegram says the bot
    # cannot post there (a send refused as blocked, kicked or gone; a `my_chat_member` update
    # saying the bot left or was removed or blocked), and is active again only when Telegram shows
    # it can (a message in the chat, or `my_chat_member` saying the bot is back).

    def register_chat(
        self,
        chat_id: int,
        chat_type: str,
        title: str | None,
        now: datetime,
        *,
        language: str | None = None,
        reactivate: bool = True,
    ) -> Chat:
        """Create the chat, or update its name and bring it back when it had been deactivated;
        `reactivate=False` for what is no sign that the bot may post there again (a press of a
        button under an old message)."""
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is None:
                row = ChatRow(id=chat_id, type=chat_type, title=title, created_at=now)
                session.add(row)
            else:
                row.type, row.title = chat_type, title
                if reactivate:
                    row.active, row.inactive_reason = True, None
            if language:
                row.language = language
            return chat_of(row)

    def chat(self, chat_id: int) -> Chat | None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            return chat_of(row) if row else None

    def set_digest_interval(self, chat_id: int, interval: timedelta | None) -> None:
        """None: the configured default; zero: each hit as it comes."""
        seconds = int(interval.total_seconds()) if interval is not None else None
        self._update_chat(chat_id, digest_interval_seconds=seconds)

    def set_timezone(self, chat_id: int, timezone: str | None) -> None:
        self._update_chat(chat_id, timezone=timezone)

    def set_quiet(self, chat_id: int, quiet: tuple[int, int] | None) -> None:
        start, end = quiet if quiet is not None else (None, None)
        self._update_chat(chat_id, quiet_start=start, quiet_end=end)

    def set_managing(self, chat_id: int, managed_id: int | None) -> None:
        self._update_chat(chat_id, managing_chat_id=managed_id)

    def pause(self, chat_id: int) -> None:
        self._update_chat(chat_id, paused=True)

    def resume(self, chat_id: int) -> int:
        """Deliver again; what came while paused is held, to be offered rather than dumped.
        Returns how many items are held."""
        with self._session() as session:
            row = self._chat_row(session, chat_id)
            was_paused, row.paused = row.paused, False
            if not was_paused:
                return 0
            held = session.execute(
                update(DeliveryRow)
                .where(col(DeliveryRow.chat_id) == chat_id)
                .where(_open_rows())
                .values(outcome=HELD)
            )
            return _rowcount(held)

    def release_held(self, chat_id: int) -> int:
        """The chat wants what was held: it goes with the next digest."""
        return self._change_held(chat_id, outcome=None)

    def skip_held(self, chat_id: int, now: datetime) -> int:
        """The chat declined what was held: close it unsent (it stays in `/hits`)."""
        return self._change_held(chat_id, outcome="skipped", sent_at=now)

    def _change_held(self, chat_id: int, **values: object) -> int:
        with self._session() as session:
            changed = session.execute(
                update(DeliveryRow)
                .where(col(DeliveryRow.chat_id) == chat_id)
                .where(col(DeliveryRow.sent_at).is_(None))
                .where(col(DeliveryRow.outcome) == HELD)
                .values(**values)
            )
            return _rowcount(changed)

    def _update_chat(self, chat_id: int, **values: object) -> None:
        with self._session() as session:
            row = self._chat_row(session, chat_id)
            for name, value in values.items():
                setattr(row, name, value)

    @staticmethod
    def _chat_row(session: Session, chat_id: int) -> ChatRow:
        row = session.get(ChatRow, chat_id)
        if row is None:
            raise StorageError(f"chat {chat_id} is not registered; send /start first")
        return row

    def set_last_digest(self, chat_id: int, now: datetime) -> None:
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is not None:
                row.last_digest_at = now

    def deactivate_chat(self, chat_id: int, reason: str) -> None:
        """Stop sending to a chat that blocked or removed the bot; its outbox stays for later."""
        with self._session() as session:
            row = session.get(ChatRow, chat_id)
            if row is not None:
                row.active, row.inactive_reason = False, reason

    def chats_with_pending(self) -> list[Chat]:
        """Active chats that have outbox rows to send."""
        with self._session() as session:
            pending = select(DeliveryRow.chat_id).where(_open_rows()).distinct()
            rows = session.exec(
                select(ChatRow)
                .where(col(ChatRow.active).is_(True))
                .where(col(ChatRow.id).in_(pending))
                .order_by(col(ChatRow.id))
            )
            return [chat_of(row) for row in rows]

    def claim_chat(self, chat_id: int, owner: str, now: datetime, lease: timedelta) -> Chat | None:
        """Hold an active chat for `owner` until `now + lease`, so that no other replica sends to
        it meanwhile: the chat as it stands now, or None when another replica holds it (or it is
        gone, or inactive: the one check of "may we send" for every unasked message). One
        conditional UPDATE, atomic on SQLite and PostgreSQL alike."""
        with self._session() as session:
            claimed = session.execute(
                update(ChatRow)
                .where(col(ChatRow.id) == chat_id)
                .where(col(ChatRow.active).is_(True))
                .where(
                    col(ChatRow.lease_until).is_(None)
                    | (col(ChatRow.lease_until) <= now)
                    | (col(ChatRow.lease_owner) == owner)
                )
                .values(lease_owner=owner, lease_until=now + lease)
            )
            if cast("CursorResult[Any]", claimed).rowcount != 1:
                return None
            row = session.get(ChatRow, chat_id)
            return chat_of(row) if row is not None else None

    def release_chat(self, chat_id: int, owner: str, *, hold_until: datetime | None = None) -> None:
        """End `owner`'s hold on the chat; with `hold_until` (a 429's wait, a backoff), keep other
        replicas away until then."""
        with self._session() as session:
            session.execute(
                update(ChatRow)
                .where(col(ChatRow.id) == chat_id)
                .where(col(ChatRow.lease_owner) == owner)
                .values(
                    lease_owner=owner if hold_until is not None else None,
                    lease_until=hold_until,
                )
            )

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup with a new id: move the chat, its settings, subscriptions,
        own lists, feeds and outbox."""
        try:
            with self._session() as session:
                old = session.get(ChatRow, old_id)
                if old is None:
                    return
                if session.get(ChatRow, new_id) is None:
                    moved = ChatRow(id=new_id, type="supergroup", created_at=old.created_at)
                    for name in (
                        "title", "active", "digest_interval_seconds", "last_digest_at", "paused",
                        "timezone", "quiet_start", "quiet_end", "language", "spike_alerts",
                    ):  # fmt: skip
                        setattr(moved, name, getattr(old, name))
                    session.add(moved)
                    session.flush()
                # What the new chat has already (it talked to the bot first) wins; the old
                # chat's copies of it go, so that the move never breaks a unique key.
                pairs = (
                    (SubscriptionRow, SubscriptionRow.watchlist_id),
                    (DeliveryRow, DeliveryRow.item_id),
                    (ChatFeedRow, ChatFeedRow.feed_id),
                    # Its spike alerts, which keep it to one per watchlist in six hours.
                    (SpikeAlertRow, SpikeAlertRow.watchlist_id),
                )
                for table, key in pairs:
                    taken = select(key).where(col(table.chat_id) == new_id)
                    session.execute(
                        delete(table).where(col(table.chat_id) == old_id).where(col(key).in_(taken))
                    )
                    session.execute(
                        update(table).where(col(table.chat_id) == old_id).values(chat_id=new_id)
                    )
                for own in session.exec(
                    select(WatchlistRow).where(WatchlistRow.owner_chat_id == old_id)
                ):
                    label = own.name.partition("@")[0]
                    own.name, own.owner_chat_id = own_watchlist_name(label, new_id), new_id
                session.execute(
                    update(ChatRow)
                    .where(col(ChatRow.managing_chat_id) == old_id)
                    .values(managing_chat_id=new_id)
                )
                session.flush()
                session.delete(old)
        except StorageError as error:
            if isinstance(error.__cause__, IntegrityError):
                raise StorageError(
                    f"chat {old_id} moved to {new_id}, which already has the same subscriptions"
                ) from error
            raise

    # --- watchlists a chat can see ----------------------------------------------------------

    def shared_watchlists(self) -> list[Watchlist]:
        """The configured watchlists every chat may follow."""
        return self._live_lists(col(WatchlistRow.owner_chat_id).is_(None))

    def own_watchlists(self, chat_id: int) -> list[Watchlist]:
        return self._live_lists(col(WatchlistRow.owner_chat_id) == chat_id)

    def chat_watchlists(self, chat_id: int) -> list[Watchlist]:
        """The watchlists a chat follows, its own and shared ones."""
        following = select(SubscriptionRow.watchlist_id).where(SubscriptionRow.chat_id == chat_id)
        return self._live_lists(col(WatchlistRow.id).in_(following))

    def _live_lists(self, *conditions: ColumnElement[bool]) -> list[Watchlist]:
        """The watchlists not retired that meet `conditions`, by name."""
        with self._session() as session:
            rows = session.exec(
                select(WatchlistRow)
                .where(col(WatchlistRow.retired).is_(False), *conditions)
                .order_by(WatchlistRow.name)
            )
            return [watchlist_of(row) for row in rows]

    @staticmethod
    def _visible_lists(
        session: Session, chat_id: int, *, prefer_own: bool
    ) -> dict[str, WatchlistRow]:
        """The lists a chat may name, by the name it uses. Should the operator later configure a
        name a chat already gave its own list, `prefer_own` says which of the two the name means:
        the own one for editing it, the shared one for following."""
        rows = session.exec(
            select(WatchlistRow)
            .where(col(WatchlistRow.retired).is_(False))
            .where(
                col(WatchlistRow.owner_chat_id).is_(None) | (WatchlistRow.owner_chat_id == chat_id)
            )
        ).all()
        ordered = sorted(rows, key=lambda row: (row.owner_chat_id is None) != prefer_own)
        return {watchlist_of(row).label: row for row in ordered}  # the preferred come last

    # --- forum topics -----------------------------------------------------------------------

    def topic_title(
        self, chat_id: int, thread_id: int, seen: str | None, now: datetime
    ) -> str | None:
        """A forum topic's name: `seen` on a message sent in it, which is remembered, else the
        name last remembered (None when no message ever showed it)."""
        with self._session() as session:
            row = session.get(ForumTopicRow, (chat_id, thread_id))
            if seen is None:
                return row.title if row is not None else None
            if row is None and session.get(ChatRow, chat_id) is not None:
                session.add(
                    ForumTopicRow(chat_id=chat_id, thread_id=thread_id, title=seen, updated_at=now)
                )
            elif row is not None and row.title != seen:
                row.title, row.updated_at = seen, now
            return seen

    def followed_topics(self, chat_id: int) -> dict[str, tuple[int, str | None]]:
        """The forum topic each followed list's digests go to, by the list's stored name, with
        the topic's name when it is known; lists followed outside any topic are left out."""
        with self._session() as session:
            rows = session.exec(
                select(WatchlistRow.name, SubscriptionRow.thread_id, ForumTopicRow.title)
                .join(SubscriptionRow, col(SubscriptionRow.watchlist_id) == WatchlistRow.id)
                .outerjoin(
                    ForumTopicRow,
                    (col(ForumTopicRow.chat_id) == SubscriptionRow.chat_id)
                    & (col(ForumTopicRow.thread_id) == SubscriptionRow.thread_id),
                )
                .where(SubscriptionRow.chat_id == chat_id)
                .where(col(SubscriptionRow.thread_id).is_not(None))
            ).all()
            return {name: (thread_id, title) for name, thread_id, title in rows if thread_id}

    # --- subscriptions ----------------------------------------------------------------------

    def subscribe(
        self,
        chat_id: int,
        names: Sequence[str],
        now: datetime,
        *,
        thread_id: int | None = None,
    ) -> SubscribeResult:
        """Follow watchlists; in a forum, their digests go to `thread_id`."""
        with self._session() as session:
            lists, current = self._lists_and_subscriptions(session, chat_id)
            changed, unchanged, unknown = [], [], []
            for name in dict.fromkeys(names):
                row = lists.get(name)
                if row is None or row.id is None:
                    unknown.append(name)
                elif row.id in current:
                    current[row.id].thread_id = thread_id
                    unchanged.append(name)
                else:
                    self._check_list_count(session, chat_id, adding=1)
                    session.add(
                        SubscriptionRow(
                            chat_id=chat_id,
                            watchlist_id=row.id,
                            thread_id=thread_id,
                            created_at=now,
                        )
                    )
                    current[row.id] = SubscriptionRow(
                        chat_id=chat_id, watchlist_id=row.id, created_at=now
                    )
                    changed.append(name)
            return SubscribeResult(tuple(changed), tuple(unchanged), tuple(unknown))

    def unsubscribe(self, chat_id: int, names: Sequence[str]) -> SubscribeResult:
        with self._session() as session:
            lists, current = self._lists_and_subscriptions(session, chat_id)
            changed, unchanged, unknown = [], [], []
            for name in dict.fromkeys(names):
                row = lists.get(name)
                if row is None or row.id is None:
                    unknown.append(name)
                elif row.id not in current:
                    unchanged.append(name)
                else:
                    session.delete(current[row.id])
                    changed.append(name)
            return SubscribeResult(tuple(changed), tuple(unchanged), tuple(unknown))

    def _lists_and_subscriptions(
        self, session: Session, chat_id: int
    ) -> tuple[dict[str, WatchlistRow], dict[int, SubscriptionRow]]:
        self._chat_row(session, chat_id)
        current = {
            row.watchlist_id: row
            for row in session.exec(
                select(SubscriptionRow).where(SubscriptionRow.chat_id == chat_id)
            )
        }
        return self._visible_lists(session, chat_id, prefer_own=False), current

    @staticmethod
    def _check_list_count(session: Session, chat_id: int, adding: int) -> None:
        count = session.exec(
            select(func.count(col(SubscriptionRow.id)))
            .join(WatchlistRow, col(WatchlistRow.id) == SubscriptionRow.watchlist_id)
            .where(SubscriptionRow.chat_id == chat_id)
            .where(col(WatchlistRow.retired).is_(False))
        ).one()
        if count + adding > MAX_LISTS_PER_CHAT:
            raise RefusedError(
                "a chat can follow at most {count} watchlists; /unsubscribe or /unwatch one first",
                count=MAX_LISTS_PER_CHAT,
            )

    def subscribe_console_to_all(self, now: datetime) -> None:
        """With no Telegram token the terminal is the one reader, and it follows every watchlist."""
        self.register_chat(CONSOLE_CHAT_ID, "console", "terminal", now)
        with self._session() as session:
            lists, current = self._lists_and_subscriptions(session, CONSOLE_CHAT_ID)
            for row in lists.values():
                if row.id is not None and row.id not in current:
                    session.add(
                        SubscriptionRow(
                            chat_id=CONSOLE_CHAT_ID, watchlist_id=row.id, created_at=now
                        )
                    )

    # --- a chat's own watchlists ------------------------------------------------------------

    def add_terms(
        self,
        chat_id: int,
        label: str,
        role: TermRole,
        terms: Sequence[str],
        now: datetime,
        *,
        thread_id: int | None = None,
    ) -> TermsResult:
        """Add terms to the chat's own list `label`; `/watch` creates it (and follows it)."""
        with self._session() as session:
            self._chat_row(session, chat_id)
            row = self._visible_lists(session, chat_id, prefer_own=True).get(label)
            if row is not None and row.owner_chat_id is None:
                raise RefusedError(
                    "{label} is a shared watchlist, set up by the operator; follow it with "
                    "/subscribe {label}, or choose another name for your own",
                    label=label,
                )
            created = row is None
            if row is None:
                if role != "terms":
                    raise RefusedError(
                        "this chat has no watchlist {label}; create it first with "
                        "/watch {label} TERM",
                        label=label,
                    )
                row = self._own_row(session, chat_id, label, now)
            current = list(getattr(row, role))
            known = {term.casefold() for term in current}
            # Told apart as the matcher tells them: case-blind.
            fresh = {term.casefold(): term for term in reversed(terms)}
            added = [term for key, term in reversed(fresh.items()) if key not in known]
            already = [term for term in terms if term.casefold() in known]
            # The limit counts every term of the list: terms, required and excluded alike.
            held = len(row.terms) + len(row.require) + len(row.exclude)
            if held + len(added) > MAX_TERMS_PER_LIST:
                raise RefusedError(
                    "a watchlist holds at most {limit} terms; {label} has {held}, and {adding} "
                    "more would be too many",
                    limit=MAX_TERMS_PER_LIST,
                    label=label,
                    held=held,
                    adding=len(added),
                )
            setattr(row, role, current + added)
            row.updated_at = now
            assert row.id is not None
            subscription = session.exec(
                select(SubscriptionRow)
                .where(SubscriptionRow.chat_id == chat_id)
                .where(SubscriptionRow.watchlist_id == row.id)
            ).first()
            if subscription is None:
                self._check_list_count(session, chat_id, adding=1)
                session.add(
                    SubscriptionRow(
                        chat_id=chat_id, watchlist_id=row.id, thread_id=thread_id, created_at=now
                    )
                )
            elif thread_id is not None:
                subscription.thread_id = thread_id
            return TermsResult(created, tuple(added), tuple(dict.fromkeys(already)))

    @staticmethod
    def _own_row(session: Session, chat_id: int, label: str, now: datetime) -> WatchlistRow:
        """A new own list, or a retired one of the same name brought back empty."""
        name = own_watchlist_name(label, chat_id)
        row = session.exec(select(WatchlistRow).where(WatchlistRow.name == name)).first()
        if row is None:
            row = WatchlistRow(
                name=name,
                owner_chat_id=chat_id,
                terms=[],
                require=[],
                exclude=[],
                source=CHAT_SOURCE,
                updated_at=now,
            )
            session.add(row)
        row.terms, row.require, row.exclude, row.retired = [], [], [], False
        session.flush()
        return row

    def remove_terms(
        self, chat_id: int, label: str, terms: Sequence[str], now: datetime
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Take terms out of the chat's own list, whichever part they stand in; returns (removed,
        not found)."""
        with self._session() as session:
            row = self._own_list(session, chat_id, label)
            wanted = {term.casefold(): term for term in terms}
            removed: list[str] = []
            for role in ("terms", "require", "exclude"):
                kept = []
                for term in getattr(row, role):
                    if term.casefold() in wanted:
                        removed.append(term)
                    else:
                        kept.append(term)
                setattr(row, role, kept)
            row.updated_at = now
            gone = {term.casefold() for term in removed}
            missing = tuple(term for key, term in wanted.items() if key not in gone)
            return tuple(removed), missing

    def remove_list(self, chat_id: int, label: str) -> None:
        """Retire the chat's own list: no longer matched or followed; its past hits stay."""
        with self._session() as session:
            row = self._own_list(session, chat_id, label)
            row.retired = True
            session.execute(
                delete(SubscriptionRow).where(col(SubscriptionRow.watchlist_id) == row.id)
            )

    def _own_list(self, session: Session, chat_id: int, label: str) -> WatchlistRow:
        row = self._visible_lists(session, chat_id, prefer_own=True).get(label)
        if row is None:
            raise RefusedError("this chat has no watchlist {label}", label=label)
        if row.owner_chat_id is None:
            raise RefusedError(
                "{label} is a shared watchlist, set up by the operator; /unsubscribe {label} "
                "stops it here",
                label=label,
            )
        return row

    # --- a chat's own feeds -----------------------------------------------------------------

    def add_chat_feed(
        self, chat_id: int, url: str, name: str | None, now: datetime
    ) -> Literal["added", "already", "shared"]:
        """Add a feed for this chat: "shared" when every chat gets it already."""
        with self._session() as session:
            self._chat_row(session, chat_id)
            feed = session.exec(select(FeedRow).where(FeedRow.origin_url == url)).first()
            if feed is not None and feed.source in SHARED_SOURCES and feed.enabled:
                return "shared"
            count = session.exec(
                select(func.count(col(ChatFeedRow.id))).where(ChatFeedRow.chat_id == chat_id)
            ).one()
            if feed is None:
                feed = FeedRow(
                    origin_url=url,
                    url=url,
                    name=name,
                    source=CHAT_SOURCE,
                    next_poll_at=now,
                    created_at=now,
                )
                session.add(feed)
                session.flush()
            if feed.source in SHARED_SOURCES:
                # Left out of the configuration: from now on it is a feed of the chats that add it.
                feed.source = CHAT_SOURCE
            feed.enabled = True
            assert feed.id is not None
            link = session.exec(
                select(ChatFeedRow)
                .where(ChatFeedRow.chat_id == chat_id)
                .where(ChatFeedRow.feed_id == feed.id)
            ).first()
            if link is not None:
                return "already"
            if count >= MAX_FEEDS_PER_CHAT:
                raise RefusedError(
                    "a chat can add at most {count} feeds; /removefeed one first",
                    count=MAX_FEEDS_PER_CHAT,
                )
            session.add(ChatFeedRow(chat_id=chat_id, feed_id=feed.id, created_at=now))
            return "added"

    def remove_chat_feed(self, chat_id: int, url: str) -> bool:
        """Remove the chat's feed; a feed no chat has any more stops being polled."""
        with self._session() as session:
            found = session.exec(
                select(ChatFeedRow, FeedRow)
                .join(FeedRow, col(FeedRow.id) == ChatFeedRow.feed_id)
                .where(ChatFeedRow.chat_id == chat_id)
                .where((FeedRow.origin_url == url) | (FeedRow.url == url))
            ).first()
            if found is None:
                return False
            link, feed = found
            session.delete(link)
            session.flush()
            others = session.exec(
                select(func.count(col(ChatFeedRow.id))).where(ChatFeedRow.feed_id == feed.id)
            ).one()
            if not others and feed.source == CHAT_SOURCE:
                feed.enabled = False
            return True

    def chat_feeds(self, chat_id: int) -> tuple[list[FeedState], list[FeedState]]:
        """(shared feeds, the chat's own feeds), each with its health and item count."""
        with self._session() as session:
            counts = item_counts(session)
            # Configured feeds in use, and those the server said are gone (410), so that /feeds
            # tells why they stopped.
            shared = session.exec(
                select(FeedRow)
                .where(col(FeedRow.source).in_(SHARED_SOURCES))
                .where(
                    col(FeedRow.enabled).is_(True) | col(FeedRow.last_error).like("%gone for good%")
                )
                .order_by(col(FeedRow.id))
            ).all()
            own = session.exec(
                select(FeedRow)
                .join(ChatFeedRow, col(ChatFeedRow.feed_id) == FeedRow.id)
                .where(ChatFeedRow.chat_id == chat_id)
                .order_by(col(ChatFeedRow.id))
            ).all()
            return (
                [state_of(row, counts.get(row.id or 0, 0)) for row in shared],
                [state_of(row, counts.get(row.id or 0, 0)) for row in own],
            )

    # --- what reached a chat ----------------------------------------------------------------

    def recent_hits(self, chat_id: int, limit: int) -> list[PastHit]:
        """The newest items that reached the chat's outbox (sent or not), newest first."""
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow, ItemRow, FeedRow)
                .join(ItemRow, col(ItemRow.id) == DeliveryRow.item_id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(DeliveryRow.chat_id == chat_id)
                .where(col(DeliveryRow.outcome).is_distinct_from("dropped"))
                .order_by(col(DeliveryRow.id).desc())
                .limit(limit)
            ).all()
            matches = self._matches_for(session, chat_id, [item.id for _, item, _ in rows])
            # An item a forum got in two topics is one hit: its matches from both.
            by_item: dict[int, dict[Match, None]] = {}
            for (item_id, _), found in matches.items():
                by_item.setdefault(item_id, {}).update(dict.fromkeys(found))
            newest: dict[int, PastHit] = {}
            for delivery, item, feed in rows:
                item_id = item.id or 0
                if item_id not in newest:
                    matched = tuple(by_item.get(item_id, ()))
                    newest[item_id] = PastHit(stored_item(item, feed), matched, delivery.sent_at)
            return list(newest.values())

    @staticmethod
    def _matches_for(
        session: Session, chat_id: int, item_ids: Sequence[int | None]
    ) -> dict[tuple[int, int], tuple[Match, ...]]:
        """The matches of the watchlists the chat follows now, by item and by the forum topic
        each list is followed from (NO_TOPIC for the chat itself)."""
        found: dict[tuple[int, int], list[Match]] = {}
        wanted = [item_id for item_id in item_ids if item_id is not None]
        if not wanted:
            return {}
        for hit, row, thread_id in session.exec(
            select(HitRow, WatchlistRow, SubscriptionRow.thread_id)
            .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
            .join(SubscriptionRow, col(SubscriptionRow.watchlist_id) == HitRow.watchlist_id)
            .where(SubscriptionRow.chat_id == chat_id)
            .where(col(WatchlistRow.retired).is_(False))
            .where(col(HitRow.item_id).in_(wanted))
            .order_by(WatchlistRow.name)
        ):
            found.setdefault((hit.item_id, thread_id or NO_TOPIC), []).extend(
                Match(row.name, m["term"], m["text"]) for m in hit.matches
            )
        return {key: tuple(matches) for key, matches in found.items()}

    def _deliveries(
        self, chat_id: int, *conditions: ColumnElement[bool], limit: int
    ) -> list[PendingDelivery]:
        """Outbox rows of a chat, oldest first, each with the matches of the lists the chat
        follows now from the row's topic (empty when it follows none the item hit there)."""
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow, ItemRow, FeedRow)
                .join(ItemRow, col(ItemRow.id) == DeliveryRow.item_id)
                .join(FeedRow, col(FeedRow.id) == ItemRow.feed_id)
                .where(DeliveryRow.chat_id == chat_id, *conditions)
                .order_by(col(DeliveryRow.id))
                .limit(limit)
            ).all()
            matches = self._matches_for(session, chat_id, [item.id for _, item, _ in rows])
            result = []
            for delivery, item, feed in rows:
                assert delivery.id is not None
                result.append(
                    PendingDelivery(
                        delivery.id,
                        chat_id,
                        stored_item(item, feed),
                        matches.get((item.id or 0, delivery.thread_id), ()),
                        delivery.thread_id or None,
                    )
                )
            return result

    def pending_deliveries(
        self, chat_id: int, limit: int = 1000, *, skip_topics: Collection[int | None] = ()
    ) -> list[PendingDelivery]:
        """The chat's outbox rows to send, oldest first (see `_deliveries`), but those of the
        forum topics in `skip_topics` (None: the chat itself)."""
        conditions = [_open_rows()]
        if skip_topics:
            skipped = [topic or NO_TOPIC for topic in skip_topics]
            conditions.append(col(DeliveryRow.thread_id).not_in(skipped))
        return self._deliveries(chat_id, *conditions, limit=limit)

    def pending_by_topic(self, chat_id: int) -> dict[int | None, int]:
        """How many outbox rows wait for each forum topic of the chat (None: the chat itself)."""
        with self._session() as session:
            rows = session.exec(
                select(DeliveryRow.thread_id, func.count(col(DeliveryRow.id)))
                .where(DeliveryRow.chat_id == chat_id)
                .where(_open_rows())
                .group_by(col(DeliveryRow.thread_id))
            ).all()
            return {thread_id or None: count for thread_id, count in rows}

    def backlog(self, chat_id: int, topic: int | None, newest: int) -> Backlog:
        """A topic's whole outbox as a summary reads it: how many rows wait, how many hit each
        list the chat follows there, and the `newest` of them by their items' time. `last_id`
        bounds the rows the summary speaks for (`close_backlog`): rows that come meanwhile wait
        for the next digest."""
        thread = topic or NO_TOPIC
        mine = (
            (col(DeliveryRow.chat_id) == chat_id)
            & (col(DeliveryRow.thread_id) == thread)
            & _open_rows()
        )
        with self._session() as session:
            total, last_id = session.exec(
                select(func.count(col(DeliveryRow.id)), func.max(DeliveryRow.id)).where(mine)
            ).one()
            counts = session.exec(
                select(WatchlistRow.name, func.count(col(DeliveryRow.id)))
                .select_from(DeliveryRow)
                .join(HitRow, col(HitRow.item_id) == DeliveryRow.item_id)
                .join(WatchlistRow, col(WatchlistRow.id) == HitRow.watchlist_id)
                .join(
                    SubscriptionRow,
                    (col(SubscriptionRow.watchlist_id) == HitRow.watchlist_id)
                    & (col(SubscriptionRow.chat_id) == chat_id),
                )
                .where(mine)
                .where(func.coalesce(SubscriptionRow.thread_id, NO_TOPIC) == thread)
                .where(col(WatchlistRow.retired).is_(False))
                .group_by(col(WatchlistRow.name))
            ).all()
            moment = func.coalesce(ItemRow.published_at, ItemRow.seen_at)
            latest = session.exec(
                select(DeliveryRow.id)
                .join(ItemRow, col(ItemRow.id) == DeliveryRow.item_id)
                .where(mine)
                .order_by(moment.desc(), col(DeliveryRow.id).desc())
                .limit(newest)
            ).all()
        shown = self._deliveries(chat_id, col(DeliveryRow.id).in_(list(latest)), limit=newest)
        return Backlog(total, dict(counts), shown, last_id or 0)

    def close_backlog(
        self,
        chat_id: int,
        topic: int | None,
        backlog: Backlog,
        now: datetime,
        *,
        message_id: int | None,
    ) -> None:
        """Close what a sent summary speaks for, in one transaction: the rows it showed as sent
        in its message, every other row up to `backlog.last_id` as summarised (in `/hits`)."""
        shown = [delivery.id for delivery in backlog.newest]
        base = (
            update(DeliveryRow)
            .where(col(DeliveryRow.chat_id) == chat_id)
            .where(col(DeliveryRow.thread_id) == (topic or NO_TOPIC))
            .where(col(DeliveryRow.id) <= backlog.last_id)
            .where(_open_rows())
        )
        with self._session() as session:
            if shown:
                session.execute(
                    base.where(col(DeliveryRow.id).in_(shown)).values(
                        sent_at=now, outcome="sent", message_id=message_id
                    )
                )
            session.execute(base.values(sent_at=now, outcome="summarised"))

    def recent_sent_deliveries(self, chat_id: int, since: datetime) -> list[PendingDelivery]:
        """The chat's rows sent since `since`, with their matches: a story among them is not
        sent again, its new items come as updates of it."""
        return self._deliveries(
            chat_id,
            col(DeliveryRow.outcome) == "sent",
            col(DeliveryRow.sent_at) >= since,
            limit=RECENT_SENT_LIMIT,
        )

    def count_pending(self, chat_id: int) -> int:
        with self._session() as session:
            return session.exec(
                select(func.count(col(DeliveryRow.id)))
                .where(DeliveryRow.chat_id == chat_id)
                .where(_open_rows())
            ).one()

    def count_outbox_backlog(self) -> int:
        """Outbox rows still to send to active chats, all chats together, for /metrics (held rows
        of paused chats and the rows of chats that blocked the bot are not waiting on us)."""
        with self._session() as session:
            return session.exec(
                select(func.count(col(DeliveryRow.id)))
                .select_from(DeliveryRow)
                .join(ChatRow, col(ChatRow.id) == DeliveryRow.chat_id)
                .where(col(ChatRow.active).is_(True))
                .where(_open_rows())
            ).one()
