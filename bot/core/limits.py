"""What one chat may keep, and how much of a command it reads: the limits every command checks.

They keep one chat from slowing the matcher or the poller for every other chat, and every answer
within the 4096 characters Telegram allows a message, whatever was typed.
"""

from bot.core.matching.terms import MAX_TERM_LENGTH

MAX_LISTS_PER_CHAT = 50
MAX_TERMS_PER_LIST = 200
MAX_FEEDS_PER_CHAT = 100
HITS_SHOWN_AT_MOST = 50

# The longest argument a command reads, in characters after the command; a longer one is refused
# before the command looks at it. Telegram delivers up to 4096; these leave the answers that
# quote an argument back room for their own words within the same 4096.
LONG_ARGUMENT = 3000  # terms, names and text to try: /watch, /test, /subscribe …
URL_ARGUMENT = 2048  # a feed's URL, as long as /importopml accepts one
SHORT_ARGUMENT = 64  # a duration, hours, a time zone, an @channel, a number; or nothing at all
_ARGUMENT_LIMITS = {
    "subscribe": LONG_ARGUMENT,
    "unsubscribe": LONG_ARGUMENT,
    "watch": LONG_ARGUMENT,
    "exclude": LONG_ARGUMENT,
    "require": LONG_ARGUMENT,
    "unwatch": LONG_ARGUMENT,
    "test": LONG_ARGUMENT,
    "stats": LONG_ARGUMENT,
    "addfeed": URL_ARGUMENT,
    "removefeed": URL_ARGUMENT,
}
# How much of what was typed an answer quotes back: one value (a term, a name) in characters,
# and how many values of a list (unknown names, missing terms) before "and 12 more".
QUOTED_AT_MOST = 256
LISTED_AT_MOST = 10


def argument_limit(command: str) -> int:
    """The longest argument `command` (without its slash) reads."""
    return _ARGUMENT_LIMITS.get(command, SHORT_ARGUMENT)


__all__ = [
    "HITS_SHOWN_AT_MOST",
    "LISTED_AT_MOST",
    "LONG_ARGUMENT",
    "MAX_FEEDS_PER_CHAT",
    "MAX_LISTS_PER_CHAT",
    "MAX_TERMS_PER_LIST",
    "MAX_TERM_LENGTH",
    "QUOTED_AT_MOST",
    "SHORT_ARGUMENT",
    "URL_ARGUMENT",
    "argument_limit",
]
