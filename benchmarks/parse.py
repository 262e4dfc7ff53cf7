"""Throughput of bot.sources.parsing.parse_feed against feedparser with its default options, on the 200 real
feeds of shared/corpus/bench, measured in the same run; the last line printed is the ratio.

    python benchmarks/parse.py [--feeds N] [--rounds R] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

import feedparser  # noqa: E402

from benchmarks.corpus import bench_documents  # noqa: E402
from bot.core.errors import ParseError  # noqa: E402
from bot.sources import feedparser_tuning  # noqa: E402
from bot.sources.parsing import _parse_feed, parse_feed  # noqa: E402

feedparser_tuning.install()  # as the bot does: feedwatch's rows parse with it


@dataclass
class Tally:
    name: str
    seconds: float = 0.0
    feeds: int = 0
    bytes: int = 0
    items: int = 0
    errors: int = 0

    def line(self) -> str:
        rate = self.feeds / self.seconds
        mb = self.bytes / self.seconds / 1e6
        return (
            f"{self.name:<34} {rate:7.1f} feeds/s {mb:6.2f} MB/s "
            f"({self.feeds} feeds, {self.items} items, {self.errors} not feeds, {self.seconds:.2f} s)"
        )


def _baseline(data: bytes) -> tuple[int, bool]:
    result = feedparser.parse(data)
    return len(result.entries), not result.get("version") and not result.entries


def _feedparser_fast(data: bytes) -> tuple[int, bool]:
    result = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    return len(result.entries), not result.get("version") and not result.entries


def _tuning(tuned: bool) -> AbstractContextManager[None]:
    """feedparser with feedwatch's tuning (installed on import of bot.sources.parsing), or as shipped."""
    return nullcontext() if tuned else feedparser_tuning.uninstalled()


def _feedwatch(data: bytes) -> tuple[int, bool]:
    try:
        return len(parse_feed(data, source="bench").items), False
    except ParseError:
        return 0, True


def _feedwatch_feedparser(data: bytes) -> tuple[int, bool]:
    """parse_feed without its fast reader of well-formed XML (bot/sources/xml_feed.py)."""
    try:
        return len(_parse_feed(data, "bench", None, fast=False).items), False
    except ParseError:
        return 0, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--feeds", type=int, default=None, help="parse only the first N feeds")
    parser.add_argument("--rounds", type=int, default=1, help="parse every feed R times")
    parser.add_argument("--corpus", type=Path, default=None, help="folder of feed documents")
    parser.add_argument(
        "--no-fast",
        action="store_true",
        help="skip the informative measurements (feedparser's options, feedwatch without xml_feed)",
    )
    args = parser.parse_args(argv)

    # The corpus is flat: one feed document per file, no headers; SOURCES.md says where each is from.
    corpus, files = bench_documents(args.corpus)
    documents = [p.read_bytes() for p in files[: args.feeds]]

    # (tally, parser, with feedwatch's feedparser tuning): feedparser contenders run as shipped.
    contenders: list[tuple[Tally, Callable[[bytes], tuple[int, bool]], bool]] = [
        (Tally("feedparser-defaults (baseline)"), _baseline, False),
        (Tally("feedwatch parse_feed"), _feedwatch, True),
    ]
    if not args.no_fast:
        contenders.append((Tally("feedparser sanitize/resolve off"), _feedparser_fast, False))
        contenders.append((Tally("  the same, tuned as feedwatch does"), _feedparser_fast, True))
        contenders.append((Tally("feedwatch, feedparser only"), _feedwatch_feedparser, True))

    for _, parse, tuned in contenders:  # warm up imports and compiled patterns
        with _tuning(tuned):
            parse(documents[0])

    print(
        f"parsing {len(documents)} feeds ({sum(map(len, documents)) / 1e6:.1f} MB) from {corpus}, "
        f"{args.rounds} round(s), Python {sys.version.split()[0]}, "
        f"feedparser {feedparser.__version__}"
    )
    # Interleaved per document, rotating who goes first, so that drift (thermal, other load)
    # falls on every contender alike.
    for round_no in range(args.rounds):
        for index, data in enumerate(documents):
            shift = (index + round_no) % len(contenders)
            for tally, parse, tuned in contenders[shift:] + contenders[:shift]:
                gc.collect()
                with _tuning(tuned):
                    start = time.perf_counter()
                    items, not_a_feed = parse(data)
                    tally.seconds += time.perf_counter() - start
                tally.feeds += 1
                tally.bytes += len(data)
                tally.items += items
                tally.errors += not_a_feed

    for tally, _, _ in contenders:
        print(tally.line())
    baseline, ours = contenders[0][0], contenders[1][0]
    ours_rate = ours.feeds / ours.seconds
    base_rate = baseline.feeds / baseline.seconds
    print(
        f"parse: feedwatch {ours_rate:.1f} feeds/s vs feedparser-defaults {base_rate:.1f} feeds/s "
        f"= {ours_rate / base_rate:.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
