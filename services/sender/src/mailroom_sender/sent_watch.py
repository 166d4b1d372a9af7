"""The Sent watcher: what a person sent from the shop's mailbox, seen in its Sent folder.

Every ``SENDER_SENT_WATCH_INTERVAL_S`` the watcher reads the headers of the messages that
reached the mailbox's Sent folder since its last look (after a start or a new UIDVALIDITY:
from ``SENDER_SENT_WATCH_LOOKBACK_DAYS`` ago, or from the day before the oldest pending
draft when that is earlier) and asks the send ledger which of their Message-IDs are
mailroom's own. Then:

* every draft a person answered (the draft itself, or their own reply to the customer's
  message: the pure ``draft_logic.person_sends``) goes to :meth:`Drafts.record_person`:
  the ledger records it as sent, so no approval can send it again, and the task becomes
  ``sent`` ("sent by a person from the mailbox");
* every reply a person at the shop wrote in a customer's thread (the pure
  ``colleagues.colleague_replies``: none of the ledger's nor a pending draft's Message-IDs,
  and an answer to something) is published as a ``MailboxAction(action="shop_reply")``
  on ``mail.mailbox-actions``, keyed by its message key, with an event id derived from its
  Message-ID; ingest's action worker owns the thread for a person, so the bot never talks
  over a colleague. Shadow mode reports them too (ingest records, touches nothing).

The watermark (UIDVALIDITY, last UID) moves only once every find is recorded and every
action acknowledged by Kafka: a failure looks at the same messages again at the next poll
(recording a draft twice changes nothing, a re-published action has the same event id).
It also takes settled drafts whose removal from Drafts failed out of the folder. IMAP,
Kafka or database trouble is logged and tried again at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Protocol, cast

from pydantic import BaseModel

from mailroom_common.events import utcnow
from mailroom_common.logging import get_logger
from mailroom_common.topics import MAILBOX_ACTIONS, TopicSpec

from .colleagues import SentReply, colleague_replies, shop_reply_action
from .draft_logic import PendingDraft, SentMessage, bare, person_sends
from .drafts import Drafts
from .drafts_store import DraftRow, DraftStore
from .mailbox import Mailbox, SentScan

__all__ = ["Publisher", "SentWatcher", "fresh_scan_since"]

log = get_logger(__name__)


class Publisher(Protocol):
    """``publisher.KafkaPublisher``: outside ``collect_acks`` a publish waits for the ack."""

    async def publish(self, spec: TopicSpec, event: BaseModel, *, key: str | None) -> None: ...


def fresh_scan_since(now: datetime, lookback_days: float, oldest_pending: datetime | None) -> date:
    """Where a fresh scan of Sent starts: ``lookback_days`` ago, or the day before the
    oldest pending draft when that is earlier (a draft may have been sent long ago)."""
    since = (now - timedelta(days=lookback_days)).date()
    if oldest_pending is not None:
        since = min(since, (oldest_pending - timedelta(days=1)).date())
    return since


class SentWatcher:
    def __init__(
        self,
        *,
        store: DraftStore,
        mailbox: Mailbox,
        drafts: Drafts,
        interval_s: float,
        publisher: Publisher,
        mailbox_name: str,
        lookback_days: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._mailbox = mailbox
        self._drafts = drafts
        self._interval = interval_s
        self._publisher = publisher
        self._mailbox_name = mailbox_name
        self._lookback_days = lookback_days
        self._clock = clock
        self._uidvalidity: int | None = None
        self._last_uid = 0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("sent_watch.started", interval_s=self._interval, mailbox=self._mailbox_name)
        while not stop.is_set():
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("sent_watch.poll_failed", error=str(exc)[:200])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)

    async def poll(self) -> int:
        """One look at Sent; how many drafts were found sent by a person."""
        pending = await self._store.pending()
        oldest = min((r.created_at for r in pending), default=None)
        since = fresh_scan_since(self._clock(), self._lookback_days, oldest)
        scan = await self._mailbox.scan_sent(self._uidvalidity, self._last_uid, since)
        ids = [m.message_id for m in scan.messages if m.message_id]
        ours = await self._store.ledger_ids(sorted({*ids, *(b for b in map(bare, ids) if b)}))
        found = await self._drafts_sent(pending, scan, ours) if pending else 0
        await self._report_colleagues(scan, ours | {r.smtp_message_id for r in pending})
        # Moved on only once every find is recorded and every report acknowledged: a
        # failure above looks at the same messages again next time.
        self._uidvalidity, self._last_uid = scan.uidvalidity, scan.last_uid
        for row in await self._store.left_in_drafts():
            await self._drafts.remove(row)
        return found

    async def _drafts_sent(self, pending: list[DraftRow], scan: SentScan, ours: set[str]) -> int:
        rows = {r.id: r for r in pending}
        drafts = [
            PendingDraft(r.id, r.smtp_message_id, r.outbound_email().in_reply_to) for r in pending
        ]
        messages = [SentMessage(m.message_id, m.in_reply_to) for m in scan.messages]
        found = 0
        for send in person_sends(drafts, messages, ours):
            row = rows[cast(uuid.UUID, send.draft.key)]
            if await self._drafts.record_person(row, send.how):
                found += 1
        return found

    async def _report_colleagues(self, scan: SentScan, ours: set[str]) -> int:
        sent = [SentReply(m.uid, m.message_id, m.in_reply_to, m.references) for m in scan.messages]
        replies = colleague_replies(sent, ours)
        for reply in replies:
            action = shop_reply_action(
                reply,
                mailbox=self._mailbox_name,
                folder=scan.folder,
                uidvalidity=scan.uidvalidity,
            )
            await self._publisher.publish(MAILBOX_ACTIONS, action, key=action.message_key)
            log.info(
                "sent_watch.shop_reply",
                message_id=reply.message_id[:200],
                thread_key=reply.thread_key[:200],
                ids=len(reply.thread_ids),
            )
        return len(replies)
