"""Keyword matching: normalise text, compile watchlists into one index, match items to hits.

Pure: imports no I/O library. `Matcher(watchlists).match(title, summary)` is the whole interface.
"""

from bot.matching.index import Matcher
from bot.matching.terms import MAX_TERM_LENGTH, term_problem

__all__ = ["MAX_TERM_LENGTH", "Matcher", "term_problem"]
