"""The feeds' HTTP/1.1 transport against a server that writes exactly the bytes each test gives:
every way an answer may be framed or cut off reads as it did through httpcore's pool."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.core.errors import FetchError
from bot.sources.fetch import Fetcher

BODY = b"<rss><channel><title>Wire</title></channel></rss>"


class _Scripted:
    """Answers each request on a connection with the next answer of `answers`; closes the
    connection after an answer marked so, or when none is left."""

    def __init__(self, answers: list[tuple[bytes, bool]]) -> None:
        self.answers = answers
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                await reader.readuntil(b"\r\n\r\n")
                answer, close = self.answers.pop(0)
                writer.write(answer)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def _serving(answers: list[tuple[bytes, bool]]) -> AsyncIterator[_Scripted]:
    scripted = _Scripted(answers)
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    scripted.port = server.sockets[0].getsockname()[1]
    try:
        yield scripted
    finally:
        server.close()


async def _fetch(answers: list[tuple[bytes, bool]], times: int = 1) -> tuple[list[bytes], int]:
    async for server in _serving(answers):
        async with Fetcher(allow_private_addresses=True) as fetcher:
            bodies = [
                (await fetcher.fetch(f"http://127.0.0.1:{server.port}/feed")).content
                for _ in range(times)
            ]
        return bodies, server.connections
    raise AssertionError("unreachable")


def _head(status: str, *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def _chunked(body: bytes) -> bytes:
    half = len(body) // 2
    parts = [body[:half], body[half:]]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


async def test_a_chunked_body_is_read_whole_and_its_connection_kept() -> None:
    answer = _head("200 OK", "Transfer-Encoding: chunked") + _chunked(BODY)
    bodies, connections = await _fetch([(answer, False), (answer, False)], times=2)
    assert (bodies, connections) == ([BODY, BODY], 1)


async def test_a_body_without_a_length_is_read_until_the_server_closes() -> None:
    bodies, _ = await _fetch([(_head("200 OK", "Connection: close") + BODY, True)])
    assert bodies == [BODY]


async def test_an_interim_answer_is_passed_over() -> None:
    answer = _head("100 Continue") + _head("200 OK", f"Content-Length: {len(BODY)}") + BODY
    bodies, _ = await _fetch([(answer, False)])
    assert bodies == [BODY]


async def test_a_server_that_closes_before_answering_is_named_so() -> None:
    with pytest.raises(FetchError, match="Server disconnected without sending a response"):
        await _fetch([(b"", True)])


async def test_a_body_cut_short_is_an_error_not_a_shorter_feed() -> None:
    answer = _head("200 OK", "Content-Length: 1000") + BODY
    with pytest.raises(FetchError, match="peer closed connection without sending complete"):
        await _fetch([(answer, True)])


async def test_a_chunked_body_cut_short_is_an_error() -> None:
    answer = _head("200 OK", "Transfer-Encoding: chunked") + _chunked(BODY)[:-5]
    with pytest.raises(FetchError, match=r"HTTP error: .*incomplete chunked read"):
        await _fetch([(answer, True)])


async def test_an_answer_that_is_not_http_is_refused_in_plain_words() -> None:
    with pytest.raises(FetchError, match=r"HTTP error: .*illegal status line"):
        await _fetch([(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", True)])


async def test_a_connection_left_in_the_middle_of_a_body_is_not_used_again() -> None:
    # The cap stops reading a body midway: that connection has the rest of it still to come, so
    # the next request connects anew.
    big = b"x" * 5000
    answer = _head("200 OK", f"Content-Length: {len(big)}") + big
    small = _head("200 OK", f"Content-Length: {len(BODY)}") + BODY
    async for server in _serving([(answer, False), (small, False)]):
        async with Fetcher(allow_private_addresses=True, max_bytes=1000) as fetcher:
            url = f"http://127.0.0.1:{server.port}/feed"
            with pytest.raises(FetchError, match="larger than"):
                await fetcher.fetch(url)
            again = await fetcher.fetch(url)
        assert (again.content, server.connections) == (BODY, 2)
