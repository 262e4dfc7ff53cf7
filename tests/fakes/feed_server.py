"""A real HTTP server on 127.0.0.1 that serves feeds to tests, with conditional GET, redirects,
gzip bodies, requests that hang until the server stops and bodies streamed piece by piece (huge,
endless or dripped); it records every request it gets.

Use the `feed_server` fixture, or `with FeedServer() as server:` where a fixture does not fit.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

DEFAULT_CONTENT_TYPE = "application/rss+xml; charset=utf-8"


class CaseInsensitiveDict(Mapping[str, str]):
    """Request headers as the server got them, looked up without regard to case."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for key, value in items:
            self._items[key.lower()] = (key, value)

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __repr__(self) -> str:
        return f"CaseInsensitiveDict({dict(self.items())!r})"


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    hang: bool = False  # hold the request open until the server stops (for timeout tests)
    # Hold each request until the test releases the semaphore once for it (concurrency tests).
    gate: threading.Semaphore | None = None
    # A body sent piece by piece as `stream()` yields it, with no Content-Length unless `headers`
    # gives one: for bodies too big to build or that never end. Sending stops when the client
    # hangs up or the server stops.
    stream: Callable[[], Iterable[bytes]] | None = None
    # Seconds to wait after each piece of `stream` (cut short when the server stops): a drip.
    pace: float = 0.0


@dataclass(frozen=True)
class RecordedFeedRequest:
    """One request the server received: the path as sent (query included) and its headers."""

    path: str
    headers: CaseInsensitiveDict
    method: str = "GET"


def _charset(content_type: str) -> str:
    message = Message()
    message["content-type"] = content_type
    return message.get_content_charset() or "utf-8"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.0: one request per connection, so no keep-alive thread outlives a test.
    protocol_version = "HTTP/1.0"
    timeout = 10  # a client that connects and never sends must not hold stop() for long

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.owner
        headers = CaseInsensitiveDict(self.headers.items())
        owner._record(RecordedFeedRequest(self.path, headers, self.command))
        route = owner._route(urlsplit(self.path).path)
        if route is None:
            self._send(404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found", send_body)
            return
        if route.hang:
            owner._stopping.wait()
            return  # the connection closes without an answer
        if route.gate is not None:
            owner._enter()
            try:
                while not route.gate.acquire(timeout=0.05):
                    if owner._stopping.is_set():
                        return
            finally:
                owner._leave()
        answer = dict(route.headers)
        if route.etag is not None:
            answer["ETag"] = route.etag
        if route.last_modified is not None:
            answer["Last-Modified"] = route.last_modified
        if route.stream is not None:
            self._stream(route, answer, send_body)
            return
        if self._not_modified(route):
            answer.pop("Content-Type", None)
            answer.pop("Content-Encoding", None)
            self._send(304, answer, b"", send_body=False)
            return
        self._send(route.status, answer, route.body, send_body)

    def _not_modified(self, route: Route) -> bool:
        if route.status != 200:
            return False
        if route.etag is not None and self.headers.get("If-None-Match") == route.etag:
            return True
        return (
            route.last_modified is not None
            and self.headers.get("If-Modified-Since") == route.last_modified
        )

    def _send(self, status: int, headers: dict[str, str], body: bytes, send_body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and body:
            self.wfile.write(body)

    def _stream(self, route: Route, headers: dict[str, str], send_body: bool) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        self.send_response(route.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not send_body or route.stream is None:
            return
        try:
            for piece in route.stream():
                if owner._stopping.is_set():
                    return
                self.wfile.write(piece)
                owner._sent(path, len(piece))
                if route.pace and owner._stopping.wait(route.pace):
                    return
        except OSError:
            return  # the client hung up (a size cap or a timeout): expected

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded requests are the log."""


class _Server(ThreadingHTTPServer):
    # server_close() joins every request thread (block_on_close), so nothing outlives stop().
    daemon_threads = True
    owner: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early (timeout tests) is expected, not an error to print."""


class FeedServer:
    """A feed server on a loopback address (127.0.0.1 unless told) and a random port, serving from
    a background thread."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        # Any loopback address: 127.0.0.2 stands in for a second, "public" server in guard tests.
        self.host = host
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedFeedRequest] = []
        self._bytes_sent: dict[str, int] = {}
        # Requests held at a gate right now, and the most there ever were at once.
        self.in_flight = 0
        self.most_in_flight = 0
        self._changed = threading.Condition(self._lock)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FeedServer:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # release hanging requests first, so shutdown is prompt
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the feed server is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- routes ---------------------------------------------------------------------------------

    def route(self, path: str, route: Route) -> str:
        """Serve `route` on `path`; returns the full URL."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        with self._lock:
            self._routes[path] = route
        return self.url + path

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        status: int = 200,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Serve `body` on `path` (a str is encoded in the charset of `content_type`).

        Headers given in `headers` are sent as they are; with `Content-Encoding: gzip` the body
        must already be compressed."""
        data = body.encode(_charset(content_type)) if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type, **(headers or {})}
        return self.route(
            path,
            Route(
                body=data,
                status=status,
                headers=all_headers,
                etag=etag,
                last_modified=last_modified,
            ),
        )

    def add_file(
        self, path: str, file: Path, content_type: str = DEFAULT_CONTENT_TYPE, **kwargs: Any
    ) -> str:
        """Serve the bytes of `file` on `path`."""
        return self.add(path, file.read_bytes(), content_type=content_type, **kwargs)

    def redirect(self, path: str, to: str, status: int = 301) -> str:
        """Answer `path` with a redirect to `to` (a path on this server or a full URL)."""
        return self.route(path, Route(status=status, headers={"Location": to}))

    def hang(self, path: str) -> str:
        """Accept requests on `path` and never answer, until the server stops."""
        return self.route(path, Route(hang=True))

    def stream(
        self,
        path: str,
        pieces: Callable[[], Iterable[bytes]],
        *,
        pace: float = 0.0,
        content_type: str = DEFAULT_CONTENT_TYPE,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Answer `path` with the body `pieces()` yields, written as it comes (no Content-Length
        unless `headers` has one), waiting `pace` seconds after each piece."""
        all_headers = {"Content-Type": content_type, **(headers or {})}
        return self.route(path, Route(status=status, headers=all_headers, stream=pieces, pace=pace))

    def drip(
        self,
        path: str,
        body: bytes,
        *,
        every: float = 1.0,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> str:
        """Send the headers at once (Content-Length included), then `body` one byte every `every`
        seconds, until it is all sent, the client hangs up or the server stops."""
        return self.stream(
            path,
            lambda: (body[i : i + 1] for i in range(len(body))),
            pace=every,
            content_type=content_type,
            headers={"Content-Length": str(len(body))},
        )

    def endless(
        self,
        path: str,
        piece: bytes,
        *,
        head: bytes = b"",
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> str:
        """A 200 whose body is `head`, then `piece` again and again, never ending (no
        Content-Length): it stops only when the client hangs up or the server stops."""
        return self.stream(
            path,
            lambda: itertools.chain([head], itertools.repeat(piece)),
            content_type=content_type,
        )

    def bytes_sent(self, path: str) -> int:
        """How many body bytes streamed routes (`stream`, `drip`, `endless`) sent on `path`."""
        with self._lock:
            return self._bytes_sent.get(path, 0)

    def hits(self, path: str) -> int:
        """How many requests asked for `path`; a path without a query counts any query."""
        with self._lock:
            if "?" in path:
                return sum(1 for request in self.requests if request.path == path)
            return sum(1 for request in self.requests if urlsplit(request.path).path == path)

    def wait_until(self, predicate: Callable[[FeedServer], bool], timeout: float = 10.0) -> None:
        """Block until `predicate(self)` holds (checked whenever a gated request comes or goes)."""
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout=timeout):
                raise AssertionError(f"the feed server did not get there in {timeout} s")

    # -- used by the handler thread -------------------------------------------------------------

    def _enter(self) -> None:
        with self._changed:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self._changed.notify_all()

    def _leave(self) -> None:
        with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def _record(self, request: RecordedFeedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _sent(self, path: str, count: int) -> None:
        with self._lock:
            self._bytes_sent[path] = self._bytes_sent.get(path, 0) + count

    def _route(self, path: str) -> Route | None:
        with self._lock:
            return self._routes.get(path)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A started `FeedServer`, stopped after the test."""
    with FeedServer() as server:
        yield server
