"""Polling public channels end to end: the real poller and fetcher against a local server that pages
like t.me (`/s/<name>`, `?before=`), on SQLite and PostgreSQL: how far back a first poll reads, a
gap filled after downtime, a preview turned off, a name nobody has, 429s, the fallback host."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.core.channel_address import channel_url
from bot.core.channel_depth import ChannelDepth
from bot.core.domain import CONSOLE_CHAT_ID, FeedSpec, FeedState, Watchlist
from bot.core.errors import FetchError
from bot.services.poll import Poller
from bot.sources.fetch import Fetcher
from bot.sources.host_pace import HostPace
from bot.storage.asynchronous import AsyncStorage
from bot.storage.repository import Repository
from tests.builders import Clock
from tests.fakes.channel_server import ChannelServer, Post, hourly_posts
from tests.fakes.feed_server import FeedServer

RVC = Watchlist("rvc", ("РДК", "Русский добровольческий корпус"))
NAME = "rusvolcorps"


def _poller(
    repo: Repository, fetcher: Fetcher, clock: Clock, depth: ChannelDepth | None = None
) -> Poller:
    return Poller(
        AsyncStorage(repo),
        fetcher,
        clock=clock,
        default_interval=timedelta(minutes=10),
        channel_depth=depth,
        parse_pool=None,
    )


@pytest.fixture
async def fetcher(channel_server: ChannelServer) -> AsyncIterator[Fetcher]:
    async with Fetcher(
        timeout=5, allow_private_addresses=True, channel_bases=(channel_server.url,)
    ) as fetcher:
        yield fetcher


def _follow(repo: Repository, clock: Clock, *names: str) -> None:
    repo.sync_config([FeedSpec(channel_url(name)) for name in names], [RVC], clock())
    repo.subscribe_console_to_all(clock())


def _state(repo: Repository, name: str) -> FeedState:
    [state] = [feed for feed in repo.feeds() if feed.url == channel_url(name)]
    return state


def _stored_numbers(repo: Repository) -> list[int]:
    return sorted(
        int(p.item.key.rpartition("/")[2]) for p in repo.pending_deliveries(CONSOLE_CHAT_ID)
    )


def _befores(server: ChannelServer) -> list[int | None]:
    return [request.before for request in server.requests if request.name]


async def test_a_first_poll_reads_back_24_hours_and_no_further(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    # 150 posts an hour apart, each naming the corps: the newest page holds 20 (19 hours).
    posts = hourly_posts(150, newest=clock(), text=lambda i: f"РДК: сообщение {i}")
    channel_server.channel(NAME, "Русский добровольческий корпус", posts)
    _follow(repo, clock, NAME)

    [outcome] = await _poller(repo, fetcher, clock).poll()

    # The newest page, then one older page: it reaches past 24 hours, so reading stops there.
    assert _befores(channel_server) == [None, 131]
    assert (outcome.error, outcome.new_items, outcome.new_hits) == (None, 40, 40)
    assert _stored_numbers(repo) == list(range(111, 151))


async def test_a_first_poll_stops_at_the_depth_in_posts(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    # A busy channel: 300 posts in the last five hours; the depth is 50 posts.
    posts = [Post(i, clock() - timedelta(minutes=300 - i), f"РДК {i}") for i in range(1, 301)]
    channel_server.channel(NAME, "RVC", posts)
    _follow(repo, clock, NAME)

    [outcome] = await _poller(repo, fetcher, clock, ChannelDepth(timedelta(hours=24), 50)).poll()

    assert _befores(channel_server) == [None, 281, 261]
    assert outcome.new_items == 60  # whole pages: the third reaches past 50
    assert _stored_numbers(repo) == list(range(241, 301))


async def test_a_later_poll_reads_the_newest_page_only_and_misses_nothing(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    channel = channel_server.channel(NAME, "RVC", hourly_posts(30, newest=clock()))
    _follow(repo, clock, NAME)
    poller = _poller(repo, fetcher, clock)
    await poller.poll()
    channel_server.requests.clear()

    clock.advance(minutes=30)
    channel.post("РДК сообщает о 25 пленных", at=clock())
    clock.advance(minutes=10)
    [outcome] = await poller.poll()

    assert _befores(channel_server) == [None]
    assert (outcome.new_items, outcome.new_hits) == (1, 1)
    [pending] = repo.pending_deliveries(CONSOLE_CHAT_ID)
    assert pending.item.key == f"{NAME}/31"
    assert pending.item.link == f"https://t.me/{NAME}/31"


async def test_the_gap_after_downtime_is_filled(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    channel = channel_server.channel(NAME, "RVC", hourly_posts(10, newest=clock()))
    _follow(repo, clock, NAME)
    poller = _poller(repo, fetcher, clock)
    await poller.poll()
    channel_server.requests.clear()

    # Eight hours down, 55 posts meanwhile: more than two pages.
    for minute in range(55):
        channel.post(f"РДК {minute}", at=clock() + timedelta(minutes=5 * (minute + 1)))
    clock.advance(hours=8)
    [outcome] = await poller.poll()

    # Three pages: the third reaches the posts already stored, so reading stops.
    assert _befores(channel_server) == [None, 46, 26]
    assert (outcome.error, outcome.new_items, outcome.new_hits) == (None, 55, 55)
    assert _stored_numbers(repo) == list(range(11, 66))


async def test_a_failed_older_page_fails_the_poll_and_stores_nothing_so_nothing_is_skipped(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    channel = channel_server.channel(NAME, "RVC", hourly_posts(5, newest=clock()))
    _follow(repo, clock, NAME)
    poller = _poller(repo, fetcher, clock)
    await poller.poll()
    for minute in range(30):
        channel.post(f"РДК {minute}", at=clock() + timedelta(minutes=minute + 1))
    clock.advance(hours=1)
    # The newest page answers; the older one is refused.
    channel_server.limit(NAME, times=1, retry_after=60, older_pages_only=True)

    [failed] = await poller.poll()

    assert failed.error == "Telegram is limiting our requests"
    assert _stored_numbers(repo) == []
    state = _state(repo, NAME)
    assert state.last_error == "Telegram is limiting our requests"
    assert state.next_poll_at is not None
    assert state.next_poll_at >= clock() + timedelta(seconds=60)

    clock.now = state.next_poll_at
    [outcome] = await poller.poll()
    assert (outcome.error, outcome.new_items) == (None, 30)
    assert _stored_numbers(repo) == list(range(6, 36))


async def test_a_channel_whose_preview_is_off_says_so_in_its_health(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    channel_server.disable_preview("hidden_channel", "Hidden")
    _follow(repo, clock, "hidden_channel", "nobody_has_this")

    outcomes = await _poller(repo, fetcher, clock).poll()

    assert sorted(outcome.error or "" for outcome in outcomes) == [
        "no such channel",
        "the channel has no public preview",
    ]
    assert _state(repo, "hidden_channel").last_error == "the channel has no public preview"
    assert _state(repo, "nobody_has_this").last_error == "no such channel"


async def test_a_429_backs_the_channel_off_with_a_named_reason(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    channel_server.channel(NAME, "RVC", hourly_posts(3, newest=clock()))
    channel_server.limit(NAME, times=1, retry_after=120)
    _follow(repo, clock, NAME)
    poller = _poller(repo, fetcher, clock)

    [limited] = await poller.poll()

    assert limited.error == "Telegram is limiting our requests"
    state = _state(repo, NAME)
    assert state.next_poll_at is not None
    assert state.next_poll_at >= clock() + timedelta(minutes=2)
    assert await poller.poll() == []  # not due again before Telegram's wait is over
    clock.now = state.next_poll_at
    [outcome] = await poller.poll()
    assert (outcome.error, outcome.new_items) == (None, 3)


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


async def test_pages_come_from_the_fallback_host_when_the_first_cannot_be_reached(
    repo: Repository, channel_server: ChannelServer, clock: Clock
) -> None:
    channel_server.channel(NAME, "RVC", hourly_posts(3, newest=clock(), text=lambda i: f"РДК {i}"))
    _follow(repo, clock, NAME)
    async with Fetcher(
        timeout=5, allow_private_addresses=True, channel_bases=(_closed_port(), channel_server.url)
    ) as fetcher:
        [outcome] = await _poller(repo, fetcher, clock).poll()
        # The unreachable base is passed over for a while: the next page goes straight on.
        fetched = await fetcher.fetch(channel_url(NAME))

    assert (outcome.error, outcome.new_items, outcome.new_hits) == (None, 3, 3)
    assert fetched.final_url.startswith(channel_server.url)
    assert channel_server.hits(NAME) == 2


async def test_a_channel_posts_facts_are_stored_and_reach_the_chat(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    channel_server.channel(
        NAME,
        "RVC",
        [
            Post(
                7,
                clock() - timedelta(minutes=5),
                "РДК: 25 пленных",
                views="12.3K",
                forwarded_from="Легион «Свобода России»",
                forwarded_from_link="https://t.me/legionoffreedom/450",
                edited=True,
            )
        ],
    )
    _follow(repo, clock, NAME)

    await _poller(repo, fetcher, clock).poll()

    [pending] = repo.pending_deliveries(CONSOLE_CHAT_ID)
    item = pending.item
    assert (item.key, item.views, item.forwarded_from, item.edited, item.cites) == (
        f"{NAME}/7",
        "12.3K",
        "Легион «Свобода России»",
        True,
        "legionoffreedom/450",
    )


async def test_a_thousand_channels_on_one_host_are_kept_within_the_pace(
    repo: Repository, channel_server: ChannelServer, clock: Clock
) -> None:
    """However many channels are due, t.me gets one request per pace: here one each 5 ms."""
    gap = 0.005
    names = [f"channel_{number:04d}" for number in range(1000)]
    for name in names:
        channel_server.channel(name, name, [Post(1, clock() - timedelta(minutes=1), "РДК")])
    _follow(repo, clock, *names)
    async with Fetcher(
        timeout=30,
        allow_private_addresses=True,
        channel_bases=(channel_server.url,),
        pace=HostPace({"t.me": gap}),
    ) as fetcher:
        outcomes = await _poller(repo, fetcher, clock).poll()

    assert len(outcomes) == 1000
    assert [outcome.error for outcome in outcomes if outcome.error] == []
    arrivals = sorted(request.at for request in channel_server.requests)
    assert len(arrivals) == 1000
    # Turns are given a gap apart; a request may reach the server a little early or late, so
    # the pace is read over ten turns at a time.
    assert min(b - a for a, b in zip(arrivals, arrivals[10:], strict=False)) >= 9 * gap
    assert arrivals[-1] - arrivals[0] >= 999 * gap * 0.95


async def test_an_edit_keeps_the_old_hit_and_a_new_match_is_a_new_hit_with_both_texts_stored(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    legion = Watchlist("legion", ("Легион «Свобода России»",))
    at = clock() - timedelta(minutes=5)
    channel = channel_server.channel(
        NAME, "RVC", [Post(1, at, "Погода в Белгороде"), Post(2, at, "РДК ведёт бой")]
    )
    repo.sync_config([FeedSpec(channel_url(NAME))], [RVC, legion], clock())
    repo.subscribe_console_to_all(clock())
    poller = _poller(repo, fetcher, clock)
    await poller.poll()
    assert [p.item.key for p in repo.pending_deliveries(CONSOLE_CHAT_ID)] == [f"{NAME}/2"]

    # Both posts are edited: the first now names the corps, the second adds the legion.
    channel.add(
        [
            Post(1, at, "Погода в Белгороде. РДК сообщает об обстреле", edited=True),
            Post(2, at, "РДК и Легион «Свобода России» ведут бой", edited=True),
        ]
    )
    clock.advance(minutes=20)
    [outcome] = await poller.poll()

    assert (outcome.new_items, outcome.new_hits) == (2, 2)
    pending = repo.pending_deliveries(CONSOLE_CHAT_ID)
    by_text = {p.item.title: sorted(m.watchlist for m in p.matches) for p in pending}
    assert by_text == {
        "РДК ведёт бой": ["rvc"],  # the hit it had, with its old text
        "Погода в Белгороде. РДК сообщает об обстреле": ["rvc"],  # an edit that made it match
        "РДК и Легион «Свобода России» ведут бой": ["legion"],  # only the list it adds
    }
    assert all(p.item.link == f"https://t.me/{NAME}/{p.item.key[len(NAME) + 1]}" for p in pending)

    # Read again with the same edits: nothing new; edited once more without a new list: the
    # text is kept, with no hit.
    clock.advance(minutes=20)
    [again] = await poller.poll()
    assert (again.new_items, again.new_hits) == (0, 0)
    channel.add([Post(2, at, "РДК и Легион «Свобода России» ведут бой (видео)", edited=True)])
    clock.advance(minutes=20)
    [third] = await poller.poll()
    assert (third.new_items, third.new_hits) == (1, 0)


async def test_channel_pages_go_through_the_proxy_and_feeds_still_through_the_guard(
    channel_server: ChannelServer, clock: Clock
) -> None:
    """`[polling] proxy` carries channel pages only: their addresses come from the configured
    bases, never from a user. A feed on a private address is still refused, directly."""
    channel_server.channel(NAME, "RVC", hourly_posts(2, newest=clock()))
    async with Fetcher(
        timeout=5, channel_bases=("http://t.me.invalid",), proxy=channel_server.url
    ) as fetcher:
        page = await fetcher.fetch(channel_url(NAME))
        with pytest.raises(FetchError) as refused:
            await fetcher.fetch(f"{channel_server.url}/s/{NAME}")

    assert b"tgme_widget_message" in page.content
    # The proxy was asked for the base's address, which it alone resolves.
    assert channel_server.requests[0].path == f"http://t.me.invalid/s/{NAME}"
    assert "private" in refused.value.reason or "loopback" in refused.value.reason
    assert len(channel_server.requests) == 1


async def test_a_channel_whose_claim_lapses_while_it_waits_for_the_pace_is_polled_once(
    repo: Repository, channel_server: ChannelServer
) -> None:
    """Channels queue for t.me's pace longer than a claim lasts: the round claims them again as
    they come due, and must not poll one that is still waiting or being polled."""
    start = Clock()

    def clock() -> datetime:
        start.advance(seconds=1)  # every look at the clock: later than any claim lasts
        return start.now

    names = [f"channel_{number}" for number in range(12)]
    for name in names:
        channel_server.channel(name, name, [Post(1, start.now - timedelta(minutes=1), "РДК")])
    repo.sync_config([FeedSpec(channel_url(name)) for name in names], [RVC], start.now)
    async with Fetcher(
        timeout=5,
        allow_private_addresses=True,
        channel_bases=(channel_server.url,),
        pace=HostPace({"t.me": 0.01}),
    ) as fetcher:
        poller = Poller(
            AsyncStorage(repo),
            fetcher,
            clock=clock,
            default_interval=timedelta(hours=1),
            concurrency=4,
            per_host=1,
            lease=timedelta(milliseconds=500),
        )
        outcomes = await poller.poll()

    assert sorted(o.feed_url for o in outcomes) == sorted(channel_url(n) for n in names)
    assert {name: channel_server.hits(name) for name in names} == dict.fromkeys(names, 1)


async def test_a_base_that_moves_for_good_does_not_move_the_channel(
    repo: Repository, channel_server: ChannelServer, feed_server: FeedServer, clock: Clock
) -> None:
    """A mirror that answers 301 to another host: the channel is still known by its address."""
    channel_server.channel(NAME, "RVC", hourly_posts(2, newest=clock(), text=lambda i: f"РДК {i}"))
    feed_server.redirect(f"/s/{NAME}", f"{channel_server.url}/s/{NAME}", status=301)
    _follow(repo, clock, NAME)
    async with Fetcher(
        timeout=5, allow_private_addresses=True, channel_bases=(feed_server.url,)
    ) as fetcher:
        [outcome] = await _poller(repo, fetcher, clock).poll()

    assert (outcome.error, outcome.new_items) == (None, 2)
    assert [feed.url for feed in repo.feeds()] == [channel_url(NAME)]


async def test_posts_a_gap_longer_than_the_depth_leaves_unread_are_counted(
    repo: Repository, channel_server: ChannelServer, fetcher: Fetcher, clock: Clock
) -> None:
    channel = channel_server.channel(NAME, "RVC", hourly_posts(5, newest=clock()))
    _follow(repo, clock, NAME)
    poller = _poller(repo, fetcher, clock, ChannelDepth(timedelta(hours=24), 40))
    await poller.poll()
    assert _state(repo, NAME).missed_posts == 0  # a first poll's depth misses nothing

    # Down for a day and a half, 100 posts meanwhile: 40 are read back, 60 are not.
    for number in range(100):
        channel.post(f"РДК {number}", at=clock() + timedelta(minutes=15 * (number + 1)))
    clock.advance(hours=36)
    [outcome] = await poller.poll()

    assert outcome.new_items == 40
    assert _stored_numbers(repo) == list(range(66, 106))
    assert _state(repo, NAME).missed_posts == 60


async def test_a_base_that_cannot_be_reached_is_passed_over_for_the_next_pages(
    channel_server: ChannelServer, clock: Clock
) -> None:
    """A blocked t.me is not tried before every page: once it fails, the fallback goes first."""
    accepted: list[int] = []
    with socket.socket() as refusing:
        # Takes each connection and closes it at once: a base that answers nothing.
        refusing.bind(("127.0.0.1", 0))
        refusing.listen()
        stop = threading.Event()

        def hang_up() -> None:
            refusing.settimeout(0.05)
            while not stop.is_set():
                try:
                    connection, _ = refusing.accept()
                except TimeoutError:
                    continue
                accepted.append(1)
                connection.close()

        closer = threading.Thread(target=hang_up, daemon=True)
        closer.start()
        channel_server.channel(NAME, "RVC", hourly_posts(2, newest=clock()))
        dead = f"http://127.0.0.1:{refusing.getsockname()[1]}"
        try:
            async with Fetcher(
                timeout=5, allow_private_addresses=True, channel_bases=(dead, channel_server.url)
            ) as fetcher:
                pages = [await fetcher.fetch(channel_url(NAME)) for _ in range(3)]
        finally:
            stop.set()
            closer.join(timeout=5)

    assert all(page.final_url.startswith(channel_server.url) for page in pages)
    assert len(accepted) == 1  # the first page only
    assert channel_server.hits(NAME) == 3
