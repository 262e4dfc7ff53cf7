"""Chats in the database: their settings and the hold a sender takes on them, the watchlists they
see and follow (and in which forum topic), and their own lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core.domain import (
    CONSOLE_CHAT_ID,
    DEFAULT_FIELDS,
    Chat,
    TermContext,
    Watchlist,
    own_watchlist_name,
)
from bot.core.errors import RefusedError, StorageError
from bot.core.limits import MAX_LISTS_PER_CHAT, MAX_TERMS_PER_LIST
from bot.storage.queries import chat_row
from bot.storage.rows import CHAT_SOURCE, chat_of, contexts_row, watchlist_of
from bot.storage.store import Store
from bot.storage.tables import (
    ChatFeedRow,
    ChatRow,
    DeliveryRow,
    ForumTopicRow,
    SpikeAlertRow,
    SubscriptionRow,
    WatchlistRow,
)

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
    # Terms whose context (near / not near words) was set by this change.
    in_context: tuple[str, ...] = ()


class ChatStore(Store):
    """Chats, their settings, the watchlists they follow and their own lists."""

    # --- chats ------------------------------------------------------------------------------

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

    def _update_chat(self, chat_id: int, **values: object) -> None:
        with self._session() as session:
            row = chat_row(session, chat_id)
            for name, value in values.items():
                setattr(row, name, value)

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

    def watchlists(self) -> list[Watchlist]:
        """Every watchlist in use, by name: the configured ones and every chat's own."""
        return self._live_lists()

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
        chat_row(session, chat_id)
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
        contexts: Sequence[TermContext] = (),
    ) -> TermsResult:
        """Add terms to the chat's own list `label`; `/watch` creates it (and follows it). A term
        in `contexts` gets that context, in place of any it had."""
        with self._session() as session:
            chat_row(session, chat_id)
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
            if contexts:
                given = {context.term.casefold() for context in contexts}
                kept = [c for c in row.contexts or () if str(c["term"]).casefold() not in given]
                row.contexts = kept + contexts_row(contexts)
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
            return TermsResult(
                created,
                tuple(added),
                tuple(dict.fromkeys(already)),
                tuple(context.term for context in contexts),
            )

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
            if row.contexts:
                row.contexts = [c for c in row.contexts if str(c["term"]).casefold() not in wanted]
            row.updated_at = now
            gone = {term.casefold() for term in removed}
            missing = tuple(term for key, term in wanted.items() if key not in gone)
            return tuple(removed), missing

    def set_scope(self, chat_id: int, label: str, scope: Watchlist, now: datetime) -> None:
        """Give the chat's own list `label` the sources, skipped sources and fields of `scope`
        (an imported list's)."""
        with self._session() as session:
            row = self._own_list(session, chat_id, label)
            row.sources = list(scope.sources) or None
            row.skip_sources = list(scope.skip_sources) or None
            row.fields = None if scope.fields == DEFAULT_FIELDS else list(scope.fields)
            row.updated_at = now

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
