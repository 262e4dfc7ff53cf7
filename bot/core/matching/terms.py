"""The rules a watchlist term must obey before it is compiled, shared by config checks and chat commands.

Terms are keywords, never regular expressions: a trailing `*` is the only operator.
"""

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
