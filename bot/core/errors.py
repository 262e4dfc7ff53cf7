"""The one exception tree of feedwatch.

Every adapter wraps its library's errors into one of these at its edge, so that a user sees a sentence
that says what went wrong and where, never a raw traceback from httpx, SQLAlchemy or feedparser.
"""

from __future__ import annotations


class FeedwatchError(Exception):
    """Base of every error feedwatch raises on purpose; `str()` is a sentence fit for a user."""


class ConfigError(FeedwatchError):
    """The configuration cannot be used; `problems` lists every problem found, one sentence each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) if self.problems else "invalid configuration")


class FetchError(FeedwatchError):
    """A feed could not be fetched: network, HTTP status, size or address guard."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        # The server's Retry-After header, as sent (429 and 503 carry one).
        self.retry_after = retry_after
        super().__init__(f"{url}: {reason}")


class ParseError(FeedwatchError):
    """A document could not be read as a feed."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, str]]:
        # Parsing runs in worker processes: the error crosses back whole.
        return (ParseError, (self.source, self.reason))


class StorageError(FeedwatchError):
    """The database refused or could not be reached."""


class TermError(FeedwatchError):
    """A watchlist term cannot be used (empty, too long, only punctuation)."""

    def __init__(self, watchlist: str, term: str, reason: str) -> None:
        self.watchlist = watchlist
        self.term = term
        self.reason = reason
        super().__init__(f"watchlist {watchlist!r}: term {term!r} {reason}")


class DeliveryError(FeedwatchError):
    """A message could not be delivered to a chat."""


class RateLimited(DeliveryError):
    """Telegram did not take the message and asked to wait `retry_after` seconds (a 429)."""

    def __init__(self, reason: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(reason)


class DeliveryUncertain(DeliveryError):
    """Telegram could not be reached, or did not answer in time: the message may or may not have
    arrived. Digests send it again later (a repeat is better than a loss); alerts never do."""


class ChatUnreachable(DeliveryError):
    """The bot was blocked, kicked, or the chat is gone: stop delivering there."""


class ChatMoved(DeliveryError):
    """A group became a supergroup; its messages must go to `new_chat_id`."""

    def __init__(self, new_chat_id: int) -> None:
        self.new_chat_id = new_chat_id
        super().__init__(f"the chat moved to {new_chat_id}")


class RefusedError(FeedwatchError):
    """A request from a chat that cannot be done as asked: a limit, or a name that is not its own.
    The message says why and what to do instead; `template` and `params` let a chat read it in
    its own language."""

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))
