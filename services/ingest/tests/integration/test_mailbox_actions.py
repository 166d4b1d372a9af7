"""Hand-offs visible in the mailbox (#14 item 3): ingest flags what a person must answer.

The real ingest process reads a private folder of Dovecot; the test plays the responder
and publishes ``MailboxAction`` records to the real ``mail.mailbox-actions``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from imap_tools import MailBoxUnencrypted

from mailroom_common.config import KafkaSettings
from mailroom_common.events import InboundEmail, MailboxAction
from mailroom_common.kafka import make_producer, send_event
from mailroom_common.threads import thread_ids
from mailroom_common.topics import MAILBOX_ACTIONS

pytestmark = pytest.mark.integration

IMAP = ("127.0.0.1", 21143)
SALES = ("sales@mailroom.test", "sales-secret")
KEYWORD = "$MailroomHandoff"


def flags_of(folder: str, uid: int) -> set[str]:
    box = MailBoxUnencrypted(*IMAP, timeout=30).login(*SALES, initial_folder=folder)
    try:
        typ, data = box.client.uid("FETCH", str(uid), "(FLAGS)")
        assert typ == "OK", data
        text = b" ".join(d if isinstance(d, bytes) else b" ".join(d) for d in data if d)
        inner = text.decode().split("FLAGS (", 1)[1].split(")", 1)[0]
        return set(inner.split())
    finally:
        box.logout()


def set_seen(folder: str, uid: int) -> None:
    box = MailBoxUnencrypted(*IMAP, timeout=30).login(*SALES, initial_folder=folder)
    try:
        assert box.client.uid("STORE", str(uid), "+FLAGS", r"(\Seen)")[0] == "OK"
    finally:
        box.logout()


async def wait_flags(folder: str, uid: int, want: Callable[[set[str]], bool]) -> set[str]:
    deadline = time.monotonic() + 30
    flags = await asyncio.to_thread(flags_of, folder, uid)
    while not want(flags) and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        flags = await asyncio.to_thread(flags_of, folder, uid)
    return flags


def action_for(email: InboundEmail, **changes: Any) -> MailboxAction:
    values: dict[str, Any] = {
        "action": "handoff",
        "message_key": email.message_key,
        "mailbox": email.mailbox,
        "folder": email.folder,
        "uid": email.uid,
        "uidvalidity": email.uidvalidity,
        "message_id": email.message_id,
        "thread_ids": thread_ids(email),
        "reason": "customer threatens a chargeback",
    }
    values.update(changes)
    return MailboxAction(**values)


async def publish(kafka: KafkaSettings, *actions: MailboxAction) -> None:
    producer = make_producer(kafka, client_id="tests")
    await producer.start()
    try:
        for action in actions:
            await send_event(producer, kafka.topic(MAILBOX_ACTIONS), action, key=action.message_key)
    finally:
        await producer.stop()


async def test_a_handed_off_mail_is_flagged_unseen_and_copied(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
    kafka_topics: KafkaSettings,
) -> None:
    tag = uuid.uuid4().hex[:8]
    copies = f"{imap_folder.name}-people"
    imap_folder._box.folder.create(copies)
    try:
        first, second, answered = (imap_folder.append(mail(i, tag=tag)) for i in range(3))
        set_seen(imap_folder.name, first)  # a person (or a client) read it already
        ingest_process(INGEST_HANDOFF_FOLDER=copies)
        await inbound_reader.wait_for(lambda r: len(r) >= 3, timeout=30)
        by_uid = {e.uid: e for e in inbound_reader.events()}

        await publish(
            kafka_topics,
            action_for(by_uid[first]),
            # UIDVALIDITY changed since: found again by its Message-ID.
            action_for(by_uid[second], uidvalidity=1, uid=999_999),
            # Bad records and unknown mailboxes are skipped, not retried forever.
            action_for(by_uid[answered], mailbox="no-such-mailbox"),
        )
        # Two STOREs (+FLAGS, then -FLAGS \Seen): wait for both, not only the first.
        flagged = await wait_flags(
            imap_folder.name, first, lambda f: KEYWORD in f and r"\Seen" not in f
        )
        assert {r"\Flagged", KEYWORD} <= flagged
        assert r"\Seen" not in flagged
        by_id = await wait_flags(imap_folder.name, second, lambda f: KEYWORD in f)
        assert {r"\Flagged", KEYWORD} <= by_id
        # The mail nobody handed off is left as it was.
        assert KEYWORD not in flags_of(imap_folder.name, answered)

        box = MailBoxUnencrypted(*IMAP, timeout=30).login(*SALES, initial_folder=copies)
        try:
            copied = [m.headers.get("message-id", ("",))[0] for m in box.fetch(mark_seen=False)]
        finally:
            box.logout()
        assert sorted(copied) == sorted(
            [by_uid[first].message_id or "", by_uid[second].message_id or ""]
        )
    finally:
        imap_folder.reconnect()
        imap_folder._box.folder.delete(copies)


async def test_shadow_mode_touches_nothing(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
    kafka_topics: KafkaSettings,
) -> None:
    tag = uuid.uuid4().hex[:8]
    uid = imap_folder.append(mail(1, tag=tag))
    proc = ingest_process(MAILROOM_SHADOW="true")
    await inbound_reader.wait_for(lambda r: len(r) >= 1, timeout=30)
    (email,) = inbound_reader.events()
    await publish(kafka_topics, action_for(email))
    deadline = time.monotonic() + 20
    while "mailbox_action.shadow" not in proc.output() and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    assert "mailbox_action.shadow" in proc.output()
    assert KEYWORD not in flags_of(imap_folder.name, uid)
