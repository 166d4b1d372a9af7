"""Events the sender emits about a message, built without I/O.

Event ids are derived from (message key, kind, what happened), so when a record is
processed again after a crash the repeated StatusChanged/DeadLetter carries the same id
and the projector applies it once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from mailroom_common.events import (
    AlertEvent,
    AlertSeverity,
    DeadLetterEvent,
    OutboundEmail,
    OutboundKind,
    StatusChanged,
    TaskStatus,
)

__all__ = [
    "DRAFTS_PRODUCER",
    "MODES_PRODUCER",
    "PRODUCER",
    "alert",
    "dead_letter",
    "decision_status",
    "event_id_for",
    "kept_status",
    "status_changed",
    "task_status",
]

PRODUCER = "sender"
# Statuses the sender *decides* (answer modes; what became of a draft) rather than reports
# about a delivery carry producers of their own: the admin API shows their reasons as the
# task's reason, while "sender" rows are delivery results ("accepted: 250 …").
MODES_PRODUCER = "sender-modes"
DRAFTS_PRODUCER = "sender-drafts"
_NAMESPACE = uuid.UUID("6f1c1d8e-5d0b-4f7e-9a53-3f1f0b7c2a10")


def event_id_for(message_key: str, kind: str, what: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{message_key}\x00{kind}\x00{what}")


_DELIVERED_STATUSES = frozenset({TaskStatus.SENT, TaskStatus.HANDOFF, TaskStatus.DEAD_LETTER})


def status_changed(
    message_key: str,
    kind: str,
    status: TaskStatus,
    *,
    reason: str,
    trace_id: str | None,
    out: OutboundEmail | None = None,
    attempts: int | None = None,
    error: str | None = None,
) -> StatusChanged:
    """A status for the task; ``out`` (when known) adds what the responder decided."""
    return StatusChanged(
        event_id=event_id_for(message_key, kind, f"status:{status.value}"),
        producer=PRODUCER,
        message_key=message_key,
        status=status,
        reason=reason,
        route=out.route if out else None,
        intent=out.intent if out else None,
        attempts=attempts,
        error=error,
        # The text that went out is what an operator wants to read next to the task.
        # (A handoff acknowledgement or holding reply keeps the task's status; see handler.)
        reply_text=out.body_text if out and status in _DELIVERED_STATUSES else None,
        model=out.model if out else None,
        prompt_tokens=out.prompt_tokens if out else None,
        completion_tokens=out.completion_tokens if out else None,
        cost_usd=out.cost_usd if out else None,
        trace_id=trace_id,
    )


# An acknowledgement or holding reply going out must not hide why a person has to act:
# the task keeps its handoff / dead-letter status and the send is its history.
_STATUS_KEPT_WHEN_SENT: dict[str, TaskStatus] = {
    OutboundKind.HANDOFF_ACK.value: TaskStatus.HANDOFF,
    OutboundKind.HOLDING.value: TaskStatus.DEAD_LETTER,
}


def task_status(
    message_key: str,
    kind: str,
    status: TaskStatus,
    *,
    reason: str,
    trace_id: str | None,
    out: OutboundEmail | None = None,
    attempts: int | None = None,
    error: str | None = None,
) -> StatusChanged:
    """The status event reporting what became of one message of a task.

    A handoff acknowledgement or a holding reply that was sent keeps the task's handoff /
    dead-letter status. A message whose outbound event says ``keeps_status`` (a holding
    reply while the answer is still coming) is reported, sent or not, as a history row
    with that status, stamped with the outbound event's time so that the task's answer
    (any later status) wins whatever the order; its event id and reason still name what
    happened, and it carries no reply text (the answer's is the one to show).
    """
    if out is not None and out.keeps_status is not None:
        event = status_changed(
            message_key,
            kind,
            status,
            reason=f"{kind} {status.value}; {reason}",
            trace_id=trace_id,
            out=out,
            attempts=attempts,
            error=error,
        )
        return event.model_copy(
            update={"status": out.keeps_status, "occurred_at": out.occurred_at, "reply_text": None}
        )
    kept = _STATUS_KEPT_WHEN_SENT.get(kind)
    if status is TaskStatus.SENT and kept is not None:
        status, reason = kept, f"{kind} sent; {reason}"
    return status_changed(
        message_key,
        kind,
        status,
        reason=reason,
        trace_id=trace_id,
        out=out,
        attempts=attempts,
        error=error,
    )


def decision_status(
    out: OutboundEmail,
    status: TaskStatus,
    *,
    reason: str,
    what: str,
    trace_id: str | None,
    producer: str = MODES_PRODUCER,
    reply_text: str | None = None,
) -> StatusChanged:
    """A status the sender decides for the task of a reply: handed off (mode off), drafted,
    shadowed, discarded, sent by a person. ``what`` names it in the event id, so the same
    decision repeated after a crash is the same event."""
    return StatusChanged(
        event_id=event_id_for(out.message_key, out.kind.value, what),
        producer=producer,
        message_key=out.message_key,
        status=status,
        reason=reason,
        route=out.route,
        intent=out.intent,
        reply_text=reply_text,
        model=out.model,
        prompt_tokens=out.prompt_tokens,
        completion_tokens=out.completion_tokens,
        cost_usd=out.cost_usd,
        trace_id=trace_id,
    )


def kept_status(
    out: OutboundEmail, reason: str, *, what: str, trace_id: str | None
) -> StatusChanged:
    """What became of a holding reply or handoff acknowledgement that did not go out as
    usual (skipped, shadowed, drafted, discarded, sent by a person): a history row with the
    status the task keeps, reported like its send would have been (``task_status``)."""
    kind = out.kind.value
    kept = out.keeps_status or _STATUS_KEPT_WHEN_SENT.get(kind, TaskStatus.HANDOFF)
    event = StatusChanged(
        event_id=event_id_for(out.message_key, kind, what),
        producer=PRODUCER,
        message_key=out.message_key,
        status=kept,
        reason=f"{kind} {reason}",
        route=out.route,
        intent=out.intent,
        trace_id=trace_id,
    )
    if out.keeps_status is not None:
        # As for a holding reply that was sent: the task's answer wins whatever the order.
        event = event.model_copy(update={"occurred_at": out.occurred_at})
    return event


def dead_letter(
    *,
    message_key: str,
    kind: str,
    stage: str,
    error_class: str,
    error_message: str,
    attempts: int,
    first_failure_at: datetime,
    last_failure_at: datetime,
    original: dict[str, Any],
    original_topic: str,
) -> DeadLetterEvent:
    return DeadLetterEvent(
        event_id=event_id_for(message_key, kind, "dead_letter"),
        producer=PRODUCER,
        message_key=message_key,
        stage=stage,
        error_class=error_class,
        error_message=error_message,
        attempts=attempts,
        first_failure_at=first_failure_at,
        last_failure_at=last_failure_at,
        original=original,
        original_topic=original_topic,
    )


def alert(
    *,
    kind: str,
    message: str,
    message_key: str | None,
    severity: AlertSeverity = AlertSeverity.WARNING,
    details: dict[str, Any] | None = None,
    dedup: str | None = None,
) -> AlertEvent:
    event_id = event_id_for(message_key or "", kind, f"alert:{dedup}") if dedup else uuid.uuid4()
    return AlertEvent(
        event_id=event_id,
        producer=PRODUCER,
        kind=kind,
        severity=severity,
        message=message,
        message_key=message_key,
        details=details or {},
    )
