"""What one chat may keep: the limits every command that adds something checks.

They keep one chat from slowing the matcher or the poller for every other chat.
"""

from bot.matching.terms import MAX_TERM_LENGTH

MAX_LISTS_PER_CHAT = 50
MAX_TERMS_PER_LIST = 200
MAX_FEEDS_PER_CHAT = 100
HITS_SHOWN_AT_MOST = 50

__all__ = [
    "HITS_SHOWN_AT_MOST",
    "MAX_FEEDS_PER_CHAT",
    "MAX_LISTS_PER_CHAT",
    "MAX_TERMS_PER_LIST",
    "MAX_TERM_LENGTH",
]
