"""Terms' contexts in storage, on SQLite and PostgreSQL: a configured list keeps them through the
config sync, a chat's own list gets one from /watch (in place of the term's old one) and loses it
with the term."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.domain import TermContext, Watchlist
from bot.storage.repository import Repository

NOW = datetime(2024, 3, 12, 6, tzinfo=UTC)
CHAT = 77
NEAR = TermContext("РДК", near=("боец", "Белгород*"), within=8)


def test_a_configured_lists_contexts_survive_the_sync_and_a_resync_replaces_them(
    repo: Repository,
) -> None:
    configured = Watchlist("rvc", ("РДК", "RVC"), contexts=(NEAR,))
    repo.sync_config([], [configured], NOW)
    [stored] = repo.watchlists()
    assert stored.contexts == (NEAR,)
    repo.sync_config([], [Watchlist("rvc", ("РДК", "RVC"))], NOW)
    [stored] = repo.watchlists()
    assert stored.contexts == ()


def test_an_own_lists_term_gets_a_context_in_place_of_its_old_one_and_loses_it_with_the_term(
    repo: Repository,
) -> None:
    repo.register_chat(CHAT, "private", None, NOW)
    result = repo.add_terms(CHAT, "mine", "terms", ["РДК"], NOW, contexts=[NEAR])
    assert (result.created, result.added, result.in_context) == (True, ("РДК",), ("РДК",))
    again = TermContext("рдк", not_near=("культур*",))
    result = repo.add_terms(CHAT, "mine", "terms", ["рдк"], NOW, contexts=[again])
    assert (result.added, result.already) == ((), ("рдк",))
    [own] = repo.own_watchlists(CHAT)
    assert own.contexts == (again,)
    repo.add_terms(CHAT, "mine", "terms", ["RDK"], NOW)
    repo.remove_terms(CHAT, "mine", ["РДК"], NOW)
    [own] = repo.own_watchlists(CHAT)
    assert (own.terms, own.contexts) == (("RDK",), ())
