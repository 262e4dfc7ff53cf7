"""Frozen value types that every stage of feedwatch speaks, named for the stage they belong to.

Config gives `FeedSpec` and `Watchlist`; fetching gives `FetchedFeed`; parsing gives `ParsedFeed` of
`ParsedItem`; matching gives `Match`; storage gives `StoredItem`, `FeedState`, `Chat` and `PendingDelivery`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from operator import attrgetter

CONSOLE_CHAT_ID = 0
"""The pseudo-chat that stands for the terminal when no Telegram token is configured."""


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed as the configuration names it."""

    url: str
    name: str | None = None
    interval: timedelta | None = None


CONTEXT_WITHIN = 12
"""Words between a term and its context word, at most, when a list does not say."""
CONTEXT_WITHIN_MOST = 100

ITEM_FIELDS = ("title", "summary", "author", "categories")
"""The fields of an item a watchlist may match, in the order they are read."""
DEFAULT_FIELDS = ("title", "summary")


@dataclass(frozen=True, slots=True)
class TermContext:
    """What a term of a list needs around it: one of `near` within `within` words of it, and none
    of `not_near` ("РДК", but only near «боец»; never near «культур*»)."""

    term: str
    near: tuple[str, ...] = ()
    not_near: tuple[str, ...] = ()
    within: int = CONTEXT_WITHIN


@dataclass(frozen=True, slots=True)
class Watchlist:
    """A named set of terms; an item is a hit when a term matches (with its context, if it has
    one), a required term (if any) matches and no excluded term matches."""

    name: str
    terms: tuple[str, ...]
    title: str | None = None
    require: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # The chat whose own list this is (`/watch`); None for a configured list.
    owner: int | None = None
    # The terms among `terms` that need (or refuse) words around them.
    contexts: tuple[TermContext, ...] = ()
    # Where it looks: only these sources (feed names, hosts, @channels), if any, never these; and
    # which fields of an item (ITEM_FIELDS), read in that order as one text.
    sources: tuple[str, ...] = ()
    skip_sources: tuple[str, ...] = ()
    fields: tuple[str, ...] = DEFAULT_FIELDS

    @property
    def label(self) -> str:
        """The name people use: a chat's own list is stored as "label@chat_id"."""
        return self.name.partition("@")[0] if self.owner is not None else self.name

    @property
    def display_title(self) -> str:
        return self.title or self.label


def own_watchlist_name(label: str, chat_id: int) -> str:
    """How a chat's own list is known to storage and the matcher: no configured name has an "@"."""
    return f"{label}@{chat_id}"


@dataclass(frozen=True, slots=True)
class FetchedFeed:
    """What one HTTP fetch of a feed returned; `content` is empty when the server said 304."""

    url: str
    final_url: str
    status: int
    content: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    moved_permanently: bool = False

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One entry of a feed, as plain text, with the key that identifies it within its feed."""

    key: str
    title: str
    link: str | None
    summary: str
    published: datetime | None
    # What a Telegram channel post has beside that (see bot/sources/telegram_page.py); a feed's
    # items leave them at these defaults. Stored, not matched.
    forwarded_from: str | None = None  # the name of the channel or user a post was forwarded from
    views: str | None = None  # as the page shows them: "12.3K"
    media: tuple[str, ...] = ()  # kinds, in order of appearance: "photo", "video", "poll" …
    edited: bool = False
    author: str | None = None  # the signature under a signed post
    # The channel post this item reports or forwards, as "<channel>/<id>" in lower case: a story
    # joins it to that post whatever the titles say.
    cites: str | None = None
    # The feed's categories (tags) of the item, as written.
    categories: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[type[ParsedItem], tuple[object, ...]]:
        # Rebuilt by its constructor: items come back from the parse workers by the ten thousand,
        # and unpickling a frozen dataclass's slots one by one took twice as long.
        return ParsedItem, _ITEM_VALUES(self)


_ITEM_VALUES = attrgetter(*(each.name for each in fields(ParsedItem)))


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed document."""

    title: str | None
    link: str | None
    items: tuple[ParsedItem, ...]
    # RSS <ttl>: how many minutes the publisher says the feed may be cached.
    ttl_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """Why a watchlist matched: the term as written in the watchlist and the words as they stand in
    the item."""

    watchlist: str
    term: str
    text: str
    # The context word, as it stands in the item, that let a term with `near` words match.
    near: str | None = None


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed as storage knows it: identity, HTTP cache facts, schedule and health."""

    id: int
    url: str
    name: str | None
    interval: timedelta | None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_poll_at: datetime | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    item_count: int = 0
    # When the current run of failures began (None while the feed is healthy).
    failing_since: datetime | None = None
    # A channel's posts never read: a gap after downtime longer than the read-back depth.
    missed_posts: int = 0

    @property
    def display_name(self) -> str:
        return self.name or self.url


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored, with the name of the feed it came from."""

    id: int
    feed_id: int
    feed_name: str
    key: str
    title: str
    link: str | None
    summary: str
    published: datetime | None
    seen_at: datetime
    # A channel post's facts (see ParsedItem); a feed's items have the defaults.
    forwarded_from: str | None = None
    views: str | None = None
    media: tuple[str, ...] = ()
    edited: bool = False
    author: str | None = None
    cites: str | None = None
    # Read on its feed's first poll and already old then: the feed's archive, not news.
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat that talks to the bot (or the terminal, `CONSOLE_CHAT_ID`)."""

    id: int
    type: str
    title: str | None = None
    active: bool = True
    # None: the configured default; zero: each hit as it comes (`/every instant`).
    digest_interval: timedelta | None = None
    last_digest_at: datetime | None = None
    paused: bool = False
    timezone: str | None = None
    # Quiet hours as minutes after midnight in the chat's time zone (start, end).
    quiet: tuple[int, int] | None = None
    language: str | None = None
    managing_chat_id: int | None = None

    @property
    def instant(self) -> bool:
        return self.digest_interval == timedelta(0)

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """An outbox row: one item waiting to reach one chat, with every match of the chat's watchlists."""

    id: int
    chat_id: int
    item: StoredItem
    matches: tuple[Match, ...]
    thread_id: int | None = None
    # The same story from other outlets, folded into this one (`bot.trends.stories`): their names, and
    # their outbox rows, which close with this one.
    also: tuple[str, ...] = ()
    merged_ids: tuple[int, ...] = ()
    # When each of `also` first reported it (the story's origin is this delivery's own item).
    also_at: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """A notice waiting to reach a chat, as facts: a feed that has failed since `since`, and why.
    It is written in the chat's language when it is sent."""

    id: int
    chat_id: int
    feed_name: str
    reason: str
    since: datetime


@dataclass(frozen=True, slots=True)
class DigestMessage:
    """One message of a rendered digest and the outbox rows it carries."""

    text: str
    delivery_ids: tuple[int, ...]
    # The forum topic it goes to (None: the chat itself).
    thread_id: int | None = None
    # Delivered without a notification sound (a spike alert in the chat's quiet hours).
    silent: bool = False
    # Outbox rows of archive items this message counts without listing them: they close as
    # "archived" with it.
    archived_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What polling one feed did, for logs, `feedwatch poll` and the demo's summary line."""

    feed_url: str
    new_items: int = 0
    new_hits: int = 0
    not_modified: bool = False
    error: str | None = None
    # The server said the feed is gone (410): it is disabled, and `error` says why.
    gone: bool = False
    # How long the fetch and the parse took (None: not done), for the latency metrics.
    fetch_seconds: float | None = None
    parse_seconds: float | None = None


# --- what storage answers use cases with ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreResult:
    new_items: int
    new_hits: int
    new_deliveries: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """A forum topic's (or the chat's) outbox too long for one digest, as its summary reads it."""

    total: int
    counts: dict[str, int]
    newest: list[PendingDelivery]
    last_id: int
    # The feeds' archive items among the rows (not in `total`): counted apart, closed with it.
    archived: tuple[ArchiveCount, ...] = ()


@dataclass(frozen=True, slots=True)
class ArchiveCount:
    """What a digest says of one feed's archive items (read on its first poll, already old): how
    many, and the span of their dates."""

    feed_name: str
    count: int
    oldest: datetime
    newest: datetime


@dataclass(frozen=True, slots=True)
class PastHit:
    """An item that reached a chat's outbox, for `/hits`."""

    item: StoredItem
    matches: tuple[Match, ...]
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class SpikeTarget:
    """A chat with spike alerts on that follows a watchlist which just got hits."""

    chat_id: int
    watchlist_id: int
    watchlist: Watchlist
    thread_id: int | None
    # The chat has feeds of its own: its counts include them, so they are its own too.
    own_feeds: bool


@dataclass(frozen=True, slots=True)
class SpikeHistory:
    """What a spike is decided on: when each hit of the compared hours was seen, and when the
    watchlist's history begins (its first hit; the oldest hour's start when it had hits before
    that hour; None without any hit)."""

    times: tuple[datetime, ...]
    watching_since: datetime | None


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """A recorded alert that Telegram refused for now (429), as facts: it is written again, from
    the same hour's items, when it is tried again."""

    id: int
    chat_id: int
    watchlist: Watchlist
    watchlist_id: int
    thread_id: int | None
    count: int
    baseline: float
    counted_from: datetime
    counted_until: datetime
    own_feeds: bool


@dataclass(frozen=True, slots=True)
class ItemText:
    """A stored item as the matcher reads it, with the source it came from."""

    id: int
    title: str
    summary: str
    author: str | None = None
    categories: tuple[str, ...] = ()
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Where an item came from, as a watchlist's `sources` name it: the feed's name and URL."""

    name: str
    url: str


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What one `add_backfilled_hits` added: hits by watchlist name, and outbox rows."""

    new_hits: Mapping[str, int]
    new_deliveries: int
