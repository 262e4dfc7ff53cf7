"""One story from many outlets: two items are one story only when they report the same event. Pure.

Within 48 hours, the same cleaned link from two feeds is one story, and alike titles are one story
unless they differ where templated headlines differ: a name or place, a number, a date, or the
watchlists the items matched. The rule's measured error rates: benchmarks/README.md, "Stories".
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Generic, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from bot.core.channel_address import post_key, source_label
from bot.core.domain import PendingDelivery, StoredItem
from bot.core.matching.morphology import (
    Morphology,
    default_morphology,
    english_singulars,
    is_cyrillic,
)
from bot.core.matching.normalize import prepare_text, tokenise

T = TypeVar("T")

STORY_WINDOW = timedelta(hours=48)
TITLE_SIMILARITY = 0.65
"""Dice similarity of two titles' content words (each word counted once it has a partner)."""
SHARED_WORDS = 3
"""Content words two titles must share, in any grammatical form (short headlines share few)."""
EARLIEST_NEWS = datetime(1995, 1, 1, tzinfo=UTC)
"""No news item is older: an earlier date (a feed that dates every item 1970) is a missing one."""

_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "yclid", "msclkid", "mc_cid", "mc_eid", "igshid",
        "_ga", "_gl", "ref", "ref_src", "ref_url", "cmpid", "ocid", "spm", "share", "at_medium",
        "at_campaign", "ito", "xtor", "rss", "cid", "feature", "smid", "partner",
        "traffic_source", "traffic_medium", "from", "via", "src", "source", "rss_source",
        "ns_source", "ns_mchannel", "ns_campaign", "ns_linkname", "ns_fee", "cmp", "s",
    }
)  # fmt: skip


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words of the three languages: they say nothing about which event a title reports.
_STOP = _listed(
    """
    a an the of in on at to for and or but with by from as is are was were be been it its this that
    these those into over after before about than then so not no up out off amid via vs says said
    he she they we you his her their our has have had will would can could may might new
    i me my mine your yours us
    и в во на с со о об обо по за из к ко у от до для не ни что как а но же ли бы при под над про
    без через после перед между это этот эта эти он она они мы вы его ее их был была были будет
    і й та в у на з зі із о об по за з до від для не ні що як а але ж чи б при під над про
    без через після перед між це цей ця ці він вона вони ми ви його її їх був була були буде
    """
)
_NUMBER_WORDS = {
    word: str(value)
    for value, words in enumerate(
        [
            "", "one один одна одно одне", "two два две дві", "three три", "four четыре чотири", "five пять п'ять",
            "six шесть шість", "seven семь сім", "eight восемь вісім", "nine девять дев'ять",
            "ten десять", "eleven одиннадцать одинадцять", "twelve двенадцать дванадцять",
        ]
    )
    for word in words.split()
}  # fmt: skip
# Words that name a moment in a series: another month, weekday or day is another edition.
_MOMENTS = _listed(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
    января февраля марта апреля мая июня июля августа сентября октября ноября декабря
    январь февраль март апрель июнь июль август сентябрь октябрь ноябрь декабрь
    понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье
    сегодня вчера завтра
    січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня
    січень лютий березень квітень травень червень липень серпень вересень жовтень листопад
    грудень понеділок вівторок середа середу четвер пʼятниця п'ятниця п'ятницю субота суботу
    неділя неділю сьогодні вчора завтра
    """
)
# A number as written: 1,000 and 1 000 are one number; so are 2.5 and 2,5.
_NUMBER = re.compile(r"\d+(?:[,.\u00a0\u202f ]\d{3})*(?:[.,]\d+)?")
_CLAUSE_BREAK = frozenset(":.!?|—–")
_DOTTED = re.compile(r"\b(?:[^\W\d_]\.){2,}")
_STEM = 5
_CANDIDATES = 20


def link_key(url: str | None) -> str | None:
    """A link without what differs between copies of one page: scheme, `www.`, tracking
    parameters (`utm_*` and the like), fragment, a trailing slash. None for a site's home page,
    which says nothing about an item (a feed that links every item to it)."""
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
    path = parts.path.rstrip("/")
    if not path and not query:
        return None
    return f"{host}{path or '/'}" + (f"?{urlencode(sorted(query))}" if query else "")


def moment_of(item: StoredItem) -> datetime:
    """When an item was published, or first seen when its date cannot be right (before any news
    feed existed, or a day later than we saw it)."""
    return credible_date(item.published, item.seen_at) or item.seen_at


def credible_date(published: datetime | None, seen_at: datetime) -> datetime | None:
    """An item's date, unless it cannot be right: before any news feed existed, or a day later
    than the item was seen."""
    if published is None or published < EARLIEST_NEWS or published > seen_at + timedelta(1):
        return None
    return published


@dataclass(frozen=True, slots=True)
class _Word:
    written: str
    keys: frozenset[str]
    # "word"; "name" (an acronym, a capital inside a sentence-case title, a dictionary's proper
    # name); "capital" (one that starts a clause, or any in a Title Case title: a name or not);
    # "number"; "moment" (a month, a weekday).
    kind: str


@dataclass(frozen=True, slots=True)
class Title:
    """A title's content words, each with its forms and what kind of word it is."""

    words: tuple[_Word, ...]
    keys: frozenset[str]

    @classmethod
    def read(cls, title: str, morphology: Morphology) -> Title:
        # U.S., U.N.: one acronym, as US and UN are.
        prepared = _DOTTED.sub(lambda found: found.group().replace(".", ""), prepare_text(title))
        words = [
            _Word(found.group(), frozenset({_digits(found.group())}), "number")
            for found in _NUMBER.finditer(prepared)
        ]
        rest = _NUMBER.sub(lambda found: " " * len(found.group()), prepared)
        tokens = tokenise(rest)
        written_words = [rest[t.start : t.end] for t in tokens]
        long_latin = [w for w in written_words if w.isascii() and w.isalpha() and len(w) > 3]
        # "Drone Attack On Belgorod Leaves Two Injured": capitals mark every word, not names.
        title_case = len(long_latin) >= 3 and (
            sum(w[0].isupper() for w in long_latin) >= 0.6 * len(long_latin)
        )
        for token, written in zip(tokens, written_words, strict=True):
            norm = token.norm
            acronym = _is_acronym(written)
            if (norm in _STOP and not acronym) or not any(ch.isalpha() for ch in norm):
                if norm.isdigit():
                    words.append(_Word(written, frozenset({norm.lstrip("0") or "0"}), "number"))
                continue
            if norm in _NUMBER_WORDS:
                words.append(_Word(written, frozenset({_NUMBER_WORDS[norm]}), "number"))
                continue
            if norm in _MOMENTS:
                kind = "moment"
            elif acronym:
                kind = "name"
            elif not written[:1].isupper():
                kind = "word"
            elif title_case or _starts_clause(rest, token.start):
                proper = is_cyrillic(norm) and morphology.is_proper_name(norm)
                kind = "name" if proper else "capital"
            else:
                kind = "name"
            capitalised = kind in _NAMES
            words.append(_Word(written, _keys(norm, morphology, capitalised=capitalised), kind))
        keys = {key for word in words for key in word.keys}
        # An acronym on one side stands for capitalised words on the other: PM, Prime Minister.
        keys |= _initials(written_words)
        return cls(tuple(words), frozenset(keys))

    def unmatched(self, other: Title) -> list[_Word]:
        """This title's words that have no form in common with any word of `other`."""
        return [word for word in self.words if not word.keys & other.keys]


def _is_acronym(written: str) -> bool:
    letters = [ch for ch in written if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _starts_clause(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'«»“”„‘’")
    return not before or before[-1] in _CLAUSE_BREAK


def _initials(written: Sequence[str]) -> set[str]:
    """The initials of each run of two to four capitalised words, as an acronym would read."""
    found = set()
    for start in range(len(written)):
        for end in range(start + 2, min(start + 4, len(written)) + 1):
            run = written[start:end]
            if not all(w[:1].isupper() and not _is_acronym(w) for w in run):
                break
            found.add("".join(w[0] for w in run).casefold())
    return found


def _digits(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    return digits.lstrip("0") or "0"


def _keys(norm: str, morphology: Morphology, *, capitalised: bool) -> frozenset[str]:
    """A word's forms: its dictionary forms (Russian, Ukrainian), or its singular and unaccented
    forms (Orbán, Orban). A capitalised word also counts as its first five letters, which tie a
    place to its adjective (Belgorod, Белгородской; Russia, Russian) where the dictionaries do not;
    common words keep apart (international, internet)."""
    if is_cyrillic(norm):
        keys = set(morphology.token_keys(norm))
    else:
        plain = "".join(ch for ch in unicodedata.normalize("NFD", norm) if ch.isascii())
        keys = {norm, *english_singulars(norm)}
        if plain:
            keys |= {plain, *english_singulars(plain)}
    if capitalised and len(norm) > _STEM:
        keys.add("~" + norm[:_STEM])
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class StoryItem:
    """What the story rule reads of an item. `source` tells feeds apart (one feed's items sharing
    a link are a live page, not copies); `watchlists` are the lists it matched, when known."""

    title: Title
    link: str | None
    moment: datetime
    source: str
    watchlists: frozenset[str] | None = None
    # A channel post's own "<channel>/<id>" (from its link), and the post an item reports or
    # forwards: an outlet's item that cites a post, or a forward, is one story with it.
    post: str | None = None
    cites: str | None = None

    @property
    def posts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p in (self.post, self.cites) if p))

    @classmethod
    def of(
        cls,
        item: StoredItem,
        morphology: Morphology,
        watchlists: Iterable[str] | None = None,
        *,
        source: str | None = None,
    ) -> StoryItem:
        return cls(
            Title.read(item.title, morphology),
            link_key(item.link),
            moment_of(item),
            source if source is not None else str(item.feed_id),
            frozenset(watchlists) if watchlists is not None else None,
            post_key(item.link),
            item.cites,
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether two items are one story, and why, in words an operator can check."""

    same: bool
    why: str


_NAMES = frozenset({"name", "capital"})


def _shown(words: Sequence[_Word]) -> str:
    return ", ".join(dict.fromkeys(word.written for word in words))


def same_story(a: StoryItem, b: StoryItem) -> Verdict:
    """The story rule the digest, spike alerts and `feedwatch same-story` use."""
    apart = abs(a.moment - b.moment)
    if apart > STORY_WINDOW:
        return Verdict(False, f"published {apart.total_seconds() / 3600:.0f} hours apart")
    # Two feeds carrying one page is one story, whatever each feed's summary names.
    if a.link is not None and a.link == b.link and a.source != b.source:
        return Verdict(True, "the same link")
    # A channel's post, and an outlet's item that links to it or a channel's forward of it.
    if (a.post and a.post == b.cites) or (b.post and b.post == a.cites):
        return Verdict(True, f"one reports the channel post {a.post or b.post}")
    if a.cites and a.cites == b.cites and a.source != b.source:
        return Verdict(True, f"both report the channel post {a.cites}")
    if a.watchlists is not None and b.watchlists is not None and a.watchlists != b.watchlists:
        first, second = ", ".join(sorted(a.watchlists)), ", ".join(sorted(b.watchlists))
        return Verdict(False, f"they matched different watchlists: {first} / {second}")
    only_a, only_b = a.title.unmatched(b.title), b.title.unmatched(a.title)
    # One slot filled differently on each side is another event of a template: another town,
    # another day's edition, another episode. A word added on one side only is not. Capitals
    # that may not be names (a title's first word, Title Case) count when they are all that
    # differs: "Loudoun County calendar" and "Prince William County calendar".
    for kinds, what in (({"number"}, "numbers"), ({"moment"}, "dates"), ({"name"}, "names")):
        mine = [w for w in only_a if w.kind in kinds]
        theirs = [w for w in only_b if w.kind in kinds]
        if mine and theirs:
            return Verdict(False, f"the titles differ in {what}: {_shown(mine)} / {_shown(theirs)}")
    if (
        only_a
        and only_b
        and all(w.kind in _NAMES for w in only_a)
        and all(w.kind in _NAMES for w in only_b)
    ):
        return Verdict(False, f"the titles differ in names: {_shown(only_a)} / {_shown(only_b)}")
    words = len(a.title.words) + len(b.title.words)
    shared_a, shared_b = len(a.title.words) - len(only_a), len(b.title.words) - len(only_b)
    similarity = (shared_a + shared_b) / words if words else 0.0
    # Shared numbers alone (a year) do not make two titles one story.
    shared = min(
        sum(1 for w in a.title.words if w.kind != "number" and w not in only_a),
        sum(1 for w in b.title.words if w.kind != "number" and w not in only_b),
    )
    alike = shared >= SHARED_WORDS and similarity >= TITLE_SIMILARITY
    why = f"{shared} title words in common, similarity {similarity:.2f}"
    return Verdict(alike, f"titles alike: {why}" if alike else f"titles differ: {why}")


# --- a chat's pending items as stories ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoryUpdate:
    """A pending item of a story the chat (or its topic) was already sent: shown as one line
    under that story, never dropped."""

    delivery: PendingDelivery
    story: StoredItem


@dataclass(frozen=True, slots=True)
class Stories:
    """Pending items as stories: each kept delivery carries the others of its story (`also`), and
    items of a story already sent are `updates`."""

    deliveries: tuple[PendingDelivery, ...]
    updates: tuple[StoryUpdate, ...] = ()


@dataclass(slots=True)
class _Head:
    facts: StoryItem
    delivery: PendingDelivery
    members: list[PendingDelivery] = field(default_factory=list)


class _Index(Generic[T]):
    """Values by their items' facts, found by the story rule. Only the values that share the
    link, or share the most title words with the item, are compared: a long outbox is not
    compared pair by pair, and a story's own copy shares more words with it (the town, the
    number) than a templated sibling does."""

    def __init__(self) -> None:
        self.values: list[T] = []
        self._facts: list[StoryItem] = []
        self._by_key: dict[str, list[int]] = {}
        self._by_link: dict[str, list[int]] = {}
        self._by_post: dict[str, list[int]] = {}

    def add(self, facts: StoryItem, value: T) -> None:
        position = len(self.values)
        self.values.append(value)
        self._facts.append(facts)
        for key in facts.title.keys:
            self._by_key.setdefault(key, []).append(position)
        if facts.link is not None:
            self._by_link.setdefault(facts.link, []).append(position)
        for post in facts.posts:
            self._by_post.setdefault(post, []).append(position)

    def find(self, facts: StoryItem) -> T | None:
        """The value whose item is one story with `facts` (the likeliest first), or None."""
        shared = Counter(chain.from_iterable(self._by_key.get(k, ()) for k in facts.title.keys))
        likeliest = heapq.nsmallest(
            _CANDIDATES,
            (position for position, count in shared.items() if count >= 2),
            key=lambda position: (-shared[position], position),
        )
        linked = self._by_link.get(facts.link, []) if facts.link is not None else []
        cited = [p for post in facts.posts for p in self._by_post.get(post, ())]
        for position in dict.fromkeys([*cited, *linked, *likeliest]):
            if same_story(facts, self._facts[position]).same:
                return self.values[position]
        return None


def _facts(delivery: PendingDelivery, morphology: Morphology, *, known: bool) -> StoryItem:
    lists = (m.watchlist for m in delivery.matches) if known else None
    return StoryItem.of(delivery.item, morphology, lists)


def group_stories(
    pending: Sequence[PendingDelivery],
    already_sent: Iterable[PendingDelivery] = (),
    *,
    morphology: Morphology | None = None,
) -> Stories:
    """Fold pending items of one story into the earliest of them, which keeps its own matches;
    make those of a story already sent (within the window) updates of it. Items with no matches
    (spike alerts' items) are compared by title and link alone."""
    morphology = morphology or default_morphology()
    sent = _Index[StoredItem]()
    for delivery in already_sent:
        sent.add(_facts(delivery, morphology, known=bool(delivery.matches)), delivery.item)
    heads = _Index[_Head]()
    updates: list[StoryUpdate] = []
    for delivery in sorted(pending, key=lambda d: (moment_of(d.item), d.id)):
        facts = _facts(delivery, morphology, known=bool(delivery.matches))
        story = sent.find(facts)
        if story is not None:
            updates.append(StoryUpdate(delivery, story))
            continue
        head = heads.find(facts)
        if head is None:
            heads.add(facts, _Head(facts, delivery))
        else:
            head.members.append(delivery)
    kept = []
    for head in heads.values:
        if not head.members:
            kept.append(head.delivery)
            continue
        # Each other outlet once, at its first report, in the order they reported.
        outlets: dict[str, datetime] = {}
        for member in sorted(head.members, key=lambda m: (moment_of(m.item), m.id)):
            if member.item.feed_name != head.delivery.item.feed_name:
                name = source_label(member.item.feed_name, member.item.link)
                outlets.setdefault(name, moment_of(member.item))
        kept.append(
            replace(
                head.delivery,
                also=tuple(outlets),
                also_at=tuple(outlets.values()),
                merged_ids=tuple(m.id for m in head.members),
            )
        )
    return Stories(tuple(kept), tuple(updates))
