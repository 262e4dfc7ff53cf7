"""The rules a watchlist term must obey before it is compiled, shared by config checks and chat commands.

Terms are keywords, never regular expressions: a trailing `*` is the only operator.
"""

import re

from bot.core.domain import Watchlist
from bot.core.said import nsaid, said

MAX_TERM_LENGTH = 200


def term_problem(term: str) -> str | None:
    """Say why `term` cannot be used, or None when it can."""
    stripped = term.strip()
    if not stripped or stripped == "*":
        return said("is empty")
    if len(stripped) > MAX_TERM_LENGTH:
        return nsaid(
            "is longer than {count} characters",
            "is longer than {count} characters",
            MAX_TERM_LENGTH,
        )
    if not any(ch.isalnum() for ch in stripped):
        return said("has no letters or digits")
    return None


# What looks like a regular expression in a term: terms are words, and these characters are read
# as text (or ignored), never as operators.
_REGEX = re.compile(r"\.\*|\.\+|\\[wdsb]|[\[\]()|^$?{}]|(?<=\w)\+")
SHORTEST_PREFIX = 4
"""A prefix term (`Курс*`) shorter than this matches too many words to mean one name."""


def term_warnings(watchlist: Watchlist) -> list[str]:
    """What may make a list match other than its owner means, each a sentence naming the list and
    the term: a term written as a regular expression, one letter, a prefix of fewer than
    `SHORTEST_PREFIX` letters, two terms that differ only in case (one of them is enough)."""
    found: list[str] = []
    name = watchlist.name
    seen: dict[str, str] = {}
    for term in (*watchlist.terms, *watchlist.require, *watchlist.exclude):
        stripped = term.strip()
        stem = stripped.rstrip("*").strip()
        letters = sum(ch.isalnum() for ch in stem)
        if _REGEX.search(stripped):
            found.append(
                f"watchlist {name}: the term «{term}» looks like a regular expression; terms are "
                "words, matched in every grammatical form, and only a trailing * means anything "
                "(«Курс*»: every word that begins with Курс)"
            )
        elif stripped.endswith("*") and letters < SHORTEST_PREFIX:
            found.append(
                f"watchlist {name}: the prefix «{term}» has fewer than {SHORTEST_PREFIX} letters "
                "and matches every word that begins with them"
            )
        elif letters == 1 and len(stem) == 1:
            found.append(
                f"watchlist {name}: the term «{term}» is one letter, which stands in many words "
                "that have nothing to do with it"
            )
        folded = stripped.casefold()
        if folded in seen and seen[folded] != stripped:
            found.append(
                f"watchlist {name}: «{seen[folded]}» and «{term}» differ only in case, which "
                "matching ignores: one of them is enough"
            )
        seen.setdefault(folded, stripped)
    return found
