"""Draw the candidate pairs of benchmarks/data/story_pairs.jsonl from the shared corpus, and
assemble that file from labels given by reading. Titles go to a scratch file outside the repository.

    python benchmarks/make_story_pairs.py [--corpus DIR] [--out /tmp/story_pair_candidates.jsonl]
    python benchmarks/make_story_pairs.py --labels LABELS.jsonl   # writes story_pairs.jsonl
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import itertools
import json
import math
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

from benchmarks.stories import (  # noqa: E402
    PAIRS,
    STORY_WINDOW,
    TELEGRAM_FOLDER,
    Item,
    Ref,
    corpus_files,
    corpus_folder,
    link_key,
    read_items,
    split_of,
    title_words,
)

# How many pairs each sampled stratum keeps (the others keep every pair they find).
SAME_LINK_PER_LINK = 12  # one feed gives 43 items one link: a dozen of its pairs say enough
OVERLAP_LOW_SAMPLE = 120  # pairs with 3-4 shared title words and Jaccard under 0.4
NAMES_TOP = 220  # cross-feed pairs that share the most (rare) proper names in title and summary
SERIES_SAMPLE = 60  # one-feed pairs of recurring formats (roundups, editions, episodes)
PER_FEED = 10  # at most this many one-feed pairs of any feed in a sampled stratum


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_LETTERS = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[а-яёіїєґ]", re.IGNORECASE)
_UKRAINIAN = re.compile(r"[іїєґ]", re.IGNORECASE)
_STOPWORDS = {
    "en": "the of and to in for on is with that this at from by an are be how why what you",
    "de": "der die das und ist mit für von den ein eine nicht auf des dem im zu sich",
    "pt": "de da do em para com os as um uma que no na dos das não por se mais",
    "it": "il di che la per con del della un una gli le non si sono alla nel",
    "fr": "le la les des du et à un une pour sur dans est au aux par ce qui que en",
    "es": "el la los las del y en un una para con por que se es al lo como",
}
_STOPSETS = {lang: _words(words) for lang, words in _STOPWORDS.items()}
# Words that name a recurring format: an edition, a roundup, an episode, a part of a series.
_SERIES = _words(
    "roundup round-up latest live briefing digest weekly week daily links newsletter deals deal "
    "episode ep part day edition recap podcast updates update calendar vol issue lecture "
    "review wordle puzzle quiz crossword morning evening"
)
_NAME_STOP = _words(
    "the a an in on at for and of to as by with from after before over is are was were it this "
    "that he she they we his her their our its but or not no new how why what when where who "
    "will can may says said here there more first last one two"
)


@dataclass
class Candidate:
    a: Item
    b: Item
    stratum: str
    lang: str
    same_feed: bool
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def refs(self) -> tuple[Ref, Ref]:
        return (self.a.file, self.a.key), (self.b.file, self.b.key)

    @property
    def cid(self) -> str:
        return pair_cid(*self.refs)


def pair_cid(a: Ref, b: Ref) -> str:
    first, second = sorted((a, b))
    return hashlib.sha256("\t".join((*first, *second)).encode()).hexdigest()[:10]


def _order(text: str) -> str:
    """A fixed pseudo-random order for sampling: the same draw on every run."""
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Items: copies left out, a language and a source for each
# ---------------------------------------------------------------------------------------------


def source_of(item: Item) -> str:
    """What "one feed" means: a feed document, or a Telegram channel (its pages and fragments)."""
    if item.file.startswith(f"{TELEGRAM_FOLDER}/"):
        return "telegram:" + item.key.split("/")[0]
    return item.file


def distinct_documents(items: Iterable[Item]) -> list[Item]:
    """Items of documents that are not copies of an earlier one: news/ holds two bench/ documents
    again and one feed twice (gzipped and not), whose pairs would be one item with itself."""
    by_file: dict[str, list[Item]] = collections.defaultdict(list)
    for item in items:
        by_file[item.file].append(item)
    seen: set[tuple[tuple[str, str], ...]] = set()
    kept = []
    for name in sorted(by_file, key=lambda name: (not name.startswith("bench/"), name)):
        signature = tuple(sorted((item.key, item.title) for item in by_file[name]))
        if signature in seen:
            continue
        seen.add(signature)
        kept.extend(by_file[name])
    return kept


def _votes(item: Item) -> collections.Counter[str]:
    words = _LETTERS.findall(f"{item.title} {item.summary[:500]}".casefold())
    return collections.Counter(
        lang for word in words for lang, stops in _STOPSETS.items() if word in stops
    )


def languages(items: Sequence[Item]) -> dict[Ref, str]:
    """ru or uk for a Cyrillic title; otherwise its source's language (the one whose common words
    it uses most), unless the item's own words say another one clearly (a bilingual blog)."""
    by_source: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for item in items:
        by_source[source_of(item)].update(_votes(item))
    found = {}
    for item in items:
        ref = (item.file, item.key)
        if _CYRILLIC.search(item.title):
            found[ref] = "uk" if _UKRAINIAN.search(item.title) else "ru"
            continue
        source = by_source[source_of(item)]
        found[ref] = source.most_common(1)[0][0] if source else "en"
        own = _votes(item).most_common()
        if own and own[0][1] >= 3 and own[0][1] >= 2 * dict(own).get(found[ref], 0):
            found[ref] = own[0][0]
    return found


def within_window(a: Item, b: Item) -> bool:
    if a.published and b.published:
        return abs(a.published - b.published) <= STORY_WINDOW
    return True


# ---------------------------------------------------------------------------------------------
# Strata
# ---------------------------------------------------------------------------------------------


@dataclass
class Drawer:
    items: list[Item]
    lang: dict[Ref, str]
    words: dict[Ref, frozenset[str]] = field(init=False)
    chosen: dict[str, Candidate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.words = {(i.file, i.key): title_words(i.title) for i in self.items}

    def language(self, item: Item) -> str:
        return self.lang[(item.file, item.key)]

    def overlap(self, a: Item, b: Item) -> tuple[int, float]:
        first, second = self.words[(a.file, a.key)], self.words[(b.file, b.key)]
        union = len(first | second)
        shared = len(first & second)
        return shared, (shared / union if union else 0.0)

    def add(self, a: Item, b: Item, stratum: str, **detail: object) -> bool:
        if (a.file, a.key) > (b.file, b.key):
            a, b = b, a
        candidate = Candidate(
            a, b, stratum, self.language(a), source_of(a) == source_of(b), dict(detail)
        )
        if candidate.cid in self.chosen or (a.file, a.key) == (b.file, b.key):
            return False
        shared, similarity = self.overlap(a, b)
        candidate.detail.update(shared=shared, jaccard=round(similarity, 2))
        self.chosen[candidate.cid] = candidate
        return True

    def take(
        self,
        pairs: Iterable[tuple[Item, Item]],
        stratum: str,
        most: int | None = None,
        per_feed: int | None = PER_FEED,
        ranked: bool = False,
    ) -> None:
        """Add up to `most` pairs in a fixed pseudo-random order (or in the given order when
        `ranked`), at most `per_feed` of them from any one feed, so that one feed's template
        (43 talks of one conference, weekly calendars of six counties) does not fill a stratum."""
        pairs = list(pairs)
        if not ranked:
            pairs.sort(key=lambda p: _order(pair_cid((p[0].file, p[0].key), (p[1].file, p[1].key))))
        taken = 0
        from_feed: collections.Counter[str] = collections.Counter()
        for a, b in pairs:
            if most is not None and taken >= most:
                break
            one_feed = source_of(a) == source_of(b)
            if one_feed and per_feed is not None and from_feed[source_of(a)] >= per_feed:
                continue
            if self.add(a, b, stratum):
                taken += 1
                from_feed[source_of(a)] += one_feed

    def sharing_pairs(self, most: int = 400) -> Iterator[tuple[Item, Item]]:
        """Pairs of one language within the window that share a title word (words in more than
        `most` titles do not make a pair on their own)."""
        by_word: dict[str, list[int]] = collections.defaultdict(list)
        for index, item in enumerate(self.items):
            for word in self.words[(item.file, item.key)]:
                by_word[word].append(index)
        seen: set[tuple[int, int]] = set()
        for word in sorted(by_word):
            indices = by_word[word]
            if len(indices) > most:
                continue
            for first, second in itertools.combinations(indices, 2):
                if (first, second) in seen:
                    continue
                seen.add((first, second))
                a, b = self.items[first], self.items[second]
                if self.language(a) == self.language(b) and within_window(a, b):
                    yield a, b

    # 1. What the old rule merges: every title match, and link matches (a dozen per link).
    def old_rule(self, pairs: Sequence[tuple[Item, Item]]) -> None:
        self.take(
            ((a, b) for a, b in pairs if _old_title_match(*self.overlap(a, b))),
            "old rule: titles",
            per_feed=None,
        )
        by_link: dict[str, list[Item]] = collections.defaultdict(list)
        for item in self.items:
            key = link_key(item.link)
            if key:
                by_link[key].append(item)
        for key in sorted(by_link):
            linked = (
                (a, b)
                for a, b in itertools.combinations(by_link[key], 2)
                if within_window(a, b) and self.language(a) == self.language(b)
            )
            self.take(linked, "old rule: same link", most=SAME_LINK_PER_LINK, per_feed=None)

    # 2. Templated titles of one feed: the same words but a number, or one word changed.
    def templates(self, pairs: Sequence[tuple[Item, Item]]) -> None:
        numbers, one_word = [], []
        for a, b in pairs:
            if source_of(a) != source_of(b) or a.title == b.title:
                continue
            first = re.findall(r"\w+", re.sub(r"\d+", "#", a.title.casefold()))
            second = re.findall(r"\w+", re.sub(r"\d+", "#", b.title.casefold()))
            if first == second and len(first) >= 2:
                numbers.append((a, b))
            elif (
                len(first) == len(second) >= 3
                and sum(x != y for x, y in zip(first, second, strict=True)) == 1
            ):
                one_word.append((a, b))
        self.take(numbers, "template: numbers differ")
        self.take(one_word, "template: one word differs")

    # 3. Near misses and near hits: many shared words without the old rule's match.
    def overlaps(self, pairs: Sequence[tuple[Item, Item]]) -> None:
        high, low = [], []
        for a, b in pairs:
            shared, similarity = self.overlap(a, b)
            if shared >= 4 or (shared >= 3 and similarity >= 0.3):
                (high if similarity >= 0.4 else low).append((a, b))
        self.take(high, "overlap: Jaccard >= 0.4")
        self.take(low, "overlap: Jaccard < 0.4", most=OVERLAP_LOW_SAMPLE)

    # 4. Recurring formats of one feed: roundups, editions, episodes, parts, calendars.
    def series(self, pairs: Sequence[tuple[Item, Item]]) -> None:
        found = []
        for a, b in pairs:
            if source_of(a) != source_of(b):
                continue
            first = self.words[(a.file, a.key)] & _SERIES
            if first and first & self.words[(b.file, b.key)] and self.overlap(a, b)[0] >= 2:
                found.append((a, b))
        self.take(found, "series: recurring format", most=SERIES_SAMPLE)

    # 5. One event in other words: cross-feed pairs sharing rare proper names (title + summary).
    def names(self) -> None:
        names = {(i.file, i.key): proper_names(i) for i in self.items}
        frequency = collections.Counter(n for found in names.values() for n in found)
        weight = {name: math.log(len(self.items) / count) for name, count in frequency.items()}
        by_name: dict[str, list[Item]] = collections.defaultdict(list)
        for item in self.items:
            if item.published is not None:
                for name in names[(item.file, item.key)]:
                    by_name[name].append(item)
        scores: collections.Counter[tuple[Ref, Ref]] = collections.Counter()
        pairs = {}
        for name in sorted(by_name):
            holders = by_name[name]
            if len(holders) > 300:
                continue
            for a, b in itertools.combinations(holders, 2):
                if source_of(a) == source_of(b) or not within_window(a, b):
                    continue
                if self.language(a) != self.language(b):
                    continue
                key = tuple(sorted(((a.file, a.key), (b.file, b.key))))
                scores[key] += weight[name]
                pairs[key] = (a, b)
        ranked = sorted(scores, key=lambda key: (-scores[key], _order(pair_cid(*key))))
        self.take(
            (pairs[key] for key in ranked), "names: shared proper names", NAMES_TOP, ranked=True
        )

    # 6. Russian and Ukrainian: few items, so every pair within the window that shares a stem.
    def cyrillic(self) -> None:
        cyrillic = [i for i in self.items if self.language(i) in ("ru", "uk")]
        titles, summaries = [], []
        for a, b in itertools.combinations(cyrillic, 2):
            if self.language(a) != self.language(b) or not within_window(a, b):
                continue
            if stems(a.title) & stems(b.title):
                titles.append((a, b))
            elif len(stems(a.title, a.summary) & stems(b.title, b.summary)) >= 3:
                summaries.append((a, b))
        self.take(titles, "cyrillic: a shared stem", per_feed=None)
        self.take(summaries, "cyrillic: three stems shared with the summaries", per_feed=None)


def _old_title_match(shared: int, similarity: float) -> bool:
    return shared >= 5 and similarity >= 0.5


def proper_names(item: Item) -> frozenset[str]:
    """Capitalised words inside sentences of the title and the summary's start."""
    text = f"{item.title}. {item.summary[:400]}"
    found = set()
    for sentence in re.split(r"[.!?:;\"“”‘’'—–]\s*", text):
        for word in re.findall(r"\w[\w'’-]*", sentence):
            if word[0].isupper() and len(word) > 2 and word.casefold() not in _NAME_STOP:
                found.add(word.casefold())
    return frozenset(found)


def stems(title: str, summary: str = "") -> frozenset[str]:
    """The first five letters of the longer words of a title (and a summary's start): a crude stem
    that lets «Петербурга» meet «Петербургом»."""
    words = _LETTERS.findall(f"{title} {summary[:200]}".casefold())
    return frozenset(word[:5] for word in words if len(word) >= 6)


def draw(items: list[Item]) -> list[Candidate]:
    drawer = Drawer(items, languages(items))
    pairs = list(drawer.sharing_pairs())
    drawer.old_rule(pairs)
    drawer.templates(pairs)
    drawer.overlaps(pairs)
    drawer.series(pairs)
    drawer.names()
    drawer.cyrillic()
    return list(drawer.chosen.values())


# ---------------------------------------------------------------------------------------------
# Output: the scratch file to read, and story_pairs.jsonl from the labels
# ---------------------------------------------------------------------------------------------


def _text(item: Item) -> dict[str, object]:
    return {
        "file": item.file,
        "key": item.key,
        "outlet": item.outlet,
        "published": item.published.isoformat() if item.published else None,
        "link": item.link,
        "title": item.title,
        "summary": item.summary[:400],
    }


def write_candidates(candidates: Sequence[Candidate], out: Path, labels: dict[str, dict]) -> None:
    with out.open("w", encoding="utf-8") as sink:
        for c in candidates:
            row = {
                "cid": c.cid,
                "stratum": c.stratum,
                "lang": c.lang,
                "same_feed": c.same_feed,
                **c.detail,
                "a": _text(c.a),
                "b": _text(c.b),
            }
            if c.cid in labels:
                row["label"] = labels[c.cid]
            sink.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")


def read_labels(path: Path) -> dict[str, dict]:
    """{cid: row} from JSON lines that name a pair by `cid`, or by its `a` and `b` (the rows of
    story_pairs.jsonl, whose other fields are kept too)."""
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        cid = row.get("cid") or pair_cid(
            (row["a"]["file"], row["a"]["key"]), (row["b"]["file"], row["b"]["key"])
        )
        labels[cid] = {**row, "same": bool(row["same"]), "note": row.get("note", "")}
    return labels


def assemble(candidates: Sequence[Candidate], labels: dict[str, dict]) -> list[dict]:
    """Every labelled pair: drawn now, or named with its items by an earlier story_pairs.jsonl
    (another parser may draw a little differently: summaries take part in the draw). A pair keeps
    its id; new ones are numbered on in drawing order. The split is shared by each story: pairs
    labelled same join their items into one group, and a pair goes where its group's hash says."""
    fields = ("same_feed", "lang", "stratum", "a", "b")
    rows: dict[str, dict] = {}
    for c in candidates:
        if c.cid in labels:
            drawn = {
                "same_feed": c.same_feed,
                "lang": c.lang,
                "stratum": c.stratum,
                "a": {"file": c.a.file, "key": c.a.key},
                "b": {"file": c.b.file, "key": c.b.key},
            }
            # What an earlier file says wins: how the pair was drawn when it was labelled.
            rows[c.cid] = {key: labels[c.cid].get(key, drawn[key]) for key in fields}
    for cid, label in labels.items():
        if cid not in rows and all(key in label for key in fields):
            rows[cid] = {key: label[key] for key in fields}
    parent: dict[Ref, Ref] = {}

    def root(ref: Ref) -> Ref:
        while parent.get(ref, ref) != ref:
            ref = parent[ref]
        return ref

    def refs(row: dict) -> tuple[Ref, Ref]:
        return (row["a"]["file"], row["a"]["key"]), (row["b"]["file"], row["b"]["key"])

    for cid, row in rows.items():
        if labels[cid]["same"]:
            first, second = sorted(root(ref) for ref in refs(row))
            parent[second] = first
    taken = [int(labels[cid]["id"][1:]) for cid in rows if labels[cid].get("id")]
    number = max(taken, default=0)
    out = []
    for cid, row in rows.items():
        if labels[cid].get("id"):
            pair_id = labels[cid]["id"]
        else:
            number += 1
            pair_id = f"p{number:04d}"
        first, second = refs(row)
        out.append(
            {
                "id": pair_id,
                "split": split_of([root(first), root(second)]),
                "same": labels[cid]["same"],
                **row,
                "note": labels[cid]["note"],
            }
        )
    return sorted(out, key=lambda row: row["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--corpus", type=Path, default=None, help="the folder that holds bench/ and news/"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "story_pair_candidates.jsonl",
        help="scratch file with the candidates' text, for reading (keep it out of the repository)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="JSON lines {cid or a, b; same; note}: write story_pairs.jsonl from them",
    )
    args = parser.parse_args(argv)

    corpus = corpus_folder(args.corpus)
    items = distinct_documents(read_items(corpus, corpus_files(corpus)).values())
    candidates = draw(items)
    labels = (
        read_labels(args.labels) if args.labels else (read_labels(PAIRS) if PAIRS.exists() else {})
    )
    write_candidates(candidates, args.out, labels)
    strata = collections.Counter(c.stratum for c in candidates)
    print(f"{len(candidates)} candidates from {len(items)} items, written to {args.out}")
    for stratum, count in sorted(strata.items()):
        print(f"  {stratum}: {count}")
    if args.labels:
        rows = assemble(candidates, labels)
        undrawn = len(set(labels) - {c.cid for c in candidates})
        if undrawn:
            print(f"{undrawn} labelled pairs were not drawn this time (kept when they name items)")
        PAIRS.parent.mkdir(parents=True, exist_ok=True)
        PAIRS.write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
        )
        print(f"{len(rows)} labelled pairs written to {PAIRS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
