"""A channel post edited after it was read: the hit it had stays, and an edit that makes it match
a list it did not match before is a new hit. Each text is kept, the edit as its own item under
"<key>#edit-<hash>". Pure: the matching and the stored texts are given."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from bot.core.domain import Match, ParsedItem

__all__ = ["EDIT_MARK", "edit_key", "edit_versions"]

EDIT_MARK = "#edit-"

Matches = Mapping[str, Sequence[Match]]


def edit_key(item: ParsedItem) -> str:
    """The key an edited text of `item` is stored under: one per distinct text."""
    text = f"{item.title}\n{item.summary}".encode("utf-8", "surrogatepass")
    return f"{item.key}{EDIT_MARK}{hashlib.sha256(text).hexdigest()[:16]}"


def edit_versions(
    edited: Sequence[ParsedItem],
    stored: Mapping[str, Sequence[tuple[str, str]]],
    match: Callable[[str, str], Matches],
) -> list[tuple[ParsedItem, dict[str, Sequence[Match]]]]:
    """The edits to store, each with its new hits: for every post of `edited` (already stored,
    marked edited) whose text differs from each text `stored` holds for its key, the post under
    its edit's key with the hits of the lists none of those texts matched."""
    versions: list[tuple[ParsedItem, dict[str, Sequence[Match]]]] = []
    for item in edited:
        texts = stored.get(item.key)
        if not texts or (item.title, item.summary) in texts:
            continue
        before = {
            name
            for title, summary in texts
            for name, found in match(title, summary).items()
            if found
        }
        hits = {
            name: found
            for name, found in match(item.title, item.summary).items()
            if found and name not in before
        }
        versions.append((replace(item, key=edit_key(item)), hits))
    return versions
