"""Builders of the events the responder emits (pure).

Event ids are derived from the message key, the run (an operator's reprocess is a new
run) and what the event says, so an event re-emitted after a crash has the same id and
idempotent consumers (the projector, the sender's ledger) apply it once.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from mailroom_common.events import (
    AlertEvent,
    AlertSeverity,
    DeadLetterEvent,
    DecisionRecord,
    InboundEmail,
    MailboxAction,
    OutboundEmail,
    OutboundKind,
    ProviderStateEvent,
    Route,
    StatusChanged,
    TaskStatus,
)
from mailroom_common.threads import thread_ids
from mailroom_common.topics import (
    ALERTS,
    DEAD_LETTER,
    MAILBOX_ACTIONS,
    OUTBOUND,
    PROVIDER_STATE,
    STATUS,
    TopicSpec,
)
from mailroom_responder.provider import ProviderConfig, ProviderState

if TYPE_CHECKING:
    from mailroom_responder.decision.routing import Decision

__all__ = [
    "PRODUCER",
    "Emission",
    "alert",
    "dead_letter",
    "decision_record",
    "mailbox_action",
    "outbound",
    "provider_state",
    "stable_id",
    "status",
    "with_decision",
]

PRODUCER = "responder"
_NAMESPACE = uuid.UUID("6f1c1d1e-8a43-4c1b-9d1e-6d61696c726f")


@dataclass(frozen=True, slots=True)
class Emission:
    """One record to publish: registry topic, key, event."""

    topic: TopicSpec
    key: str
    event: BaseModel


def stable_id(email: InboundEmail, *parts: object) -> uuid.UUID:
    run = email.reprocess_of_trace_id or ""
    text = "|".join([email.message_key, run, *(str(p) for p in parts)])
    return uuid.uuid5(_NAMESPACE, text)


def status(
    email: InboundEmail, new_status: TaskStatus, *, attempts: int | None = None, **fields: Any
) -> Emission:
    event = StatusChanged(
        event_id=stable_id(email, "status", new_status.value, attempts),
        producer=PRODUCER,
        message_key=email.message_key,
        status=new_status,
        attempts=attempts,
        **fields,
    )
    return Emission(STATUS, email.message_key, event)


def decision_record(decision: Decision, *, language: Literal["es", "en"]) -> DecisionRecord:
    """``DecisionRecord(**decision.record())``: what a status event carries as ``decision``.

    Part of the event's content, not of its id (see :func:`status`), so a re-emission after
    a crash keeps its id. A confidence outside 0–1 is clamped and a language other than
    es/en becomes ``language`` (the reply's), so a slip in the router never stops an email
    from being answered.
    """
    record = dict(decision.record())
    confidence = record.get("confidence")
    if isinstance(confidence, int | float) and math.isfinite(confidence):
        record["confidence"] = min(max(float(confidence), 0.0), 1.0)
    else:
        record["confidence"] = 0.0
    if record.get("language") not in ("es", "en"):
        record["language"] = language
    return DecisionRecord.model_validate(record)


def with_decision(emissions: list[Emission], decision: DecisionRecord) -> list[Emission]:
    """The emissions with ``decision`` on their status events; event ids unchanged."""
    return [
        Emission(e.topic, e.key, e.event.model_copy(update={"decision": decision}))
        if isinstance(e.event, StatusChanged)
        else e
        for e in emissions
    ]


def provider_state(state: ProviderState, cfg: ProviderConfig, now: float) -> Emission:
    """The provider's breaker/limiter snapshot for the compacted ``mail.provider-state``."""
    event = ProviderStateEvent(producer=PRODUCER, **state.snapshot(now, cfg))
    return Emission(PROVIDER_STATE, state.provider, event)


def _subject(subject: str) -> str:
    clean = " ".join(subject.split())
    return clean if clean.lower().startswith("re:") else f"Re: {clean}".strip()


def outbound(
    email: InboundEmail,
    kind: OutboundKind,
    *,
    to: str,
    body: str,
    route: Route | None,
    intent: str | None,
    **fields: Any,
) -> Emission:
    references = list(email.references)
    if email.message_id and email.message_id not in references:
        references.append(email.message_id)
    event = OutboundEmail(
        event_id=stable_id(email, "outbound", kind.value),
        producer=PRODUCER,
        message_key=email.message_key,
        kind=kind,
        thread_key=email.thread_key,
        to=to,
        subject=_subject(email.subject),
        body_text=body,
        in_reply_to=email.message_id,
        references=references,
        route=route,
        intent=intent,
        **fields,
    )
    # Keyed by thread so one conversation's mail stays in order (and co-partitioned with
    # mail.inbound for the history table).
    return Emission(OUTBOUND, email.thread_key, event)


def mailbox_action(
    email: InboundEmail, action: Literal["handoff", "human_owned", "shop_reply"], *, reason: str
) -> Emission:
    """Ask ingest to flag the customer's message for a person and own its thread (or, for
    ``shop_reply``, to own the thread a message from the shop's own address is in)."""
    event = MailboxAction(
        event_id=stable_id(email, "mailbox", action),
        producer=PRODUCER,
        action=action,
        message_key=email.message_key,
        mailbox=email.mailbox,
        folder=email.folder,
        uid=email.uid,
        uidvalidity=email.uidvalidity,
        message_id=email.message_id,
        thread_ids=thread_ids(email),
        # The conversation's root Message-ID names the thread in the admin API (ingest's
        # thread key of a first mail is a hash of sender and subject).
        thread_key=(
            email.references[0]
            if email.references
            else email.in_reply_to or email.message_id or email.thread_key
        ),
        reason=reason[:500],
    )
    return Emission(MAILBOX_ACTIONS, email.message_key, event)


def alert(
    email: InboundEmail | None,
    kind: str,
    message: str,
    *,
    severity: AlertSeverity = AlertSeverity.WARNING,
    details: dict[str, Any] | None = None,
) -> Emission:
    event = AlertEvent(
        event_id=stable_id(email, "alert", kind) if email else uuid.uuid4(),
        producer=PRODUCER,
        kind=kind,
        severity=severity,
        message=message,
        message_key=email.message_key if email else None,
        details=details or {},
    )
    return Emission(ALERTS, kind, event)


def dead_letter(
    email: InboundEmail,
    *,
    original_topic: str,
    error_class: str,
    error_message: str,
    attempts: int,
    first_failure_at: datetime,
    last_failure_at: datetime,
) -> Emission:
    event = DeadLetterEvent(
        event_id=stable_id(email, "dead_letter"),
        producer=PRODUCER,
        message_key=email.message_key,
        stage="responder",
        error_class=error_class,
        error_message=error_message[:2000],
        attempts=attempts,
        first_failure_at=first_failure_at,
        last_failure_at=last_failure_at,
        original=email.model_dump(mode="json"),
        original_topic=original_topic,
    )
    return Emission(DEAD_LETTER, email.message_key, event)
