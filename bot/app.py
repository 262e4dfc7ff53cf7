"""The composition root: the one place that builds every adapter from the settings and wires them.

`FeedwatchApp` is used as an async context manager by every command: `run` serves forever, `poll`,
`digest` and `demo` do one round and leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from bot.chat.console import ConsoleSink
from bot.core.channel_depth import ChannelDepth
from bot.core.domain import CONSOLE_CHAT_ID, PollOutcome
from bot.core.errors import FeedwatchError, StorageError
from bot.core.matching.morphology import default_morphology
from bot.ops.config import Settings, format_duration
from bot.ops.health import Health
from bot.ops.heap import freeze_startup_objects, thaw_startup_objects
from bot.ops.metrics import Metrics, MetricsServer
from bot.ops.outages import OutageReporter, plain
from bot.ops.replica import UpdatesLock, replica_name, updates_lock_key
from bot.services.alerts import Alerter
from bot.services.courier import ChatGate, Courier, DigestSink, telegram_outage
from bot.services.deliver import Deliverer, DeliveryOutcome
from bot.services.poll import ParsePool, Poller
from bot.sources import feedparser_tuning
from bot.sources.fetch import Fetcher
from bot.storage.asynchronous import AsyncStorage
from bot.storage.repository import Repository
from bot.storage.store import reason

# python-telegram-bot and the chat handlers load only when a token is set: a command that polls
# or prints digests to the terminal starts without them (a fifth of a second).
# So do the scheduler (apscheduler, and multiprocessing under it), for `start()`, and the feed
# checks of /addfeed, for a bot with a token: `poll --once` needs neither (start-up, issue 19).
if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from telegram import Bot

    from bot.chat.commands import AnyApplication

log = logging.getLogger(__name__)

UPDATES_LOCK_RETRY = timedelta(seconds=3)
"""How often a replica without the Telegram updates lock tries for it (and the holder checks it)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _failure(error: Exception) -> str:
    """Why a round failed, in a few words: the database's own reason, or the exception's."""
    if isinstance(error, StorageError):
        return f"database: {str(error).removeprefix('database error: ')}"
    return plain(error)


def build_application(settings: Settings) -> AnyApplication:
    """python-telegram-bot's Application, pointed at `api_url` when one is set (tests, local servers)."""
    from telegram.ext import Application, ApplicationBuilder

    from bot.chat.pacing import PacedRateLimiter

    # Opt in to PTB 23's time periods as timedelta: 22.x otherwise warns on every RetryAfter it makes.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = Application.builder()
    builder = builder.token(settings.telegram.token.get_secret_value())
    if settings.telegram.api_url:
        base = settings.telegram.api_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    # Telegram's limits, paced rather than in bursts: the library's defaults let 30 sends (20 to a
    # group) through at once and then keep the rate, which a strict limit answers with 429s
    # (measured by benchmarks/deliver.py). At most 30 in any second overall, as Telegram counts
    # them (a sliding window of arrivals); 20 a minute to a group, with a burst of 4 so that
    # a few quick commands in a group are answered at once; a private chat a burst of
    # `private_burst`, then one a second. 429s that still come reach our sender, which keeps the
    # outbox rows.
    limiter = PacedRateLimiter(
        private_burst=settings.telegram.private_burst,
        group_max_rate=4,
        group_time_period=12,
        max_retries=0,
    )
    return builder.rate_limiter(limiter).build()


async def _initialize(application: AnyApplication, api_url: str) -> None:
    """Say in plain words why the bot cannot start, and never with the token in the sentence."""
    from telegram.error import InvalidToken, NetworkError, TelegramError

    where = api_url or "api.telegram.org"
    try:
        try:
            await application.initialize()
        except BaseException:
            # The HTTP clients were opened before getMe failed; close them with the bot.
            await application.bot.shutdown()
            raise
    except InvalidToken as error:
        raise FeedwatchError(
            "Telegram refused the bot token; check FEEDWATCH_TELEGRAM_TOKEN or [telegram] token"
        ) from error
    except NetworkError as error:
        raise FeedwatchError(f"cannot reach the Telegram Bot API at {where}") from error
    except TelegramError as error:
        raise FeedwatchError(f"the Telegram Bot API at {where} refused to start the bot") from error


class FeedwatchApp:
    """Every adapter of one feedwatch process, built from settings."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        stdout: TextIO | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._stdout = stdout
        self.application: AnyApplication | None = None
        self._started = False
        # This process among the replicas that share a database (their claims carry the name).
        self.replica = replica_name()
        self._updates_lock: UpdatesLock | None = None
        self._updates_task: asyncio.Task[None] | None = None
        self._metrics_server: MetricsServer | None = None
        # A tick that fails logs through these: one line when the trouble begins, one a minute
        # while it lasts, one when it ends, instead of a traceback on every tick. The database's
        # is shared by both ticks (and could be by anything else that reaches the database).
        self.database_outage = OutageReporter("the database", logger=log)
        self._polling_outage = OutageReporter("polling", logger=log)
        self._digest_outage = OutageReporter("sending digests", logger=log)

    async def __aenter__(self) -> FeedwatchApp:
        # Whatever was opened is closed again, in reverse order, if a later step fails.
        self._resources = AsyncExitStack()
        try:
            await self._open(self._resources)
        except BaseException:
            await self._resources.aclose()
            raise
        return self

    async def _open(self, resources: AsyncExitStack) -> None:
        settings = self.settings
        self.repo = await asyncio.to_thread(Repository.open, settings.database.url)
        self.storage = AsyncStorage(self.repo)
        resources.push_async_callback(asyncio.to_thread, self.repo.close)
        self.metrics = Metrics(self.repo)
        self.health = Health(clock=self.clock, tick=settings.polling.tick, ping=self.repo.ping)
        now = self.clock()
        await self.storage.sync_config(settings.feeds, settings.watchlists, now)
        self.fetcher = Fetcher.configured(settings.polling)
        resources.push_async_callback(self.fetcher.aclose)
        # feedparser, faster with the same results, for parses in this process (`parse_workers =
        # 0`, /addfeed's check); the pool's workers install it themselves.
        feedparser_tuning.install()
        # Made again by the poller whenever a worker dies; this shuts down whichever is current.
        pool = ParsePool.start(settings.polling.parse_workers, clock=self.clock)
        if pool is not None:
            resources.callback(pool.shutdown)
        self.poller = Poller(
            self.storage,
            self.fetcher,
            clock=self.clock,
            default_interval=settings.polling.interval,
            concurrency=settings.polling.concurrency,
            per_host=settings.polling.per_host,
            parse_pool=pool,
            owner=self.replica,
            lease=settings.polling.lease,
            channel_depth=ChannelDepth(
                settings.polling.channel_depth, settings.polling.channel_depth_posts
            ),
            archive_age=settings.polling.archive_age,
        )
        sink: DigestSink
        if settings.telegram.token:
            from bot.chat.sender import TelegramSink

            self.application = build_application(settings)
            await _initialize(self.application, settings.telegram.api_url)
            resources.push_async_callback(self.application.shutdown)
            sink = TelegramSink(self.application.bot, clock=self.clock, metrics=self.metrics)
            # A database used without a token before has a terminal "chat"; Telegram cannot reach it.
            await self.storage.deactivate_chat(CONSOLE_CHAT_ID, "a Telegram token is configured")
        else:
            sink = ConsoleSink(self._stdout)
            await self.storage.subscribe_console_to_all(now)
        # One gate for every sender of this process: a 429 to a digest keeps alerts away too.
        gate = ChatGate(
            self.storage, clock=self.clock, owner=self.replica, lease=settings.polling.lease
        )
        outage = telegram_outage()
        self.deliverer = Deliverer(
            self.storage,
            Courier(sink, gate, outage=outage),
            clock=self.clock,
            default_interval=settings.digest.interval,
        )
        self.alerter = Alerter(
            self.storage,
            Courier(sink, gate.as_sender("spikes"), outage=outage),
            clock=self.clock,
        )
        if self.application is not None:
            from bot.chat.commands import ChatCommands
            from bot.services.feed_check import FeedChecker

            commands = ChatCommands(
                self.storage, self.deliverer, FeedChecker(self.fetcher), clock=self.clock
            )
            commands.install(self.application)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        await self._resources.aclose()

    async def poll_once(self, *, all_feeds: bool = False) -> list[PollOutcome]:
        try:
            mark = await self.alerter.mark()
            outcomes = await self.poller.poll(all_feeds=all_feeds)
        except Exception as error:
            self.health.round_failed(_failure(error))
            raise
        self._round_finished(outcomes)
        await self._spike_alerts(mark, outcomes)
        return outcomes

    async def _spike_alerts(self, mark: int, outcomes: list[PollOutcome]) -> None:
        """Spike alerts go at once after a round that stored hits (and a 429's wait, when over)."""
        try:
            await self.alerter.run(mark if any(o.new_hits for o in outcomes) else None)
        except Exception:  # alerts must never stop polling
            log.exception("spike alerts failed")

    def _round_finished(self, outcomes: list[PollOutcome]) -> None:
        self.metrics.record_poll(outcomes)
        self.health.round_finished(outcomes, self.poller.internal_failures)

    async def digest_once(self) -> list[DeliveryOutcome]:
        return await self.deliverer.deliver_due()

    async def _poll_tick(self) -> None:
        try:
            await self.poll_once()
        except Exception as error:  # one bad round must not stop the schedule
            self._tick_failed(self._polling_outage, error)
        else:
            self._tick_worked(self._polling_outage)

    async def _digest_tick(self) -> None:
        try:
            await self.deliverer.deliver_due()
        except Exception as error:
            self._tick_failed(self._digest_outage, error)
        else:
            self._tick_worked(self._digest_outage)

    def _tick_failed(self, outage: OutageReporter, error: Exception) -> None:
        """The database's trouble is the database's outage, told in its reason alone; anything
        else is the tick's own (a bug), with its traceback the first time."""
        if isinstance(error, StorageError):
            self.database_outage.failed(self.clock(), _failure(error).removeprefix("database: "))
        else:
            outage.failed(self.clock(), plain(error), error=error)

    def _tick_worked(self, outage: OutageReporter) -> None:
        now = self.clock()
        self.database_outage.worked(now)
        outage.worked(now)

    async def start(self, *, schedule: bool = True) -> None:
        """Start the schedule (unless told not to: tests drive the rounds themselves) and, with a
        token, the Telegram updates; returns at once."""
        polling, digest = self.settings.polling, self.settings.digest
        # The Russian and Ukrainian dictionaries load once, here, not inside the first poll or
        # /test of a bot that runs; a one-shot command (poll --once) loads them only if an item
        # is to be matched.
        await asyncio.to_thread(default_morphology)
        await self._serve_metrics()
        # SQLite means one process: claims still in the database are a crashed run's own.
        sqlite = self.repo.engine.dialect.name == "sqlite"
        if sqlite and (cleared := await self.storage.clear_leases()):
            log.info("released %d claims left by an earlier run", cleared)
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.scheduler: AsyncIOScheduler = AsyncIOScheduler(timezone=UTC)
        # One repeating tick asks storage what is due, instead of one job per feed.
        ticks = (
            ("poll", polling.tick, self._poll_tick),
            ("digest", digest.tick, self._digest_tick),
        )
        for job_id, every, job in ticks:
            self.scheduler.add_job(
                job,
                "interval",
                seconds=every.total_seconds(),
                next_run_time=self.clock(),
                max_instances=1,
                coalesce=True,
                id=job_id,
            )
        if schedule:
            self.scheduler.start()
        if self.application is not None:
            await self._introduce(self.application.bot)
            await self.application.start()
            await self._start_updates()
        # Start-up's objects outlive every poll: a full collection no longer walks them (2 s of a
        # warm round of 20,000 feeds walked them again and again). Frozen once started, so that a
        # start that fails leaves nothing frozen; `stop` gives them back.
        freeze_startup_objects()
        self._started = True

    @staticmethod
    async def _introduce(bot: Bot) -> None:
        """The menu and the bot's descriptions, in English for everyone and in Russian and
        Ukrainian for users whose Telegram app speaks them."""
        from bot.chat.commands import description, menu, short_description

        for lang in ("en", "ru", "uk"):
            code = "" if lang == "en" else lang
            await bot.set_my_commands(menu(lang), language_code=code or None)
            await bot.set_my_description(description(lang), language_code=code or None)
            await bot.set_my_short_description(short_description(lang), language_code=code or None)

    async def _start_updates(self) -> None:
        """Telegram updates: by webhook to every replica behind it; else by getUpdates, from one
        replica at a time on PostgreSQL (an advisory lock decides) and from this process on
        SQLite, which is one process."""
        from telegram import Update

        assert self.application is not None
        assert self.application.updater is not None
        telegram, updater = self.settings.telegram, self.application.updater
        if telegram.webhook_url:
            host, _, port = telegram.webhook_listen.rpartition(":")
            await updater.start_webhook(
                listen=host,
                port=int(port),
                url_path=urlsplit(telegram.webhook_url).path.strip("/"),
                webhook_url=telegram.webhook_url,
                secret_token=telegram.webhook_secret.get_secret_value() or None,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("taking Telegram updates by webhook on %s", telegram.webhook_listen)
        elif self.repo.engine.dialect.name == "postgresql":
            key = updates_lock_key(telegram.token.get_secret_value())
            self._updates_lock = UpdatesLock(self.repo.engine, key)
            self._updates_task = asyncio.create_task(self._lead_updates(self._updates_lock))
        else:
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)

    async def _lead_updates(self, lock: UpdatesLock) -> None:
        """Take getUpdates whenever no other replica does, and give it up when the lock's
        connection goes (another replica may have it by then)."""
        from telegram import Update

        assert self.application is not None
        assert self.application.updater is not None
        updater = self.application.updater
        while True:
            try:
                if not lock.held:
                    if await asyncio.to_thread(lock.try_acquire):
                        log.info("replica %s takes the Telegram updates", self.replica)
                        await updater.start_polling(allowed_updates=Update.ALL_TYPES)
                elif not await asyncio.to_thread(lock.still_held):
                    log.warning("lost the Telegram updates lock; stopping getUpdates")
                    if updater.running:
                        await updater.stop()
            except FeedwatchError as error:
                # The database is away: told once, as the ticks tell it, not every 3 s.
                self.database_outage.failed(self.clock(), str(error).removeprefix("database "))
            except SQLAlchemyError as error:
                self.database_outage.failed(self.clock(), reason(error))
            await asyncio.sleep(UPDATES_LOCK_RETRY.total_seconds())

    async def _serve_metrics(self) -> None:
        """/metrics and /healthz, for the long-running bot only: a one-round command (`poll
        --once`) must not take the port of the bot that runs beside it."""
        address = self.settings.metrics.address
        if address is None or self._metrics_server is not None:
            return
        server = await asyncio.to_thread(
            MetricsServer.start, address, self.metrics, self.health.problems
        )
        self._metrics_server = server
        self._resources.push_async_callback(asyncio.to_thread, server.close)

    def where(self) -> str:
        """One line of what the running bot does and where: its database, its metrics, how often
        it polls, and where digests go and how often."""
        settings = self.settings
        database = settings.database.url
        if database.startswith("sqlite:///"):
            database = f"SQLite file {Path(database.removeprefix('sqlite:///')).resolve()}"
        else:
            database = database.partition("://")[0].partition("+")[0] + " database"
        address = settings.metrics.address
        metrics = (
            f"metrics on http://{address[0]}:{self.metrics_port or address[1]}/metrics"
            if address is not None
            else "no metrics"
        )
        digests = (
            f"digests to Telegram every {format_duration(settings.digest.interval)} by default"
            if settings.telegram.token
            else f"digests printed to this terminal every {format_duration(settings.digest.interval)}"
        )
        return (
            f"running: {database}; {metrics}; feeds polled every "
            f"{format_duration(settings.polling.interval)}; {digests}; Ctrl-C stops"
        )

    @property
    def metrics_port(self) -> int | None:
        """The port /metrics is served on (the one chosen when the config said 0), once started."""
        return self._metrics_server.port if self._metrics_server is not None else None

    async def stop(self) -> None:
        if not self._started:
            return
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._updates_task is not None:
            self._updates_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._updates_task
            self._updates_task = None
        if self.application is not None:
            assert self.application.updater is not None
            if self.application.updater.running:
                await self.application.updater.stop()
            await self.application.stop()
        if self._updates_lock is not None:
            await asyncio.to_thread(self._updates_lock.release)
            self._updates_lock = None
        thaw_startup_objects()
        self._started = False

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set."""
        await self.start()
        log.info("%s", self.where())
        try:
            await stop.wait()
        finally:
            await self.stop()
