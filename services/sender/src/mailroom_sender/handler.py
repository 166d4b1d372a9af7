"""What happens to one outbound record: render, claim in the ledger, send, report.

The handler returns a verdict instead of sleeping: a temporary SMTP failure becomes
``Retry(delay)`` and the runner parks the record, so other mail keeps flowing and the
record's offset stays uncommitted until it is finally done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.errors import HeaderParseError
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from mailroom_common.db.models import LedgerState
from mailroom_common.events import (
    AlertSeverity,
    OutboundEmail,
    TaskStatus,
    TransactionalRequest,
    utcnow,
)
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import current_trace_id, hash_address
from mailroom_common.topics import ALERTS, DEAD_LETTER, STATUS, TopicSpec

from .backoff import retry_delay
from .ledger import ClaimAction, Ledger, SendRequest
from .message import Identity, OutgoingMail, build_email, make_message_id, reply_subject
from .metrics import SenderMetrics
from .outcomes import alert, dead_letter, task_status
from .sentbox import SentFolder
from .smtp import AmbiguousSmtpError, PermanentSmtpError, SmtpConnection, TransientSmtpError
from .transactional import TemplateRenderer, TransactionalError

__all__ = ["Done", "HandlerConfig", "MessageHandler", "Publisher", "Retry", "Target", "Work"]

log = get_logger(__name__)
tracer = trace.get_tracer("mailroom_sender")


_SKIP_STATUS = {
    LedgerState.SENT: TaskStatus.SENT,
    LedgerState.UNCERTAIN: TaskStatus.UNCERTAIN,
    LedgerState.FAILED: TaskStatus.SEND_FAILED,
}


class Publisher(Protocol):
    async def publish(self, spec: TopicSpec, event: Any, *, key: str | None) -> None: ...


@dataclass
class Work:
    """One consumed record and its in-process retry state."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event: OutboundEmail | TransactionalRequest
    original_topic_spec: str
    attempts: int = 0
    first_failure_at: datetime | None = None
    epoch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tp(self) -> tuple[str, int]:
        return (self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class Done:
    outcome: str


@dataclass(frozen=True, slots=True)
class Retry:
    delay_s: float
    error: str


Verdict = Done | Retry


@dataclass(frozen=True, slots=True)
class HandlerConfig:
    identity: Identity
    shop_name: str
    envelope_from: str
    retry_base_s: float
    retry_max_s: float
    retry_jitter: float
    max_attempts: int
    save_sent: bool
    sent_check: bool
    sent_check_authoritative: bool


@dataclass(frozen=True, slots=True)
class Target:
    """Which task a ledger row belongs to, for the events about it."""

    message_key: str
    kind: str
    thread_key: str | None
    outbound: OutboundEmail | None = None

    @property
    def is_task(self) -> bool:
        # Transactional mail has no email task, so no StatusChanged is emitted for it.
        return self.kind != "transactional"


@dataclass(frozen=True, slots=True)
class _Prepared:
    mail: OutgoingMail
    raw: bytes
    target: Target


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
    ) -> None:
        self._cfg = config
        self._ledger = ledger
        self._pub = publisher
        self._renderer = renderer
        self._metrics = metrics
        self._sent = sent_folder

    # --- preparing ------------------------------------------------------------------------
    def _outgoing(self, event: OutboundEmail | TransactionalRequest) -> tuple[OutgoingMail, str]:
        if isinstance(event, OutboundEmail):
            mail = OutgoingMail(
                message_key=event.message_key,
                kind=event.kind.value,
                to=event.to,
                subject=reply_subject(event.subject),
                body_text=event.body_text,
                body_html=event.body_html,
                in_reply_to=event.in_reply_to,
                references=tuple(event.references),
            )
            return mail, event.thread_key
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

    # --- entry point ------------------------------------------------------------------------
    async def handle(self, work: Work) -> Verdict:
        event = work.event
        is_txn = isinstance(event, TransactionalRequest)
        key = f"txn:{event.request_id}" if is_txn else event.message_key  # type: ignore[union-attr]
        kind = "transactional" if is_txn else event.kind.value  # type: ignore[union-attr]
        try:
            mail, thread_key = self._outgoing(event)
            raw = build_email(mail, self._cfg.identity, now=utcnow()).as_bytes(policy=policy.SMTP)
        except TransactionalError as exc:
            await self._reject(
                work,
                message_key=key,
                kind=kind,
                stage="transactional",
                error_class="TransactionalError",
                error=str(exc),
            )
            return Done("bad_request")
        except (ValueError, HeaderParseError, IndexError) as exc:
            # A recipient that is not an address cannot become deliverable by retrying.
            await self._reject(
                work,
                message_key=key,
                kind=kind,
                stage="sender",
                error_class=type(exc).__name__,
                error=str(exc),
            )
            return Done("bad_message")
        target = Target(
            mail.message_key,
            mail.kind,
            thread_key,
            None if is_txn else event,  # type: ignore[arg-type]
        )
        prepared = _Prepared(mail, raw, target)
        request = SendRequest(
            message_key=mail.message_key,
            kind=mail.kind,
            smtp_message_id=make_message_id(mail.message_key, mail.kind, self._cfg.identity.domain),
            recipient=mail.to,
            thread_key=thread_key,
            subject=mail.subject,
        )
        with tracer.start_as_current_span("ledger claim", kind=SpanKind.CLIENT) as span:
            span.set_attribute("db.system", "postgresql")
            span.set_attribute("db.operation", "claim")
            claim = await self._ledger.claim(request)
            span.set_attribute("mailroom.ledger.action", claim.action.value)
        if claim.action is ClaimAction.SKIP:
            self._metrics.skipped.labels(kind).inc()
            log.info("sender.duplicate", message_key=key, kind=kind, state=claim.state)
            # The earlier attempt may have died between the ledger commit and the status
            # event; repeating it is free (same event id, the projector applies it once).
            status = _SKIP_STATUS.get(claim.state)
            if status is not None:
                await self._status(target, status, claim.reason or f"ledger: {claim.state}")
            return Done("duplicate")
        if claim.action is ClaimAction.GUARDED:
            self._metrics.guarded.labels(kind).inc()
            log.warning("sender.guarded", message_key=key, kind=kind, reason=claim.reason)
            await self._status(target, TaskStatus.SEND_FAILED, f"loop guard: {claim.reason}")
            return Done("guarded")
        if claim.action is ClaimAction.ORPHAN:
            resolved = await self.resolve_orphan(claim.row_id, request.smtp_message_id, target)
            if resolved != "resend":
                return Done(resolved)
        return await self._send(work, prepared, request, claim.row_id, claim.attempts)

    # --- sending ------------------------------------------------------------------------------
    async def _send(
        self, work: Work, p: _Prepared, req: SendRequest, row_id: Any, attempts: int
    ) -> Verdict:
        smtp: SmtpConnection = work.extra["smtp"]
        kind = req.kind
        started = time.perf_counter()
        with tracer.start_as_current_span("smtp send", kind=SpanKind.CLIENT) as span:
            span.set_attribute("mailroom.recipient_hash", hash_address(req.recipient) or "")
            span.set_attribute("mailroom.message_key", req.message_key)
            span.set_attribute("mailroom.kind", kind)
            span.set_attribute("mailroom.attempt", attempts)
            try:
                reply = await smtp.send(self._cfg.envelope_from, req.recipient, p.raw)
            except TransientSmtpError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.reply))
                return await self._temporary(
                    work, p, req, row_id=row_id, attempts=attempts, error=exc.reply
                )
            except PermanentSmtpError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.reply))
                await self._ledger.mark_failed(row_id, exc.reply)
                self._metrics.failed.labels(kind).inc()
                await self._reject(
                    work,
                    message_key=req.message_key,
                    kind=kind,
                    stage="sender",
                    error_class="SmtpRejected",
                    error=exc.reply,
                    attempts=attempts,
                )
                return Done("failed")
            except AmbiguousSmtpError as exc:
                span.set_status(Status(StatusCode.ERROR, str(exc)))
                await self._uncertain(row_id, p.target, str(exc))
                return Done("uncertain")
            finally:
                self._metrics.send_seconds.observe(time.perf_counter() - started)
            span.set_attribute("smtp.reply", reply[:120])
        if self._cfg.save_sent and self._sent is not None:
            try:
                await self._sent.append(p.raw)
            except Exception as exc:
                log.warning("sender.sent_folder_append_failed", error=str(exc)[:200])
        with tracer.start_as_current_span("ledger mark_sent", kind=SpanKind.CLIENT) as span:
            span.set_attribute("db.system", "postgresql")
            await self._ledger.mark_sent(row_id)
        self._metrics.sent.labels(kind).inc()
        log.info(
            "done.sent",
            message_key=req.message_key,
            kind=kind,
            to=hash_address(req.recipient),
            attempt=attempts,
        )
        await self._status(p.target, TaskStatus.SENT, f"accepted: {reply[:200]}", attempts)
        return Done("sent")

    async def _temporary(
        self, work: Work, p: _Prepared, req: SendRequest, *, row_id: Any, attempts: int, error: str
    ) -> Verdict:
        await self._ledger.mark_retry(row_id, error)
        now = utcnow()
        work.attempts += 1
        work.first_failure_at = work.first_failure_at or now
        if self._cfg.max_attempts and attempts >= self._cfg.max_attempts:
            await self._ledger.mark_failed(row_id, error)
            self._metrics.failed.labels(req.kind).inc()
            await self._reject(
                work,
                message_key=req.message_key,
                kind=req.kind,
                stage="sender",
                error_class="SmtpRetriesExhausted",
                error=error,
                attempts=attempts,
            )
            return Done("failed")
        delay = retry_delay(
            work.attempts,
            base_s=self._cfg.retry_base_s,
            max_s=self._cfg.retry_max_s,
            jitter=self._cfg.retry_jitter,
        )
        self._metrics.retried.labels(req.kind).inc()
        log.warning(
            "waiting.smtp_retry",
            message_key=req.message_key,
            kind=req.kind,
            error=error[:200],
            retry_in_s=round(delay, 2),
            attempt=attempts,
        )
        return Retry(delay, error)

    # --- crash rule -----------------------------------------------------------------------------
    async def resolve_orphan(self, row_id: Any, smtp_message_id: str, target: Target) -> str:
        """A row left in ``sending`` by a crash: "sent", "resend" (authoritative miss) or
        "uncertain". Never sends by itself; "resend" tells the caller it is safe to."""
        key, kind = target.message_key, target.kind
        if self._cfg.sent_check and self._sent is not None:
            try:
                found = await self._sent.contains(smtp_message_id)
            except Exception as exc:
                log.warning("sender.sent_check_failed", message_key=key, error=str(exc)[:200])
            else:
                if found:
                    if await self._ledger.mark_sent(row_id):
                        self._metrics.sent.labels(kind).inc()
                        log.info("done.sent_confirmed", message_key=key, kind=kind)
                        await self._status(
                            target, TaskStatus.SENT, "found in the Sent folder after a crash"
                        )
                    return "sent"
                if self._cfg.sent_check_authoritative:
                    log.info("sender.sent_check_miss_resend", message_key=key, kind=kind)
                    return "resend"
        await self._uncertain(
            row_id,
            target,
            "interrupted after the ledger said 'sending'; the SMTP server may have it",
        )
        return "uncertain"

    async def _uncertain(self, row_id: Any, target: Target, why: str) -> None:
        if not await self._ledger.mark_uncertain(row_id, why):
            return
        key, kind = target.message_key, target.kind
        self._metrics.uncertain.labels(kind).inc()
        log.error("alert.send_uncertain", message_key=key, kind=kind, reason=why)
        await self._pub.publish(
            ALERTS,
            alert(
                kind="send_uncertain",
                severity=AlertSeverity.CRITICAL,
                message=f"{kind} for {key} may or may not have been sent: {why}",
                message_key=key,
                details={"kind": kind},
                dedup="send_uncertain",
            ),
            key=key,
        )
        await self._status(target, TaskStatus.UNCERTAIN, why)

    # --- reporting ------------------------------------------------------------------------------
    async def _status(
        self,
        target: Target,
        status: TaskStatus,
        reason: str,
        attempts: int | None = None,
        error: str | None = None,
    ) -> None:
        if not target.is_task:
            return
        event = task_status(
            target.message_key,
            target.kind,
            status,
            reason=reason,
            trace_id=current_trace_id(),
            out=target.outbound,
            attempts=attempts,
            error=error,
        )
        await self._pub.publish(STATUS, event, key=target.message_key)

    async def _reject(
        self,
        work: Work,
        *,
        message_key: str,
        kind: str,
        stage: str,
        error_class: str,
        error: str,
        attempts: int = 1,
    ) -> None:
        now = utcnow()
        log.error("dead_letter", message_key=message_key, kind=kind, stage=stage, error=error[:300])
        await self._pub.publish(
            DEAD_LETTER,
            dead_letter(
                message_key=message_key,
                kind=kind,
                stage=stage,
                error_class=error_class,
                error_message=error,
                attempts=attempts,
                first_failure_at=work.first_failure_at or now,
                last_failure_at=now,
                original=work.event.model_dump(mode="json"),
                original_topic=work.topic,
            ),
            key=message_key,
        )
        await self._pub.publish(
            ALERTS,
            alert(
                kind="dead_letter",
                message=f"{kind} for {message_key} dead-lettered at {stage}: {error[:300]}",
                message_key=message_key,
                details={"stage": stage, "error_class": error_class},
                dedup="dead_letter",
            ),
            key=message_key,
        )
        if isinstance(work.event, OutboundEmail):
            target = Target(message_key, kind, work.event.thread_key, work.event)
            await self._status(
                target,
                TaskStatus.SEND_FAILED,
                f"{error_class}: {error[:300]}",
                attempts,
                error=error,
            )
