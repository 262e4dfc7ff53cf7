"""Delivery throughput of bot.services.deliver.Deliverer through python-telegram-bot, against the
fake Bot API enforcing Telegram's published flood limits, measured against Telegram's ceiling of 30
messages a second for a bot (the baseline); the last line printed is the ratio.

    python benchmarks/deliver.py [--chats 1000] [--quick] [--limiter app|smooth|none]
                                 [--rate 28] [--burst 1] [--no-enforce]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

import telegram  # noqa: E402
from telegram.ext import AIORateLimiter  # noqa: E402

from bot.app import FeedwatchApp  # noqa: E402
from bot.chat.sender import TelegramSink  # noqa: E402
from bot.core.domain import Chat, DigestMessage, Match, ParsedItem  # noqa: E402
from tests.builders import write_settings  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402

BASELINE_MPS = 30.0  # Telegram: "no more than 30 messages per second" for a bot, overall
TARGET_MPS = 25.0
TARGET_429S = 0
FIRST_CHAT_ID = 5_000_001  # private chats: a user's id, positive
WATCHLIST = "kursk"  # one of tests.builders.WATCHLISTS_TOML
ITEMS_PER_DIGEST = 3


@dataclass
class Run:
    """What the bot saw: when each message went (perf_counter), and the rounds it took."""

    sent_at: list[float] = field(default_factory=list)
    rounds: int = 0
    idle_rounds: int = 0
    retry_later: int = 0
    other_errors: list[str] = field(default_factory=list)


def _items(count: int, now: datetime) -> list[tuple[ParsedItem, dict[str, tuple[Match, ...]]]]:
    # Plain news-like items, each with one hit of the watchlist every chat follows.
    return [
        (
            ParsedItem(
                key=f"bench-{n}",
                title=f"Shelling reported near Kursk, item {n}",
                link=f"https://news.example/bench/{n}",
                summary="Officials in the Kursk region said air defence was active overnight; "
                "no casualties were reported, according to the regional governor.",
                published=now,
            ),
            {WATCHLIST: (Match(WATCHLIST, "Kursk", "Kursk"),)},
        )
        for n in range(count)
    ]


def _setup(app: FeedwatchApp, chats: int) -> None:
    """`chats` private chats following one watchlist, and one pending digest for each."""
    now = datetime.now(UTC)
    for n in range(chats):
        chat_id = FIRST_CHAT_ID + n
        app.repo.register_chat(chat_id, "private", f"Reader {n}", now)
        app.repo.subscribe(chat_id, [WATCHLIST], now)
    feed = app.repo.feeds()[0]
    stored = app.repo.store_items(feed.id, _items(ITEMS_PER_DIGEST, now), now)
    assert stored.new_deliveries == chats * ITEMS_PER_DIGEST, stored
    assert len(app.repo.chats_with_pending()) == chats


def _smooth_limiter(rate: float, burst: int) -> AIORateLimiter:
    # A bucket of `burst` that leaks `rate` a second: at most burst + rate sends in any second,
    # evenly spaced once the bucket is full (a bucket of one never bursts).
    return AIORateLimiter(overall_max_rate=burst, overall_time_period=burst / rate, max_retries=0)


def _record_sends(sink: TelegramSink, run: Run) -> None:
    send = sink.send

    async def timed(chat: Chat, message: DigestMessage) -> int | None:
        message_id = await send(chat, message)
        run.sent_at.append(time.perf_counter())
        return message_id

    sink.send = timed  # type: ignore[method-assign]


async def _deliver_all(app: FeedwatchApp, run: Run, give_up_after: float) -> bool:
    """Rounds of deliver_due until no chat has anything pending (True) or `give_up_after` s pass."""
    deadline = time.perf_counter() + give_up_after
    while await asyncio.to_thread(app.repo.chats_with_pending):
        if time.perf_counter() > deadline:
            return False
        outcomes = await app.deliverer.deliver_due()
        run.rounds += 1
        for outcome in outcomes:
            if outcome.error is None:
                continue
            if "asked to wait" in outcome.error:  # RetryLater from a 429
                run.retry_later += 1
            else:
                run.other_errors.append(outcome.error)
        if not any(o.messages for o in outcomes):
            # Every chat left is told to wait (retry_after): wait with it.
            run.idle_rounds += 1
            await asyncio.sleep(0.05)
    return True


def _peak(times: Sequence[float], window: float = 1.0) -> int:
    """The most sends in any `window` seconds (sliding)."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def _bench(args: argparse.Namespace, fake: FakeBotApi, workdir: Path) -> int:
    settings = write_settings(
        workdir,
        ["https://news.example/feed.xml"],
        token=fake.token,
        api_url=fake.url,
    )
    run = Run()
    async with FeedwatchApp(settings) as app:
        setup_start = time.perf_counter()
        await asyncio.to_thread(_setup, app, args.chats)
        print(
            f"set up {args.chats} private chats with one pending digest of {ITEMS_PER_DIGEST} "
            f"items each in {time.perf_counter() - setup_start:.1f} s"
        )
        assert app.application is not None
        # The bot keeps its limiter in a private slot; the Application has no public setter.
        if args.limiter == "smooth":
            app.application.bot._rate_limiter = _smooth_limiter(args.rate, args.burst)
            limiter = (
                f"AIORateLimiter(overall_max_rate={args.burst}, "
                f"overall_time_period={args.burst}/{args.rate:g}, max_retries=0) (smooth)"
            )
        elif args.limiter == "none":
            app.application.bot._rate_limiter = None
            limiter = "none (the pipeline's own speed)"
        else:
            limiter = (
                "as bot/app.py builds it (paced: 1 per 1/28 s overall; groups 20/min, bursts of 4)"
            )
        assert isinstance(app.deliverer.courier.sink, TelegramSink)
        _record_sends(app.deliverer.courier.sink, run)

        if not args.no_enforce:
            fake.enforce_limits()
        start = time.perf_counter()
        done = await _deliver_all(app, run, args.timeout)
        elapsed = time.perf_counter() - start
        left = len(await asyncio.to_thread(app.repo.chats_with_pending))

    sent = len(fake.sent_messages())
    rate = sent / elapsed if elapsed else 0.0
    after_first = [t for t in run.sent_at if t >= start + 1.0]
    steady = (
        (len(after_first) - 1) / (after_first[-1] - after_first[0])
        if len(after_first) > 1 and after_first[-1] > after_first[0]
        else 0.0
    )
    print(f"limiter: {limiter}")
    limits = (
        "off"
        if args.no_enforce
        else "Telegram's limits on (30/s overall, 1/s per private chat, 20/min per group, "
        "sliding windows)"
    )
    print(f"fake Bot API: {limits}; python-telegram-bot {telegram.__version__}")
    print(
        f"messages sent (successful sendMessage at the fake): {sent} of {args.chats}; "
        f"chats still pending: {left}{'' if done else f' (stopped after {args.timeout:g} s)'}"
    )
    print(
        f"elapsed: {elapsed:.2f} s in {run.rounds} rounds of deliver_due ({run.idle_rounds} idle)"
    )
    print(f"throughput: {rate:.1f} msg/s sustained over the whole run")
    print(
        f"  most in any 1 s (as the bot saw them): {_peak(run.sent_at)}; "
        f"after the first second: {steady:.1f} msg/s"
    )
    print(
        f"429s: {fake.rate_limited} answered by the fake; {run.retry_later} digests put off "
        f"by the deliverer"
    )
    if run.other_errors:
        print(f"other delivery errors: {len(run.other_errors)}, e.g. {run.other_errors[0]}")
    if fake.errors:
        print(f"the fake saw {len(fake.errors)} invalid request(s), e.g. {fake.errors[0]}")

    if args.no_enforce:
        print("targets: not judged, the fake's limits were off")
    else:
        rate_ok, limits_ok = rate >= TARGET_MPS, fake.rate_limited <= TARGET_429S
        print(f"target >= {TARGET_MPS:g} msg/s: {'met' if rate_ok else 'NOT met'} ({rate:.1f})")
        print(
            f"target {TARGET_429S} 429s: {'met' if limits_ok else 'NOT met'} ({fake.rate_limited})"
        )
    print(
        f"deliver: feedwatch {rate:.1f} msg/s sustained over {sent} messages, "
        f"{fake.rate_limited} 429s vs Telegram's ceiling {BASELINE_MPS:g} msg/s "
        f"= {rate / BASELINE_MPS:.2f}x"
    )
    return 0 if done and not fake.errors else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=1000, help="private chats, one digest each")
    parser.add_argument("--quick", action="store_true", help="100 chats: a smoke run")
    parser.add_argument(
        "--limiter",
        choices=("app", "smooth", "none"),
        default="app",
        help="app: the bot's AIORateLimiter as built; smooth: RATE a second, bursts of BURST; "
        "none: no limiter",
    )
    parser.add_argument(
        "--rate", type=float, default=28.0, help="sends a second for --limiter smooth"
    )
    parser.add_argument("--burst", type=int, default=1, help="bucket size for --limiter smooth")
    parser.add_argument(
        "--no-enforce", action="store_true", help="the fake does not enforce Telegram's limits"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="give up after this many seconds"
    )
    parser.add_argument("--verbose", action="store_true", help="show the bot's log warnings")
    args = parser.parse_args(argv)
    if args.quick:
        args.chats = 100
    # The deliverer logs each 429 it is told, python-telegram-bot each one it passes on.
    logging.basicConfig(level=logging.WARNING if args.verbose else logging.CRITICAL)

    with tempfile.TemporaryDirectory(prefix="feedwatch-bench-") as tmp, FakeBotApi() as fake:
        return asyncio.run(_bench(args, fake, Path(tmp)))


if __name__ == "__main__":
    raise SystemExit(main())
