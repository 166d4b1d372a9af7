"""Wiring of the send path: the mailbox, the handler and its drafts, the send runner, the
runner of operators' draft actions and the Sent watcher, sharing one producer and pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg

from mailroom_common.kafka import make_consumer, make_producer
from mailroom_common.logging import get_logger
from mailroom_common.topics import DRAFT_ACTIONS, OUTBOUND, TRANSACTIONAL

from .drafts import Drafts
from .drafts_store import DraftStore
from .guards import GuardLimits
from .handler import HandlerConfig, MessageHandler
from .ledger import Ledger
from .mailbox import Mailbox, MailboxConfig
from .message import Identity
from .metrics import SenderMetrics
from .modes import AnswerModes
from .pgpool import open_pool
from .publisher import KafkaPublisher
from .runner import SenderRunner
from .sent_watch import SentWatcher
from .sentbox import SentFolder
from .settings import SenderSettings, Settings
from .smtp import SmtpConfig
from .transactional import TemplateRenderer

__all__ = ["answer_modes", "run_sender", "smtp_config_from"]

log = get_logger(__name__)

# Workers (one SMTP connection each) for approved drafts: a few a day, one at a time is
# plenty; two so a parked retry never waits behind another.
_DRAFT_ACTION_WORKERS = 2


def smtp_config_from(s: SenderSettings) -> SmtpConfig:
    return SmtpConfig(
        host=s.smtp_host,
        port=s.smtp_port,
        security=s.smtp_security,
        username=s.smtp_user or None,
        password=s.smtp_password.get_secret_value() if s.smtp_password else None,
        verify_tls=s.smtp_tls_verify,
        connect_timeout_s=s.smtp_connect_timeout_s,
        command_timeout_s=s.smtp_command_timeout_s,
        reuse=s.smtp_reuse_connection,
        max_messages_per_connection=s.smtp_max_messages_per_connection,
    )


def _mailbox(s: SenderSettings, *, required: bool) -> Mailbox | None:
    """The shop's mailbox over IMAP (Sent folder, Drafts), if it can be logged into."""
    user = s.sent_check_user or s.smtp_user
    password = s.sent_check_password or s.smtp_password
    if not user or password is None:
        if required:
            raise ValueError(
                "the Sent-folder check, SENDER_SAVE_SENT_TO_IMAP and SENDER_MODE_*=draft need"
                " the mailbox's IMAP login: SENDER_SENT_CHECK_USER/PASSWORD (or the SMTP login)"
            )
        return None
    return Mailbox(
        MailboxConfig(
            host=s.sent_check_host,
            port=s.sent_check_port,
            security=s.sent_check_security,
            username=user,
            password=password.get_secret_value(),
            verify_tls=s.sent_check_tls_verify,
            timeout_s=s.sent_check_timeout_s,
            sent_folder=s.sent_check_folder,
            drafts_folder=s.drafts_folder,
        )
    )


def answer_modes(cfg: Settings) -> AnswerModes:
    s = cfg.sender
    return AnswerModes(
        faq=s.mode_faq,
        catalogue=s.mode_catalogue,
        llm=s.mode_llm,
        handoff_ack=s.mode_handoff_ack,
        shadow=cfg.common.shadow,
    )


async def run_sender(
    cfg: Settings,
    engine: object,
    metrics: SenderMetrics,
    stop: asyncio.Event,
    ready: dict[str, Callable[[], bool]],
) -> None:
    del engine  # the send path uses its own asyncpg pool (see pgpool.py)
    # One connection per worker, one for the batched 'sent' updates, two for the workers
    # of draft actions and one for the Sent watcher.
    pool = await open_pool(cfg.database, cfg.sender.concurrency + 4)
    try:
        await _send_with(cfg, pool, metrics, stop, ready)
    finally:
        await pool.close()


async def _send_with(
    cfg: Settings,
    pool: asyncpg.Pool,
    metrics: SenderMetrics,
    stop: asyncio.Event,
    ready: dict[str, Callable[[], bool]],
) -> None:
    s, common, kafka = cfg.sender, cfg.common, cfg.kafka
    from_address = s.from_address or s.smtp_user or common.shop_address
    identity = Identity(
        from_address=from_address,
        display_name=s.display_name or common.shop_name,
        domain=common.shop_domain,
        reply_to=s.reply_to,
    )
    ledger = Ledger(
        pool,
        GuardLimits(s.max_replies_per_recipient, s.max_replies_per_thread, s.guard_window_s),
        frozenset({from_address, common.shop_address}),
    )
    modes = answer_modes(cfg)
    mailbox = _mailbox(s, required=s.sent_check_enabled or s.save_sent_to_imap or modes.any_draft)
    log.info(
        "sender.answer_modes",
        faq=modes.faq.value,
        catalogue=modes.catalogue.value,
        llm=modes.llm.value,
        handoff_ack=modes.handoff_ack.value,
        shadow=modes.shadow,
    )
    producer = make_producer(kafka, "mailroom-sender")
    extra: dict[str, object] = {"session_timeout_ms": s.session_timeout_ms}
    if s.instance_id:
        extra["group_instance_id"] = s.instance_id
    consumer = make_consumer(kafka, "mailroom-sender", s.group_id, **extra)
    await producer.start()
    try:
        await consumer.start()
        try:
            publisher = KafkaPublisher(producer, kafka)
            handler = MessageHandler(
                config=HandlerConfig(
                    identity=identity,
                    shop_name=common.shop_name,
                    envelope_from=from_address,
                    retry_base_s=s.retry_base_s,
                    retry_max_s=s.retry_max_s,
                    retry_jitter=s.retry_jitter,
                    max_attempts=s.max_attempts,
                    save_sent=s.save_sent_to_imap,
                    sent_check=s.sent_check_enabled,
                    sent_check_authoritative=s.sent_check_authoritative,
                ),
                ledger=ledger,
                publisher=publisher,
                renderer=TemplateRenderer(),
                metrics=metrics,
                sent_folder=(
                    SentFolder(mailbox)
                    if mailbox is not None and (s.sent_check_enabled or s.save_sent_to_imap)
                    else None
                ),
                modes=modes,
            )
            watcher: SentWatcher | None = None
            if mailbox is not None:
                store = DraftStore(pool)
                drafts = Drafts(
                    store=store,
                    mailbox=mailbox,
                    ledger=ledger,
                    delivery=handler.delivery,
                    reporter=handler.reporter,
                    prepare=handler.prepare,
                    metrics=metrics,
                )
                handler.attach_drafts(drafts)
                watcher = SentWatcher(
                    store=store,
                    mailbox=mailbox,
                    drafts=drafts,
                    interval_s=s.sent_watch_interval_s,
                    publisher=publisher,
                    mailbox_name=s.mailbox_name or mailbox.username,
                    lookback_days=s.sent_watch_lookback_days,
                )
            runner = SenderRunner(
                consumer=consumer,
                publisher=publisher,
                handler=handler,
                ledger=ledger,
                smtp_config=smtp_config_from(s),
                concurrency=s.concurrency,
                max_in_flight=s.max_in_flight,
                commit_interval_s=s.commit_interval_s,
                stale_sending_after_s=s.stale_sending_after_s,
                topic_names=(kafka.topic(OUTBOUND), kafka.topic(TRANSACTIONAL)),
            )
            log.info("sender.started", smtp=f"{s.smtp_host}:{s.smtp_port}", workers=s.concurrency)
            await _with_draft_actions(
                cfg,
                runner,
                handler=handler,
                publisher=publisher,
                ledger=ledger,
                watcher=watcher,
                stop=stop,
                ready=ready,
            )
        finally:
            await consumer.stop()
    finally:
        await producer.stop()


async def _with_draft_actions(
    cfg: Settings,
    runner: SenderRunner,
    *,
    handler: MessageHandler,
    publisher: KafkaPublisher,
    ledger: Ledger,
    watcher: SentWatcher | None,
    stop: asyncio.Event,
    ready: dict[str, Callable[[], bool]],
) -> None:
    """The send runner, plus operators' draft actions on a consumer (and group) of their
    own: an approved draft goes through the same handler, ledger and SMTP code; and the
    Sent watcher, when the mailbox is known."""
    s, kafka = cfg.sender, cfg.kafka
    extra: dict[str, object] = {"session_timeout_ms": s.session_timeout_ms}
    if s.instance_id:
        extra["group_instance_id"] = f"{s.instance_id}-drafts"
    consumer = make_consumer(kafka, "mailroom-sender-drafts", s.drafts_group_id, **extra)
    await consumer.start()
    try:
        actions = SenderRunner(
            consumer=consumer,
            publisher=publisher,
            handler=handler,
            ledger=ledger,
            smtp_config=smtp_config_from(s),
            concurrency=_DRAFT_ACTION_WORKERS,
            max_in_flight=100,
            commit_interval_s=s.commit_interval_s,
            stale_sending_after_s=s.stale_sending_after_s,
            topic_names=(kafka.topic(DRAFT_ACTIONS),),
            sweep_on_start=False,  # the send runner's sweep covers every ledger row
        )
        ready["sender"] = lambda: runner.ready and actions.ready
        parts = [runner.run(stop), actions.run(stop)]
        if watcher is not None:
            parts.append(watcher.run(stop))
        await _until_one_fails(parts, stop)
    finally:
        await consumer.stop()


async def _until_one_fails(parts: list[Coroutine[Any, Any, None]], stop: asyncio.Event) -> None:
    tasks = [asyncio.create_task(p) for p in parts]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
