"""Mailbox actions: flag the mail a person must answer (``mail.mailbox-actions``).

The responder decides that a person answers an email; ingest, which holds the mailbox's
IMAP credentials, makes that visible where the shop works: the customer's message gets
``\\Flagged`` and the hand-off keyword, loses ``\\Seen``, and is optionally copied to a
folder. Offsets are committed only once the mailbox said OK (or the action is known to be
impossible: a bad record, a message no longer there), so a crash or an IMAP outage
delays a flag but never loses it; flagging twice changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from mailroom_common.events import EventDecodeError, MailboxAction, decode_event
from mailroom_ingest.backoff import backoff_delay
from mailroom_ingest.settings import MailboxConfig

__all__ = ["ActionOptions", "ActionSession", "MailboxActionWorker", "apply_action"]

log = structlog.get_logger("mailroom_ingest.actions")


class ActionSession(Protocol):
    """What the worker needs of an IMAP connection (``ImapSession``)."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def find_uid(
        self, uid: int | None, uidvalidity: int | None, message_id: str | None
    ) -> int | None: ...
    def flag_for_person(self, uid: int, keyword: str, copy_to: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class ActionOptions:
    keyword: str = "$MailroomHandoff"
    copy_to: str | None = None
    shadow: bool = False  # shadow mode: decide and log, touch nothing in the mailbox
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    poll_timeout_ms: int = 1000


def apply_action(action: MailboxAction, session: ActionSession, opts: ActionOptions) -> str:
    """Do one action on an open session; returns what happened (for the log).

    Raises on an IMAP failure (the caller reconnects and tries again).
    """
    uid = session.find_uid(action.uid, action.uidvalidity, action.message_id)
    if uid is None:
        return "not_found"
    session.flag_for_person(uid, opts.keyword, opts.copy_to)
    return "flagged"


class MailboxActionWorker:
    """Consumes mailbox actions and applies them, one IMAP session per mailbox folder."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        configs: list[MailboxConfig],
        session_factory: Callable[[MailboxConfig], ActionSession],
        opts: ActionOptions,
    ) -> None:
        self._consumer = consumer
        self._configs = {c.name: c for c in configs}
        self._factory = session_factory
        self._opts = opts
        self._sessions: dict[tuple[str, str], ActionSession] = {}

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                batches: dict[TopicPartition, list[Any]] = await self._consumer.getmany(
                    timeout_ms=self._opts.poll_timeout_ms
                )
                for tp, records in batches.items():
                    for record in records:
                        if not await self._handle(record, stop):
                            return  # stopping: this record stays uncommitted
                        await self._consumer.commit({tp: record.offset + 1})
        finally:
            for session in self._sessions.values():
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(session.close)
            self._sessions.clear()

    async def _handle(self, record: Any, stop: asyncio.Event) -> bool:
        """Apply one record; False only when stopping before it was done."""
        try:
            event = decode_event(record.value)
        except EventDecodeError as exc:
            log.error("mailbox_action.bad_record", offset=record.offset, error=str(exc)[:300])
            return True
        if not isinstance(event, MailboxAction) or event.action == "shop_reply":
            return True
        bound = log.bind(
            message_key=event.message_key[:200], action=event.action, mailbox=event.mailbox
        )
        config = self._configs.get(event.mailbox)
        if config is None:
            bound.warning("mailbox_action.unknown_mailbox")
            return True
        if self._opts.shadow:
            bound.info("mailbox_action.shadow", would="flag for a person")
            return True
        attempt = 0
        while not stop.is_set():
            try:
                outcome = await asyncio.to_thread(self._apply, config, event)
            except Exception as exc:
                await self._drop_session(config, event.folder)
                attempt += 1
                delay = backoff_delay(
                    attempt, base_s=self._opts.backoff_base_s, max_s=self._opts.backoff_max_s
                )
                bound.warning(
                    "mailbox_action.retry",
                    attempt=attempt,
                    delay_s=round(delay, 2),
                    error=repr(exc)[:300],
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                continue
            if outcome == "not_found":
                bound.warning("mailbox_action.message_not_found", uid=event.uid)
            else:
                bound.info("mailbox_action.done", outcome=outcome)
            return True
        return False

    def _apply(self, config: MailboxConfig, event: MailboxAction) -> str:
        key = (config.name, event.folder)
        session = self._sessions.get(key)
        if session is None:
            session = self._factory(config.model_copy(update={"folder": event.folder}))
            session.open()
            self._sessions[key] = session
        return apply_action(event, session, self._opts)

    async def _drop_session(self, config: MailboxConfig, folder: str) -> None:
        session = self._sessions.pop((config.name, folder), None)
        if session is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(session.close)


ConsumerFactory = Callable[[], AIOKafkaConsumer]


async def run_actions(
    make: ConsumerFactory,
    configs: list[MailboxConfig],
    session_factory: Callable[[MailboxConfig], ActionSession],
    opts: ActionOptions,
    stop: asyncio.Event,
) -> None:
    """Run the worker until ``stop``, reconnecting to Kafka with backoff after a failure."""
    attempt = 0
    while not stop.is_set():
        consumer = make()
        try:
            await consumer.start()
            attempt = 0
            await MailboxActionWorker(consumer, configs, session_factory, opts).run(stop)
        except Exception as exc:
            attempt += 1
            delay = backoff_delay(attempt, base_s=opts.backoff_base_s, max_s=opts.backoff_max_s)
            log.warning("mailbox_actions.restart", delay_s=round(delay, 2), error=repr(exc)[:300])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
