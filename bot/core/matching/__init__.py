"""Keyword matching: normalise text, compile watchlists into one index, match items to hits.

Pure: imports no I/O library. `Matcher(watchlists).match(title, summary)` is the whole interface.
"""

from bot.core.matching.index import Matcher
from bot.core.matching.near_misses import NearMiss, near_misses
from bot.core.matching.terms import MAX_TERM_LENGTH, term_problem, term_warnings

__all__ = [
    "MAX_TERM_LENGTH",
    "Matcher",
    "NearMiss",
    "near_misses",
    "term_problem",
    "term_warnings",
]
