"""Mailbox actions: flag the mail a person must answer (``mail.mailbox-actions``).

The responder decides that a person answers an email; ingest, which holds the mailbox's
IMAP credentials, makes that visible where the shop works: the customer's message gets
``\\Flagged`` and the hand-off keyword, loses ``\\Seen``, and is optionally copied to a
folder. Offsets are committed only once the mailbox said OK (or the action is known to be
impossible: a bad record, a message no longer there), so a crash or an IMAP outage
delays a flag but never loses it; flagging twice changes nothing.

Before the flag, the action's thread ownership is recorded in ``thread_owners``
(``owners``): a hand-off or a colleague's reply (``shop_reply``, unless the send ledger
sent it) owns the thread for a person, a later mail in it (``human_owned``) keeps it owned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from mailroom_common.events import EventDecodeError, MailboxAction, decode_event
from mailroom_ingest.backoff import backoff_delay
from mailroom_ingest.owners import OwnershipChange, ownership_change
from mailroom_ingest.settings import MailboxConfig

__all__ = ["ActionOptions", "ActionSession", "MailboxActionWorker", "apply_action"]

log = structlog.get_logger("mailroom_ingest.actions")


class Owners(Protocol):
    """Where thread ownership is recorded (``owners.OwnerStore``)."""

    async def apply(self, change: OwnershipChange) -> str: ...


class ActionSession(Protocol):
    """What the worker needs of an IMAP connection (``ImapSession``)."""

    def open(self) -> None: ...
    def close(self) -> None: ...
    def find_uid(
        self, uid: int | None, uidvalidity: int | None, message_id: str | None
    ) -> int | None: ...
    def flag_for_person(self, uid: int, keyword: str, copy_to: str | None = None) -> bool: ...


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
    if not session.flag_for_person(uid, opts.keyword, opts.copy_to):
        return "not_found"
    return "flagged"


class MailboxActionWorker:
    """Consumes mailbox actions and applies them, one IMAP session per mailbox folder."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        configs: list[MailboxConfig],
        session_factory: Callable[[MailboxConfig], ActionSession],
        opts: ActionOptions,
        owners: Owners | None = None,
    ) -> None:
        self._consumer = consumer
        self._configs = {c.name: c for c in configs}
        self._factory = session_factory
        self._opts = opts
        self._owners = owners
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
        if not isinstance(event, MailboxAction):
            return True
        bound = log.bind(
            message_key=event.message_key[:200], action=event.action, mailbox=event.mailbox
        )
        # Ownership first (recorded in shadow mode too: it decides what the bot would do),
        # then the flag; both are idempotent, so a retry after a failure repeats them.
        if not await self._record_owner(event, bound, stop):
            return False
        if event.action == "shop_reply":
            return True  # nothing to flag: the customer's mail was flagged when it came
        return await self._flag(event, bound, stop)

    async def _record_owner(self, event: MailboxAction, bound: Any, stop: asyncio.Event) -> bool:
        change = ownership_change(event)
        if change is None or self._owners is None:
            return True
        owners = self._owners
        owned = await self._retrying(bound, stop, lambda: owners.apply(change), None)
        if owned is None:
            return False
        bound.info("thread_owner.recorded", outcome=owned, ids=len(change.thread_ids))
        return True

    async def _flag(self, event: MailboxAction, bound: Any, stop: asyncio.Event) -> bool:
        config = self._configs.get(event.mailbox)
        if config is None:
            bound.warning("mailbox_action.unknown_mailbox")
            return True
        if self._opts.shadow:
            bound.info("mailbox_action.shadow", would="flag for a person")
            return True
        outcome = await self._retrying(
            bound, stop, lambda: asyncio.to_thread(self._apply, config, event), (config, event)
        )
        if outcome is None:
            return False
        if outcome == "not_found":
            bound.warning("mailbox_action.message_not_found", uid=event.uid)
        else:
            bound.info("mailbox_action.done", outcome=outcome)
        return True

    async def _retrying(
        self,
        bound: Any,
        stop: asyncio.Event,
        step: Callable[[], Awaitable[str]],
        session: tuple[MailboxConfig, MailboxAction] | None,
    ) -> str | None:
        """Run ``step`` until it succeeds (with backoff); None when stopping first."""
        attempt = 0
        while not stop.is_set():
            try:
                return await step()
            except Exception as exc:
                if session is not None:
                    await self._drop_session(session[0], session[1].folder)
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
        return None

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
    *,
    owners: Owners | None = None,
) -> None:
    """Run the worker until ``stop``, reconnecting to Kafka with backoff after a failure."""
    attempt = 0
    while not stop.is_set():
        consumer = make()
        try:
            await consumer.start()
            attempt = 0
            await MailboxActionWorker(consumer, configs, session_factory, opts, owners).run(stop)
        except Exception as exc:
            attempt += 1
            delay = backoff_delay(attempt, base_s=opts.backoff_base_s, max_s=opts.backoff_max_s)
            log.warning("mailbox_actions.restart", delay_s=round(delay, 2), error=repr(exc)[:300])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
