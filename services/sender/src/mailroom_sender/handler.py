"""What happens to one record: render, decide by the answer modes, then send, draft or record.

The handler returns a verdict instead of sleeping: a temporary SMTP failure becomes
``Retry(delay)`` and the runner parks the record, so other mail keeps flowing and the
record's offset stays uncommitted until it is finally done.

* ``auto`` (and transactional mail): :class:`~mailroom_sender.delivery.Delivery` — ledger
  claim → SMTP → ledger → events.
* ``draft``: :class:`~mailroom_sender.drafts.Drafts` files the reply in the Drafts folder.
* ``off``, shadow mode, a holding reply while LLM answers are not automatic: nothing goes
  out; the ledger records the message as settled (so no later run, whatever its modes, can
  send it) and the task gets its status (``handoff``, ``shadowed``) or a history row.
* A ``DraftAction`` (an operator approving or discarding a draft) goes to the drafts too.
"""

from __future__ import annotations

from email import policy
from email.errors import HeaderParseError
from typing import Any, Protocol

from mailroom_common.db.models import LedgerState
from mailroom_common.events import (
    DraftAction,
    OutboundEmail,
    TaskStatus,
    TransactionalRequest,
    utcnow,
)
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id

from .delivery import Delivery, send_request
from .ledger import Ledger
from .message import OutgoingMail, build_email, make_message_id, reply_subject
from .metrics import SenderMetrics
from .modes import Action, AnswerModes, ModeDecision, decide
from .outcomes import decision_status, kept_status
from .reporting import Reporter
from .sentbox import SentFolder
from .transactional import TemplateRenderer, TransactionalError
from .work import Done, HandlerConfig, Prepared, Publisher, Retry, Target, Verdict, Work

__all__ = [
    "Done",
    "DraftDesk",
    "HandlerConfig",
    "MessageHandler",
    "Publisher",
    "Retry",
    "Target",
    "Work",
    "outgoing",
]

log = get_logger(__name__)
_NO_MAILBOX = "drafts need the mailbox's IMAP account (SENDER_SENT_CHECK_*)"


class DraftDesk(Protocol):
    """Files drafts and carries out operators' decisions about them (``drafts.py``)."""

    async def file(self, work: Work, p: Prepared, reason: str) -> Verdict: ...

    async def act(self, work: Work, action: DraftAction) -> Verdict: ...


def outgoing(event: OutboundEmail, *, body_text: str | None = None) -> tuple[OutgoingMail, str]:
    """The message an outbound event asks for (``body_text`` replaces its text)."""
    mail = OutgoingMail(
        message_key=event.message_key,
        kind=event.kind.value,
        to=event.to,
        subject=reply_subject(event.subject),
        body_text=event.body_text if body_text is None else body_text,
        body_html=event.body_html if body_text is None else None,
        in_reply_to=event.in_reply_to,
        references=tuple(event.references),
    )
    return mail, event.thread_key


class MessageHandler:
    def __init__(
        self,
        *,
        config: HandlerConfig,
        ledger: Ledger,
        publisher: Publisher,
        renderer: TemplateRenderer,
        metrics: SenderMetrics,
        sent_folder: SentFolder | None,
        modes: AnswerModes | None = None,
        drafts: DraftDesk | None = None,
    ) -> None:
        self._cfg = config
        self._ledger = ledger
        self._renderer = renderer
        self._metrics = metrics
        self._modes = modes or AnswerModes()
        self._drafts = drafts
        self._report = Reporter(publisher)
        self.delivery = Delivery(
            config=config,
            ledger=ledger,
            reporter=self._report,
            metrics=metrics,
            sent_folder=sent_folder,
        )

    # --- preparing ------------------------------------------------------------------------
    def _outgoing(self, event: OutboundEmail | TransactionalRequest) -> tuple[OutgoingMail, str]:
        if isinstance(event, OutboundEmail):
            return outgoing(event)
        rendered = self._renderer.render(
            event.template, event.locale, event.data, shop_name=self._cfg.shop_name
        )
        mail = OutgoingMail(
            message_key=f"txn:{event.request_id}",
            kind="transactional",
            to=event.to,
            subject=rendered.subject,
            body_text=rendered.text,
            body_html=rendered.html,
            auto_submitted="auto-generated",
            language=event.locale,
        )
        return mail, f"txn:{event.request_id}"

    def prepare(self, mail: OutgoingMail, thread_key: str, out: OutboundEmail | None) -> Prepared:
        """Render ``mail`` exactly as it goes out (or is filed as a draft)."""
        identity = self._cfg.identity
        raw = build_email(mail, identity, now=utcnow()).as_bytes(policy=policy.SMTP)
        target = Target(mail.message_key, mail.kind, thread_key, out)
        mid = make_message_id(mail.message_key, mail.kind, identity.domain)
        return Prepared(mail, raw, target, mid)

    # --- entry point ------------------------------------------------------------------------
    async def handle(self, work: Work) -> Verdict:
        event = work.event
        if isinstance(event, DraftAction):
            return await self._act(work, event)
        prepared = await self._prepare_or_reject(work, event)
        if isinstance(prepared, Done):
            return prepared
        out = prepared.target.outbound
        route = out.route.value if out is not None and out.route is not None else None
        decision = decide(prepared.mail.kind, route, self._modes)
        self._metrics.modes.labels(prepared.mail.kind, decision.action.value).inc()
        if decision.action is Action.SEND:
            return await self.delivery.deliver(work, prepared)
        if decision.action is Action.DRAFT:
            return await self._file(work, prepared, decision.reason)
        return await self._unsent(work, prepared, decision)

    async def _act(self, work: Work, action: DraftAction) -> Verdict:
        if self._drafts is None:
            log.error("draft.no_mailbox", message_key=action.message_key, action=action.action)
            return Retry(60.0, _NO_MAILBOX)
        return await self._drafts.act(work, action)

    async def _file(self, work: Work, p: Prepared, reason: str) -> Verdict:
        if self._drafts is None:
            log.error("draft.no_mailbox", message_key=p.mail.message_key, kind=p.mail.kind)
            return Retry(60.0, _NO_MAILBOX)
        return await self._drafts.file(work, p, reason)

    async def _prepare_or_reject(
        self, work: Work, event: OutboundEmail | TransactionalRequest
    ) -> Prepared | Done:
        if isinstance(event, OutboundEmail):
            out: OutboundEmail | None = event
            key, kind = event.message_key, event.kind.value
        else:
            out, key, kind = None, f"txn:{event.request_id}", "transactional"
        try:
            mail, thread_key = self._outgoing(event)
            return self.prepare(mail, thread_key, out)
        except TransactionalError as exc:
            await self._reject(
                work, key=key, kind=kind, stage="transactional",
                error_class="TransactionalError", error=str(exc),
            )  # fmt: skip
            return Done("bad_request")
        except (ValueError, HeaderParseError, IndexError) as exc:
            # A recipient that is not an address cannot become deliverable by retrying.
            await self._reject(
                work, key=key, kind=kind, stage="sender",
                error_class=type(exc).__name__, error=str(exc),
            )  # fmt: skip
            return Done("bad_message")

    @property
    def reporter(self) -> Reporter:
        return self._report

    def attach_drafts(self, drafts: DraftDesk) -> None:
        self._drafts = drafts

    async def resolve_orphan(self, row_id: Any, smtp_message_id: str, target: Target) -> str:
        return await self.delivery.resolve_orphan(row_id, smtp_message_id, target)

    # --- nothing goes out -----------------------------------------------------------------------
    async def _unsent(self, work: Work, p: Prepared, decision: ModeDecision) -> Verdict:
        """Mode off, shadow mode, a skipped holding reply: settle it in the ledger, report."""
        key, kind = p.mail.message_key, p.mail.kind
        reason = decision.reason
        if decision.action is not Action.SHADOW:
            reason = f"not sent: {reason}"
        request = send_request(p)
        if not await self._ledger.record(request, LedgerState.SUPPRESSED, reason):
            existing = await self._ledger.state_of(key, kind)
            if existing != (LedgerState.SUPPRESSED, reason):
                # Settled differently before (sent, failed, a retry pending…): the ledger's
                # word stands, and the usual path reports it or finishes the send.
                return await self.delivery.deliver(work, p)
        log.info(
            "done.not_sent",
            message_key=key,
            kind=kind,
            action=decision.action.value,
            mode=decision.mode.value,
            reason=reason,
        )
        out = p.target.outbound
        if out is None:  # transactional mail in shadow mode: no task to report on
            return Done(decision.action.value)
        what = f"mode:{decision.action.value}"
        trace_id = current_trace_id()
        if kind != "reply":
            event = kept_status(out, reason, what=what, trace_id=trace_id)
        elif decision.action is Action.SHADOW:
            event = decision_status(
                out,
                TaskStatus.SHADOWED,
                reason=reason,
                what=what,
                trace_id=trace_id,
                reply_text=out.body_text,
            )
        else:
            event = decision_status(
                out, TaskStatus.HANDOFF, reason=decision.reason, what=what, trace_id=trace_id
            )
        await self._report.event(event)
        return Done(decision.action.value)

    async def _reject(
        self, work: Work, *, key: str, kind: str, stage: str, error_class: str, error: str
    ) -> None:
        event = work.event
        await self._report.reject(
            message_key=key,
            kind=kind,
            stage=stage,
            error_class=error_class,
            error=error,
            original=event.model_dump(mode="json"),
            original_topic=work.topic,
            first_failure_at=work.first_failure_at,
            outbound=event if isinstance(event, OutboundEmail) else None,
        )
