"""The chat store on SQLite and PostgreSQL alike: a chat's own watchlists and feeds, the limits on
them, pause and the held outbox rows, settings, past hits, and a group's move to a supergroup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import limits
from bot.core.domain import FeedSpec, Match, ParsedItem, Watchlist
from bot.core.errors import RefusedError, StorageError
from bot.storage import chats, feeds
from bot.storage.chats import TermsResult
from bot.storage.repository import Repository

NOW = datetime(2024, 3, 12, 6, 0, tzinfo=UTC)
A = "https://a.example/rss"
B = "https://b.example/rss"
C = "https://c.example/rss"
RVC = Watchlist("rvc", ("Russian Volunteer Corps", "РДК"), title="Russian Volunteer Corps")
KURSK = Watchlist("kursk", ("Kursk", "Курск*"))
FEEDS = [FeedSpec(A, "A"), FeedSpec(B, "B")]


def item(key: str) -> ParsedItem:
    return ParsedItem(key, f"Title {key}", f"https://news.example/{key}", "summary", NOW)


def hit(watchlist: str, term: str = "Shahed") -> dict[str, tuple[Match, ...]]:
    return {watchlist: (Match(watchlist, term, term),)}


def feed_id(repo: Repository, url: str) -> int:
    return next(f.id for f in repo.feeds() if f.url == url)


def keys(repo: Repository, chat_id: int) -> list[str]:
    return [p.item.key for p in repo.pending_deliveries(chat_id)]


@pytest.fixture
def seeded(repo: Repository) -> Repository:
    repo.sync_config(FEEDS, [RVC, KURSK], NOW)
    for chat_id in (100, 200):
        repo.register_chat(chat_id, "private", None, NOW)
    return repo


# --- /watch, /require, /exclude ------------------------------------------------------------------


def test_watch_creates_and_follows_the_chats_own_list(seeded: Repository) -> None:
    first = seeded.add_terms(100, "drones", "terms", ["Shahed", "Geran"], NOW, thread_id=7)
    assert first == TermsResult(created=True, added=("Shahed", "Geran"), already=())
    [own] = seeded.own_watchlists(100)
    assert (own.name, own.owner, own.label) == ("drones@100", 100, "drones")
    assert own.terms == ("Shahed", "Geran")
    assert [w.name for w in seeded.chat_watchlists(100)] == ["drones@100"]

    again = seeded.add_terms(100, "drones", "terms", ["SHAHED", "Lancet", "Lancet"], NOW)
    assert again == TermsResult(created=False, added=("Lancet",), already=("SHAHED",))
    assert seeded.own_watchlists(100)[0].terms == ("Shahed", "Geran", "Lancet")


def test_require_and_exclude_extend_an_existing_own_list_only(seeded: Repository) -> None:
    with pytest.raises(RefusedError, match="/watch drones"):
        seeded.add_terms(100, "drones", "require", ["Kursk"], NOW)
    assert seeded.own_watchlists(100) == []

    seeded.add_terms(100, "drones", "terms", ["Shahed"], NOW)
    required = seeded.add_terms(100, "drones", "require", ["Kursk"], NOW)
    assert required == TermsResult(created=False, added=("Kursk",), already=())
    excluded = seeded.add_terms(100, "drones", "exclude", ["drill", "kursk"], NOW)
    assert excluded.added == ("drill", "kursk")  # each part has its own terms
    assert seeded.add_terms(100, "drones", "exclude", ["DRILL"], NOW).already == ("DRILL",)
    [own] = seeded.own_watchlists(100)
    assert (own.terms, own.require, own.exclude) == (("Shahed",), ("Kursk",), ("drill", "kursk"))


@pytest.mark.parametrize("role", ["terms", "require", "exclude"])
def test_a_shared_list_name_cannot_become_an_own_list(seeded: Repository, role: str) -> None:
    with pytest.raises(RefusedError, match="/subscribe rvc"):
        seeded.add_terms(100, "rvc", role, ["Shahed"], NOW)  # type: ignore[arg-type]
    assert seeded.own_watchlists(100) == []
    assert seeded.chat_watchlists(100) == []
    assert [w.terms for w in seeded.shared_watchlists() if w.name == "rvc"] == [RVC.terms]


def test_own_lists_are_private_to_their_chat_but_all_are_matched(seeded: Repository) -> None:
    seeded.add_terms(100, "drones", "terms", ["Shahed"], NOW)
    seeded.add_terms(200, "drones", "terms", ["Lancet"], NOW)
    seeded.subscribe(200, ["kursk"], NOW)
    assert [(w.name, w.terms) for w in seeded.own_watchlists(100)] == [("drones@100", ("Shahed",))]
    assert [w.name for w in seeded.chat_watchlists(200)] == ["drones@200", "kursk"]
    assert [w.name for w in seeded.shared_watchlists()] == ["kursk", "rvc"]
    # Another chat's list cannot be named, not even by its stored name.
    assert seeded.subscribe(200, ["drones@100"], NOW).unknown == ("drones@100",)
    assert [w.name for w in seeded.watchlists()] == ["drones@100", "drones@200", "kursk", "rvc"]


# --- limits ----------------------------------------------------------------------------------


def test_a_list_holds_at_most_max_terms_and_a_refusal_changes_nothing(seeded: Repository) -> None:
    full = [f"term{n}" for n in range(limits.MAX_TERMS_PER_LIST)]
    with pytest.raises(RefusedError, match=str(limits.MAX_TERMS_PER_LIST)):
        seeded.add_terms(100, "big", "terms", [*full, "one more"], NOW)
    assert seeded.own_watchlists(100) == []
    assert seeded.chat_watchlists(100) == []

    assert len(seeded.add_terms(100, "big", "terms", full, NOW).added) == len(full)
    with pytest.raises(RefusedError, match="at most"):
        seeded.add_terms(100, "big", "terms", ["one more"], NOW)
    assert seeded.own_watchlists(100)[0].terms == tuple(full)
    # Terms already there are not new, so they do not count.
    assert seeded.add_terms(100, "big", "terms", ["TERM0"], NOW).already == ("TERM0",)


def test_a_chat_follows_at_most_max_lists(
    seeded: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert limits.MAX_LISTS_PER_CHAT == 50
    monkeypatch.setattr(chats, "MAX_LISTS_PER_CHAT", 2)
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.add_terms(100, "drones", "terms", ["Shahed"], NOW)
    with pytest.raises(RefusedError, match="at most 2 watchlists"):
        seeded.subscribe(100, ["kursk"], NOW)
    with pytest.raises(RefusedError, match="at most 2 watchlists"):
        seeded.add_terms(100, "boats", "terms", ["Magura"], NOW)
    assert [w.name for w in seeded.chat_watchlists(100)] == ["drones@100", "rvc"]
    assert [w.label for w in seeded.own_watchlists(100)] == ["drones"]
    # A list the chat already follows can still grow, and other chats have their own count.
    assert seeded.add_terms(100, "drones", "terms", ["Lancet"], NOW).added == ("Lancet",)
    assert seeded.subscribe(200, ["rvc", "kursk"], NOW).changed == ("rvc", "kursk")


# --- /unwatch ------------------------------------------------------------------------------------


def test_remove_terms_takes_them_from_every_part(seeded: Repository) -> None:
    seeded.add_terms(100, "drones", "terms", ["Shahed", "Geran"], NOW)
    seeded.add_terms(100, "drones", "require", ["Kursk"], NOW)
    seeded.add_terms(100, "drones", "exclude", ["Drill"], NOW)
    removed, missing = seeded.remove_terms(
        100, "drones", ["geran", "KURSK", "drill", "Lancet"], NOW
    )
    assert (removed, missing) == (("Geran", "Kursk", "Drill"), ("Lancet",))
    [own] = seeded.own_watchlists(100)
    assert (own.terms, own.require, own.exclude) == (("Shahed",), (), ())


def test_remove_list_retires_and_unfollows_and_the_label_starts_afresh(seeded: Repository) -> None:
    seeded.add_terms(100, "drones", "terms", ["Shahed"], NOW)
    seeded.add_terms(100, "drones", "exclude", ["Drill"], NOW)
    seeded.remove_list(100, "drones")
    assert seeded.own_watchlists(100) == []
    assert seeded.chat_watchlists(100) == []
    assert "drones@100" not in [w.name for w in seeded.watchlists()]
    with pytest.raises(RefusedError, match="no watchlist drones"):
        seeded.remove_terms(100, "drones", ["Shahed"], NOW)

    again = seeded.add_terms(100, "drones", "terms", ["Lancet"], NOW)
    assert again == TermsResult(created=True, added=("Lancet",), already=())
    [own] = seeded.own_watchlists(100)
    assert (own.terms, own.require, own.exclude) == (("Lancet",), (), ())
    assert [w.name for w in seeded.chat_watchlists(100)] == ["drones@100"]


def test_a_shared_list_cannot_be_edited_or_removed_by_a_chat(seeded: Repository) -> None:
    seeded.subscribe(100, ["rvc"], NOW)
    with pytest.raises(RefusedError, match="/unsubscribe rvc"):
        seeded.remove_list(100, "rvc")
    with pytest.raises(RefusedError, match="shared watchlist"):
        seeded.remove_terms(100, "rvc", ["РДК"], NOW)
    with pytest.raises(RefusedError, match="no watchlist nope"):
        seeded.remove_list(100, "nope")
    assert [w.terms for w in seeded.chat_watchlists(100)] == [RVC.terms]


# --- hits of own lists ---------------------------------------------------------------------------


def test_a_hit_on_an_own_list_reaches_only_its_owner_in_its_topic(seeded: Repository) -> None:
    seeded.add_terms(100, "drones", "terms", ["Shahed"], NOW, thread_id=7)
    seeded.add_terms(200, "drones", "terms", ["Shahed"], NOW)
    seeded.subscribe(200, ["rvc"], NOW, thread_id=9)
    a = feed_id(seeded, A)
    result = seeded.store_items(a, [(item("1"), hit("drones@100")), (item("2"), hit("rvc"))], NOW)
    assert (result.new_hits, result.new_deliveries) == (2, 2)
    [mine] = seeded.pending_deliveries(100)
    assert (mine.item.key, mine.thread_id) == ("1", 7)
    assert mine.matches == (Match("drones@100", "Shahed", "Shahed"),)
    [theirs] = seeded.pending_deliveries(200)
    assert (theirs.item.key, theirs.thread_id) == ("2", 9)


# --- a chat's own feeds --------------------------------------------------------------------------


def test_add_chat_feed_reports_added_already_and_shared(seeded: Repository) -> None:
    assert seeded.add_chat_feed(100, C, "C", NOW) == "added"
    assert seeded.add_chat_feed(100, C, "C", NOW) == "already"
    assert seeded.add_chat_feed(100, A, None, NOW) == "shared"
    assert seeded.add_chat_feed(200, C, None, NOW) == "added"
    assert [f.url for f in seeded.feeds()] == [A, B, C]
    seeded.store_items(feed_id(seeded, C), [(item("1"), {})], NOW)
    shared, own = seeded.chat_feeds(100)
    assert [f.url for f in shared] == [A, B]
    assert [(f.url, f.name, f.item_count) for f in own] == [(C, "C", 1)]
    assert seeded.chat_feeds(200)[1] == own


def test_items_of_a_chat_feed_reach_only_the_chats_that_added_it(seeded: Repository) -> None:
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.subscribe(200, ["rvc"], NOW)
    seeded.add_chat_feed(100, C, None, NOW)
    assert (
        seeded.store_items(feed_id(seeded, C), [(item("c1"), hit("rvc"))], NOW).new_deliveries == 1
    )
    assert (
        seeded.store_items(feed_id(seeded, A), [(item("a1"), hit("rvc"))], NOW).new_deliveries == 2
    )
    assert keys(seeded, 100) == ["c1", "a1"]
    assert keys(seeded, 200) == ["a1"]


def test_remove_chat_feed_stops_polling_a_feed_no_chat_has(seeded: Repository) -> None:
    seeded.add_chat_feed(100, C, None, NOW)
    seeded.add_chat_feed(200, C, None, NOW)
    assert seeded.remove_chat_feed(100, C) is True
    assert seeded.remove_chat_feed(100, C) is False
    assert seeded.remove_chat_feed(100, A) is False
    assert C in [f.url for f in seeded.due_feeds(NOW)]
    assert seeded.chat_feeds(100)[1] == []
    assert seeded.remove_chat_feed(200, C) is True
    assert [f.url for f in seeded.feeds()] == [A, B]
    assert [f.url for f in seeded.due_feeds(NOW)] == [A, B]
    # Added again, it is polled again.
    assert seeded.add_chat_feed(200, C, None, NOW) == "added"
    assert [f.url for f in seeded.feeds()] == [A, B, C]


def test_a_chat_adds_at_most_max_feeds(seeded: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    assert limits.MAX_FEEDS_PER_CHAT == 100
    monkeypatch.setattr(feeds, "MAX_FEEDS_PER_CHAT", 2)
    seeded.add_chat_feed(100, C, None, NOW)
    seeded.add_chat_feed(100, "https://d.example/rss", None, NOW)
    with pytest.raises(RefusedError, match="at most 2 feeds"):
        seeded.add_chat_feed(100, "https://e.example/rss", None, NOW)
    assert "https://e.example/rss" not in [f.url for f in seeded.feeds()]
    assert seeded.add_chat_feed(100, C, None, NOW) == "already"
    assert seeded.add_chat_feed(100, A, None, NOW) == "shared"
    assert seeded.add_chat_feed(200, "https://e.example/rss", None, NOW) == "added"


# --- pause, resume, held rows ------------------------------------------------------------------


@pytest.fixture
def paused(seeded: Repository) -> Repository:
    """Chat 100 follows rvc and paused; two hits came while it was paused."""
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.pause(100)
    assert seeded.chat(100).paused is True  # type: ignore[union-attr]
    seeded.store_items(feed_id(seeded, A), [(item("1"), hit("rvc")), (item("2"), hit("rvc"))], NOW)
    assert keys(seeded, 100) == ["1", "2"]
    return seeded


def test_resume_holds_what_came_while_paused_until_released(paused: Repository) -> None:
    assert paused.resume(100) == 2
    assert paused.chat(100).paused is False  # type: ignore[union-attr]
    assert paused.pending_deliveries(100) == []
    assert paused.count_pending(100) == 0
    assert paused.chats_with_pending() == []
    assert paused.release_held(100) == 2
    assert keys(paused, 100) == ["1", "2"]
    assert [c.id for c in paused.chats_with_pending()] == [100]
    assert paused.release_held(100) == 0


def test_skip_held_closes_held_rows_that_stay_in_hits(paused: Repository) -> None:
    paused.resume(100)
    later = NOW + timedelta(minutes=5)
    assert paused.skip_held(100, later) == 2
    assert paused.release_held(100) == 0
    assert paused.pending_deliveries(100) == []
    assert [(h.item.key, h.sent_at) for h in paused.recent_hits(100, 10)] == [
        ("2", later),
        ("1", later),
    ]


def test_resume_of_a_chat_that_was_not_paused_holds_nothing(seeded: Repository) -> None:
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.store_items(feed_id(seeded, A), [(item("1"), hit("rvc"))], NOW)
    assert seeded.resume(100) == 0
    assert keys(seeded, 100) == ["1"]
    assert seeded.release_held(100) == 0


# --- settings ----------------------------------------------------------------------------------


def test_chat_settings_are_stored_and_cleared(seeded: Repository) -> None:
    assert seeded.register_chat(300, "private", "x", NOW, language="uk").language == "uk"
    seeded.set_digest_interval(300, timedelta(0))
    assert seeded.chat(300).instant is True  # type: ignore[union-attr]
    seeded.set_digest_interval(300, timedelta(hours=2))
    chat = seeded.chat(300)
    assert chat is not None
    assert (chat.digest_interval, chat.instant) == (timedelta(hours=2), False)
    seeded.set_digest_interval(300, None)
    seeded.set_timezone(300, "Europe/Kyiv")
    seeded.set_quiet(300, (22 * 60, 7 * 60))
    chat = seeded.chat(300)
    assert chat is not None
    assert (chat.digest_interval, chat.timezone, chat.quiet) == (None, "Europe/Kyiv", (1320, 420))
    seeded.set_quiet(300, None)
    seeded.set_timezone(300, None)
    seeded.register_chat(300, "private", "x", NOW)  # no language: the stored one stays
    chat = seeded.chat(300)
    assert chat is not None
    assert (chat.quiet, chat.timezone, chat.language) == (None, None, "uk")
    with pytest.raises(StorageError, match="send /start"):
        seeded.set_timezone(999, "UTC")


# --- /hits -------------------------------------------------------------------------------------


def test_recent_hits_are_newest_first_sent_or_not_but_never_dropped(seeded: Repository) -> None:
    seeded.subscribe(100, ["rvc"], NOW)
    a = feed_id(seeded, A)
    seeded.store_items(a, [(item(k), hit("rvc", "РДК")) for k in ("1", "2", "3", "4")], NOW)
    ids = {p.item.key: p.id for p in seeded.pending_deliveries(100)}
    seeded.mark_sent([ids["1"]], NOW, message_id=5)
    seeded.mark_sent([ids["3"]], NOW, outcome="dropped")
    hits = seeded.recent_hits(100, 10)
    assert [(h.item.key, h.sent_at) for h in hits] == [("4", None), ("2", None), ("1", NOW)]
    assert hits[0].matches == (Match("rvc", "РДК", "РДК"),)
    assert [h.item.key for h in seeded.recent_hits(100, 2)] == ["4", "2"]
    assert seeded.recent_hits(200, 10) == []


# --- a group becomes a supergroup --------------------------------------------------------------


def test_migrate_chat_moves_settings_own_lists_feeds_and_topics(seeded: Repository) -> None:
    old, new = -100, -1001234567890
    seeded.register_chat(old, "group", "desk", NOW, language="uk")
    seeded.set_digest_interval(old, timedelta(hours=3))
    seeded.set_timezone(old, "Europe/Kyiv")
    seeded.set_quiet(old, (23 * 60, 6 * 60))
    seeded.pause(old)
    seeded.add_terms(old, "drones", "terms", ["Shahed"], NOW, thread_id=5)
    seeded.subscribe(old, ["rvc"], NOW, thread_id=6)
    seeded.add_chat_feed(old, C, None, NOW)

    seeded.migrate_chat(old, new)
    assert seeded.chat(old) is None
    chat = seeded.chat(new)
    assert chat is not None
    assert (chat.type, chat.title, chat.language) == ("supergroup", "desk", "uk")
    assert (chat.digest_interval, chat.timezone) == (timedelta(hours=3), "Europe/Kyiv")
    assert (chat.quiet, chat.paused) == ((1380, 360), True)
    [own] = seeded.own_watchlists(new)
    assert (own.name, own.owner, own.label, own.terms) == (
        f"drones@{new}",
        new,
        "drones",
        ("Shahed",),
    )
    assert [w.name for w in seeded.chat_watchlists(new)] == [f"drones@{new}", "rvc"]
    assert f"drones@{old}" not in [w.name for w in seeded.watchlists()]
    assert [f.url for f in seeded.chat_feeds(new)[1]] == [C]

    c = feed_id(seeded, C)
    seeded.store_items(c, [(item("1"), hit(f"drones@{new}")), (item("2"), hit("rvc"))], NOW)
    assert [(p.item.key, p.thread_id) for p in seeded.pending_deliveries(new)] == [
        ("1", 5),
        ("2", 6),
    ]
    assert seeded.pending_deliveries(200) == []


# --- known bugs ----------------------------------------------------------------------------------


def test_terms_differing_only_in_case_are_added_once_in_one_call(seeded: Repository) -> None:
    result = seeded.add_terms(100, "drones", "terms", ["Shahed", "SHAHED"], NOW)
    assert seeded.own_watchlists(100)[0].terms == ("Shahed",)
    assert result.added == ("Shahed",)


def test_configuring_a_feed_a_chat_added_keeps_sync_config_working(seeded: Repository) -> None:
    seeded.add_chat_feed(100, C, None, NOW)
    seeded.sync_config([*FEEDS, FeedSpec(C, "C")], [RVC, KURSK], NOW)
    assert [f.url for f in seeded.chat_feeds(200)[0]] == [A, B, C]


def test_a_chat_adding_a_formerly_configured_feed_keeps_it_to_itself(seeded: Repository) -> None:
    seeded.sync_config([FeedSpec(A, "A")], [RVC, KURSK], NOW)  # B leaves the configuration
    assert seeded.add_chat_feed(100, B, None, NOW) == "added"
    seeded.subscribe(100, ["rvc"], NOW)
    seeded.subscribe(200, ["rvc"], NOW)
    seeded.store_items(feed_id(seeded, B), [(item("b1"), hit("rvc"))], NOW)
    assert keys(seeded, 200) == []
    seeded.sync_config([FeedSpec(A, "A")], [RVC, KURSK], NOW)  # the next start
    assert B in [f.url for f in seeded.feeds()]


def test_subscriptions_to_retired_lists_do_not_count_against_the_limit(
    seeded: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chats, "MAX_LISTS_PER_CHAT", 2)
    seeded.subscribe(100, ["rvc", "kursk"], NOW)
    seeded.sync_config(FEEDS, [RVC, Watchlist("lsr", ("LSR",))], NOW)  # kursk retired
    assert [w.name for w in seeded.chat_watchlists(100)] == ["rvc"]
    assert seeded.unsubscribe(100, ["kursk"]).unknown == ("kursk",)
    assert seeded.subscribe(100, ["lsr"], NOW).changed == ("lsr",)


def test_a_configured_list_named_like_an_own_list_leaves_both_reachable(
    seeded: Repository,
) -> None:
    seeded.add_terms(100, "lsr", "terms", ["Shahed"], NOW)
    seeded.sync_config(FEEDS, [RVC, KURSK, Watchlist("lsr", ("LSR",))], NOW)
    assert seeded.subscribe(100, ["lsr"], NOW).changed == ("lsr",)
    seeded.remove_list(100, "lsr")
    assert [w.name for w in seeded.chat_watchlists(100)] == ["lsr"]
