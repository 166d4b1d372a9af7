"""The ingest service as a real process against Dovecot, Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from imap_tools.errors import (
    MailboxAppendError,
    MailboxFolderCreateError,
    MailboxFolderDeleteError,
)

from mailroom_common.events import Disposition

pytestmark = pytest.mark.integration


async def _checkpoint(database_url: str, mailbox: str) -> tuple[int, int] | None:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        row = await conn.fetchrow(
            "SELECT uidvalidity, last_uid FROM ingest_checkpoints WHERE mailbox = $1", mailbox
        )
    finally:
        await conn.close()
    return None if row is None else (int(row[0]), int(row[1]))


def _uids(reader: Any) -> list[int]:
    return [e.uid for e in reader.events()]


async def test_waiting_and_new_mails_arrive_once_each(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
    database_url: str,
) -> None:
    tag = uuid.uuid4().hex[:8]
    waiting = [imap_folder.append(mail(i, tag=tag)) for i in range(25)]
    proc = ingest_process(INGEST_FETCH_BATCH="10")
    await inbound_reader.wait_for(lambda r: len(r) >= 25, timeout=30)
    proc.wait_ready(mode="idle")

    more = [imap_folder.append(mail(i, tag=tag)) for i in range(25, 30)]
    await inbound_reader.wait_for(lambda r: len(r) >= 30, timeout=15)
    await asyncio.sleep(1.0)  # anything extra (a duplicate) would show up by now
    await inbound_reader.poll()

    events = inbound_reader.events()
    assert sorted(e.uid for e in events) == waiting + more
    assert len({e.message_key for e in events}) == 30
    assert {e.message_key for e in events} == {f"{tag}-{i}@example.com" for i in range(30)}
    assert all(e.disposition is Disposition.ANSWERABLE for e in events)
    assert all(e.text == "Hola, ¿tienen la taza azul?" for e in events)
    record = inbound_reader.records[0]
    assert record.key == events[0].thread_key.encode()
    assert any(k == "traceparent" for k, _ in record.headers)

    metrics = proc.metrics()
    assert 'mailroom_ingest_fetched_total{mailbox="' in metrics
    assert proc.terminate() == 0  # SIGTERM: graceful, exit 0
    mailbox = proc.env["INGEST_MAILBOX_NAME"]
    checkpoint = await _checkpoint(database_url, mailbox)
    assert checkpoint is not None
    assert checkpoint[1] == max(more)


async def test_idle_publishes_new_mail_within_seconds(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
) -> None:
    proc = ingest_process()
    proc.wait_ready(mode="idle")
    tag = uuid.uuid4().hex[:8]
    for i in range(3):
        started = time.monotonic()
        uid = imap_folder.append(mail(i, tag=tag))
        await inbound_reader.wait_for(lambda r, n=i: len(r) >= n + 1, timeout=10)
        elapsed = time.monotonic() - started
        assert _uids(inbound_reader)[-1] == uid
        # Dovecot batches change notifications for 0.5 s; 5 s is a generous bound.
        assert elapsed <= 5.0, elapsed


async def test_poll_fallback_without_idle(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
) -> None:
    proc = ingest_process(INGEST_USE_IDLE="false", INGEST_POLL_INTERVAL_S="0.5")
    proc.wait_ready(mode="poll")
    uid = imap_folder.append(mail(1, tag=uuid.uuid4().hex[:8]))
    await inbound_reader.wait_for(lambda r: len(r) >= 1, timeout=10)
    assert _uids(inbound_reader) == [uid]


async def test_sigkill_after_publish_loses_nothing_and_repeats_nothing_checkpointed(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
    database_url: str,
) -> None:
    total, batch = 600, 20
    tag = uuid.uuid4().hex[:8]
    all_uids = [imap_folder.append(mail(i, tag=tag)) for i in range(total)]
    first = ingest_process(INGEST_FETCH_BATCH=str(batch))
    await inbound_reader.wait_for(lambda r: len(r) >= 1, timeout=30)
    first.kill()  # SIGKILL right after the first publish: no goodbye, no flush
    checkpoint = await _checkpoint(database_url, first.env["INGEST_MAILBOX_NAME"])
    last_uid = checkpoint[1] if checkpoint else 0
    assert last_uid < all_uids[-1], "the kill came too late to test anything"
    await asyncio.sleep(0.5)
    await inbound_reader.poll()
    before_restart = len(inbound_reader.records)

    second = ingest_process(INGEST_FETCH_BATCH=str(batch))
    await inbound_reader.wait_for(
        lambda r: len(r) >= total and set(_uids(inbound_reader)) >= set(all_uids), timeout=60
    )
    second.wait_ready()
    await asyncio.sleep(1.0)
    await inbound_reader.poll()

    counts = Counter(_uids(inbound_reader))
    assert set(counts) == set(all_uids)  # nothing lost
    checkpointed = [u for u in all_uids if u <= last_uid]
    assert all(counts[u] == 1 for u in checkpointed)  # nothing checkpointed republished
    republished = [u for u, c in counts.items() if c > 1]
    assert all(u > last_uid for u in republished)
    # Only mails acked after the last checkpoint (at most one batch) can repeat.
    assert len(republished) <= batch
    assert before_restart - len(checkpointed) == len(republished)


async def test_uidvalidity_change_rescans_the_folder(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
) -> None:
    tag = uuid.uuid4().hex[:8]
    # Dovecot does not tell an IDLE session that its folder was deleted; the next IDLE
    # renewal finds out. A short renewal keeps the test quick.
    proc = ingest_process(INGEST_IDLE_RENEW_S="2")
    proc.wait_ready()
    imap_folder.append(mail(1, tag=tag))
    await inbound_reader.wait_for(lambda r: len(r) >= 1, timeout=10)
    first_validity = inbound_reader.events()[0].uidvalidity

    # Recreating the folder gives it a new UIDVALIDITY; its UIDs restart at 1.
    # Dovecot sometimes answers ALREADYEXISTS or "Mailbox was deleted under us" right
    # after a delete; each step is retried on a fresh session.
    uid = 0
    for _ in range(50):
        imap_folder.reconnect()
        with contextlib.suppress(MailboxFolderDeleteError):
            imap_folder._box.folder.delete(imap_folder.name)
        try:
            imap_folder._box.folder.create(imap_folder.name)
            imap_folder.reconnect()
            uid = imap_folder.append(mail(2, tag=tag))
            break
        except (MailboxFolderCreateError, MailboxAppendError):
            await asyncio.sleep(0.1)
    try:
        await inbound_reader.wait_for(lambda r: len(r) >= 2, timeout=30)
    except AssertionError:
        print(proc.output())
        raise
    latest = inbound_reader.events()[-1]
    assert latest.uid == uid == 1
    assert latest.uidvalidity != first_validity
    assert latest.message_key == f"{tag}-2@example.com"
    assert proc.alive()
