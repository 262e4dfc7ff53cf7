"""What the use-case tests share: a clock they move by hand, and a fetcher for local servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from tests.builders import Clock

if TYPE_CHECKING:
    from bot.sources.fetch import Fetcher


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    # Imported here: the parse pool's workers import the test modules, not this fixture's needs.
    from bot.sources.fetch import Fetcher

    async with Fetcher(timeout=10, allow_private_addresses=True) as fetcher:
        yield fetcher
