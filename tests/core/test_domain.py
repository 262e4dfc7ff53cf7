"""The types every stage passes on: a parsed item comes back from a parse worker as it left."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.core.domain import ParsedFeed, ParsedItem

texts = st.text(max_size=20)
maybe = st.none() | texts
items = st.builds(
    ParsedItem,
    key=texts,
    title=texts,
    link=maybe,
    summary=texts,
    published=st.none() | st.datetimes(timezones=st.just(UTC)),
    forwarded_from=maybe,
    views=maybe,
    media=st.tuples(texts) | st.just(()),
    edited=st.booleans(),
    author=maybe,
    cites=maybe,
    categories=st.lists(texts, max_size=3).map(tuple),
)


@given(items)
def test_a_parsed_item_is_unpickled_equal_with_every_field(item: ParsedItem) -> None:
    again = pickle.loads(pickle.dumps(item))  # noqa: S301 - our own bytes
    assert again == item
    assert type(again) is ParsedItem


def test_a_parsed_feed_of_items_is_unpickled_equal() -> None:
    item = ParsedItem("k", "RVC raid", None, "", datetime(2024, 3, 12, tzinfo=UTC), edited=True)
    feed = ParsedFeed("Wire", "https://example.org/", (item, item), ttl_minutes=5)
    assert pickle.loads(pickle.dumps(feed)) == feed  # noqa: S301 - our own bytes
