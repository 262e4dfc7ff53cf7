"""Throughput of feedwatch's poll cycle (bot.services.poll.Poller: conditional GET, parse, match,
store) against the loop most bots run, `feedparser.parse(url)` one feed after another, on the 200
real feeds of shared/corpus/bench served by a local HTTP server under N distinct URLs, measured in
the same run, and the warm cycle of M feeds against that of N (issue 19); the last line printed
is the ratio.

    python benchmarks/poll.py [--feeds 1000] [--warm-feeds 20000] [--quick] [--concurrency 64]
                              [--database URL] [--baseline-feeds 200] [--chats 10] [--keep-alive]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

# The parse pool's processes (and the feed server's) run this file again as "__mp_main__" before
# they take work; the bot's own entry point, `feedwatch`, imports next to nothing at that point.
# Skipping the imports below there keeps those processes as small as the bot's, so that the
# memory figure is the bot's and not this script's.
if __name__ != "__mp_main__":
    import feedparser
    import httpx
    from sqlalchemy.engine import make_url

    import bot.services.poll as poll_module
    from benchmarks.corpus import bench_documents
    from bot.core.domain import FeedSpec, PollOutcome
    from bot.core.matching import Matcher
    from bot.core.matching.morphology import default_morphology
    from bot.ops.config import PollingSettings
    from bot.ops.heap import freeze_startup_objects
    from bot.ops.watchlist_file import load_watchlists
    from bot.sources import feedparser_tuning
    from bot.sources.fetch import Fetcher
    from bot.storage.asynchronous import AsyncStorage
    from bot.storage.repository import Repository

TARGET_WARM_FPS = 500.0
# Issue 19: the cold poll at 10 times the sequential baseline; the warm cycle of 20,000 feeds in
# 12 s (scaled for another M), at the cost per feed of the warm cycle of N in the same run, and
# the bot's process no more than 20 MB bigger for it.
TARGET_COLD_RATIO = 10.0
TARGET_BIG_WARM_S_PER_20K = 12.0
TARGET_PER_FEED_RATIO = 1.1
TARGET_RSS_GROWTH_MB = 20.0
BASE_RUNS = 3
TARGET_PEAK_MB = 500.0
CHANGED_SHARE = 0.05
SEED = 1
FIRST_CHAT_ID = 7_000_001
# What every document says before it changes: a Last-Modified well in the past.
ORIGINAL_LAST_MODIFIED = datetime(2026, 11, 1, tzinfo=UTC)

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# The feed server: its own process (so that its work does not take the GIL from the poller), one
# asyncio loop, HTTP/1.1. URL /feed/J serves document J mod 200 with an ETag and Last-Modified and
# answers If-None-Match / If-Modified-Since with 304. /_bench/... is its control panel.
# ---------------------------------------------------------------------------------------------

_CLOSE_TAGS = (b"</rdf:RDF>", b"</channel>", b"</feed>")


def _content_type(data: bytes) -> str:
    head = data[:4096].lstrip()
    if head.startswith(b"{"):
        return "application/feed+json"
    if b"<feed" in head:
        return "application/atom+xml"
    return "application/rss+xml"


def _new_item(index: int, stamp: datetime, close_tag: bytes) -> bytes:
    """One new item, ASCII only (so it reads the same in any of the corpus's encodings), that hits
    the default watchlist `rvc`."""
    title = f"Russian Volunteer Corps says it crossed into the Kursk region (bench feed {index})"
    summary = "Fighters of the Russian Volunteer Corps and the Freedom of Russia Legion reported."
    link = f"https://bench.invalid/changed/{index}"
    if close_tag == b"</feed>":
        text = (
            f"<entry><title>{title}</title><link href='{link}'/>"
            f"<id>urn:feedwatch-bench:changed:{index}</id>"
            f"<updated>{stamp.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
            f"<summary>{summary}</summary></entry>\n"
        )
    else:
        text = (
            f"<item><title>{title}</title><link>{link}</link>"
            f"<guid isPermaLink='false'>urn:feedwatch-bench:changed:{index}</guid>"
            f"<pubDate>{format_datetime(stamp, usegmt=True)}</pubDate>"
            f"<description>{summary}</description></item>\n"
        )
    return text.encode("ascii")


def changed_document(data: bytes, index: int, stamp: datetime) -> bytes:
    """The document with one new item before its closing tag; a document we cannot place an item
    in (not RSS/Atom/RDF) gets a trailing comment: a new body, nothing new to store."""
    for tag in _CLOSE_TAGS:
        at = data.rfind(tag)
        if at >= 0:
            return data[:at] + _new_item(index, stamp, tag) + data[at:]
    return data + f"\n<!-- changed {stamp.isoformat()} -->\n".encode("ascii")


@dataclass
class _Version:
    body: bytes
    etag: str
    last_modified: str
    modified_at: datetime


class _FeedServer:
    def __init__(self, files: Sequence[Path], keep_alive: bool) -> None:
        self.keep_alive = keep_alive
        self.documents: list[_Version] = []
        self.types: list[str] = []
        for path in files:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            self.documents.append(
                _Version(
                    data,
                    f'"{digest[:20]}"',
                    format_datetime(ORIGINAL_LAST_MODIFIED, usegmt=True),
                    ORIGINAL_LAST_MODIFIED,
                )
            )
            self.types.append(_content_type(data))
        self.changed: dict[int, _Version] = {}
        self.stats = {"requests": 0, "200": 0, "304": 0, "other": 0, "bytes": 0}

    def version(self, index: int) -> _Version:
        return self.changed.get(index) or self.documents[index % len(self.documents)]

    def manifest(self) -> list[dict[str, str]]:
        return [
            {
                "etag": doc.etag,
                "last_modified": doc.last_modified,
                "sha256": hashlib.sha256(doc.body).hexdigest(),
            }
            for doc in self.documents
        ]

    def change(self, indexes: Sequence[int]) -> None:
        stamp = datetime.now(UTC).replace(microsecond=0)
        for index in indexes:
            old = self.version(index)
            body = changed_document(old.body, index, stamp)
            digest = hashlib.sha256(body).hexdigest()
            self.changed[index] = _Version(
                body, f'"{digest[:20]}"', format_datetime(stamp, usegmt=True), stamp
            )

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        path = target.split("?", 1)[0]
        if path.startswith("/feed/") and path[6:].isdigit():
            version = self.version(int(path[6:]))
            facts = {"ETag": version.etag, "Last-Modified": version.last_modified}
            if self._not_modified(version, headers):
                return 304, facts, b""
            content_type = self.types[int(path[6:]) % len(self.documents)]
            return 200, {**facts, "Content-Type": content_type}, version.body
        if path == "/_bench/stats":
            stats = {**self.stats, "cpu": time.process_time()}
            return 200, {"Content-Type": "application/json"}, json.dumps(stats).encode()
        if path == "/_bench/manifest":
            return 200, {"Content-Type": "application/json"}, json.dumps(self.manifest()).encode()
        if path == "/_bench/change" and method == "POST":
            self.change(json.loads(body))
            return 200, {"Content-Type": "text/plain"}, b"ok"
        return 404, {"Content-Type": "text/plain"}, b"not found"

    @staticmethod
    def _not_modified(version: _Version, headers: dict[str, str]) -> bool:
        # RFC 9110 13.2.2: If-None-Match, when sent, decides; If-Modified-Since only without it.
        tags = headers.get("if-none-match")
        if tags is not None:
            return tags.strip() == "*" or version.etag in (t.strip() for t in tags.split(","))
        since = headers.get("if-modified-since")
        if since:
            try:
                return version.modified_at <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, colon, value = line.partition(":")
                    if colon:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, answer, payload = self.answer(method, target, headers, body)
                close = (
                    not self.keep_alive
                    or version.upper() == "HTTP/1.0"
                    or headers.get("connection", "").lower() == "close"
                )
                if not target.startswith("/_bench/"):
                    self.stats["requests"] += 1
                    key = str(status) if status in (200, 304) else "other"
                    self.stats[key] += 1
                    self.stats["bytes"] += len(payload)
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}.get(status, "")
                out = [f"HTTP/1.1 {status} {reason}"]
                out += [f"{name}: {value}" for name, value in answer.items()]
                if status != 304:
                    out.append(f"Content-Length: {len(payload)}")
                out.append("Connection: close" if close else "Connection: keep-alive")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
                if payload and method != "HEAD":
                    writer.write(payload)
                await writer.drain()
                if close:
                    return
        except ConnectionError:
            return
        finally:
            writer.close()


def _serve(files: list[str], keep_alive: bool, conn: Connection) -> None:
    """The server process: bind 127.0.0.1 on a free port, say which, serve until terminated."""

    async def main() -> None:
        state = _FeedServer([Path(f) for f in files], keep_alive)
        server = await asyncio.start_server(state.handle, "127.0.0.1", 0, backlog=1024)
        conn.send(server.sockets[0].getsockname()[1])
        conn.close()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class ServerProcess:
    def __init__(self, files: Sequence[Path], keep_alive: bool) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=([str(f) for f in files], keep_alive, child), daemon=True
        )
        self.process.start()
        child.close()
        if not parent.poll(120):
            self.stop()
            raise RuntimeError("the feed server did not start")
        self.url = f"http://127.0.0.1:{parent.recv()}"

    def feed_url(self, index: int) -> str:
        return f"{self.url}/feed/{index}"

    def _call(self, path: str, data: bytes | None = None) -> Any:
        request = urllib.request.Request(self.url + path, data=data)  # noqa: S310 - our own server
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return json.loads(response.read()) if path != "/_bench/change" else None

    def stats(self) -> dict[str, float]:
        return dict(self._call("/_bench/stats"))

    def manifest(self) -> list[dict[str, str]]:
        return list(self._call("/_bench/manifest"))

    def change(self, indexes: Sequence[int]) -> None:
        self._call("/_bench/change", json.dumps(list(indexes)).encode())

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# ---------------------------------------------------------------------------------------------
# Measuring: CPU time by stage (time.thread_time in the threads that do the work), RSS.
# ---------------------------------------------------------------------------------------------


@dataclass
class CpuByStage:
    parse: float = 0.0
    match: float = 0.0
    store: float = 0.0  # Repository.unseen_keys and store_items: new items, hits, outbox rows
    state: float = 0.0  # Repository.feeds and save_feed_state: the feed list, each feed's state
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, stage: str, seconds: float) -> None:
        with self.lock:
            setattr(self, stage, getattr(self, stage) + seconds)

    def snapshot(self) -> tuple[float, float, float, float]:
        with self.lock:
            return self.parse, self.match, self.store, self.state


def _timed(function: Callable[..., T], stage: str, cpu: CpuByStage) -> Callable[..., T]:
    def timed(*args: Any, **kwargs: Any) -> T:
        start = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            cpu.add(stage, time.thread_time() - start)

    return timed


def _instrument(repo: Repository, cpu: CpuByStage) -> AsyncStorage:
    """Count the CPU each stage takes in the thread that runs it: matching and the repository
    calls run in worker threads. Parsing runs in the pool's processes and is counted there (see
    `PoolWatch`). Everything else in this process (httpx, the event loop, hashing bodies, taking
    parsed feeds back from the pool, thread hand-offs) is the rest of its CPU time."""
    Matcher.match = _timed(Matcher.match, "match", cpu)  # type: ignore[method-assign]
    for name in ("unseen_keys", "store_items"):
        setattr(repo, name, _timed(getattr(repo, name), "store", cpu))
    for name in STATE_CALLS:
        if hasattr(repo, name):
            setattr(repo, name, _timed(getattr(repo, name), "state", cpu))
    # AsyncStorage calls the repository's class functions, not the instance's: the timed ones
    # are put on this instance, each still run in a worker thread as AsyncStorage runs it.
    storage = AsyncStorage(repo)
    for name in STATE_CALLS:
        if hasattr(repo, name):
            setattr(storage, name, functools.partial(asyncio.to_thread, getattr(repo, name)))
    return storage


STATE_CALLS = ("feeds", "feeds_after", "save_feed_state", "save_feed_states")


class GcWatch:
    """The garbage collector's passes in this process and their wall time, by generation (its
    time is part of "the rest" of the CPU, spread over whatever allocated)."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            generation = info["generation"]
            self.runs[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._started

    def snapshot(self) -> tuple[list[int], list[float]]:
        return list(self.runs), list(self.seconds)


GC = GcWatch()


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_kib(pid: int, field_name: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


class PoolWatch:
    """The parse pool's worker processes: their CPU time and their peak memory."""

    def __init__(self, pool: ProcessPoolExecutor | None) -> None:
        self.pool = pool

    def _pids(self) -> list[int]:
        # The executor's own table of its workers (private, but a benchmark may look).
        processes = getattr(self.pool, "_processes", None) or {}
        return list(processes)

    def cpu(self) -> float:
        return sum(_proc_cpu(pid) for pid in self._pids())

    def peaks_mb(self) -> list[float]:
        return [_proc_kib(pid, "VmHWM") * 1024 / 1e6 for pid in self._pids()]


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def vm_kib(field_name: str) -> int | None:
    """A line of /proc/self/status in KiB (VmHWM: peak resident set; VmRSS: now)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def vm_mb(field_name: str) -> float:
    return (vm_kib(field_name) or 0) * 1024 / 1e6


def peak_mb() -> float:
    """Peak RSS of this process in MB: VmHWM where Linux gives it, else ru_maxrss (KiB on Linux)."""
    kib = vm_kib("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib * 1024 / 1e6


def reset_peak() -> bool:
    """Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    feeds: int
    seconds: float
    outcomes: list[PollOutcome]
    served: dict[str, float]
    cpu: float
    parse: float
    match: float
    store: float
    state: float
    server_cpu: float
    gc_runs: list[int]  # passes of the garbage collector in this process, by generation
    gc_seconds: list[float]
    peak: float  # this process's VmHWM during the step (reset at its start), MB
    rss_before: float  # this process's VmRSS when the step began, MB
    rss: float  # this process's VmRSS when the step ended, MB
    pool_peaks: list[float]  # each parse process's VmHWM

    @property
    def workers(self) -> int:  # parse pool processes (0: parsing in this process's threads)
        return len(self.pool_peaks)

    @property
    def rate(self) -> float:
        return self.feeds / self.seconds

    @property
    def ms_per_feed(self) -> float:
        return self.seconds / self.feeds * 1000

    @property
    def cpu_ms_per_feed(self) -> float:
        return self.cpu / self.feeds * 1000

    def lines(self) -> list[str]:
        new_items = sum(o.new_items for o in self.outcomes)
        hits = sum(o.new_hits for o in self.outcomes)
        unchanged = sum(1 for o in self.outcomes if o.not_modified)
        failed = [o for o in self.outcomes if o.error]
        in_process_parse = 0.0 if self.workers else self.parse
        rest = self.cpu - in_process_parse - self.match - self.store - self.state
        parsing = (
            f"parse pool ({self.workers} processes) {self.parse:.1f} s"
            if self.workers
            else f"parse (threads of this process) {self.parse:.1f} s"
        )
        lines = [
            f"{self.name:<32} {self.rate:8.1f} feeds/s  {self.seconds:7.2f} s for "
            f"{self.feeds:,} feeds ({self.served['bytes'] / self.seconds / 1e6:.1f} MB/s served)",
            f"    HTTP: {int(self.served['200']):,} × 200, {int(self.served['304']):,} × 304, "
            f"{int(self.served['other'])} other; outcomes: {unchanged:,} unchanged, "
            f"{new_items:,} new items, {hits:,} hits, {len(failed)} failed",
            f"    CPU: this process {self.cpu:.1f} s ({self.cpu / self.seconds:.2f} cores): "
            f"match {self.match:.2f} s, store items {self.store:.1f} s, "
            f"feed state {self.state:.1f} s, rest (httpx, event loop, threads, hashing, taking "
            f"results from the pool) {rest:.1f} s; {parsing}; "
            f"feed server {self.server_cpu:.1f} s",
            f"    garbage collector: {sum(self.gc_seconds):.2f} s in "
            + ", ".join(
                f"{runs:,} passes of generation {g} ({seconds:.2f} s)"
                for g, (runs, seconds) in enumerate(zip(self.gc_runs, self.gc_seconds, strict=True))
            ),
            f"    RSS of this process: {self.rss_before:.0f} MB before the step, peak "
            f"{self.peak:.0f} MB during it, {self.rss:.0f} MB after; {self.ms_per_feed:.3f} ms "
            f"and {self.cpu_ms_per_feed:.3f} ms of its CPU a feed; parse processes' peaks so far: "
            + ", ".join(f"{mb:.0f} MB" for mb in self.pool_peaks or [0.0]),
        ]
        if failed:
            reasons = sorted({(o.error or "")[:90] for o in failed})
            lines.append(f"    failed: {'; '.join(reasons)}")
        return lines


async def run_step(
    name: str, poller: poll_module.Poller, server: ServerProcess, cpu: CpuByStage, pool: PoolWatch
) -> Step:
    served_before = server.stats()
    before = cpu.snapshot()
    pool_before = pool.cpu()
    rss_before = vm_mb("VmRSS")
    # The step's own peak: VmHWM restarts from the RSS of now (the overall peak is the largest
    # of the steps').
    reset_peak()
    gc_before = GC.snapshot()
    cpu0 = process_cpu()
    start = time.perf_counter()
    outcomes = await poller.poll(all_feeds=True)
    seconds = time.perf_counter() - start
    cpu1 = process_cpu()
    gc_after = GC.snapshot()
    parse, match, store, state = (b - a for a, b in zip(before, cpu.snapshot(), strict=True))
    if pool.pool is not None:
        # Workers start on demand, so one that started during the step counts from zero.
        parse = pool.cpu() - pool_before
    served_after = server.stats()
    served = {k: served_after[k] - served_before[k] for k in ("200", "304", "other", "bytes")}
    step = Step(
        name=name,
        feeds=len(outcomes),
        seconds=seconds,
        outcomes=outcomes,
        served=served,
        cpu=cpu1 - cpu0,
        parse=parse,
        match=match,
        store=store,
        state=state,
        server_cpu=served_after["cpu"] - served_before["cpu"],
        gc_runs=[b - a for a, b in zip(gc_before[0], gc_after[0], strict=True)],
        gc_seconds=[b - a for a, b in zip(gc_before[1], gc_after[1], strict=True)],
        peak=peak_mb(),
        rss_before=rss_before,
        rss=vm_mb("VmRSS"),
        pool_peaks=pool.peaks_mb(),
    )
    for line in step.lines():
        print(line, flush=True)
    return step


def add_feeds(
    database: str, urls: Sequence[str], known: int, manifest: list[dict[str, str]]
) -> tuple[int, int]:
    """`sync_config` with `urls` and `prime_feeds`, in a process of their own: the memory they
    take (every feed row loaded at once) is theirs, not the poll's, whose memory step 5 measures.
    Returns what `prime_feeds` does."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_add_feeds, args=(database, list(urls), known, manifest, child), daemon=True
    )
    process.start()
    child.close()
    try:
        primed, failing = parent.recv()
    except EOFError:
        raise RuntimeError("adding the feeds failed (see above)") from None
    process.join(60)
    return primed, failing


def _add_feeds(
    database: str, urls: list[str], known: int, manifest: list[dict[str, str]], conn: Connection
) -> None:
    # The script's imports are skipped in this process (it is "__mp_main__"): its own here.
    from bot.core.domain import FeedSpec
    from bot.ops.watchlist_file import load_watchlists
    from bot.storage.repository import Repository

    repo = Repository.open(database)
    try:
        watchlists = load_watchlists(REPO / "config" / "watchlists.toml")
        repo.sync_config([FeedSpec(url=url) for url in urls], watchlists, utcnow())
        conn.send(prime_feeds(repo, manifest, known, utcnow()))
    finally:
        conn.close()
        repo.close()


def prime_feeds(
    repo: Repository, manifest: list[dict[str, str]], known: int, now: datetime
) -> tuple[int, int]:
    """Give the feeds beyond the first `known` the state a successful poll of their document
    leaves (its ETag, Last-Modified and body hash), as if the bot had polled them before; a feed
    whose document failed to parse among the first `known` keeps none, as the poller leaves it.
    Returns (primed, left as failing)."""
    from sqlalchemy import update
    from sqlmodel import Session

    from bot.storage.tables import FeedRow

    docs = len(manifest)
    feeds = repo.feeds()
    by_index = {int(feed.url.rsplit("/", 1)[1]): feed for feed in feeds}
    failing = {
        index % docs
        for index, feed in by_index.items()
        if index < known and feed.etag is None and feed.body_hash is None
    }
    rows = []
    for index, feed in by_index.items():
        if index < known or index % docs in failing:
            continue
        facts = manifest[index % docs]
        rows.append(
            {
                "id": feed.id,
                "etag": facts["etag"],
                "last_modified": facts["last_modified"],
                "body_hash": facts["sha256"],
                "last_polled_at": now,
                "last_success_at": now,
                "next_poll_at": now,
            }
        )
    with Session(repo.engine) as session, session.begin():
        session.execute(update(FeedRow), rows)
    return len(rows), sum(1 for i in by_index if i >= known and i % docs in failing)


def utcnow() -> datetime:
    return datetime.now(UTC)


async def bench_feedwatch(
    args: argparse.Namespace, server: ServerProcess, database: str
) -> tuple[list[Step], float]:
    repo = await asyncio.to_thread(Repository.open, database)
    try:
        if args.database and (await asyncio.to_thread(repo.counts)).feeds:
            shown = make_url(database).render_as_string(hide_password=True)
            raise SystemExit(f"{shown} is not empty: the benchmark needs a fresh database")
        watchlists = load_watchlists(REPO / "config" / "watchlists.toml")
        now = utcnow()
        specs = [FeedSpec(url=server.feed_url(i)) for i in range(args.feeds)]
        await asyncio.to_thread(repo.sync_config, specs, watchlists, now)
        for n in range(args.chats):
            chat_id = FIRST_CHAT_ID + n
            await asyncio.to_thread(repo.register_chat, chat_id, "private", f"Reader {n}", now)
            await asyncio.to_thread(repo.subscribe, chat_id, [w.name for w in watchlists], now)
        # As FeedwatchApp does on start: the dictionaries load once, before the first poll, and
        # what start-up made is frozen out of the garbage collector's way.
        await asyncio.to_thread(default_morphology)
        freeze_startup_objects()
        start_rss = (vm_kib("VmRSS") or 0) * 1024 / 1e6
        print(
            f"watchlists: {len(watchlists)} of config/watchlists.toml "
            f"({sum(len(w.terms) for w in watchlists)} terms); {args.chats} chats follow them all; "
            f"RSS before the first poll {start_rss:.0f} MB",
            flush=True,
        )
        cpu = CpuByStage()
        storage = _instrument(repo, cpu)
        settings = PollingSettings()
        steps: list[Step] = []
        # As FeedwatchApp does: feedparser tuned, and a pool of parse processes (tuned as they
        # start), one per core unless told otherwise.
        feedparser_tuning.install()
        parse_pool = poll_module.parse_pool(args.parse_workers)
        if parse_pool is None:
            poll_module.parse_feed = _timed(poll_module.parse_feed, "parse", cpu)  # type: ignore[assignment]
        pool = PoolWatch(parse_pool)
        async with Fetcher(
            timeout=settings.timeout.total_seconds(), allow_private_addresses=True
        ) as fetcher:
            poller = poll_module.Poller(
                storage,
                fetcher,
                clock=utcnow,
                default_interval=settings.interval,
                concurrency=args.concurrency,
                per_host=args.concurrency,
                parse_pool=parse_pool,
            )

            async def step(name: str) -> Step:
                return await run_step(name, poller, server, cpu, pool)

            steps.append(await step(f"1 cold, {args.feeds:,} feeds"))
            steps.append(await step(f"2 warm, {args.feeds:,} feeds"))

            changed = sorted(
                random.Random(SEED).sample(range(args.feeds), round(args.feeds * CHANGED_SHARE))
            )
            server.change(changed)
            steps.append(await step(f"3 {len(changed)} changed ({CHANGED_SHARE:.0%})"))
            # The base of the per-feed comparison: the same warm cycle as step 5 but of N feeds,
            # moments before it; three times, a second or two each, the median taken (other work
            # on the machine moves a single one by a third).
            for n in range(1, BASE_RUNS + 1):
                steps.append(await step(f"4 warm, {args.feeds:,} feeds ({n} of {BASE_RUNS})"))

            prime_start = time.perf_counter()
            urls = [server.feed_url(i) for i in range(args.warm_feeds)]
            primed, failing = await asyncio.to_thread(
                add_feeds, database, urls, args.feeds, server.manifest()
            )
            print(
                f"    (added {args.warm_feeds - args.feeds:,} feeds, in a process of their own, in "
                f"{time.perf_counter() - prime_start:.1f} s: {primed:,} with the ETag, "
                f"Last-Modified and body hash a poll leaves, {failing} without, their document "
                f"fails to parse)",
                flush=True,
            )
            steps.append(await step(f"5 warm, {args.warm_feeds:,} feeds"))
        peak = max(s.peak for s in steps) + sum(pool.peaks_mb())
        if parse_pool is not None:
            parse_pool.shutdown(wait=True)
        counts = await asyncio.to_thread(repo.counts)
        print(f"database: {counts.feeds:,} feeds, {counts.items:,} items, {counts.hits:,} hits")
        return steps, peak
    finally:
        await asyncio.to_thread(repo.close)


def baseline_sample(feeds: int, documents: int, wanted: int) -> list[int]:
    """URL indexes for the baseline: `wanted` distinct documents spread evenly over the corpus
    (the first `documents` URLs hold each document once, as the N URLs hold each N/200 times)."""
    span = min(feeds, documents)
    if wanted <= 0 or wanted >= feeds:
        return list(range(feeds))
    if wanted <= span:
        return sorted({i * span // wanted for i in range(wanted)})
    return list(range(wanted))


@dataclass
class Baseline:
    feeds: int
    seconds: float
    entries: int
    not_feeds: int
    peak: float | None

    @property
    def rate(self) -> float:
        return self.feeds / self.seconds


def bench_baseline(urls: Sequence[str]) -> Baseline:
    with feedparser_tuning.uninstalled():  # feedparser as shipped, not with feedwatch's reader
        return _bench_baseline(urls)


def _bench_baseline(urls: Sequence[str]) -> Baseline:
    feedparser.parse(urls[0])  # warm up imports and compiled patterns
    measured_peak = reset_peak()
    entries = not_feeds = 0
    start = time.perf_counter()
    for url in urls:
        result = feedparser.parse(url)
        entries += len(result.entries)
        not_feeds += not result.get("version") and not result.entries
    seconds = time.perf_counter() - start
    return Baseline(len(urls), seconds, entries, not_feeds, peak_mb() if measured_peak else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=1000, help="feeds of steps 1-3 (N)")
    parser.add_argument("--warm-feeds", type=int, default=20_000, help="feeds of step 5 (M)")
    parser.add_argument(
        "--quick", action="store_true", help="N=200, M=1000, the baseline on 50 URLs: a smoke run"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=PollingSettings().concurrency,
        help="feeds polled at once (per host the same: every URL is on one server)",
    )
    parser.add_argument(
        "--database", default=None, help="an empty database URL (default: temporary SQLite file)"
    )
    parser.add_argument(
        "--baseline-feeds",
        type=int,
        default=None,
        help="time the baseline on this many URLs (default 200, each document once; 0: all N)",
    )
    parser.add_argument(
        "--parse-workers",
        type=int,
        default=PollingSettings().parse_workers,
        help="parse processes (default: one per core, as [polling] parse_workers; 0: a thread)",
    )
    parser.add_argument("--chats", type=int, default=10, help="chats following every watchlist")
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="the server keeps connections open (default: closes each after one answer)",
    )
    parser.add_argument("--corpus", type=Path, default=None, help="folder of feed documents")
    parser.add_argument("--verbose", action="store_true", help="show the bot's log warnings")
    args = parser.parse_args(argv)
    if args.quick:
        args.feeds, args.warm_feeds = 200, 1000
        if args.baseline_feeds is None:
            args.baseline_feeds = 50
    if args.baseline_feeds is None:
        args.baseline_feeds = 200
    if args.warm_feeds < args.feeds:
        parser.error("--warm-feeds must be at least --feeds")
    # The poller logs every feed that fails to parse; the summary lines say so instead.
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL)

    corpus, files = bench_documents(args.corpus)
    size = sum(p.stat().st_size for p in files)

    server = ServerProcess(files, args.keep_alive)
    try:
        with tempfile.TemporaryDirectory(prefix="feedwatch-bench-") as tmp:
            database = args.database or f"sqlite:///{tmp}/poll.db"
            shown_url = make_url(database).render_as_string(hide_password=True)
            print(
                f"serving {len(files)} documents ({size / 1e6:.1f} MB) from {corpus} at "
                f"{server.url} (own process; "
                f"{'keep-alive' if args.keep_alive else 'one request per connection'}, "
                f"ETag/Last-Modified, 304s) under {args.warm_feeds:,} URLs; "
                f"Python {sys.version.split()[0]}, feedparser {feedparser.__version__}, "
                f"httpx {httpx.__version__}, {os.cpu_count()} CPUs",
                flush=True,
            )
            print(
                f"database: {'SQLite file (WAL) in ' + tmp if not args.database else shown_url}"
                f"; Poller(concurrency={args.concurrency}, per_host={args.concurrency}), "
                f"parse_workers={args.parse_workers}",
                flush=True,
            )
            steps, peak = asyncio.run(bench_feedwatch(args, server, database))
            if not args.database:
                on_disk = sum(p.stat().st_size for p in Path(tmp).iterdir())
                print(f"database files: {on_disk / 1e6:.0f} MB")

        sample = baseline_sample(args.feeds, len(files), args.baseline_feeds)
        print(
            f"baseline: feedparser.parse(url) with default options, one after another, on "
            f"{len(sample)} of the {args.feeds:,} URLs "
            f"({'every one' if len(sample) == args.feeds else 'distinct documents, spread evenly'})",
            flush=True,
        )
        served_before = server.stats()
        base = bench_baseline([server.feed_url(i) for i in sample])
        served = server.stats()
        print(
            f"{'feedparser.parse(url) (baseline)':<32} {base.rate:8.1f} feeds/s  "
            f"{base.seconds:7.2f} s for {base.feeds} feeds "
            f"({(served['bytes'] - served_before['bytes']) / base.seconds / 1e6:.1f} MB/s served); "
            f"{base.entries:,} entries, {base.not_feeds} not feeds"
            + (f"; its own peak RSS {base.peak:.0f} MB" if base.peak is not None else "")
        )
    finally:
        server.stop()

    cold, warm, _, *bases, big = steps
    ratio = cold.rate / base.rate
    # The median of step 4's runs by wall time a feed; memory against the last, just before.
    small = sorted(bases, key=lambda s: s.ms_per_feed)[len(bases) // 2]
    per_feed = big.ms_per_feed / small.ms_per_feed
    small_cpu = statistics.median(s.cpu_ms_per_feed for s in bases)
    cpu_per_feed = big.cpu_ms_per_feed / small_cpu
    growth = big.peak - bases[-1].peak
    print(
        f"peak memory: {peak:.0f} MB of RSS (VmHWM of the benchmark process over steps 1-5, "
        f"before the baseline ran, plus that of each parse process; the feed server is another "
        f"process)"
    )
    print(
        f"warm cycle, {big.feeds:,} vs {small.feeds:,} feeds (step 5 and the median of step 4's "
        f"{len(bases)} runs): {big.seconds:.2f} s vs {small.seconds:.2f} s; a feed "
        f"{big.ms_per_feed:.3f} vs {small.ms_per_feed:.3f} ms of wall time ({per_feed:.2f}x; "
        f"step 4's runs {', '.join(f'{s.ms_per_feed:.3f}' for s in bases)} ms), "
        f"{big.cpu_ms_per_feed:.3f} vs {small_cpu:.3f} ms of this process's CPU (medians; "
        f"{cpu_per_feed:.2f}x); "
        f"this process's peak RSS during the step {big.peak:.0f} vs {bases[-1].peak:.0f} MB "
        f"({growth:+.0f} MB, {big.peak / bases[-1].peak:.2f}x), RSS after it {big.rss:.0f} vs "
        f"{bases[-1].rss:.0f} MB ({big.rss - bases[-1].rss:+.0f} MB)"
    )
    big_target = TARGET_BIG_WARM_S_PER_20K * big.feeds / 20_000
    checks = [
        (
            f"cold >= {TARGET_COLD_RATIO:g}x the baseline",
            ratio >= TARGET_COLD_RATIO,
            f"{ratio:.1f}x",
        ),
        (
            f"warm >= {TARGET_WARM_FPS:g} feeds/s",
            warm.rate >= TARGET_WARM_FPS,
            f"{warm.rate:.0f} feeds/s",
        ),
        (
            f"{big.feeds:,}-feed warm cycle <= {big_target:g} s",
            big.seconds <= big_target,
            f"{big.seconds:.1f} s",
        ),
        (
            f"its cost a feed <= {TARGET_PER_FEED_RATIO:g}x that of {small.feeds:,} feeds",
            per_feed <= TARGET_PER_FEED_RATIO,
            f"{per_feed:.2f}x",
        ),
        (
            f"its peak RSS <= {TARGET_RSS_GROWTH_MB:g} MB over that of {small.feeds:,} feeds",
            growth <= TARGET_RSS_GROWTH_MB,
            f"{growth:+.0f} MB",
        ),
        (f"peak memory < {TARGET_PEAK_MB:g} MB", peak < TARGET_PEAK_MB, f"{peak:.0f} MB"),
    ]
    for name, ok, figure in checks:
        print(f"target {name}: {'met' if ok else 'NOT met'} ({figure})")
    print(
        f"poll: feedwatch cold {cold.rate:.1f} feeds/s vs feedparser.parse(url) sequential "
        f"{base.rate:.1f} feeds/s = {ratio:.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
