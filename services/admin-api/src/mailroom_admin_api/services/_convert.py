"""Row → response-body conversions shared by several services (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from mailroom_admin_api.reasons import summary_reason
from mailroom_admin_api.schemas import AlertOut, DeadLetterOut, DecisionOut, TaskSummary
from mailroom_common.db.models import AlertRecord, DeadLetterRecord, EmailTask
from mailroom_common.events import InboundEmail

__all__ = [
    "alert_out",
    "as_inbound",
    "dead_letter_out",
    "decision_out",
    "inbound_original",
    "task_original",
    "task_summary",
    "trace_url",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def at_or_epoch(value: datetime | None) -> datetime:
    # NOT NULL columns; the fallback only keeps the type checker honest.
    return value if value is not None else _EPOCH


def task_summary(task: EmailTask, latest_decision: str | None = None) -> TaskSummary:
    """The listed task; ``latest_decision``: its newest reason not reported by the sender."""
    return TaskSummary(
        id=task.id,
        message_key=task.message_key,
        status=task.status,
        route=task.route,
        intent=task.intent,
        from_address=task.from_address,
        subject=task.subject,
        mailbox=task.mailbox,
        attempts=task.attempts,
        received_at=task.received_at,
        created_at=at_or_epoch(task.created_at),
        status_at=task.status_at,
        trace_id=task.trace_id,
        decision_reason=task.decision_reason,
        confidence=task.confidence,
        reason=summary_reason(
            status=task.status,
            latest_decision=latest_decision,
            decision_reason=task.decision_reason,
            last_error=task.last_error,
        ),
    )


def decision_out(task: EmailTask) -> DecisionOut | None:
    """The routing decision stored with the task (None before one was recorded)."""
    if not isinstance(task.decision, dict):
        return None
    try:
        return DecisionOut.model_validate(task.decision)
    except ValidationError:
        return None


def inbound_original(record: DeadLetterRecord) -> InboundEmail | None:
    """The dead letter's original as an InboundEmail, or None if it is something else."""
    return as_inbound(record.original)


def task_original(task: EmailTask) -> InboundEmail | None:
    """The email stored with the task by the projector (None for older tasks)."""
    return as_inbound(task.original)


def as_inbound(original: Any) -> InboundEmail | None:
    """A stored JSON original as an InboundEmail, or None if it is something else."""
    if not isinstance(original, dict) or original.get("event_type") != "inbound_email":
        return None
    try:
        return InboundEmail.model_validate(original)
    except ValidationError:
        return None


def dead_letter_out(record: DeadLetterRecord) -> DeadLetterOut:
    return DeadLetterOut(
        id=record.id,
        message_key=record.message_key,
        stage=record.stage,
        error_class=record.error_class,
        error_message=record.error_message,
        attempts=record.attempts,
        original_topic=record.original_topic,
        first_failure_at=at_or_epoch(record.first_failure_at),
        last_failure_at=at_or_epoch(record.last_failure_at),
        trace_id=record.trace_id,
        reprocessed_at=record.reprocessed_at,
        created_at=at_or_epoch(record.created_at),
        reprocessable=inbound_original(record) is not None,
    )


def alert_out(record: AlertRecord) -> AlertOut:
    return AlertOut(
        id=record.id,
        kind=record.kind,
        severity=record.severity,
        message=record.message,
        message_key=record.message_key,
        details=record.details or {},
        occurred_at=at_or_epoch(record.occurred_at),
    )


def trace_url(base: str | None, trace_id: str | None) -> str | None:
    if not base or not trace_id:
        return None
    return f"{base}/trace/{trace_id}"
