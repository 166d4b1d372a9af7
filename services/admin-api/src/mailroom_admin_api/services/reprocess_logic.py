"""Pure parts of reprocessing: which event to publish and how it links to the old trace."""

from __future__ import annotations

import uuid
from datetime import datetime

from opentelemetry.trace import Link, SpanContext, TraceFlags

from mailroom_common.events import InboundEmail, TaskStatus

__all__ = [
    "REPROCESS_NAMESPACE",
    "event_id_for",
    "is_sent",
    "link_to_trace",
    "reprocess_event",
]

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
