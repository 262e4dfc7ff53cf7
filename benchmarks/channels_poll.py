"""A poll cycle of 1,000 public Telegram channels, in which the pace is the only limit: t.me serves
every channel, so feedwatch paces all channel page requests to one per `telegram_pace`
(bot.sources.host_pace.HostPace), and a whole cycle of N channels should take about N x the pace,
nothing else (fetching, parsing, matching, storing, the per-host slots) adding to it. Measured
against "the pace alone" (N turns of a fresh HostPace, nothing else) in the same run; the last
line printed is the ratio.

    python benchmarks/channels_poll.py [--channels 1000] [--pace 0.02] [--parse-workers W]
                                       [--concurrency 64] [--per-host 4] [--paced-only] [--verbose]

The channels are served by tests/fakes/channel_server.py (a real HTTP server on 127.0.0.1, in a
thread of this process, imitating t.me/s/<name>), each with 20 posts, the newest within the last
hour, in Russian, Ukrainian and English, every fourth naming the Russian Volunteer Corps (so
matching and hit storage happen), a forward in every third channel. The Poller (production
defaults: concurrency 64, per_host 4, a parse pool of one process per core, started before the
clock runs) polls them on a fresh SQLite file with the real Fetcher, its channel base pointed at
the server and t.me paced at `--pace` seconds (production: 1 s): a cold cycle (every post new),
then a warm one (the clock moved past the interval; pages unchanged, so body-hash skips).

For each paced cycle the turns of the pace are split into the pace itself, turns given late
because no channel had asked for them yet (the per-host slots busy with channels already fetched:
the rest of the work is the limit) and turns given late to a channel that was waiting (the event
loop busy). For information, the same two cycles then run on another fresh database with no pace
at all (`--paced-only` skips them): how fast everything but the pace goes, which must be well above
1 / pace for the pace to be the only limit.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import logging
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

import bot.services.poll as poll_module  # noqa: E402
from bot.core.channel_address import CANONICAL_BASE, channel_url  # noqa: E402
from bot.core.channel_depth import ChannelDepth  # noqa: E402
from bot.core.domain import FeedSpec, PollOutcome, Watchlist  # noqa: E402
from bot.core.matching.morphology import default_morphology  # noqa: E402
from bot.ops.config import PollingSettings  # noqa: E402
from bot.sources import feedparser_tuning  # noqa: E402
from bot.sources.fetch import Fetcher  # noqa: E402
from bot.sources.host_pace import HostPace  # noqa: E402
from bot.sources.parsing import parse_feed  # noqa: E402
from bot.storage.asynchronous import AsyncStorage  # noqa: E402
from bot.storage.repository import Repository  # noqa: E402
from tests.fakes.channel_server import ChannelServer, Post  # noqa: E402

PAGE_SIZE = 20  # t.me shows about 20 messages a page
POSTS = 20  # each channel's posts: exactly one page, so a first poll reads one page per channel
FIRST_POST_ID = 4_000  # channels that have posted for a while
RVC_TERMS = (
    "РДК",
    "Русский добровольческий корпус",
    "Російський добровольчий корпус",
    "Russian Volunteer Corps",
)

# Post texts, by post number: every fourth names the corps, in one of three languages.
_HITS = (
    "РДК сообщает: бойцы Русского добровольческого корпуса заняли позиции у границы.",
    "Російський добровольчий корпус (РДК) заявив про нову операцію на Курщині.",
    "The Russian Volunteer Corps says its fighters crossed into the Belgorod region overnight.",
)
_OTHER = (
    "Сводка за утро: обстрелы в приграничье, перебои со светом в нескольких сёлах.",
    "Вечірнє зведення: ситуація на фронті без суттєвих змін, тривога в Києві тривала дві години.",
    "Morning briefing: shelling along the border, power cuts reported in several villages.",
    "Курс рубля снова упал; аналитики ждут решения Центробанка в пятницу.",
    "Мер міста повідомив про відновлення водопостачання в трьох районах.",
    "Weather: heavy snow expected in the north of the region, roads may be closed.",
)


def _text(channel: int, number: int) -> str:
    if number % 4 == 0:
        body = _HITS[(channel + number) % len(_HITS)]
    else:
        body = _OTHER[(channel + number) % len(_OTHER)]
    return f"{body}\n\nПодробности: https://news.example/{channel}/{number} (#{number})"


def channel_posts(channel: int, newest: datetime) -> list[Post]:
    """The channel's 20 posts, 45 minutes apart, the newest 5 to 55 minutes before `newest`; one
    forward (of the corps' own channel) in every third channel."""
    last = newest - timedelta(minutes=5 + channel % 51)
    posts = []
    for k in range(POSTS):
        number = FIRST_POST_ID + k
        forward = channel % 3 == 0 and k == POSTS - 3
        posts.append(
            Post(
                id=number,
                published=last - timedelta(minutes=45 * (POSTS - 1 - k)),
                text=_text(channel, number),
                views=f"{1 + (channel * 7 + k) % 90}.{k % 10}K",
                forwarded_from="Русский добровольческий корпус" if forward else None,
                forwarded_from_link=f"https://t.me/rusvolcorps/{9_000 + channel}"
                if forward
                else None,
            )
        )
    return posts


def channel_names(count: int) -> list[str]:
    return [f"bench_channel_{i:05d}" for i in range(count)]


class MovingClock:
    """The poller's clock: the real time, plus a shift this script moves (as tests move
    tests.builders.Clock), so that a second cycle finds every channel due again."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def advance(self, delta: timedelta) -> None:
        self.shift += delta


async def pace_alone(turns: int, gap: float) -> float:
    """The floor the pace sets: `turns` turns of a fresh HostPace, back to back, nothing else."""
    pace = HostPace({"t.me": gap})
    start = time.perf_counter()
    for _ in range(turns):
        await pace.turn(f"{CANONICAL_BASE}/s/x")
    return time.perf_counter() - start


class RecordingPace(HostPace):
    """HostPace as it is, noting when each turn was asked for and when it was given."""

    def __init__(self, gap: float) -> None:
        super().__init__({"t.me": gap} if gap > 0 else {})
        self.gap = gap
        self.turns: list[tuple[float, float]] = []

    async def turn(self, url: str) -> None:
        asked = time.monotonic()
        await super().turn(url)
        self.turns.append((asked, time.monotonic()))

    def breakdown(self, since: int) -> tuple[float, float, int, float]:
        """From the first turn given (after the first `since`) to the last: (gaps, idle, idle
        turns, late). Each turn is due `gap` after the one before it was given; it is given then
        plus `idle` (no channel had asked for it yet: the slots were busy with channels already
        fetched) plus `late` (a channel was waiting, the event loop woke it late)."""
        turns = self.turns[since:]
        idle = late = 0.0
        idle_turns = 0
        for (_, given), (asked, next_given) in itertools.pairwise(turns):
            due = given + self.gap
            if asked > due:
                idle += asked - due
                idle_turns += 1
                late += next_given - asked
            else:
                late += next_given - due
        return self.gap * max(len(turns) - 1, 0), idle, idle_turns, late


@dataclass
class Cycle:
    name: str
    seconds: float
    outcomes: list[PollOutcome]
    requests: int  # page requests the server saw during the cycle
    first_to_last: float  # from the first request's arrival to the last's
    gaps: list[float]  # between consecutive requests' arrivals
    turns: tuple[float, float, int, float]  # RecordingPace.breakdown

    def lines(self, pace: float) -> list[str]:
        failed = [o for o in self.outcomes if o.error]
        unchanged = sum(1 for o in self.outcomes if o.not_modified)
        items = sum(o.new_items for o in self.outcomes)
        hits = sum(o.new_hits for o in self.outcomes)
        channels = len(self.outcomes)
        gaps = sorted(self.gaps) or [0.0]
        lines = [
            f"{self.name:<34} {self.seconds:8.2f} s for {channels:,} channels "
            f"({channels / self.seconds:.1f} channels/s)",
            f"    outcomes: {items:,} new items, {hits:,} hits, {unchanged:,} unchanged, "
            f"{len(failed)} failed; {self.requests:,} page requests",
            f"    requests: first to last {self.first_to_last:.2f} s, before the first and after "
            f"the last {self.seconds - self.first_to_last:.2f} s; between two: mean "
            f"{statistics.fmean(gaps) * 1e3:.1f} ms, median {gaps[len(gaps) // 2] * 1e3:.1f} ms, "
            f"max {gaps[-1] * 1e3:.1f} ms",
        ]
        if pace > 0:
            paced, idle, idle_turns, late = self.turns
            lines.append(
                f"    turns, first to last: {paced:.2f} s of pace + {idle:.2f} s idle ({idle_turns} "
                f"turns nobody had asked for yet: the per-host slots busy with channels already "
                f"fetched) + {late:.2f} s late (a channel waiting, the event loop busy)"
            )
        if failed:
            reasons = sorted({(o.error or "")[:90] for o in failed})
            lines.append(f"    failed: {'; '.join(reasons)}")
        return lines


async def run_cycle(
    name: str, poller: poll_module.Poller, server: ChannelServer, pace: RecordingPace
) -> Cycle:
    seen, turned = len(server.requests), len(pace.turns)
    start = time.perf_counter()
    outcomes = await poller.poll()
    seconds = time.perf_counter() - start
    arrivals = sorted(r.at for r in server.requests[seen:] if r.preview)
    cycle = Cycle(
        name=name,
        seconds=seconds,
        outcomes=outcomes,
        requests=len(server.requests) - seen,
        first_to_last=arrivals[-1] - arrivals[0] if arrivals else 0.0,
        gaps=[b - a for a, b in itertools.pairwise(arrivals)],
        turns=pace.breakdown(turned),
    )
    for line in cycle.lines(pace.gap):
        print(line, flush=True)
    return cycle


def workers_of(parse_workers: int | None) -> int:
    """Parse processes `poll_module.parse_pool` starts: one per core when None."""
    return (os.cpu_count() or 1) if parse_workers is None else parse_workers


def depth() -> ChannelDepth:
    """A first poll reads back 24 hours or 20 posts, whichever comes first: the newest page (20
    posts) is enough, so one request per channel."""
    return ChannelDepth(span=timedelta(hours=24), posts=POSTS)


async def warm_pool(pool: Executor | None, workers: int) -> None:
    """Start every parse process before the clock runs, as in a bot that has been running: the
    cycle should not pay for starting the workers."""
    if pool is None:
        return
    loop = asyncio.get_running_loop()
    call = functools.partial(parse_feed, poll_module.CANARY, source="warm-up")
    await asyncio.gather(*(loop.run_in_executor(pool, call) for _ in range(workers * 2)))


async def poll_cycles(
    args: argparse.Namespace,
    server: ChannelServer,
    database: str,
    gap: float,
    parse_pool: Executor | None,
    label: str,
) -> list[Cycle]:
    """A cold cycle on a fresh database, then a warm one, with t.me paced at `gap` (0: not)."""
    repo = await asyncio.to_thread(Repository.open, database)
    try:
        clock = MovingClock()
        specs = [FeedSpec(channel_url(name)) for name in channel_names(args.channels)]
        watchlist = Watchlist("rvc", RVC_TERMS, title="Russian Volunteer Corps")
        await asyncio.to_thread(repo.sync_config, specs, [watchlist], clock())
        await asyncio.to_thread(repo.subscribe_console_to_all, clock())
        settings = PollingSettings()
        pace = RecordingPace(gap)
        async with Fetcher(
            timeout=settings.timeout.total_seconds(),
            allow_private_addresses=True,
            pace=pace,
            channel_bases=(server.url,),
        ) as fetcher:
            poller = poll_module.Poller(
                AsyncStorage(repo),
                fetcher,
                clock=clock,
                default_interval=settings.interval,
                concurrency=args.concurrency,
                per_host=args.per_host,
                parse_pool=parse_pool,
                channel_depth=depth(),
            )
            cold = await run_cycle(f"cold cycle{label}", poller, server, pace)
            # Past every channel's next poll (the interval, with its jitter): all due again.
            clock.advance(settings.interval * 2)
            warm = await run_cycle(f"warm cycle{label}", poller, server, pace)
        counts = await asyncio.to_thread(repo.counts)
        print(
            f"    database: {counts.feeds:,} feeds, {counts.items:,} items, {counts.hits:,} hits",
            flush=True,
        )
        return [cold, warm]
    finally:
        await asyncio.to_thread(repo.close)


async def bench(args: argparse.Namespace, server: ChannelServer, tmp: str) -> list[Cycle]:
    """The paced cycles, then (unless told not to) the same without a pace: how fast the rest
    goes, the most the pace can ask of it."""
    # As FeedwatchApp does on start: dictionaries loaded, feedparser tuned, the pool made.
    await asyncio.to_thread(default_morphology)
    feedparser_tuning.install()
    parse_pool = poll_module.parse_pool(args.parse_workers)
    try:
        await warm_pool(parse_pool, workers_of(args.parse_workers))
        cycles = await poll_cycles(
            args, server, f"sqlite:///{tmp}/paced.db", args.pace, parse_pool, ""
        )
        if not args.paced_only:
            cycles += await poll_cycles(
                args, server, f"sqlite:///{tmp}/unpaced.db", 0.0, parse_pool, ", no pace"
            )
        return cycles
    finally:
        if parse_pool is not None:
            parse_pool.shutdown(wait=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--channels", type=int, default=1000, help="channels polled (N)")
    parser.add_argument(
        "--pace",
        type=float,
        default=0.02,
        help="seconds between two channel page requests (production: telegram_pace = 1 s)",
    )
    polling = PollingSettings()
    parser.add_argument(
        "--parse-workers",
        type=int,
        default=polling.parse_workers,
        help="parse processes (default: one per core, as [polling] parse_workers; 0: a thread)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=polling.concurrency, help="feeds polled at once"
    )
    parser.add_argument(
        "--per-host", type=int, default=polling.per_host, help="feeds of one host polled at once"
    )
    parser.add_argument(
        "--paced-only",
        action="store_true",
        help="skip the cycles without a pace (for information: how fast all but the pace goes)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the bot's log warnings")
    args = parser.parse_args(argv)
    if args.channels < 2 or args.pace <= 0:
        parser.error("--channels must be at least 2 and --pace above 0")
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL)

    workers = workers_of(args.parse_workers)
    newest = datetime.now(UTC)
    print(
        f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)"
    )
    with (
        ChannelServer(page_size=PAGE_SIZE) as server,
        tempfile.TemporaryDirectory(prefix="feedwatch-bench-") as tmp,
    ):
        for index, name in enumerate(channel_names(args.channels)):
            server.channel(name, f"Bench channel {index}", channel_posts(index, newest))
        print(
            f"{args.channels:,} channels of {POSTS} posts (one page each, newest within the hour) "
            f"at {server.url}/s/<name> (tests/fakes/channel_server.py, a thread of this process, "
            f"one request per connection); pace {args.pace * 1e3:g} ms (production 1 s); "
            f"Python {sys.version.split()[0]}, httpx {httpx.__version__}, {os.cpu_count()} CPUs",
            flush=True,
        )
        print(
            f"Poller(concurrency={args.concurrency}, per_host={args.per_host}, channel_depth="
            f"{depth().span.total_seconds() / 3600:g} h or {depth().posts} posts), parsing "
            + (
                f"in a pool of {workers} processes (started before timing)"
                if workers
                else "in a thread"
            )
            + f"; SQLite file (WAL) in {tmp}; 1 watchlist, the terminal chat follows it",
            flush=True,
        )
        floor = asyncio.run(pace_alone(args.channels, args.pace))
        print(
            f"{'the pace alone (baseline)':<34} {floor:8.2f} s for {args.channels:,} turns "
            f"({args.channels / floor:.1f}/s; (N-1) x pace = "
            f"{(args.channels - 1) * args.pace:.2f} s)",
            flush=True,
        )
        cycles = asyncio.run(bench(args, server, tmp))
    cold, warm = cycles[:2]

    problems = []
    for cycle in cycles:
        if cycle.requests != args.channels:
            problems.append(f"{cycle.name}: {cycle.requests} page requests, not {args.channels}")
        if len(cycle.outcomes) != args.channels:
            problems.append(f"{cycle.name}: {len(cycle.outcomes)} outcomes")
        failed = sum(1 for o in cycle.outcomes if o.error)
        if failed:
            problems.append(f"{cycle.name}: {failed} failed")
    for cycle in cycles[::2]:
        if sum(o.new_items for o in cycle.outcomes) != args.channels * POSTS:
            problems.append(f"{cycle.name}: not every post stored")
    print(
        "requests seen: "
        + ", ".join(f"{cycle.name} {cycle.requests:,}" for cycle in cycles)
        + f" (one per channel: {args.channels:,})"
    )
    print(
        f"channels {args.channels:,}, pace {args.pace:g} s: pace alone {floor:.2f} s; cold cycle "
        f"{cold.seconds:.2f} s ({args.channels / cold.seconds:.1f} channels/s); warm cycle "
        f"{warm.seconds:.2f} s ({warm.seconds / floor:.2f}x the pace alone)"
    )
    if len(cycles) == 4:
        print(
            f"for information, without the pace: cold {args.channels / cycles[2].seconds:.1f} "
            f"channels/s, warm {args.channels / cycles[3].seconds:.1f} channels/s; the pace asks "
            f"for {1 / args.pace:.1f} channels/s (production: 1)"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(
        f"ratio: a cold poll cycle of {args.channels:,} channels took {cold.seconds / floor:.2f}x "
        f"the pace alone (1.00 = the pace is the only limit)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
