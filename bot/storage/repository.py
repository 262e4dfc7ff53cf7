"""All of feedwatch's stores over one database, for the composition root, the CLI and tests.

Each store (feeds, items and hits, the outbox, chats, spike alerts, reports, the schema) lives in a
module of its own; use cases depend on the Protocols they declare, not on this class.
"""

from __future__ import annotations

from bot.storage.alerts import AlertStore
from bot.storage.chats import ChatStore, SubscribeResult, TermsResult
from bot.storage.feeds import FeedStore
from bot.storage.items import ItemStore
from bot.storage.outbox import OutboxStore
from bot.storage.reports import ReportStore
from bot.storage.schema import SchemaStore

__all__ = ["Repository", "SubscribeResult", "TermsResult"]


class Repository(
    FeedStore, ItemStore, OutboxStore, ChatStore, AlertStore, ReportStore, SchemaStore
):
    """feedwatch's storage, speaking domain objects: one transaction per method call."""
