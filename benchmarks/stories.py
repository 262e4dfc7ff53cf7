"""Which pairs of real items does a same-story rule merge? `feedwatch same-story` and the old rule
(the baseline, kept here) judge the labelled pairs of benchmarks/data/story_pairs.jsonl; the last
line printed gives both rules' pairs wrongly merged and rightly merged.

    python benchmarks/stories.py [--corpus DIR] [--rule feedwatch|baseline] [--show-errors] [--show-missed]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script from a checkout
    sys.path.insert(0, str(REPO))

from bot.core.errors import ParseError  # noqa: E402
from bot.sources.parsing import parse_feed  # noqa: E402

PAIRS = REPO / "benchmarks" / "data" / "story_pairs.jsonl"
SPLITS = ("dev", "test")
# Folders of the shared corpus the pairs draw on: feed documents, and Telegram channel pages.
FEED_FOLDERS = ("bench", "news")
TELEGRAM_FOLDER = "telegram"

Ref = tuple[str, str]  # (corpus sub-folder/file name, item key)


@dataclass(frozen=True, slots=True)
class Item:
    file: str
    key: str
    title: str
    summary: str
    link: str | None
    published: datetime | None
    outlet: str

    def as_json(self) -> dict[str, str | None]:
        """An item as `feedwatch same-story` reads it."""
        return {
            "title": self.title,
            "summary": self.summary,
            "link": self.link,
            "published": self.published.isoformat() if self.published else None,
            "outlet": self.outlet,
        }


@dataclass(frozen=True, slots=True)
class Pair:
    id: str
    split: str
    same: bool
    same_feed: bool
    lang: str
    a: Ref
    b: Ref
    note: str

    @property
    def borderline(self) -> bool:
        """Labelled with doubt: a reader could take the other side (the note says why)."""
        return self.note.startswith("borderline")


# ---------------------------------------------------------------------------------------------
# The corpus: items rebuilt from the shared documents at run time (the repository keeps no text)
# ---------------------------------------------------------------------------------------------


def default_corpus() -> Path:
    shared = os.environ.get("FEEDWATCH_SHARED_DIR")
    return (Path(shared) if shared else REPO.parent / "shared") / "corpus"


def corpus_folder(given: Path | None) -> Path:
    corpus = given or default_corpus()
    if not all((corpus / sub).is_dir() for sub in FEED_FOLDERS):
        raise SystemExit(
            f"no feed corpus at {corpus}: pass --corpus DIR (the folder that holds bench/ and "
            "news/), or set FEEDWATCH_SHARED_DIR to the folder that holds corpus/"
        )
    return corpus


def corpus_files(corpus: Path) -> list[str]:
    """Every document the pairs may come from, as `sub-folder/name` (notes are not documents)."""
    return [
        f"{sub}/{path.name}"
        for sub in (*FEED_FOLDERS, TELEGRAM_FOLDER)
        if (corpus / sub).is_dir()
        for path in sorted((corpus / sub).iterdir())
        if path.is_file() and path.suffix != ".md"
    ]


def read_items(corpus: Path, files: Iterable[str]) -> dict[Ref, Item]:
    """The items of the given documents; a key that comes twice in one document is its first item
    (three feeds of the corpus repeat entries), a document that is not a feed gives nothing."""
    items: dict[Ref, Item] = {}
    for name in files:
        path = corpus / name
        if not path.is_file():
            continue
        for item in _document_items(name, path):
            items.setdefault((item.file, item.key), item)
    return items


def _document_items(name: str, path: Path) -> list[Item]:
    if name.startswith(f"{TELEGRAM_FOLDER}/"):
        return telegram_items(name, path.read_text(encoding="utf-8"))
    try:
        feed = parse_feed(path.read_bytes(), source=path.name)
    except ParseError:
        return []
    outlet = feed.title or path.name
    return [
        Item(name, item.key, item.title, item.summary, item.link, item.published, outlet)
        for item in feed.items
    ]


_VOID = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"})
_SPACES = re.compile(r"\s+")


class _TelegramPage(HTMLParser):
    """The posts of a t.me/s/ page or fragment: `data-post`, the first message text (an album's
    caption repeats in a nested one) and the first `<time datetime>` after it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.posts: list[dict[str, str | list[str] | None]] = []
        self._depth = 0  # inside the message text: how many elements deep

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if self._depth:
            if tag == "br":
                self._text().append("\n")
            elif tag not in _VOID:
                self._depth += 1
            return
        if "tgme_widget_message" in classes and attributes.get("data-post"):
            self.posts.append({"post": attributes["data-post"], "time": None, "text": None})
        elif not self.posts:
            return
        post = self.posts[-1]
        if tag == "div" and "tgme_widget_message_text" in classes and post["text"] is None:
            post["text"] = []
            self._depth = 1
        elif tag == "time" and attributes.get("datetime") and post["time"] is None:
            post["time"] = attributes["datetime"]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._depth and tag == "br":
            self._text().append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag not in _VOID:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:  # only <br> breaks a line: the 2023 pages were re-indented by an editor
            self._text().append(_SPACES.sub(" ", data))

    def _text(self) -> list[str]:
        text = self.posts[-1]["text"]
        assert isinstance(text, list)
        return text


def telegram_items(name: str, page: str) -> list[Item]:
    """Posts with text as items: the first line (up to a `<br>`) is the title, the rest the
    summary, the post's address the link."""
    reader = _TelegramPage()
    reader.feed(page)
    items = []
    for post in reader.posts:
        text, moment, key = post["text"], post["time"], post["post"]
        assert isinstance(key, str)
        lines = [line.strip() for line in "".join(text or []).split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue  # a video, a poll or a voice message without words
        published = datetime.fromisoformat(moment) if isinstance(moment, str) else None
        items.append(
            Item(
                name,
                key,
                lines[0][:1000],
                " ".join(lines[1:])[:2000],
                f"https://t.me/{key}",
                published,
                key.split("/")[0],
            )
        )
    return items


# ---------------------------------------------------------------------------------------------
# The baseline: bot/trends/stories.py as it was before issue 13, copied so that it stays fixed
# ---------------------------------------------------------------------------------------------

STORY_WINDOW = timedelta(hours=48)
TITLE_SIMILARITY = 0.5
SHARED_WORDS = 5

_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "yclid", "msclkid", "mc_cid", "mc_eid", "igshid",
        "_ga", "_gl", "ref", "ref_src", "ref_url", "cmpid", "ocid", "spm", "share", "at_medium",
        "at_campaign", "ito", "xtor", "rss", "cid", "feature", "smid", "partner",
    }
)  # fmt: skip

# bot/core/matching/normalize.py's word rules at the same time: invisible characters and combining marks
# belong to words and are dropped, apostrophes are folded, ё is е, mixed-script words take one script.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_APOSTROPHES = "'\u2019\u02bc\u2018`\u00b4\u2032"
_COMBINING = "\u0300-\u036f\u0483-\u0489"
_FOLD = {
    **{ord(ch): None for ch in _INVISIBLE},
    **{code: None for low, high in ((0x0300, 0x036F), (0x0483, 0x0489)) for code in range(low, high + 1)},
    **{ord(ch): "'" for ch in _APOSTROPHES},
    ord("ё"): "е",
}  # fmt: skip
_WORD_CHAR = rf"[\w{_INVISIBLE}{_COMBINING}\ue000]"
_WORD = re.compile(rf"{_WORD_CHAR}+(?:[{_APOSTROPHES}]{_WORD_CHAR}+)*")
_LATIN_TO_CYRILLIC = dict(zip("abcehikmoptxy", "авсенікмортху", strict=True))
_CYRILLIC_TO_LATIN = {cyrillic: latin for latin, cyrillic in _LATIN_TO_CYRILLIC.items()}


def _one_script(word: str) -> str:
    latin = [ch for ch in word if "a" <= ch <= "z"]
    cyrillic = [ch for ch in word if "\u0400" <= ch <= "\u04ff"]
    if not latin or not cyrillic:
        return word
    as_cyrillic = all(ch in _LATIN_TO_CYRILLIC for ch in latin)
    as_latin = all(ch in _CYRILLIC_TO_LATIN for ch in cyrillic)
    if as_cyrillic and (len(cyrillic) >= len(latin) or not as_latin):
        return "".join(_LATIN_TO_CYRILLIC.get(ch, ch) for ch in word)
    if as_latin:
        return "".join(_CYRILLIC_TO_LATIN.get(ch, ch) for ch in word)
    return word


def _normalise_word(word: str) -> str:
    folded = _one_script(word.casefold().translate(_FOLD))
    while folded.endswith("'s"):
        folded = folded[:-2]
    return folded


def title_words(title: str) -> frozenset[str]:
    """A title's words: casefolded, ё/е, quotes and possessives folded, one-letter ones left out."""
    text = unicodedata.normalize("NFC", title).replace("_", " ")
    words = (_normalise_word(word) for word in _WORD.findall(text))
    return frozenset(word for word in words if len(word) > 1)


def link_key(url: str | None) -> str | None:
    """A link without scheme, `www.`, tracking parameters, fragment and trailing slash."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host:
        return None
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not name.lower().startswith("utm_") and name.lower() not in _TRACKING
    ]
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}" + (f"?{urlencode(sorted(query))}" if query else "")


def baseline_same(a: Item, b: Item) -> tuple[bool, str]:
    """The old rule. An item without a date is taken as within the window: the bot would have used
    the time it saw it, and both come from one poll here."""
    if a.published and b.published and abs(a.published - b.published) > STORY_WINDOW:
        return False, "more than 48 h apart"
    link = link_key(a.link)
    if link is not None and link == link_key(b.link):
        return True, f"same link {link}"
    first, second = title_words(a.title), title_words(b.title)
    shared = len(first & second)
    union = len(first | second)
    similarity = shared / union if union else 0.0
    same = shared >= SHARED_WORDS and shared >= TITLE_SIMILARITY * union
    return same, f"{shared} title words shared, Jaccard {similarity:.2f}"


# ---------------------------------------------------------------------------------------------
# The pairs, the rules, the figures
# ---------------------------------------------------------------------------------------------


def load_pairs(path: Path) -> list[Pair]:
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        pairs.append(
            Pair(
                row["id"],
                row["split"],
                row["same"],
                row["same_feed"],
                row.get("lang", ""),
                (row["a"]["file"], row["a"]["key"]),
                (row["b"]["file"], row["b"]["key"]),
                row.get("note", ""),
            )
        )
    return pairs


def split_of(refs: Sequence[Ref]) -> str:
    """dev or test, from a hash of the smallest item reference of a pair's story group, so that
    the pairs of one story all fall on one side."""
    digest = hashlib.sha256("\t".join(min(refs)).encode()).digest()
    return SPLITS[digest[0] % 2]


def feedwatch_command() -> list[str]:
    """The bot's command beside this interpreter (the project's virtualenv) before one on PATH."""
    found = shutil.which("feedwatch", path=str(Path(sys.executable).parent)) or shutil.which(
        "feedwatch"
    )
    return [found] if found else [sys.executable, "-m", "bot"]


def run_feedwatch(lines: Sequence[dict[str, object]]) -> dict[str, tuple[bool, str]]:
    """`feedwatch same-story FILE` on the pairs: {id: (same, why)}."""
    with tempfile.TemporaryDirectory(prefix="feedwatch-stories-") as folder:
        path = Path(folder) / "pairs.jsonl"
        path.write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
        )
        done = subprocess.run(  # noqa: S603 (our own command, our own file)
            [*feedwatch_command(), "same-story", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"feedwatch same-story failed (exit status {done.returncode}): {last}")
    verdicts = {}
    for line in done.stdout.splitlines():
        if line.strip():
            row = json.loads(line)
            verdicts[str(row["id"])] = (bool(row["same"]), str(row.get("why", "")))
    return verdicts


@dataclass
class Tally:
    wrong: int = 0  # labelled different, said same
    different: int = 0
    right: int = 0  # labelled same, said same
    same: int = 0
    wrong_borderline: int = 0  # of `wrong`, pairs whose label the note calls borderline

    def add(self, pair: Pair, said: bool) -> None:
        if pair.same:
            self.same += 1
            self.right += said
        else:
            self.different += 1
            self.wrong += said
            self.wrong_borderline += said and pair.borderline

    def text(self, borderline: bool = False) -> str:
        wrong = (
            f"wrongly merged {self.wrong}/{self.different} ({_percent(self.wrong, self.different)})"
        )
        if borderline and self.wrong:
            wrong += f" [{self.wrong_borderline} borderline]"
        return (
            f"{wrong}, rightly merged {self.right}/{self.same} ({_percent(self.right, self.same)})"
        )


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def tally(
    pairs: Sequence[Pair], verdicts: Mapping[str, tuple[bool, str]], keep: Callable[[Pair], bool]
) -> Tally:
    counts = Tally()
    for pair in pairs:
        if keep(pair):
            counts.add(pair, verdicts[pair.id][0])
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--corpus", type=Path, default=None, help="the folder that holds bench/ and news/"
    )
    parser.add_argument("--pairs", type=Path, default=PAIRS, help="labelled pairs (JSON lines)")
    parser.add_argument(
        "--rule",
        choices=("feedwatch", "baseline"),
        default="feedwatch",
        help="the rule measured: `feedwatch same-story` (default) or the baseline itself, "
        "to check the pipeline",
    )
    parser.add_argument(
        "--show-errors", action="store_true", help="print the pairs the rule wrongly merged"
    )
    parser.add_argument(
        "--show-missed", action="store_true", help="print the same-story pairs it did not merge"
    )
    args = parser.parse_args(argv)

    corpus = corpus_folder(args.corpus)
    pairs = load_pairs(args.pairs)
    items = read_items(corpus, sorted({ref[0] for pair in pairs for ref in (pair.a, pair.b)}))
    missing = sorted({ref for pair in pairs for ref in (pair.a, pair.b) if ref not in items})
    if missing:
        raise SystemExit(
            f"{len(missing)} items of the pairs are not in {corpus} (first: {missing[0][0]} "
            f"{missing[0][1]}): is it the same corpus?"
        )

    baseline = {p.id: baseline_same(items[p.a], items[p.b]) for p in pairs}
    if args.rule == "baseline":
        name, verdicts = "baseline (as the rule)", baseline
    else:
        name = "feedwatch same-story"
        lines = [{"id": p.id, "a": items[p.a].as_json(), "b": items[p.b].as_json()} for p in pairs]
        verdicts = run_feedwatch(lines)
        unanswered = [p.id for p in pairs if p.id not in verdicts]
        if unanswered:
            raise SystemExit(f"feedwatch same-story gave no answer for {len(unanswered)} pairs")

    print(
        f"{len(pairs)} labelled pairs from {corpus}: "
        f"{sum(p.same for p in pairs)} same story, {sum(not p.same for p in pairs)} different; "
        f"{sum(p.same_feed for p in pairs)} from one feed"
    )
    groups: list[tuple[str, Callable[[Pair], bool]]] = [
        *((split, lambda p, s=split: p.split == s) for split in SPLITS),
        ("all, one feed", lambda p: p.same_feed),
        ("all, two feeds", lambda p: not p.same_feed),
        ("all", lambda p: True),
    ]
    for label, keep in groups:
        print(f"{label}:")
        print(f"  {name:<24} {tally(pairs, verdicts, keep).text(borderline=True)}")
        print(f"  {'baseline':<24} {tally(pairs, baseline, keep).text(borderline=True)}")

    shown = []
    if args.show_errors:
        shown.append(("wrongly merged", [p for p in pairs if not p.same and verdicts[p.id][0]]))
    if args.show_missed:
        shown.append(("not merged", [p for p in pairs if p.same and not verdicts[p.id][0]]))
    for what, listed in shown:
        print(f"{what} by {name}: {len(listed)}")
        for p in listed:
            print(
                f"  {p.id} ({p.split}, {'one feed' if p.same_feed else 'two feeds'}) {verdicts[p.id][1]}"
            )
            for side, ref in (("a", p.a), ("b", p.b)):
                item = items[ref]
                print(f"    {side}: {item.title} ({item.outlet}, {item.published or 'no date'})")
            if p.note:
                print(f"    note: {p.note}")

    ours, theirs = tally(pairs, verdicts, lambda p: True), tally(pairs, baseline, lambda p: True)
    print(f"stories: {name} {ours.text()}; baseline {theirs.text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
