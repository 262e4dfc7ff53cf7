"""Connections of the fetcher, counted by a real HTTP/1.1 server: requests to a host, 304s too,
share a connection while the server keeps it open, and TLS runs over asyncio's own connections."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import FetchError
from bot.sources.address_guard import GuardedBackend, guarded_transport
from bot.sources.fetch import Fetcher
from tests.builders import rss

BODY = rss(("1", "RVC raid", "Fighters crossed the border"))
ETAG = '"v1"'


class _Handler(BaseHTTPRequestHandler):
    server: _KeepAliveServer
    # HTTP/1.1: the connection stays open after an answer, for the client to send the next.
    protocol_version = "HTTP/1.1"
    timeout = 10  # an idle connection the client never closes must not outlive the test by much

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_GET(self) -> None:
        # Closed after this answer though it did not say so, as a server does at its keep-alive
        # limit.
        self.close_connection = self.server.close_after_answer
        if self.headers.get("If-None-Match") == ETAG:
            self.send_response(304)
            self.send_header("ETag", ETAG)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("ETag", ETAG)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _KeepAliveServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # an idle keep-alive connection's thread is not waited for

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.connections = 0
        self.context = context
        self.close_after_answer = False
        self.closed = threading.Event()  # set when the server has closed a connection

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed.set()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is expected."""

    @property
    def url(self) -> str:
        scheme = "https" if self.context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


@contextmanager
def _serving(server: _KeepAliveServer) -> Iterator[_KeepAliveServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def keep_alive_server() -> Iterator[_KeepAliveServer]:
    with _serving(_KeepAliveServer()) as server:
        yield server


async def test_conditional_gets_answered_304_share_one_connection(
    keep_alive_server: _KeepAliveServer,
) -> None:
    # A 304 closed before its end (it has no body, but httpcore reads to the end of a response
    # before it hands its connection to the next request) took its connection with it: a warm
    # poll connected anew for every feed of a host, whatever the server allowed.
    async with Fetcher(allow_private_addresses=True) as fetcher:
        for n in range(5):
            fetched = await fetcher.fetch(f"{keep_alive_server.url}/feed/{n}.rss", etag=ETAG)
            assert fetched.status == 304
    assert keep_alive_server.connections == 1


async def test_one_request_after_another_to_a_host_uses_one_connection(
    keep_alive_server: _KeepAliveServer,
) -> None:
    async with Fetcher(allow_private_addresses=True) as fetcher:
        for n in range(5):
            fetched = await fetcher.fetch(f"{keep_alive_server.url}/feed/{n}.rss")
            assert fetched.content == BODY
    assert keep_alive_server.connections == 1


async def test_a_connection_the_server_closed_while_idle_is_not_used_again(
    keep_alive_server: _KeepAliveServer,
) -> None:
    keep_alive_server.close_after_answer = True
    async with Fetcher(allow_private_addresses=True) as fetcher:
        for n in range(3):
            keep_alive_server.closed.clear()
            fetched = await fetcher.fetch(f"{keep_alive_server.url}/feed/{n}.rss")
            assert fetched.content == BODY
            await asyncio.to_thread(keep_alive_server.closed.wait, 10)
    assert keep_alive_server.connections == 3


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(  # noqa: S603 - the openssl command, with arguments of the test's own
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


async def test_https_goes_through_the_guard_and_names_the_host_in_tls(tmp_path: Path) -> None:
    key, cert = _certificate(tmp_path)
    served = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    served.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=str(cert))
    checked: list[str] = []

    def refuse(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        checked.append(str(address))
        return None  # this test's one server is on loopback

    with _serving(_KeepAliveServer(served)) as server:
        transport = guarded_transport(GuardedBackend(refuse=refuse), verify=trusted)
        async with Fetcher(transport=transport) as fetcher:
            first = await fetcher.fetch(f"{server.url}/a.rss")
            again = await fetcher.fetch(f"{server.url}/a.rss", etag=ETAG)
        assert (first.status, first.content, again.status) == (200, BODY, 304)
        assert (server.connections, checked) == (1, ["127.0.0.1"])
        # A certificate the client does not trust is refused in plain words.
        async with Fetcher(transport=guarded_transport(GuardedBackend(refuse=refuse))) as other:
            with pytest.raises(FetchError, match=r"cannot connect: .*CERTIFICATE_VERIFY_FAILED"):
                await other.fetch(f"{server.url}/a.rss")


async def test_as_many_requests_at_once_as_the_caller_makes() -> None:
    # httpx's pool held a request back when 100 connections were open, whatever `[polling]
    # concurrency` (up to 1,024) allowed; this server answers only once all are in.
    wanted = 120
    arrived = 0
    everyone = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal arrived
        await reader.readuntil(b"\r\n\r\n")
        arrived += 1
        if arrived == wanted:
            everyone.set()
        await everyone.wait()
        writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 0\r\n\r\n')
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, backlog=wanted)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Fetcher(allow_private_addresses=True) as fetcher, asyncio.timeout(30):
            fetched = await asyncio.gather(
                *(fetcher.fetch(f"http://127.0.0.1:{port}/{n}", etag=ETAG) for n in range(wanted))
            )
    finally:
        server.close()
    assert [f.status for f in fetched] == [304] * wanted


def test_fetching_loads_no_anyio(keep_alive_server: _KeepAliveServer) -> None:
    # httpcore's pool made anyio locks for each request, and loading anyio's asyncio backend cost
    # a start-up 40-90 ms; the feeds' transport needs neither.
    script = (
        "import asyncio, sys\n"
        "from bot.sources.fetch import Fetcher\n"
        "async def main():\n"
        "    async with Fetcher(allow_private_addresses=True) as fetcher:\n"
        f"        await fetcher.fetch('{keep_alive_server.url}/a.rss')\n"
        "asyncio.run(main())\n"
        "print(sorted(name for name in sys.modules if name.startswith('anyio._backends')))\n"
    )
    done = subprocess.run(  # noqa: S603 - this interpreter, with the test's own script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
