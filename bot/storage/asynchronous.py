"""The stores' methods as coroutines, each call run in a worker thread so that the event loop
never waits on the database: the one way use cases and chat handlers reach storage. A use case
types it by the Protocol it declares; the CLI and tests use the `Repository` underneath.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from bot.storage.repository import Repository

P = ParamSpec("P")
R = TypeVar("R")


def in_thread(
    method: Callable[Concatenate[Repository, P], R],
) -> Callable[Concatenate[AsyncStorage, P], Coroutine[Any, Any, R]]:
    """`method` of the repository as a coroutine method of `AsyncStorage`, same arguments."""

    async def call(self: AsyncStorage, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self.sync, *args, **kwargs)

    call.__name__, call.__doc__ = method.__name__, method.__doc__
    return call


class AsyncStorage:
    """Every store of one database, each method awaited. `sync` is the repository itself, for
    work that must run in one thread hop with other blocking work (the poller matches and stores
    a feed's items in one)."""

    def __init__(self, repo: Repository) -> None:
        self.sync = repo

    # --- feeds -----------------------------------------------------------------------------------

    sync_config = in_thread(Repository.sync_config)
    shared_feed_urls = in_thread(Repository.shared_feed_urls)
    import_feeds = in_thread(Repository.import_feeds)
    feeds = in_thread(Repository.feeds)
    feeds_after = in_thread(Repository.feeds_after)
    due_feeds = in_thread(Repository.due_feeds)
    claim_due_feeds = in_thread(Repository.claim_due_feeds)
    clear_leases = in_thread(Repository.clear_leases)
    disable_feed = in_thread(Repository.disable_feed)
    save_feed_state = in_thread(Repository.save_feed_state)
    save_feed_states = in_thread(Repository.save_feed_states)
    count_failing_feeds = in_thread(Repository.count_failing_feeds)
    add_chat_feed = in_thread(Repository.add_chat_feed)
    remove_chat_feed = in_thread(Repository.remove_chat_feed)
    chat_feeds = in_thread(Repository.chat_feeds)

    # --- items and hits --------------------------------------------------------------------------

    unseen_keys = in_thread(Repository.unseen_keys)
    stored_versions = in_thread(Repository.stored_versions)
    newest_post_number = in_thread(Repository.newest_post_number)
    store_items = in_thread(Repository.store_items)
    count_items_seen = in_thread(Repository.count_items_seen)
    items_seen = in_thread(Repository.items_seen)
    add_backfilled_hits = in_thread(Repository.add_backfilled_hits)

    # --- the outbox ------------------------------------------------------------------------------

    resume = in_thread(Repository.resume)
    release_held = in_thread(Repository.release_held)
    skip_held = in_thread(Repository.skip_held)
    chats_with_pending = in_thread(Repository.chats_with_pending)
    pending_deliveries = in_thread(Repository.pending_deliveries)
    pending_by_topic = in_thread(Repository.pending_by_topic)
    backlog = in_thread(Repository.backlog)
    close_backlog = in_thread(Repository.close_backlog)
    count_pending = in_thread(Repository.count_pending)
    count_outbox_backlog = in_thread(Repository.count_outbox_backlog)
    mark_sent = in_thread(Repository.mark_sent)
    recent_hits = in_thread(Repository.recent_hits)
    recent_sent_deliveries = in_thread(Repository.recent_sent_deliveries)
    tell_chats_feed_is_failing = in_thread(Repository.tell_chats_feed_is_failing)
    pending_notices = in_thread(Repository.pending_notices)
    mark_notice_sent = in_thread(Repository.mark_notice_sent)

    # --- chats -----------------------------------------------------------------------------------

    register_chat = in_thread(Repository.register_chat)
    chat = in_thread(Repository.chat)
    set_digest_interval = in_thread(Repository.set_digest_interval)
    set_timezone = in_thread(Repository.set_timezone)
    set_quiet = in_thread(Repository.set_quiet)
    set_managing = in_thread(Repository.set_managing)
    pause = in_thread(Repository.pause)
    set_last_digest = in_thread(Repository.set_last_digest)
    deactivate_chat = in_thread(Repository.deactivate_chat)
    claim_chat = in_thread(Repository.claim_chat)
    release_chat = in_thread(Repository.release_chat)
    migrate_chat = in_thread(Repository.migrate_chat)
    watchlists = in_thread(Repository.watchlists)
    shared_watchlists = in_thread(Repository.shared_watchlists)
    own_watchlists = in_thread(Repository.own_watchlists)
    set_scope = in_thread(Repository.set_scope)
    chat_watchlists = in_thread(Repository.chat_watchlists)
    topic_title = in_thread(Repository.topic_title)
    followed_topics = in_thread(Repository.followed_topics)
    subscribe = in_thread(Repository.subscribe)
    unsubscribe = in_thread(Repository.unsubscribe)
    subscribe_console_to_all = in_thread(Repository.subscribe_console_to_all)
    add_terms = in_thread(Repository.add_terms)
    remove_terms = in_thread(Repository.remove_terms)
    remove_list = in_thread(Repository.remove_list)

    # --- spike alerts ----------------------------------------------------------------------------

    set_spike_alerts = in_thread(Repository.set_spike_alerts)
    spike_alerts_on = in_thread(Repository.spike_alerts_on)
    last_hit_id = in_thread(Repository.last_hit_id)
    spike_targets = in_thread(Repository.spike_targets)
    spike_history = in_thread(Repository.spike_history)
    spike_items = in_thread(Repository.spike_items)
    reserve_spike_alert = in_thread(Repository.reserve_spike_alert)
    finish_spike_alert = in_thread(Repository.finish_spike_alert)
    retry_spike_alert = in_thread(Repository.retry_spike_alert)
    pending_spike_alerts = in_thread(Repository.pending_spike_alerts)
    take_spike_alert = in_thread(Repository.take_spike_alert)
    spike_alert_log = in_thread(Repository.spike_alert_log)

    # --- reports ---------------------------------------------------------------------------------

    hit_times = in_thread(Repository.hit_times)
    chat_hit_times = in_thread(Repository.chat_hit_times)
    watchlist_names = in_thread(Repository.watchlist_names)
    counts = in_thread(Repository.counts)

    # --- the schema ------------------------------------------------------------------------------

    ping = in_thread(Repository.ping)
