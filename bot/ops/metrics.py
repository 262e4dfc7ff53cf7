"""Prometheus metrics of one feedwatch process, and the small HTTP server that serves them.

What polling and delivery did is counted as it happens (`record_*`); the outbox backlog and the
failing feeds are read from the database at scrape time. Each app has a registry of its own, so that
several apps in one process (tests) never share counts. The server also answers /healthz from a
check it is given, and runs in a daemon thread beside the event loop.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric

from bot.core.domain import PollOutcome
from bot.core.errors import FeedwatchError, StorageError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

OUTCOMES = ("new_items", "unchanged", "failed", "gone")
"""How a poll of one feed ended, as the `outcome` label says it: new items stored; nothing new
(304, the same body, or no item it had not stored); failed; gone (410: the feed is disabled)."""

# A fetch may take up to the request timeout (30 s by default); a parse, from a millisecond to a
# few seconds for a huge feed.
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PARSE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def outcome_of(outcome: PollOutcome) -> str:
    """The `outcome` label of one feed's poll."""
    if outcome.gone:
        return "gone"
    if outcome.error:
        return "failed"
    return "new_items" if outcome.new_items else "unchanged"


class DatabaseFigures(Protocol):
    """The counts the gauges read at scrape time (the repository has them)."""

    def count_outbox_backlog(self) -> int: ...

    def count_failing_feeds(self) -> int: ...


class _DatabaseGauges:
    """Gauges read from the database when scraped; when it cannot answer they are left out of that
    scrape (/healthz says why), rather than failing the whole page."""

    def __init__(self, figures: DatabaseFigures) -> None:
        self._figures = figures

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "feedwatch_outbox_backlog",
                "Outbox rows waiting to be sent to active chats",
            ),
            GaugeMetricFamily(
                "feedwatch_feeds_failing",
                "Enabled feeds whose last poll failed (one failure or more in a row)",
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterator[Metric]:
        try:
            backlog = self._figures.count_outbox_backlog()
            failing = self._figures.count_failing_feeds()
        except StorageError as error:
            log.warning("metrics: the database gauges are left out: %s", error)
            return
        backlog_family, failing_family = self._families()
        backlog_family.add_metric([], backlog)
        failing_family.add_metric([], failing)
        yield backlog_family
        yield failing_family


class Metrics:
    """Every metric of one app, in a registry of its own."""

    def __init__(self, figures: DatabaseFigures | None = None) -> None:
        self.registry = CollectorRegistry()
        self.feeds_polled = Counter(
            "feedwatch_feeds_polled",
            "Feeds polled, by outcome: new_items, unchanged, failed, gone",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in OUTCOMES:  # every outcome is shown from the start, at 0
            self.feeds_polled.labels(outcome=outcome)
        self.fetch_seconds = Histogram(
            "feedwatch_fetch_seconds",
            "Time to fetch a feed, failed fetches included",
            buckets=FETCH_BUCKETS,
            registry=self.registry,
        )
        self.parse_seconds = Histogram(
            "feedwatch_parse_seconds",
            "Time to parse a changed feed body (with parse workers: waiting for one included)",
            buckets=PARSE_BUCKETS,
            registry=self.registry,
        )
        self.items_stored = Counter(
            "feedwatch_items_stored", "New feed items stored", registry=self.registry
        )
        self.hits_stored = Counter(
            "feedwatch_hits_stored",
            "Hits stored (an item matching a watchlist)",
            registry=self.registry,
        )
        self.messages_sent = Counter(
            "feedwatch_messages_sent",
            "Digest and notice messages Telegram accepted",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "feedwatch_telegram_rate_limited",
            "Sends Telegram refused with 429 Too Many Requests",
            registry=self.registry,
        )
        if figures is not None:
            self.registry.register(_DatabaseGauges(figures))

    def record_poll(self, outcomes: Iterable[PollOutcome]) -> None:
        """Count one poll round's outcomes."""
        for outcome in outcomes:
            self.feeds_polled.labels(outcome=outcome_of(outcome)).inc()
            if outcome.fetch_seconds is not None:
                self.fetch_seconds.observe(outcome.fetch_seconds)
            if outcome.parse_seconds is not None:
                self.parse_seconds.observe(outcome.parse_seconds)
            self.items_stored.inc(outcome.new_items)
            self.hits_stored.inc(outcome.new_hits)

    def record_sent(self, messages: int = 1) -> None:
        self.messages_sent.inc(messages)

    def record_rate_limited(self) -> None:
        self.rate_limited.inc()


# --- the HTTP server -----------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """No access log: a scrape every few seconds would drown the bot's own lines."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow client never holds up shutdown

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is not worth a traceback on stderr.
        log.debug("metrics: answering %s failed", client_address, exc_info=True)


def _routes(metrics_app: WSGIApplication, health: Callable[[], list[str]]) -> WSGIApplication:
    """/metrics from prometheus-client; /healthz: "ok" with 200, or each problem on a line with 503."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            return metrics_app(environ, start_response)
        if path != "/healthz":
            status, text = "404 Not Found", "not found; feedwatch serves /metrics and /healthz\n"
        elif environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            status, text = "405 Method Not Allowed", "use GET\n"
        else:
            try:
                problems = health()
            except Exception as error:  # a bug in the check must still give an answer
                log.exception("health check failed")
                problems = [f"the health check failed: {error}"]
            status = "503 Service Unavailable" if problems else "200 OK"
            text = "".join(f"{problem}\n" for problem in problems) or "ok\n"
        body = text.encode()
        start_response(
            status,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return app


class MetricsServer:
    """/metrics and /healthz over HTTP, served by a thread of its own."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @classmethod
    def start(
        cls, address: tuple[str, int], metrics: Metrics, health: Callable[[], list[str]]
    ) -> MetricsServer:
        host, port = address

        class Server(_ThreadingServer):
            pass  # a class of its own, so that the address family is set for this server only

        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            Server.address_family = infos[0][0]
            app = _routes(make_wsgi_app(metrics.registry), health)
            server = make_server(host, port, app, Server, handler_class=_QuietHandler)
        except OSError as error:
            reason = error.strerror or str(error)
            raise FeedwatchError(
                f"cannot serve /metrics and /healthz on {host}:{port}: {reason}; change "
                '[metrics] listen, or set it to "" to turn them off'
            ) from error
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},  # how long close() may wait for the loop
            name="feedwatch-metrics",
            daemon=True,
        )
        thread.start()
        log.info("serving /metrics and /healthz on %s:%d", host, server.server_port)
        return cls(server, thread)

    @property
    def port(self) -> int:
        """The port bound (the one the system chose when the configured port was 0)."""
        return self._server.server_port

    def close(self) -> None:
        """Stop serving and wait for the thread (blocks up to a tenth of a second)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
