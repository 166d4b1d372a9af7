"""What the redrive sweep does with one stuck task (pure: no database, no Kafka).

A task is a *candidate* when it has been in ``received`` longer than the threshold with
an original email stored (the query selects those). The decision then depends only on
how often it was republished already and on whether its original can be read back.
"""

from __future__ import annotations

import enum
import random
import uuid
from dataclasses import dataclass
from typing import Any

from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context
from pydantic import ValidationError

from mailroom_common.events import Disposition, InboundEmail

__all__ = [
    "Candidate",
    "Decision",
    "RedriveAction",
    "RedrivePolicy",
    "decide",
    "history_event_id",
    "history_reason",
    "parent_context",
]

# History rows written by the sweep get ids derived from (task, run, count), so a sweep
# transaction that is retried after a failure cannot add the same row twice.
_NAMESPACE = uuid.UUID("2f6a0c3e-7d4b-4e52-8a1f-5b9c0d3e7a21")


class RedriveAction(enum.StrEnum):
    REPUBLISH = "republish"  # publish the original to mail.inbound again
    GIVE_UP = "give_up"  # publish an alert once; never republish this run again


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    after_s: float
    max_redrives: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """The part of a locked ``email_tasks`` row the decision needs."""

    message_key: str
    original: Any  # the JSONB value, whatever it holds
    redrive_count: int
    trace_id: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    action: RedriveAction
    email: InboundEmail | None  # set when action is REPUBLISH
    why: str


def _readable(original: Any) -> InboundEmail | None:
    """The stored original as the InboundEmail it was, or None if it cannot be one."""
    if not isinstance(original, dict) or original.get("event_type") != "inbound_email":
        return None
    try:
        email = InboundEmail.model_validate(original)
    except ValidationError:
        return None
    # Only answerable mail is stored; anything else would not be answered anyway.
    return email if email.disposition is Disposition.ANSWERABLE else None


def decide(candidate: Candidate, policy: RedrivePolicy) -> Decision:
    """Republish while under the limit; give up (alert) at the limit or when unreadable."""
    email = _readable(candidate.original)
    if email is None:
        return Decision(RedriveAction.GIVE_UP, None, "stored original is not a readable email")
    if candidate.redrive_count >= policy.max_redrives:
        why = f"still 'received' after {candidate.redrive_count} redrive(s)"
        return Decision(RedriveAction.GIVE_UP, None, why)
    return Decision(RedriveAction.REPUBLISH, email, "republished")


def history_reason(decision: Decision, candidate: Candidate, policy: RedrivePolicy) -> str:
    """The ``task_status_changes.reason`` an operator reads next to the task."""
    idle = f"no progress for over {policy.after_s:g}s"
    if decision.action is RedriveAction.REPUBLISH:
        n = candidate.redrive_count + 1
        return f"redrive {n}/{policy.max_redrives}: {idle}; original republished to mail.inbound"
    return f"redrive gave up: {decision.why}; {idle}; alert raised"


def history_event_id(message_key: str, run: str | None, what: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{message_key}\x00{run or ''}\x00{what}")


def parent_context(trace_id: str | None, span_id: int | None = None) -> Context | None:
    """A context whose parent is a remote span in the email's own trace.

    Only the trace id is stored, not a span id, so the parent's span id is made up (a
    random non-zero value unless given): tracing UIs file the redrive span — and the
    responder's spans under it — in the email's trace, marked as having a missing parent.
    None when the trace id is absent or malformed: the redrive then starts a new trace.
    """
    if not trace_id:
        return None
    try:
        value = int(trace_id, 16)
    except ValueError:
        return None
    if value == 0 or value >= 1 << 128:
        return None
    span = span_id if span_id is not None else random.getrandbits(64) or 1
    ctx = SpanContext(
        trace_id=value, span_id=span, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )
    return set_span_in_context(NonRecordingSpan(ctx))
