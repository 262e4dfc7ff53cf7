"""How many of the phrases `feedwatch suggest` proposes are names the lists lack? Runs
bot.core.matching.suggestions over (a) the labelled set with its lists and (b) the real feeds of the
shared corpus (news/, telegram/, bench/) with the founding lists and PROBES, prints every suggestion
with a judgement from the hand-made truth table below, and precision = true / proposed per source.
The last line sums it up.

    python benchmarks/suggest_precision.py [--corpus DIR] [--no-bench]

The founding names hardly occur in the corpus (its SOURCES.md says so), so on real text the founding
lists can only show noise. PROBES are lists of other multi-word names the corpus does hold, each
written once per language as an owner would write it; they were picked by reading which names the
corpus mentions, and the truth table was filled in by reading each proposed phrase in its item.
A phrase the table does not know is shown as "?" and counted as not true.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

from bot.core.domain import Watchlist  # noqa: E402
from bot.core.errors import ParseError  # noqa: E402
from bot.core.matching.normalize import scan_text, words_of  # noqa: E402
from bot.core.matching.suggestions import Suggestion, suggest  # noqa: E402
from bot.ops.watchlist_file import load_watchlists  # noqa: E402
from bot.sources.parsing import html_to_text, parse_feed  # noqa: E402

LABELLED = REPO / "tests" / "data" / "matching" / "labelled.jsonl"
LABELLED_LISTS = REPO / "tests" / "data" / "matching" / "watchlists.toml"
FOUNDING_LISTS = REPO / "config" / "watchlists.toml"
REAL_FOLDERS = ("news", "telegram", "bench")

Item = tuple[str, str, str]  # (id, title, summary)

PROBES = [
    Watchlist(
        "uaf",
        ("Armed Forces of Ukraine", "Вооружённые силы Украины", "Збройні сили України"),
    ),
    Watchlist(
        "rumod",
        (
            "Russian Ministry of Defence",
            "Министерство обороны России",
            "Міністерство оборони Росії",
        ),
    ),
    Watchlist(
        "sbu",
        ("Security Service of Ukraine", "Служба безопасности Украины", "Служба безпеки України"),
    ),
    Watchlist("ioc", ("International Olympic Committee", "Международный олимпийский комитет")),
    Watchlist("znpp", ("Zaporizhzhia Nuclear Power Plant", "Запорожская атомная электростанция")),
    Watchlist("cbr", ("Central Bank of Russia", "Центральный банк России")),
    Watchlist("kursk_oblast", ("Kursk Oblast", "Курская область", "Курська область")),
    Watchlist("olympics", ("Winter Olympic Games", "Зимние Олимпийские игры")),
    Watchlist("unr", ("Ukrainian People's Republic",)),
    Watchlist("genstaff", ("General Staff of the Armed Forces of Ukraine",)),
    Watchlist("doj", ("Department of Justice",)),
    Watchlist("visual_studio", ("Microsoft Visual Studio",)),
    Watchlist("nyt", ("New York Times",)),
    Watchlist("eu", ("European Union", "Европейский союз", "Європейський союз")),
    Watchlist("afd", ("Alternative for Germany",)),
    Watchlist("scotus", ("Supreme Court of the United States",)),
    Watchlist("who", ("World Health Organization",)),
    Watchlist("nasa", ("National Aeronautics and Space Administration",)),
    Watchlist("fbi", ("Federal Bureau of Investigation",)),
    Watchlist("unsc", ("United Nations Security Council", "Совет Безопасности ООН")),
]

# Whether a phrase (casefolded, without quotes) is truly a spelling of its list's names, and why.
# Misnamings that people use for the same unit count as its spellings; a phrase whose words read
# like a name of the list but name something else (a time zone, a company) does not.
_RVC = {
    "russian volunteer corp": (False, "en-064: a shell company's trademark, not the corps"),
    "российский добровольческий корпус": (True, "a common misnaming of the corps (ru-015)"),
    "руський добровольчий корпус": (True, "a misnaming of the corps in Ukrainian (uk-023)"),
    "rdk": (True, "the Latin initials of the Russian name"),
}
TRUTH: dict[str, dict[str, tuple[bool, str]]] = {
    "rvc": _RVC,
    "rdk": _RVC,  # the labelled set's lists may hold the corps twice (РДК in context)
    "lsr": {
        "free russia legion": (True, "a common English rendering (en-054)"),
        "legion freedom of russia": (True, "the name in another order (en-023)"),
        "legion of free russia": (True, "a common English rendering"),
        "liberty of russia legion": (True, "a translation of the name (en-055)"),
        "russian freedom legion": (True, "a common English rendering"),
        "легион свободная россия": (True, "a name some outlets use for the legion (ru-041)"),
        "свобода россии": (True, "the legion's short name (ru-023 names a conference by it)"),
        "свобода росії": (True, "the legion's short name in Ukrainian (uk-025: a conference)"),
        "lsr": (True, "the initials"),
        "лср": (True, "the Russian initials"),
    },
    "uaf": {
        "ukrainian armed forces": (True, "the usual English order"),
        "ukraine's armed forces": (True, "the possessive order"),
    },
    "rumod": {"russian defense ministry": (True, "the usual English headline form")},
    "sbu": {"sbu": (True, "Security Service of Ukraine (SBU)")},
    "ioc": {"ioc": (True, "International Olympic Committee (IOC)")},
    "cbr": {
        "russia's central bank": (True, "the possessive order"),
        "russian central bank": (True, "the adjective order"),
    },
    "genstaff": {"general staff of ukraine's armed forces": (True, "the possessive order")},
    "doj": {
        "justice department": (True, "the usual US headline form"),
        "doj": (True, "the initials"),
    },
    "visual_studio": {"visual studio": (True, "the product's short name")},
    "nyt": {"new york time": (False, '"7:00pm New York time": a time zone, not the paper')},
    "eu": {"eu": (True, "European Union (EU)")},
    "scotus": {"united states supreme court": (True, "the adjective order")},
    "who": {
        "who": (True, "World Health Organisation (WHO)"),
        "world health organisation": (True, "the British spelling"),
    },
}


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    items: list[Item]
    watchlists: list[Watchlist]


def phrase_key(phrase: str) -> str:
    return " ".join(word.casefold() for word in words_of(scan_text(phrase)))


def judge(watchlist: str, phrase: str) -> tuple[bool | None, str]:
    verdict = TRUTH.get(watchlist, {}).get(phrase_key(phrase))
    return (None, "not in the truth table") if verdict is None else verdict


def labelled_items() -> list[Item]:
    items = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items.append((row["id"], html_to_text(row["title"]), html_to_text(row["summary"])))
    return items


def corpus_items(folder: Path) -> tuple[list[Item], int]:
    """The items of every feed document (and Telegram page) in `folder`, and how many documents
    were not feeds."""
    items: list[Item] = []
    not_feeds = 0
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix == ".md":
            continue
        try:
            feed = parse_feed(path.read_bytes(), source=path.name)
        except ParseError:
            not_feeds += 1
            continue
        items.extend((f"{path.name}#{item.key}", item.title, item.summary) for item in feed.items)
    return items, not_feeds


def default_corpus() -> Path:
    shared = os.environ.get("FEEDWATCH_SHARED_DIR")
    return (Path(shared) if shared else REPO.parent / "shared") / "corpus"


def run(source: Source) -> tuple[int, int, int]:
    """Print the source's suggestions with their judgements; return (proposed, true, unjudged)."""
    started = time.perf_counter()
    found = suggest(source.watchlists, source.items)
    seconds = time.perf_counter() - started
    proposed = true = unjudged = 0
    print(f"\n## {source.name}: {len(source.items)} items, {seconds:.2f} s")
    for watchlist, suggestions in found.items():
        for s in suggestions:
            verdict, why = judge(watchlist, s.phrase)
            proposed += 1
            true += verdict is True
            unjudged += verdict is None
            mark = {True: "true", False: "FALSE", None: "?"}[verdict]
            print(_row(watchlist, s, mark, why))
    probes = {w.name for w in PROBES}
    by_founding = sum(len(ss) for name, ss in found.items() if name not in probes)
    print(
        f"precision {_share(true, proposed)}"
        + (f", {unjudged} unjudged" if unjudged else "")
        + f"; {by_founding} of the phrases are for the founding lists"
    )
    return proposed, true, unjudged


def _row(watchlist: str, s: Suggestion, mark: str, why: str) -> str:
    return f"{watchlist}\t{s.count}\t{s.phrase}\t{s.example_id[:70]}\t{mark}\t{why} (near {s.term})"


def _share(true: int, proposed: int) -> str:
    if not proposed:
        return "n/a (nothing proposed)"
    return f"{true}/{proposed} = {100 * true / proposed:.0f}%"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, help="the shared corpus folder (holds news/ …)")
    parser.add_argument("--no-bench", action="store_true", help="leave out corpus/bench (44 MB)")
    args = parser.parse_args(argv)

    sources = [Source("labelled set", labelled_items(), load_watchlists(LABELLED_LISTS))]
    real_lists = [*load_watchlists(FOUNDING_LISTS), *PROBES]
    corpus: Path = args.corpus or default_corpus()
    if not corpus.is_dir():
        print(f"no shared corpus at {corpus}: real text left out (pass --corpus DIR)")
    else:
        for folder in REAL_FOLDERS:
            if (folder == "bench" and args.no_bench) or not (corpus / folder).is_dir():
                continue
            items, not_feeds = corpus_items(corpus / folder)
            name = f"corpus/{folder}" + (f" ({not_feeds} documents not feeds)" if not_feeds else "")
            sources.append(Source(name, items, real_lists))

    summary = []
    all_proposed = all_true = 0
    for source in sources:
        proposed, true, _ = run(source)
        all_proposed += proposed
        all_true += true
        summary.append(f"{source.name.split(' (')[0]} {_share(true, proposed)}")
    print(f"\nprecision: {'; '.join(summary)}; all {_share(all_true, all_proposed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
