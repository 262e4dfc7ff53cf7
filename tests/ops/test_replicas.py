"""Replicas on the real PostgreSQL server: three `feedwatch run` processes share one database, 500
feeds on a local feed server and 50 chats on the fake Bot API; the one that takes the Telegram updates
is killed with SIGKILL in the middle of a poll cycle, holding claims on feeds whose requests hang.

Afterwards every feed was polled, every item and hit is stored once, every chat got every hit once
(counted at the fake server), the dead replica's claims were taken over by the survivors, and so were
the Telegram updates.

How "mid-cycle" is made certain rather than likely: every feed is parked (next poll tomorrow) while
the replicas start, then all are made due at once. A quarter of the feeds are gated (their requests
hang until the test opens the gates). Replicas claim due feeds lowest id first and stop claiming
while more than half their slots are busy (`Poller._poll_claimed`), so each replica soon sits still
holding gated feeds only; those are the lowest gated ids, and each of them carries a hit. Nothing is
in flight to Telegram then (the outbox is empty), so the kill cannot leave a sent-but-unrecorded
message behind, and "once" can be counted exactly.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.ops.config import load_settings
from bot.storage.repository import Repository
from bot.storage.tables import DeliveryRow, FeedRow, HitRow, ItemRow
from tests.builders import rss, write_settings
from tests.conftest import POSTGRES_ADMIN_URL, postgres_made
from tests.fakes.feed_server import FeedServer, Route
from tests.fakes.telegram_api import FakeBotApi, RecordedRequest

# The waits below fail, with the replicas' logs, well before this.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]

REPO_ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r'<a href="(https://news\.example/[^"]+)">')
TAKES_UPDATES = re.compile(r"replica (\S+) takes the Telegram updates")

REPLICAS = 3
FEEDS = 500
ITEMS_PER_FEED = 3
CHATS = [7001 + n for n in range(50)]  # private chats that follow "rvc"
IDLE_CHATS = [8001, 8002]  # registered, following nothing
NEWCOMER = 9001  # a user who sends /start once the updates changed hands
CONCURRENCY = 8
# A replica stops claiming while fewer than half its slots are free: with this many gated feeds
# running it never claims again until they finish.
STUCK = CONCURRENCY - CONCURRENCY // 2 + 1
# Seconds. Gated requests wait from the first claims to the kill (about 3 s here), and a request
# that outwaits TIMEOUT fails its feed until the backoff is over; LEASE must be longer still, and is
# how long the dead replica's claims keep the survivors off its feeds.
TIMEOUT = 15
LEASE = 18


def gated(index: int) -> bool:
    return index % 4 == 2


def hits(index: int) -> bool:
    """The lowest gated feeds (every one the replicas can hold at the kill: at most
    REPLICAS * CONCURRENCY of them) each carry a hit, and so do ten ungated feeds spread over the
    rest. 40 hits in all: under the 50 pending rows past which a chat gets a backlog summary."""
    return (gated(index) and index < 120) or index % 50 == 25


_SYLLABLES = ("ba", "de", "ki", "lo", "mu", "ne", "po", "ra", "si", "tu")


def word(n: int) -> str:
    """A made-up word, different for every n: titles of different feeds share no word but the
    watched name, so that no two hits are taken for one story (bot/trends/stories.py)."""
    return "".join(_SYLLABLES[int(digit)] for digit in f"{n:05d}")


def item_link(index: int, n: int) -> str:
    return f"https://news.example/f{index}-{n}"


def feed_body(index: int) -> bytes:
    """Three items; the first names РДК when the feed carries a hit."""
    entries = []
    for n in range(ITEMS_PER_FEED):
        words = " ".join(word(ITEMS_PER_FEED * 3 * index + 3 * n + k) for k in range(3))
        title = f"РДК {words}" if n == 0 and hits(index) else f"Weather {words}"
        entries.append((f"f{index}-{n}", title, ""))
    # The replicas run on the real clock: published now, or a new feed's items are its archive.
    return rss(*entries, title=f"Outlet {index}", published=datetime.now(UTC))


# --- a database of its own: three processes must see the same tables ------------------------


@pytest.fixture
def replica_database() -> Iterator[str]:
    """A fresh PostgreSQL database (not a schema: the replicas connect with a plain URL), dropped
    afterwards; skipped when the server is unreachable, failed under CI=true."""
    name = f"fw_replicas_{uuid.uuid4().hex[:12]}"
    with postgres_made(
        f'CREATE DATABASE "{name}"', f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    ):
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


# --- the replicas ------------------------------------------------------------------------------


def pid_of(replica: str) -> int:
    """The process id in a replica's name, `host:pid:tag` (bot/ops/replica.py)."""
    return int(replica.rsplit(":", 2)[1])


@dataclass
class Replicas:
    """`feedwatch run` processes, each logging to a file of its own."""

    config: Path
    logs: Path
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    killed: set[int] = field(default_factory=set)

    def launch(self, count: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDWATCH_")}
        for n in range(count):
            with (self.logs / f"replica-{n}.log").open("wb") as log:
                process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
                    cwd=REPO_ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            (self.logs / f"replica-{n}.log").rename(self.logs / f"replica-{process.pid}.log")
            self.processes[process.pid] = process

    def log(self, pid: int) -> str:
        return (self.logs / f"replica-{pid}.log").read_text(encoding="utf-8", errors="replace")

    def describe(self, lines: int = 40) -> str:
        """The end of every replica's log, for failure messages."""
        parts = []
        for pid, process in self.processes.items():
            tail = "\n".join(self.log(pid).splitlines()[-lines:])
            state = "running" if process.poll() is None else f"exit {process.returncode}"
            parts.append(f"--- replica {pid} ({state}) ---\n{tail}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        """Fail at once, with the logs, when a replica the test did not kill has stopped."""
        dead = [
            pid
            for pid, process in self.processes.items()
            if pid not in self.killed and process.poll() is not None
        ]
        if dead:
            pytest.fail(f"replicas {dead} stopped by themselves\n{self.describe()}")

    def updates_takers(self) -> list[tuple[int, str]]:
        """(pid of the log, replica name) for every 'takes the Telegram updates' line, in order of
        pid (a process logs it each time it takes them)."""
        return [
            (pid, name) for pid in self.processes for name in TAKES_UPDATES.findall(self.log(pid))
        ]

    def kill(self, pid: int) -> None:
        self.killed.add(pid)
        process = self.processes[pid]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def wait_until(what: str, missing: Callable[[], str], replicas: Replicas, timeout: float) -> None:
    """Re-check `missing` (what is still to happen; empty once `what` has) until it is empty; fail
    with it and the replicas' logs when a replica dies or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while still := missing():
        replicas.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s; {still}\n{replicas.describe()}")
        time.sleep(0.2)  # the period of the check, not a wait for anything in particular


# --- reading the shared database ---------------------------------------------------------------


@dataclass(frozen=True)
class FeedRowView:
    index: int
    lease_owner: str | None
    lease_until: datetime | None
    last_success_at: datetime | None
    last_error: str | None


def feed_rows(repo: Repository, index_of: dict[str, int]) -> list[FeedRowView]:
    with Session(repo.engine) as session:
        rows = session.execute(
            select(
                FeedRow.origin_url,
                FeedRow.lease_owner,
                FeedRow.lease_until,
                FeedRow.last_success_at,
                FeedRow.last_error,
            )
        ).all()
    return [FeedRowView(index_of[row[0]], *row[1:]) for row in rows]


def leases(rows: list[FeedRowView], now: datetime) -> dict[int, set[int]]:
    """Feeds claimed now, by the pid of the replica holding them."""
    held: dict[int, set[int]] = collections.defaultdict(set)
    for row in rows:
        if row.lease_owner is not None and row.lease_until is not None and row.lease_until > now:
            held[pid_of(row.lease_owner)].add(row.index)
    return held


def open_outbox_rows(repo: Repository) -> int:
    with Session(repo.engine) as session:
        return session.execute(
            select(func.count(col(DeliveryRow.id)))
            .where(col(DeliveryRow.sent_at).is_(None))
            .where(col(DeliveryRow.outcome).is_(None))
        ).scalar_one()


def links(messages: list[RecordedRequest]) -> list[str]:
    """Every item link in the messages (their HTML as sent), repeats included."""
    return [link for message in messages for link in LINK.findall(message.params["text"])]


# --- the test ----------------------------------------------------------------------------------


def test_three_replicas_one_killed_mid_cycle_poll_every_feed_and_deliver_every_hit_once(
    tmp_path: Path,
    feed_server: FeedServer,
    fake_bot_api: FakeBotApi,
    replica_database: str,
) -> None:
    started = time.monotonic()
    # One gate for every gated feed: opened once, for good, with more passes than requests.
    gate = threading.Semaphore(0)
    urls = []
    for index in range(FEEDS):
        path = f"/feeds/{index}.rss"
        body = feed_body(index)
        if gated(index):
            headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
            urls.append(feed_server.route(path, Route(body=body, headers=headers, gate=gate)))
        else:
            urls.append(feed_server.add(path, body))
    index_of = {url: index for index, url in enumerate(urls)}
    expected_hits = {item_link(index, 0) for index in range(FEEDS) if hits(index)}
    expected_items = {item_link(i, n) for i in range(FEEDS) for n in range(ITEMS_PER_FEED)}

    settings = write_settings(
        tmp_path,
        urls,
        database_url=replica_database,
        token=fake_bot_api.token,
        api_url=fake_bot_api.url,
    )
    config = tmp_path / "feedwatch.toml"
    original = config.read_text(encoding="utf-8")
    polling = (
        f'timeout = "{TIMEOUT}s"\nlease = "{LEASE}s"\ntick = "1s"\nconcurrency = {CONCURRENCY}\n'
        f"per_host = {CONCURRENCY}\nparse_workers = 0\n"
    )
    adjusted = original.replace('timeout = "5s"\n', polling, 1).replace(
        '[digest]\ninterval = "1h"\n', '[digest]\ninterval = "1h"\ntick = "1s"\n', 1
    )
    assert adjusted.count('tick = "1s"') == 2, original
    assert '[metrics]\nlisten = ""' in adjusted, "/metrics must be off: three replicas, one port"
    config.write_text(adjusted, encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.polling.lease == timedelta(seconds=LEASE)

    repo = Repository.open(replica_database)  # creates the tables before any replica starts
    replicas = Replicas(config, tmp_path)
    try:
        now = datetime.now(UTC)
        repo.sync_config(settings.feeds, settings.watchlists, now)
        for chat in CHATS:
            repo.register_chat(chat, "private", None, now)
            repo.subscribe(chat, ["rvc"], now)
            # Each chat's digest goes a second after the last: hits stored late go out promptly.
            repo.set_digest_interval(chat, timedelta(seconds=1))
        for chat in IDLE_CHATS:
            repo.register_chat(chat, "private", None, now)
        feeds = repo.feeds()
        # Claims go lowest id first; `hits` counts on ids standing in the order of the config.
        assert [index_of[f.url] for f in feeds] == list(range(FEEDS))
        # Parked while the replicas start, so that they all begin the cycle together.
        repo.save_feed_states([replace(f, next_poll_at=now + timedelta(days=1)) for f in feeds])

        started_at = datetime.now(UTC)
        replicas.launch(REPLICAS)

        def all_started() -> str:
            # The last thing `FeedwatchApp.start` sends before it takes updates: the Ukrainian menu.
            menus = [
                c
                for c in fake_bot_api.calls("setMyCommands")
                if c.params.get("language_code") == "uk"
            ]
            takers = replicas.updates_takers()
            if len(menus) == REPLICAS and len(takers) == 1:
                return ""
            return f"{len(menus)} replicas started, updates taken by {takers}"

        wait_until("three replicas running, one taking updates", all_started, replicas, 30)
        [(holder_pid, holder)] = replicas.updates_takers()
        assert pid_of(holder) == holder_pid

        due = datetime.now(UTC)
        repo.save_feed_states([replace(f, next_poll_at=due) for f in feeds])

        def standing_still() -> str:
            """Every replica holds only gated feeds, too many of them to claim more, and every
            hit stored so far has been sent."""
            held = leases(feed_rows(repo, index_of), datetime.now(UTC))
            still = open_outbox_rows(repo)
            if (
                set(held) == set(replicas.processes)
                and all(len(feeds) >= STUCK and all(map(gated, feeds)) for feeds in held.values())
                and still == 0
            ):
                return ""
            return f"feeds claimed by pid: {dict(held)}; {still} outbox rows open"

        wait_until("every replica holding gated feeds only", standing_still, replicas, TIMEOUT - 2)
        rows_at_kill = {row.index: row for row in feed_rows(repo, index_of)}
        held = leases(list(rows_at_kill.values()), datetime.now(UTC))
        victim_feeds = held[holder_pid]
        sent_before = len(fake_bot_api.sent_messages())
        assert sent_before > 0, "no digest went out before the kill"
        assert all(map(hits, victim_feeds)), victim_feeds
        # One request for each claimed feed so far: no feed was claimed by two replicas at once.
        requests = {i: feed_server.hits(f"/feeds/{i}.rss") for f in held.values() for i in f}
        assert set(requests.values()) == {1}, requests

        killed_at = datetime.now(UTC)
        phases = {
            "start": (due - started_at).total_seconds(),
            "cycle": (killed_at - due).total_seconds(),
        }
        replicas.kill(holder_pid)
        gate.release(100 * FEEDS)
        survivors = [pid for pid in replicas.processes if pid != holder_pid]

        # The Telegram updates change hands: the lock went with the dead replica's connection.
        def updates_taken_over() -> str:
            takers = replicas.updates_takers()
            return "" if any(pid in survivors for pid, _ in takers) else f"taken by {takers}"

        wait_until("a survivor takes the Telegram updates", updates_taken_over, replicas, 20)
        phases["takeover"] = (datetime.now(UTC) - killed_at).total_seconds()
        fake_bot_api.push_message(NEWCOMER, "/start", username="newcomer")
        fake_bot_api.wait_for(lambda fake: bool(fake.sent_messages(NEWCOMER)), timeout=20)

        def finished() -> str:
            rows = feed_rows(repo, index_of)
            unpolled = sorted(row.index for row in rows if row.last_success_at is None)
            claimed = {row.index: row.lease_owner for row in rows if row.lease_owner is not None}
            still = open_outbox_rows(repo)
            short = {
                chat: len(expected_hits - set(links(fake_bot_api.sent_messages(chat))))
                for chat in CHATS
            }
            short = {chat: n for chat, n in short.items() if n}
            if unpolled or claimed or still or short:
                return (
                    f"feeds not polled: {unpolled}; claimed: {claimed}; {still} outbox rows "
                    f"open; hits missing by chat: {short}"
                )
            return ""

        wait_until("every feed polled and every hit sent", finished, replicas, 60)
        phases["rest"] = (datetime.now(UTC) - killed_at).total_seconds()
        replicas.check_alive()
        logs = replicas.describe()

        # Every feed was polled; the dead replica's feeds by a survivor, once its claims ran out
        # (never before), with a request of its own.
        rows = {row.index: row for row in feed_rows(repo, index_of)}
        assert [i for i, row in rows.items() if row.last_error or not row.last_success_at] == []
        for index in victim_feeds:
            polled, claim_ended = rows[index].last_success_at, rows_at_kill[index].lease_until
            assert polled is not None, index
            assert claim_ended is not None, index
            assert polled >= claim_ended > killed_at, (index, polled, claim_ended)
            assert feed_server.hits(f"/feeds/{index}.rss") == 2, index

        # Every item and every hit stored once.
        with Session(repo.engine) as session:
            stored = list(session.execute(select(ItemRow.link)).scalars())
            hit_links = list(
                session.execute(
                    select(ItemRow.link).join(HitRow, col(HitRow.item_id) == ItemRow.id)
                ).scalars()
            )
        assert collections.Counter(stored) == dict.fromkeys(expected_items, 1)
        assert collections.Counter(hit_links) == dict.fromkeys(expected_hits, 1)

        # Every chat got every hit once, as counted at the fake Bot API.
        for chat in CHATS:
            counted = collections.Counter(links(fake_bot_api.sent_messages(chat)))
            twice = {link: n for link, n in counted.items() if n > 1}
            assert not twice, f"chat {chat} got these more than once: {twice}\n{logs}"
            assert set(counted) == expected_hits, chat
        assert [m for c in IDLE_CHATS for m in fake_bot_api.sent_messages(c)] == []

        # The survivors are still up, and stop cleanly.
        for pid in survivors:
            replicas.processes[pid].send_signal(signal.SIGTERM)
        for pid in survivors:
            assert replicas.processes[pid].wait(timeout=20) == 0, replicas.describe()
        print(
            f"replicas: {sent_before} messages before the kill, "
            f"{len(fake_bot_api.sent_messages())} in all; victim held {sorted(victim_feeds)}; "
            f"{time.monotonic() - started:.1f} s; phases {phases}"
        )
    finally:
        replicas.stop_all()
        repo.close()
