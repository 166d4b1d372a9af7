"""Pure parts of reprocessing: which tasks may be reprocessed, which event to publish and
how it links to the old trace.

Which statuses a single-task reprocess accepts, and why. A reprocess is a new *run* of the
email: the responder answers it afresh, while the sender's ledger (one row per message
key and kind) still sends each kind of message at most once, whatever the run.

* ``dead_letter``: always; the task ended without an answer.
* ``received``, ``processing``, ``retrying``: once the status has not changed for
  ``ADMIN_REPROCESS_STUCK_AFTER_S``. The run is then stuck (never seen by the responder,
  or lost on the way); earlier it may merely be waiting (an inbound backlog, the LLM
  limiter) and a second run would race it and pay the LLM twice.
* everything else is refused: ``sent`` (answered; checked first, ledger included),
  ``replied`` (its reply is on its way to the sender), ``uncertain`` (it may have reached
  the customer), ``handoff`` (a person answers it), ``send_failed`` (the ledger holds the
  reply as failed or suppressed, so a new run's reply would not be sent either),
  ``ignored`` / ``rejected`` (screened out: nothing to answer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from opentelemetry.trace import Link, SpanContext, TraceFlags

from mailroom_common.events import InboundEmail, TaskStatus

__all__ = [
    "ALWAYS_REPROCESSABLE",
    "REPROCESS_NAMESPACE",
    "WHEN_STUCK",
    "Refusal",
    "event_id_for",
    "is_sent",
    "link_to_trace",
    "refusal_for",
    "reprocess_event",
]

ALWAYS_REPROCESSABLE = frozenset({TaskStatus.DEAD_LETTER.value})
WHEN_STUCK = frozenset(
    {TaskStatus.RECEIVED.value, TaskStatus.PROCESSING.value, TaskStatus.RETRYING.value}
)
_WHY_NOT = {
    TaskStatus.REPLIED.value: "its reply is on its way to the sender",
    TaskStatus.UNCERTAIN.value: "its reply may already have reached the customer",
    TaskStatus.HANDOFF.value: "a person is answering it",
    TaskStatus.RESOLVED.value: "a person answered it",
    TaskStatus.SEND_FAILED.value: (
        "the send ledger holds its reply as failed or suppressed, so a new run's reply "
        "would not be sent either"
    ),
    TaskStatus.IGNORED.value: "it was screened out: there is nothing to answer",
    TaskStatus.REJECTED.value: "it was screened out: there is nothing to answer",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a task may not be reprocessed now (answered as a 409 problem)."""

    kind: str
    title: str
    detail: str


def refusal_for(
    status: str, status_at: datetime | None, now: datetime, stuck_after_s: float
) -> Refusal | None:
    """None when a task in ``status`` since ``status_at`` may be reprocessed at ``now``.

    (``sent`` is decided before, together with the ledger: see :func:`is_sent`.)
    """
    if status in ALWAYS_REPROCESSABLE:
        return None
    if status in WHEN_STUCK:
        if status_at is None:
            return None  # no event time at all: nothing suggests it is moving
        eligible_at = status_at + timedelta(seconds=stuck_after_s)
        if now >= eligible_at:
            return None
        return Refusal(
            "task-not-stuck",
            "Task may still be in progress",
            f"The task is '{status}' since {status_at.isoformat()}, which may be an email "
            f"still waiting its turn; it can be reprocessed once unchanged for "
            f"{stuck_after_s:g}s, from {eligible_at.isoformat()}.",
        )
    why = _WHY_NOT.get(status, "its status does not allow it")
    return Refusal(
        "task-not-reprocessable",
        "Task cannot be reprocessed",
        f"The task is '{status}': {why}.",
    )


# Fixed namespace: the same Idempotency-Key always yields the same event_id, so even a
# duplicate publish (crash between Kafka's ack and our commit) is deduplicated downstream.
REPROCESS_NAMESPACE = uuid.UUID("6d1f4c1e-3c8a-4d5e-9a1b-7f2e0c9b5a10")


def event_id_for(request_key: str) -> uuid.UUID:
    return uuid.uuid5(REPROCESS_NAMESPACE, request_key)


def reprocess_event(
    original: InboundEmail,
    *,
    event_id: uuid.UUID,
    earlier_trace_id: str | None,
    now: datetime,
) -> InboundEmail:
    """The original email as a fresh event: new id, attempts reset, old trace named."""
    payload = original.model_dump()
    payload.update(
        event_id=event_id,
        occurred_at=now,
        producer="admin-api",
        attempt=0,
        reprocess_of_trace_id=earlier_trace_id,
    )
    return InboundEmail.model_validate(payload)


def is_sent(status: str | None, ledger_says_sent: bool) -> bool:
    return status == TaskStatus.SENT.value or ledger_says_sent


def link_to_trace(trace_id: str | None) -> Link | None:
    """A span link naming the earlier trace (its span id is unknown, so it is zero).

    The SDK keeps a link with an invalid context when it has attributes, and tracing UIs
    resolve the link by trace id.
    """
    if not trace_id:
        return None
    try:
        value = int(trace_id, 16)
    except ValueError:
        return None
    if value == 0 or value >= 1 << 128:
        return None
    ctx = SpanContext(
        trace_id=value, span_id=0, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    return Link(ctx, attributes={"mailroom.link": "reprocess_of", "mailroom.trace_id": trace_id})
