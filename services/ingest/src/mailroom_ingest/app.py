"""Wire the ingest service together and run it until SIGTERM (or a refused login)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.config import CommonSettings, DatabaseSettings, KafkaSettings
from mailroom_common.db.session import make_engine
from mailroom_common.events import AlertEvent, AlertSeverity
from mailroom_common.kafka import make_consumer, make_producer, send_event
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import hash_address
from mailroom_common.topics import ALERTS, INBOUND, MAILBOX_ACTIONS
from mailroom_ingest.actions import ActionOptions, run_actions
from mailroom_ingest.backoff import backoff_delay
from mailroom_ingest.checkpoint import CheckpointStore
from mailroom_ingest.health import HealthServer
from mailroom_ingest.imap import ImapSession, LoginFailed, make_ssl_context
from mailroom_ingest.metrics import IngestMetrics
from mailroom_ingest.owners import OwnerStore
from mailroom_ingest.publisher import Publisher
from mailroom_ingest.settings import IngestSettings, MailboxConfig
from mailroom_ingest.state import MailboxState
from mailroom_ingest.worker import MailboxWorker, Session, WorkerOptions

__all__ = ["EXIT_CRASH", "EXIT_LOGIN_FAILED", "EXIT_OK", "login_failure_message", "run_service"]

log = get_logger("mailroom_ingest.app")

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_LOGIN_FAILED = 3
_SHUTDOWN_GRACE_S = 30.0


LOGIN_CHECKS = (
    "the password: for Gmail an app password (Google Account > Security > 2-Step "
    "Verification > App passwords), not the account password",
    "that IMAP access is enabled for the account (Gmail: Settings > Forwarding and POP/IMAP)",
    "that the user name is the full email address",
    "INGEST_IMAP_USER / INGEST_IMAP_PASSWORD (or EMAIL_SENDER / EMAIL_APP_PASSWORD, "
    "or INGEST_MAILBOXES)",
)


def login_failure_message(config: MailboxConfig, server_says: str) -> str:
    """What an operator needs to fix a refused IMAP login, without the password."""
    checks = "; ".join(f"({i}) {c}" for i, c in enumerate(LOGIN_CHECKS, start=1))
    return (
        f"IMAP login refused for mailbox {config.name!r} ({config.user} at "
        f"{config.host}:{config.port}, {config.security.value}); the server said: "
        f"{server_says.strip() or '(nothing)'}. Check {checks}."
    )


async def _start_producer(
    kafka: KafkaSettings, settings: IngestSettings, stop: asyncio.Event
) -> AIOKafkaProducer | None:
    """Start the producer, retrying with backoff while Kafka is unreachable."""
    attempt = 0
    while not stop.is_set():
        producer = make_producer(kafka, client_id="mailroom-ingest")
        try:
            await producer.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await producer.stop()
            attempt += 1
            delay = backoff_delay(
                attempt, base_s=settings.backoff_base_s, max_s=settings.backoff_max_s
            )
            log.warning(
                "kafka.connect.retry", attempt=attempt, delay_s=round(delay, 2), error=str(exc)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            continue
        return producer
    return None


async def _send_login_alert(
    producer: AIOKafkaProducer, kafka: KafkaSettings, config: MailboxConfig, message: str
) -> None:
    alert = AlertEvent(
        kind="imap_login_failed",
        severity=AlertSeverity.CRITICAL,
        message=message,
        details={
            "mailbox": config.name,
            "host": config.host,
            "port": config.port,
            "user_hash": hash_address(config.user),
        },
        producer="ingest",
    )
    try:
        await asyncio.wait_for(
            send_event(producer, kafka.topic(ALERTS), alert, key=config.name), timeout=15
        )
    except Exception as exc:  # the exit and the log line still tell the operator
        log.error("alert.send_failed", error=f"{type(exc).__name__}: {exc}")


def _install_signals(stop: asyncio.Event) -> Callable[[], None]:
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)

    def remove() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)

    return remove


async def run_service(
    settings: IngestSettings,
    common: CommonSettings,
    kafka: KafkaSettings,
    database: DatabaseSettings,
    *,
    stop: asyncio.Event | None = None,
    metrics: IngestMetrics | None = None,
) -> int:
    """Run every mailbox worker until ``stop`` (or SIGTERM); return the exit code."""
    stop = stop or asyncio.Event()
    remove_signals = _install_signals(stop)
    configs = settings.mailbox_configs()
    metrics = metrics or IngestMetrics()
    states = [MailboxState(name=c.name, folder=c.folder) for c in configs]
    health = HealthServer(states, metrics, settings.health_host, settings.health_port)
    if settings.health_port:
        await health.start()
        log.info("health.listening", host=settings.health_host, port=health.bound_port)
    engine = make_engine(database)
    producer: AIOKafkaProducer | None = None
    try:
        producer = await _start_producer(kafka, settings, stop)
        if producer is None:
            return EXIT_OK
        return await _run_workers(
            settings=settings,
            common=common,
            kafka=kafka,
            configs=configs,
            states=states,
            producer=producer,
            engine=engine,
            stop=stop,
            metrics=metrics,
        )
    finally:
        remove_signals()
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()
        await engine.dispose()
        await health.stop()
        log.info("ingest.stopped")


async def _run_workers(
    *,
    settings: IngestSettings,
    common: CommonSettings,
    kafka: KafkaSettings,
    configs: list[MailboxConfig],
    states: list[MailboxState],
    producer: AIOKafkaProducer,
    engine: AsyncEngine,
    stop: asyncio.Event,
    metrics: IngestMetrics,
) -> int:
    ssl_context = make_ssl_context(settings.tls_verify, settings.tls_ca_file)
    own = {common.shop_address.strip().lower()}
    own.update(a.strip().lower() for a in settings.own_addresses)
    own.update(c.user.strip().lower() for c in configs if "@" in c.user)
    options = WorkerOptions(
        poll_interval_s=settings.poll_interval_s,
        idle_renew_s=settings.idle_renew_s,
        use_idle=settings.use_idle,
        fetch_batch=settings.fetch_batch,
        max_text_bytes=settings.max_text_bytes,
        mark_seen_after_publish=settings.mark_seen_after_publish,
        backoff_base_s=settings.backoff_base_s,
        backoff_max_s=settings.backoff_max_s,
        own_addresses=frozenset(own),
        own_domain=common.shop_domain.strip().lower() or None,
    )
    publisher = Publisher(
        producer, kafka.topic(INBOUND), metrics, max_event_bytes=settings.max_event_bytes
    )
    store = CheckpointStore(engine)

    def session_factory(config: MailboxConfig) -> Session:
        return ImapSession(config, timeout_s=settings.connect_timeout_s, ssl_context=ssl_context)

    workers = [
        MailboxWorker(
            config,
            options,
            session_factory=session_factory,
            store=store,
            sink=publisher,
            metrics=metrics,
            state=state,
        )
        for config, state in zip(configs, states, strict=True)
    ]
    tasks: dict[asyncio.Task[Any], MailboxWorker] = {
        asyncio.create_task(w.run(), name=f"mailbox:{w.config.name}"): w for w in workers
    }
    actions_stop = asyncio.Event()
    actions_task = asyncio.create_task(
        run_actions(
            lambda: make_consumer(
                kafka,
                "mailroom-ingest-actions",
                settings.actions_group_id,
                kafka.topic(MAILBOX_ACTIONS),
            ),
            configs,
            lambda c: ImapSession(c, timeout_s=settings.connect_timeout_s, ssl_context=ssl_context),
            ActionOptions(
                keyword=settings.handoff_keyword,
                copy_to=settings.handoff_folder or None,
                shadow=common.shadow,
                backoff_base_s=settings.backoff_base_s,
                backoff_max_s=settings.backoff_max_s,
            ),
            actions_stop,
            owners=OwnerStore(engine),
        ),
        name="mailbox-actions",
    )
    stop_task: asyncio.Task[Any] = asyncio.create_task(stop.wait(), name="stop")
    log.info("ingest.started", mailboxes=[c.name for c in configs], topic=kafka.topic(INBOUND))
    exit_code = EXIT_OK
    try:
        done, _ = await asyncio.wait({*tasks, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stop_task}:
            worker = tasks[task]
            exc = task.exception()
            if isinstance(exc, LoginFailed):
                message = login_failure_message(worker.config, exc.server_says)
                # Short fields: the log redactor shortens long strings, not lists.
                log.critical(
                    "alert.imap_login_failed",
                    summary="IMAP login refused; not retrying, exiting",
                    mailbox=worker.config.name,
                    user=worker.config.user,
                    server=f"{worker.config.host}:{worker.config.port}",
                    server_says=exc.server_says,
                    check=list(LOGIN_CHECKS),
                )
                await _send_login_alert(producer, kafka, worker.config, message)
                exit_code = EXIT_LOGIN_FAILED
            elif exc is not None:
                log.critical("ingest.crashed", mailbox=worker.config.name, error=repr(exc))
                exit_code = EXIT_CRASH
    finally:
        actions_stop.set()
        for worker in workers:
            worker.stop()
        stop_task.cancel()
        pending = [t for t in tasks if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=_SHUTDOWN_GRACE_S)
            for task in still:
                task.cancel()
        try:
            await asyncio.wait_for(actions_task, timeout=_SHUTDOWN_GRACE_S)
        except (TimeoutError, asyncio.CancelledError):
            actions_task.cancel()
        for task in tasks:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: no "exception never retrieved" noise
    return exit_code
