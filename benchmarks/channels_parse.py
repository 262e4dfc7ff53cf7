"""Throughput of bot.sources.telegram_page.parse_telegram_page on Telegram's public channel pages
(t.me/s/<name>) against feedparser with its default options on real feeds of the same size, measured
in the same run; the last line printed is the ratio, by documents/s and by MB/s.

    python benchmarks/channels_parse.py [--rounds R] [--per-page K] [--shared DIR]

Channel pages: the whole pages of tests/data/telegram and of corpus/telegram in the shared folder
(`--shared DIR`, else FEEDWATCH_SHARED_DIR, else ../shared, as benchmarks/corpus.py finds it): files
without `_frag_` in the name for which `channel_posts` gives at least 10 messages (a page cut off by
its capture or a single-post embed is not a whole page), each distinct content once.

Feeds of the same size: for each page, the K (`--per-page`, default 1) feeds of corpus/bench whose
byte size is closest to the page's, each feed given to one page only (pairs taken greedily by size
difference, smallest first), so that the feeds add up to about as many bytes as the pages and
documents/s compare like with like. A feed is given twice only when the corpus runs out of them.

Each (page, feed) pair is one slot of a round; in every slot each contender parses its document of
the pair, who goes first rotating, so that load on the machine falls on all alike:

- feedwatch channel reader: `parse_telegram_page(page, source=...)`;
- feedparser-defaults (the baseline): `feedparser.parse(feed)`, as shipped
  (`feedparser_tuning.uninstalled()` around it, outside the timing);
- for information, `bot.sources.parsing.parse_feed` on the feeds (feedparser tuned as feedwatch
  runs it, then feedwatch's own work) and on the pages (it dispatches to the channel reader, so it
  should run about as fast as the first).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
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
import lxml.etree  # noqa: E402

from benchmarks.corpus import default_corpus  # noqa: E402
from bot.core.errors import ParseError  # noqa: E402
from bot.sources import feedparser_tuning  # noqa: E402
from bot.sources.parsing import parse_feed  # noqa: E402
from bot.sources.telegram_page import channel_posts, parse_telegram_page  # noqa: E402

feedparser_tuning.install()  # as the bot does: feedwatch's rows parse with it

MIN_MESSAGES = 10  # a whole t.me/s page shows about 20


@dataclass
class Tally:
    name: str
    seconds: float = 0.0
    documents: int = 0
    bytes: int = 0
    items: int = 0
    errors: int = 0

    def rate(self) -> float:
        return self.documents / self.seconds

    def mb_rate(self) -> float:
        return self.bytes / self.seconds / 1e6

    def line(self) -> str:
        return (
            f"{self.name:<38} {self.rate():7.1f} docs/s {self.mb_rate():6.2f} MB/s "
            f"{self.items / self.seconds:8.0f} items/s "
            f"({self.documents} docs, {self.items} items, {self.errors} errors, {self.seconds:.2f} s)"
        )


def _channel_reader(data: bytes) -> tuple[int, bool]:
    try:
        return len(parse_telegram_page(data, source="bench").items), False
    except ParseError:
        return 0, True


def _baseline(data: bytes) -> tuple[int, bool]:
    result = feedparser.parse(data)
    return len(result.entries), not result.get("version") and not result.entries


def _feedwatch(data: bytes) -> tuple[int, bool]:
    try:
        return len(parse_feed(data, source="bench").items), False
    except ParseError:
        return 0, True


def _tuning(tuned: bool) -> AbstractContextManager[None]:
    """feedparser with feedwatch's tuning (installed on import of bot.sources.parsing), or as shipped."""
    return nullcontext() if tuned else feedparser_tuning.uninstalled()


def _shared(given: Path | None) -> Path:
    # default_corpus() is <shared>/corpus/bench, FEEDWATCH_SHARED_DIR or ../shared.
    return given if given is not None else default_corpus().parents[1]


def _whole_pages(folders: list[Path]) -> tuple[list[tuple[str, bytes, int]], list[str]]:
    """(name, bytes, messages) of every whole page, each distinct content once; and what was
    left out, with why."""
    pages: list[tuple[str, bytes, int]] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.html")):
            if "_frag_" in path.name:
                continue
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            try:
                messages = len(channel_posts(data, source=path.name))
            except ParseError as error:
                skipped.append(f"{path.name} ({error})")
                continue
            if messages < MIN_MESSAGES:
                skipped.append(f"{path.name} ({messages} message{'' if messages == 1 else 's'})")
                continue
            pages.append((path.name, data, messages))
    return pages, skipped


def _size_matched(
    pages: list[tuple[str, bytes, int]], feeds: list[Path], per_page: int
) -> list[tuple[int, Path]]:
    """(page index, feed) pairs: per_page feeds per page, closest in byte size, each feed once
    while there are enough; pairs taken by size difference, smallest first."""
    sizes = {feed: feed.stat().st_size for feed in feeds}
    candidates = sorted(
        (abs(sizes[feed] - len(data)), index, feed.name, feed)
        for index, (_, data, _) in enumerate(pages)
        for feed in feeds
    )
    wanted = dict.fromkeys(range(len(pages)), per_page)
    used: set[Path] = set()
    pairs: list[tuple[int, Path]] = []
    for distinct in (True, False):  # a feed given twice only when they run out
        for _, index, _, feed in candidates:
            if wanted[index] and not (distinct and feed in used):
                wanted[index] -= 1
                used.add(feed)
                pairs.append((index, feed))
    return sorted(pairs, key=lambda pair: (pair[0], sizes[pair[1]]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20, help="parse the whole set R times")
    parser.add_argument(
        "--per-page", type=int, default=1, help="size-matched feeds for each channel page"
    )
    parser.add_argument(
        "--shared", type=Path, default=None, help="the shared folder that holds corpus/"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.per_page < 1:
        parser.error("--rounds and --per-page must be at least 1")

    shared = _shared(args.shared)
    folders = [REPO / "tests" / "data" / "telegram", shared / "corpus" / "telegram"]
    pages, skipped = _whole_pages(folders)
    if not pages:
        raise SystemExit(
            f"no whole channel pages (no `_frag_` in the name, >= {MIN_MESSAGES} messages) in "
            + " or ".join(str(folder) for folder in folders)
            + ": pass --shared DIR, or set FEEDWATCH_SHARED_DIR to the folder that holds "
            "corpus/telegram"
        )
    bench = shared / "corpus" / "bench"
    feeds = (
        sorted(p for p in bench.rglob("*") if p.is_file() and p.suffix != ".md")
        if bench.is_dir()
        else []
    )
    if not feeds:
        raise SystemExit(
            f"no feed documents in {bench}: pass --shared DIR, or set FEEDWATCH_SHARED_DIR to the "
            "folder that holds corpus/bench"
        )
    pairs = _size_matched(pages, feeds, args.per_page)
    feed_bytes = {feed: feed.read_bytes() for _, feed in pairs}
    slots = [(pages[index][1], feed_bytes[feed]) for index, feed in pairs]

    # (tally, parser, which document of the slot: 0 page, 1 feed, with feedwatch's tuning)
    contenders: list[tuple[Tally, Callable[[bytes], tuple[int, bool]], int, bool]] = [
        (Tally("feedwatch channel reader, pages"), _channel_reader, 0, True),
        (Tally("feedparser-defaults, feeds (baseline)"), _baseline, 1, False),
        (Tally("feedwatch parse_feed, feeds"), _feedwatch, 1, True),
        (Tally("feedwatch parse_feed, pages"), _feedwatch, 0, True),
    ]
    for _, parse, which, tuned in contenders:  # warm up imports and compiled patterns
        with _tuning(tuned):
            parse(slots[0][which])

    page_total = sum(len(page) for page, _ in slots)
    feed_total = sum(len(feed) for _, feed in slots)
    print(
        f"{len(pages)} channel pages ({sum(len(data) for _, data, _ in pages) / 1e3:.0f} kB) from "
        f"{folders[0]} and {folders[1]}; {len(slots)} size-matched feeds from {bench}; "
        f"{args.rounds} round(s), Python {sys.version.split()[0]}, feedparser "
        f"{feedparser.__version__}, lxml {'.'.join(map(str, lxml.etree.LXML_VERSION[:3]))}"
    )
    if skipped:
        print("not whole pages, left out: " + ", ".join(skipped))
    for index, feed in pairs:
        name, data, messages = pages[index]
        print(
            f"  {name:<34} {len(data):>9,} B {messages:>3} messages  <->  feed {feed.name} "
            f"{len(feed_bytes[feed]):>9,} B ({len(feed_bytes[feed]) / len(data) - 1:+.1%})"
        )
    print(f"  a round: pages {page_total:,} B, feeds {feed_total:,} B")

    # Interleaved per slot, rotating who goes first, so that drift (thermal, other load) falls on
    # every contender alike.
    for round_no in range(args.rounds):
        for index, slot in enumerate(slots):
            shift = (index + round_no) % len(contenders)
            for tally, parse, which, tuned in contenders[shift:] + contenders[:shift]:
                data = slot[which]
                gc.collect()
                with _tuning(tuned):
                    start = time.perf_counter()
                    items, failed = parse(data)
                    tally.seconds += time.perf_counter() - start
                tally.documents += 1
                tally.bytes += len(data)
                tally.items += items
                tally.errors += failed

    for tally, _, _, _ in contenders:
        print(tally.line())
    ours, baseline, own_feeds, dispatched = (tally for tally, _, _, _ in contenders)
    print(
        f"for information: channel reader {ours.rate() / own_feeds.rate():.2f}x feedwatch "
        f"parse_feed on the same feeds (documents/s); parse_feed on the pages "
        f"{dispatched.rate() / ours.rate():.2f}x the channel reader"
    )
    print(
        f"ratio: channel pages {ours.rate() / baseline.rate():.1f}x feedparser on feeds of the same "
        f"size (documents/s), {ours.mb_rate() / baseline.mb_rate():.1f}x by MB/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
