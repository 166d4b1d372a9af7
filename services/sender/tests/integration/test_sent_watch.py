"""The Sent watcher reports the replies a person at the shop wrote (#14 item 4): the real
Dovecot Sent folder, the real send ledger and the real producer, one poll, read back from
``mail.mailbox-actions`` under the test's topic prefix."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any

import pytest
from aiokafka import TopicPartition
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mailroom_common.config import DatabaseSettings
from mailroom_common.events import Event, MailboxAction, decode_event
from mailroom_common.kafka import make_consumer, make_producer
from mailroom_common.topics import MAILBOX_ACTIONS
from mailroom_sender.drafts_store import DraftStore
from mailroom_sender.pgpool import open_pool
from mailroom_sender.publisher import KafkaPublisher
from mailroom_sender.sent_watch import SentWatcher

from .conftest import Bus
from .test_drafts import IMAP, mailbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _message(message_id: str, *, in_reply_to: str | None = None, refs: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ana <shop@mailroom.test>"
    msg["To"] = "cliente@example.com"
    msg["Subject"] = "Re: ¿Tienen talle M?" if in_reply_to else "Novedades de otoño"
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if refs:
        msg["References"] = refs
    msg.set_content("Hola, te respondo yo.")
    return msg.as_bytes()


class _NoDrafts:
    """The watcher's Drafts: nothing of this test is a draft (other tests' rows may be)."""

    async def record_person(self, row: Any, how: str) -> bool:
        raise AssertionError("no draft of this test can be sent by a person")

    async def remove(self, row: Any) -> None:
        return None


async def everything_on(bus: Bus, spec: Any) -> list[Event]:
    """Every record of the topic, from its first offset up to its end now."""
    topic = bus.kafka.topic(spec)
    consumer = make_consumer(bus.kafka, "sender-tests", None)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(spec.partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        events: list[Event] = []
        left = [tp for tp in parts if ends[tp] > 0]
        while left:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                events.extend(decode_event(r.value) for r in records)
            left = [tp for tp in left if await consumer.position(tp) < ends[tp]]
        return events
    finally:
        await consumer.stop()


async def test_a_colleagues_reply_in_sent_is_reported_and_nothing_else(
    bus: Bus, database_url: str, db_engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex[:8]
    folder = f"Sent-cw-{tag}"
    customer = f"<{tag}@cliente.com>"
    root = f"<root-{tag}@cliente.com>"
    colleague = f"<CAF-{tag}@mail.gmail.com>"
    ours = f"<{tag}.holding@mailroom.test>"
    news = f"<news-{tag}@mail.gmail.com>"
    async with db_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO send_ledger (id, message_key, kind, smtp_message_id, recipient,"
                " state, attempts) VALUES (:id, :k, 'holding', :mid, :to, 'sent', 1)"
            ),
            {"id": uuid.uuid4(), "k": customer, "mid": ours, "to": "cliente@example.com"},
        )
    box = mailbox(sent_folder=folder)
    await box.append("sent", _message(colleague, in_reply_to=customer, refs=f"{root} {customer}"))
    await box.append("sent", _message(ours, in_reply_to=customer, refs=f"{root} {customer}"))
    await box.append("sent", _message(news))  # the shop starts a conversation: no reply

    pool = await open_pool(DatabaseSettings(url=SecretStr(database_url)), 2)
    producer = make_producer(bus.kafka, "sender-tests-watch")
    await producer.start()
    try:
        watcher = SentWatcher(
            store=DraftStore(pool),
            mailbox=box,
            drafts=_NoDrafts(),  # type: ignore[arg-type]
            interval_s=30,
            publisher=KafkaPublisher(producer, bus.kafka),
            mailbox_name=str(IMAP["user"]),
            lookback_days=2,
        )
        assert await watcher.poll() == 0  # one poll; its publishes are acknowledged
        # The next poll starts after the watermark: nothing is reported twice.
        await watcher.poll()
    finally:
        await producer.stop()
        await pool.close()

    events = await everything_on(bus, MAILBOX_ACTIONS)
    assert len(events) == 1, events
    (action,) = events
    assert isinstance(action, MailboxAction)
    assert action.action == "shop_reply"
    assert action.message_id == colleague
    assert action.message_key == colleague.strip("<>")
    assert action.thread_ids == [colleague, customer, root]
    assert action.thread_key == root.strip("<>")
    assert (action.mailbox, action.folder) == (IMAP["user"], folder)
    assert action.reason == "a person at the shop replied from the mailbox"
    assert action.producer == "sender-sent-watch"
