"""Sending one prepared message: ledger claim → SMTP → ledger → events; the crash rule.

Used for every message that goes out: an outbound reply in ``auto`` mode, transactional
mail, and a draft an operator approved. The ledger's one row per (task, kind) is what makes
each of them go out at most once, whoever asks and however often.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from mailroom_common.db.models import LedgerState
from mailroom_common.events import AlertSeverity, TaskStatus, utcnow
from mailroom_common.logging import get_logger
from mailroom_common.telemetry import hash_address

from .backoff import retry_delay
from .ledger import ClaimAction, Ledger, SendRequest
from .metrics import SenderMetrics
from .reporting import Reporter
from .sentbox import SentFolder
from .smtp import AmbiguousSmtpError, PermanentSmtpError, SmtpConnection, TransientSmtpError
from .work import Done, HandlerConfig, Prepared, Retry, Target, Verdict, Work

__all__ = ["Delivery", "send_request"]

log = get_logger(__name__)
tracer = trace.get_tracer("mailroom_sender")

_SKIP_STATUS = {
    LedgerState.SENT: TaskStatus.SENT,
    LedgerState.UNCERTAIN: TaskStatus.UNCERTAIN,
    LedgerState.FAILED: TaskStatus.SEND_FAILED,
}


def send_request(p: Prepared) -> SendRequest:
    mail = p.mail
    return SendRequest(
        message_key=mail.message_key,
        kind=mail.kind,
        smtp_message_id=p.smtp_message_id,
        recipient=mail.to,
        thread_key=p.target.thread_key,
        subject=mail.subject,
    )


class Delivery:
    def __init__(
        self,
        *,
        config: HandlerConfig,
        ledger: Ledger,
        reporter: Reporter,
        metrics: SenderMetrics,
        sent_folder: SentFolder | None,
    ) -> None:
        self._cfg = config
        self._ledger = ledger
        self._report = reporter
        self._metrics = metrics
        self._sent = sent_folder

    async def deliver(self, work: Work, p: Prepared) -> Verdict:
        """Send ``p`` unless the ledger says it went (or must not go) already."""
        request = send_request(p)
        key, kind, target = request.message_key, request.kind, p.target
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
                await self._report.status(target, status, claim.reason or f"ledger: {claim.state}")
            return Done("duplicate" if claim.state != LedgerState.SENT else "already_sent")
        if claim.action is ClaimAction.GUARDED:
            self._metrics.guarded.labels(kind).inc()
            log.warning("sender.guarded", message_key=key, kind=kind, reason=claim.reason)
            await self._report.status(target, TaskStatus.SEND_FAILED, f"loop guard: {claim.reason}")
            return Done("guarded")
        if claim.action is ClaimAction.ORPHAN:
            resolved = await self.resolve_orphan(claim.row_id, request.smtp_message_id, target)
            if resolved != "resend":
                return Done(resolved)
        return await self._send(work, p, request, claim.row_id, claim.attempts)

    # --- sending ------------------------------------------------------------------------------
    async def _send(
        self, work: Work, p: Prepared, req: SendRequest, row_id: Any, attempts: int
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
                await self.reject(
                    work,
                    p,
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
        await self._report.status(p.target, TaskStatus.SENT, f"accepted: {reply[:200]}", attempts)
        return Done("sent")

    async def _temporary(
        self, work: Work, p: Prepared, req: SendRequest, *, row_id: Any, attempts: int, error: str
    ) -> Verdict:
        await self._ledger.mark_retry(row_id, error)
        now = utcnow()
        work.attempts += 1
        work.first_failure_at = work.first_failure_at or now
        if self._cfg.max_attempts and attempts >= self._cfg.max_attempts:
            await self._ledger.mark_failed(row_id, error)
            self._metrics.failed.labels(req.kind).inc()
            await self.reject(
                work,
                p,
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

    async def reject(
        self,
        work: Work,
        p: Prepared,
        *,
        stage: str,
        error_class: str,
        error: str,
        attempts: int = 1,
    ) -> None:
        out = p.target.outbound
        await self._report.reject(
            message_key=p.mail.message_key,
            kind=p.mail.kind,
            stage=stage,
            error_class=error_class,
            error=error,
            # An approved draft's record is the operator's action: the message is the original.
            original=(out if out is not None else work.event).model_dump(mode="json"),
            original_topic=work.topic,
            first_failure_at=work.first_failure_at,
            outbound=out,
            attempts=attempts,
        )

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
                        await self._report.status(
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
        await self._report.alert(
            key,
            "send_uncertain",
            f"{kind} for {key} may or may not have been sent: {why}",
            severity=AlertSeverity.CRITICAL,
            details={"kind": kind},
            dedup="send_uncertain",
        )
        await self._report.status(target, TaskStatus.UNCERTAIN, why)
