"""The Sent watcher: a draft a person sent from their own mail client is recorded as sent.

Every ``SENDER_SENT_WATCH_INTERVAL_S``, while drafts are pending, the watcher reads the
headers of the messages that reached the mailbox's Sent folder since its last look (after
a start or a new UIDVALIDITY: since the day before the oldest pending draft), asks the send
ledger which of their Message-IDs are mailroom's own, and hands every draft a person
answered (the draft itself, or their own reply to the customer's message: the pure
``draft_logic.person_sends``) to :meth:`Drafts.record_person`: the ledger records it as
sent, so no approval can send it again, and the task becomes ``sent`` ("sent by a person
from the mailbox"). It also takes settled drafts whose removal from Drafts failed out of
the folder. IMAP or database trouble is logged and tried again at the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from typing import cast

from mailroom_common.logging import get_logger

from .draft_logic import PendingDraft, SentMessage, person_sends
from .drafts import Drafts
from .drafts_store import DraftRow, DraftStore
from .mailbox import Mailbox

__all__ = ["SentWatcher"]

log = get_logger(__name__)


class SentWatcher:
    def __init__(
        self, *, store: DraftStore, mailbox: Mailbox, drafts: Drafts, interval_s: float
    ) -> None:
        self._store = store
        self._mailbox = mailbox
        self._drafts = drafts
        self._interval = interval_s
        self._uidvalidity: int | None = None
        self._last_uid = 0

    async def run(self, stop: asyncio.Event) -> None:
        log.info("sent_watch.started", interval_s=self._interval)
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
        found = 0
        pending = await self._store.pending()
        if pending:
            found = await self._look(pending)
        for row in await self._store.left_in_drafts():
            await self._drafts.remove(row)
        return found

    async def _look(self, pending: list[DraftRow]) -> int:
        since = (min(r.created_at for r in pending) - timedelta(days=1)).date()
        scan = await self._mailbox.scan_sent(self._uidvalidity, self._last_uid, since)
        rows = {r.id: r for r in pending}
        drafts = [
            PendingDraft(r.id, r.smtp_message_id, r.outbound_email().in_reply_to) for r in pending
        ]
        messages = [SentMessage(m.message_id, m.in_reply_to) for m in scan.messages]
        ours = await self._store.ledger_ids([m.message_id for m in scan.messages if m.message_id])
        found = 0
        for send in person_sends(drafts, messages, ours):
            row = rows[cast(uuid.UUID, send.draft.key)]
            if await self._drafts.record_person(row, send.how):
                found += 1
        # Moved on only once every find is recorded: a failure above looks again next time.
        self._uidvalidity, self._last_uid = scan.uidvalidity, scan.last_uid
        return found
