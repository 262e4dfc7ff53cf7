"""Warm matching against a plain substring scan: feedwatch's Matcher (every word form, phrases,
exclusions) and ahocorasick-rs (Rust, one automaton of the same terms, no word forms) on the same
casefolded text, measured in the same run; the last line printed is feedwatch's speed as a share of
the scan's, with the issue's target of 50%.

    python benchmarks/match_scan.py [--terms 10000] [--seed 1] [--feeds N]

The text and the terms are benchmarks/match.py's. The scan finds every occurrence of every term
(trailing `*` dropped) in the casefolded title and summary, overlapping ones included: what a
substring alert tool does, without telling forms, words or lists apart.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

import ahocorasick_rs  # noqa: E402

from benchmarks import match as bench  # noqa: E402
from benchmarks.corpus import bench_documents  # noqa: E402
from bot.core.matching import Matcher  # noqa: E402

TARGET_SHARE = 0.50


def _passes(run: object, rounds: int = 3) -> float:
    """The median of `rounds` timed calls of `run()`, after a warm-up call."""
    assert callable(run)
    run()
    times = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--terms", type=int, default=10_000, help="number of terms (10000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated text and terms")
    parser.add_argument("--feeds", type=int, default=None, help="read only the first N feeds")
    args = parser.parse_args(argv)

    corpus, files = bench_documents(None)
    real, _, _ = bench.corpus_items(files[: args.feeds])
    rng = random.Random(args.seed)
    languages = [
        bench.Language("ru", random.Random(rng.random())),
        bench.Language("uk", random.Random(rng.random())),
    ]
    real_bytes = sum(map(bench.item_bytes, real))
    real_cyrillic = sum(bench.cyrillic_bytes(t) + bench.cyrillic_bytes(s) for t, s in real)
    items = real + bench.generated_items(languages, real_bytes, real_cyrillic)
    random.Random(args.seed).shuffle(items)
    total = sum(map(bench.item_bytes, items))
    terms = bench.build_terms(real, languages, args.terms, random.Random(args.seed + 1))
    watchlists = bench.build_watchlists(terms, random.Random(args.seed + 2))

    matcher = Matcher(watchlists)
    scan = ahocorasick_rs.AhoCorasick(
        sorted({t.rstrip("*").casefold() for t in terms}),
        matchkind=ahocorasick_rs.MatchKind.Standard,
    )
    # Both read casefolded text: the scan cannot fold case itself, and feedwatch folds anyway.
    folded = [(title.casefold(), summary.casefold()) for title, summary in items]

    def ours() -> None:
        match = matcher.match
        for title, summary in folded:
            match(title, summary)

    def theirs() -> None:
        find = scan.find_matches_as_indexes
        for title, summary in folded:
            find(title, overlapping=True)
            find(summary, overlapping=True)

    print(
        f"text: {len(items)} items, {total / 1e6:.2f} MB (title + summary, casefolded); "
        f"terms: {len(terms)} from {corpus}"
    )
    scan_s = _passes(theirs)
    ours_s = _passes(ours)
    scan_s = (scan_s + _passes(theirs)) / 2  # before and after: drift falls on both
    ours_mbps, scan_mbps = total / ours_s / 1e6, total / scan_s / 1e6
    version = importlib.metadata.version("ahocorasick-rs")
    print(f"  ahocorasick-rs {version}, every occurrence (overlapping): {scan_mbps:.2f} MB/s")
    print(f"  feedwatch Matcher, warm (median of 3 after a pass): {ours_mbps:.2f} MB/s")
    share = ours_mbps / scan_mbps
    met = "met" if share >= TARGET_SHARE else "not met"
    print(
        f"match_scan: feedwatch warm {ours_mbps:.2f} MB/s vs ahocorasick-rs {scan_mbps:.2f} MB/s "
        f"= {share:.0%} (target >= {TARGET_SHARE:.0%}: {met})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
