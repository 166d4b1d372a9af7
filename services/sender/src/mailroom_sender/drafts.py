"""Drafts: replies filed in the mailbox's Drafts folder, and what people decide about them.

* **Filing** (answer mode ``draft``): the message is built by the same code that builds a
  sent one (same From, Subject, In-Reply-To, References and Message-ID), the row is
  claimed in ``filing`` and committed, then APPENDed with ``\\Draft``; a row found in
  ``filing`` (a crash) is looked up in Drafts by its Message-ID before any APPEND, so a
  draft is filed once. The task becomes ``drafted``.
* **Approve** (a ``DraftAction`` from the admin API): unless a person already sent it from
  the mailbox, the row becomes ``approved`` (with the edited text, if any) and the message
  goes through the ledger like any other: exactly once, whatever crashes. Then it is
  taken out of Drafts. mailroom never sends a draft by itself.
* **Discard**: ``discarded``, the ledger settles the message as suppressed (nothing can
  send it any more), the task becomes ``discarded``, the draft is taken out of Drafts.
* **Sent by a person** (the Sent watcher, or the check before an approval): the ledger
  records the message as sent, so no approval sends it again; the task becomes ``sent``.

For a handoff acknowledgement the task stays ``handoff`` throughout (a person answers it
anyway): what became of the acknowledgement is a history row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from mailroom_common.answer_modes import SENT_BY_PERSON
from mailroom_common.db.models import DraftState, LedgerState
from mailroom_common.events import DraftAction, OutboundEmail, StatusChanged, TaskStatus
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id

from .delivery import Delivery
from .draft_logic import PendingDraft, SentMessage, Step, next_step, person_sends
from .drafts_store import DraftRow, DraftStore
from .handler import outgoing
from .ledger import Ledger, SendRequest
from .mailbox import Mailbox
from .message import OutgoingMail
from .metrics import SenderMetrics
from .outcomes import DRAFTS_PRODUCER, decision_status, kept_status
from .reporting import Reporter
from .work import Done, Prepared, Retry, Verdict, Work

__all__ = ["Drafts"]

log = get_logger(__name__)

Prepare = Callable[[OutgoingMail, str, OutboundEmail | None], Prepared]
_SENT_OUTCOMES = frozenset({"sent", "already_sent"})


class Drafts:
    def __init__(
        self,
        *,
        store: DraftStore,
        mailbox: Mailbox,
        ledger: Ledger,
        delivery: Delivery,
        reporter: Reporter,
        prepare: Prepare,
        metrics: SenderMetrics,
    ) -> None:
        self._store = store
        self._mailbox = mailbox
        self._ledger = ledger
        self._delivery = delivery
        self._report = reporter
        self._prepare = prepare
        self._metrics = metrics

    # --- filing ---------------------------------------------------------------------------------
    async def file(self, work: Work, p: Prepared, reason: str) -> Verdict:
        del work
        out = p.target.outbound
        assert out is not None  # only replies and acknowledgements are drafted
        row, claimed = await self._store.claim(p, out)
        if row.state == DraftState.FILING:
            async with self._store.locked(row.id) as (conn, current):
                if current.state == DraftState.FILING:
                    # Found in Drafts: the APPEND of an attempt that crashed went through.
                    there = not claimed and await self._mailbox.contains(
                        "drafts", p.smtp_message_id
                    )
                    folder = await self._mailbox.folder("drafts")
                    if not there:
                        folder = await self._mailbox.append("drafts", p.raw, draft=True)
                    await self._store.set_state(conn, row.id, DraftState.FILED, folder=folder)
                    self._metrics.drafts.labels("filed").inc()
                    log.info(
                        "done.drafted",
                        message_key=out.message_key,
                        kind=out.kind.value,
                        folder=folder,
                        found_after_crash=there,
                    )
                row = current if current.state != DraftState.FILING else row
                state = DraftState.FILED if current.state == DraftState.FILING else current.state
        else:
            state = row.state
        if state != DraftState.FILED:
            # Decided on since (approved, sent, discarded): its own report stands.
            return Done("drafted_before")
        folder = row.folder or await self._mailbox.folder("drafts")
        await self._report.event(self._filed_status(out, f"draft filed in {folder}: {reason}"))
        return Done("drafted")

    def _filed_status(self, out: OutboundEmail, reason: str) -> StatusChanged:
        trace_id = current_trace_id()
        if out.kind.value != "reply":
            return kept_status(out, reason, what="draft:filed", trace_id=trace_id)
        return decision_status(
            out,
            TaskStatus.DRAFTED,
            reason=reason,
            what="draft:filed",
            trace_id=trace_id,
            reply_text=out.body_text,
        )

    # --- operators' decisions -----------------------------------------------------------------
    async def act(self, work: Work, action: DraftAction) -> Verdict:
        rows = await self._store.for_key(action.message_key)
        if not rows:
            log.warning("draft.unknown", message_key=action.message_key, action=action.action)
            return Done("unknown_draft")
        verdict: Verdict = Done("nothing")
        for row in rows:  # one per kind; in practice a task has one draft
            outcome = await self._act_on(work, action, row)
            if isinstance(outcome, Retry):
                return outcome
            verdict = outcome
        return verdict

    async def _act_on(self, work: Work, action: DraftAction, row: DraftRow) -> Verdict:
        step = next_step(action.action, row.state)
        if step is Step.WAIT:
            return Retry(2.0, "the draft is still being filed")
        if step is Step.REFUSE:
            log.warning(
                "draft.refused",
                message_key=row.message_key,
                kind=row.kind,
                action=action.action,
                state=row.state,
            )
            return Done("refused")
        if step is Step.APPROVE:
            return await self._approve(work, action, row)
        if step in (Step.SEND, Step.CONFIRM_SENT):
            return await self._send(work, row)
        if step is Step.DISCARD:
            return await self._discard(action, row)
        await self._report.event(self._discarded_status(row, row.decided_by or action.actor))
        await self.remove(row)
        return Done("discarded")

    async def _approve(self, work: Work, action: DraftAction, row: DraftRow) -> Verdict:
        # Before the first approval no ledger row exists for this message, so its Message-ID
        # (or a reply to the customer) in Sent can only be a person's doing.
        if await self._answered_by_person(row):
            await self.record_person(row, "found in Sent when approved")
            return Done("sent_by_person")
        async with self._store.locked(row.id) as (conn, current):
            if current.state != DraftState.FILED:
                return Retry(0.1, f"the draft became {current.state} meanwhile")
            text = action.body_text
            await self._store.set_state(
                conn, row.id, DraftState.APPROVED, body_text=text, decided_by=action.actor
            )
        self._metrics.drafts.labels("approved").inc()
        log.info("draft.approved", message_key=row.message_key, kind=row.kind, edited=bool(text))
        row = replace(
            row, state=DraftState.APPROVED, body_text=row.body_text if text is None else text
        )
        out = row.outbound_email()
        if out.kind.value == "reply":
            reason = f"draft approved by {action.actor}: sending"
            await self._report.event(
                decision_status(
                    out,
                    TaskStatus.DRAFTED,
                    reason=reason,
                    what="draft:approved",
                    trace_id=current_trace_id(),
                    producer=DRAFTS_PRODUCER,
                )
            )
        return await self._send(work, row)

    async def _send(self, work: Work, row: DraftRow) -> Verdict:
        out = row.outbound_email()
        mail, thread_key = outgoing(out)
        verdict = await self._delivery.deliver(work, self._prepare(mail, thread_key, out))
        if isinstance(verdict, Done) and verdict.outcome in _SENT_OUTCOMES:
            await self._store.mark_sent(row.id)
            await self.remove(row)
        return verdict

    async def _discard(self, action: DraftAction, row: DraftRow) -> Verdict:
        async with self._store.locked(row.id) as (conn, current):
            if current.state != DraftState.FILED:
                return Retry(0.1, f"the draft became {current.state} meanwhile")
            await self._store.set_state(conn, row.id, DraftState.DISCARDED, decided_by=action.actor)
            # Settled in the ledger in the same transaction: nothing can send it from now on.
            await self._ledger.record(
                self._request(row),
                LedgerState.SUPPRESSED,
                f"draft discarded by {action.actor}",
                conn,
            )
        self._metrics.drafts.labels("discarded").inc()
        log.info("draft.discarded", message_key=row.message_key, kind=row.kind)
        await self._report.event(self._discarded_status(row, action.actor))
        await self.remove(row)
        return Done("discarded")

    def _discarded_status(self, row: DraftRow, actor: str) -> StatusChanged:
        out = row.outbound_email()
        reason = f"draft discarded by {actor}: nothing is sent"
        if out.kind.value != "reply":
            return kept_status(out, reason, what="draft:discarded", trace_id=current_trace_id())
        return decision_status(
            out,
            TaskStatus.DISCARDED,
            reason=reason,
            what="draft:discarded",
            trace_id=current_trace_id(),
            producer=DRAFTS_PRODUCER,
        )

    # --- a person sent it -------------------------------------------------------------------------
    async def _answered_by_person(self, row: DraftRow) -> bool:
        out = row.outbound_email()
        sent = await self._mailbox.sent_matching(row.smtp_message_id, out.in_reply_to)
        ids = [m.message_id for m in sent if m.message_id]
        ours = await self._store.ledger_ids(ids)
        pending = [PendingDraft(row.id, row.smtp_message_id, out.in_reply_to)]
        messages = [SentMessage(m.message_id, m.in_reply_to) for m in sent]
        return bool(person_sends(pending, messages, ours))

    async def record_person(self, row: DraftRow, how: str) -> bool:
        """A person sent the draft (or answered the customer) from the mailbox: the ledger
        records it as sent, so no approval can send it again; False if it was settled."""
        async with self._store.locked(row.id) as (conn, current):
            if current.state != DraftState.FILED:
                return False
            await self._store.set_state(
                conn, row.id, DraftState.SENT_BY_PERSON, decided_by="mailbox"
            )
            await self._ledger.record(self._request(row), LedgerState.SENT, SENT_BY_PERSON, conn)
        self._metrics.drafts.labels("sent_by_person").inc()
        log.info("draft.sent_by_person", message_key=row.message_key, kind=row.kind, how=how)
        out = row.outbound_email()
        trace_id = current_trace_id()
        if out.kind.value != "reply":
            event = kept_status(out, SENT_BY_PERSON, what="draft:sent_by_person", trace_id=trace_id)
        else:
            event = decision_status(
                out,
                TaskStatus.SENT,
                reason=SENT_BY_PERSON,
                what="draft:sent_by_person",
                trace_id=trace_id,
                producer=DRAFTS_PRODUCER,
            )
        await self._report.event(event)
        await self.remove(row)
        return True

    # --- tidying Drafts ---------------------------------------------------------------------------
    async def remove(self, row: DraftRow) -> None:
        """Take a settled draft out of the Drafts folder; on failure the watcher retries."""
        try:
            removed = await self._mailbox.delete("drafts", row.smtp_message_id)
        except Exception as exc:
            log.warning("draft.remove_failed", message_key=row.message_key, error=str(exc)[:200])
            return
        await self._store.mark_removed(row.id)
        if removed:
            self._metrics.drafts.labels("removed").inc()

    @staticmethod
    def _request(row: DraftRow) -> SendRequest:
        return SendRequest(
            message_key=row.message_key,
            kind=row.kind,
            smtp_message_id=row.smtp_message_id,
            recipient=row.recipient,
            thread_key=row.thread_key,
            subject=row.subject,
        )
