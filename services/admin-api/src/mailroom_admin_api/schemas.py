"""Request and response bodies of the admin API (the public contract of /v1)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from mailroom_admin_api.correction_schemas import CorrectionOut, RouteCorrections

__all__ = [
    "AlertOut",
    "AlertPage",
    "BulkReprocessIn",
    "BulkReprocessOut",
    "BulkSkip",
    "DayVolume",
    "DeadLetterOut",
    "DeadLetterPage",
    "DeadLetterStats",
    "DecisionOut",
    "DeliveryOut",
    "EmailOut",
    "FirstResponse",
    "Health",
    "IsoDateTime",
    "LlmDay",
    "ProviderOut",
    "ProvidersOut",
    "Readiness",
    "ReplyOut",
    "ReprocessOut",
    "StatsOut",
    "StatusChangeOut",
    "TaskDetail",
    "TaskPage",
    "TaskSummary",
    "TraceOut",
    "TransactionalIn",
    "TransactionalOut",
    "UsageOut",
]

_ISO_DATE_START = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_8601_only(value: object) -> object:
    # Pydantic would read "0" or 1700000000 as a Unix time; the schema promises ISO 8601.
    if isinstance(value, str) and not _ISO_DATE_START.match(value):
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-27T10:00:00Z")
    if isinstance(value, int | float):
        raise ValueError("expected an ISO 8601 date-time, not a number")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]

DeadLetterStage = Literal["ingest", "responder", "sender", "transactional"]

_TASK_EXAMPLE: dict[str, Any] = {
    "id": "3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11",
    "message_key": "<CAF1234@mail.example.com>",
    "status": "sent",
    "route": "faq",
    "intent": "shipping_times",
    "from_address": "ana@example.com",
    "subject": "¿Cuándo llega mi pedido?",
    "mailbox": "shop@mailroom.test",
    "attempts": 0,
    "received_at": "2026-11-27T10:00:00Z",
    "created_at": "2026-11-27T10:00:01Z",
    "status_at": "2026-11-27T10:00:09Z",
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "decision_reason": "faq:shipping_times: phrase 'cuando llega'",
    "confidence": 0.92,
}

_DECISION_EXAMPLE: dict[str, Any] = {
    "route": "faq",
    "intent": "shipping_times",
    "reason": "faq:shipping_times: phrase 'cuando llega'",
    "confidence": 0.92,
    "language": "es",
    "product_skus": [],
    "evidence": ["phrase:cuando llega", "keyword:envio"],
    "decided_by": "router",
}


class TaskSummary(BaseModel):
    """One email task as listed."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TASK_EXAMPLE]})

    id: uuid.UUID
    message_key: str
    status: str = Field(description="Current status (see TaskStatus).")
    route: str | None = None
    intent: str | None = None
    from_address: str | None = None
    subject: str | None = None
    mailbox: str | None = None
    attempts: int = 0
    received_at: datetime | None = None
    created_at: datetime
    status_at: datetime | None = None
    trace_id: str | None = None
    decision_reason: str | None = Field(
        default=None,
        description="Why the task took its route, in a sentence (the routing decision's "
        "reason); null until the responder decided, and for tasks from before decisions "
        "were recorded.",
    )
    confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="The routing decision's confidence, 0–1."
    )
    reason: str | None = Field(
        default=None,
        description="Why the task is where it is, in a sentence: the screening, route, "
        "hand-off or gate reason (a dead letter's error); never the SMTP server's reply, "
        "which the detail shows as delivery_result.",
    )


class TaskPage(BaseModel):
    """A page of tasks, newest first; pass ``next_cursor`` as ``cursor`` for the next one."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_TASK_EXAMPLE], "next_cursor": None}]}
    )

    items: list[TaskSummary]
    next_cursor: str | None = Field(default=None, description="Null on the last page.")


class StatusChangeOut(BaseModel):
    status: str
    reason: str | None = None
    service: str | None = None
    occurred_at: datetime
    trace_id: str | None = None


class EmailOut(BaseModel):
    """What is known about the customer's email."""

    message_key: str
    thread_key: str | None = None
    mailbox: str | None = None
    from_address: str | None = None
    subject: str | None = None
    received_at: datetime | None = None
    text: str | None = Field(
        default=None, description="The customer's text, when a dead letter kept the email."
    )


class ReplyOut(BaseModel):
    text: str | None = None
    model: str | None = None
    first_replied_at: datetime | None = None


class UsageOut(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = Field(default=0.0, description="Estimated LLM cost in US dollars.")


class TraceOut(BaseModel):
    trace_id: str | None = None
    url: str | None = Field(default=None, description="Link to the trace in the tracing UI.")


class DeadLetterOut(BaseModel):
    """Work given up on, with why and where."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "8d3c2a36-2f5e-4f59-9a3e-0b7f5b1d2c11",
                    "message_key": "<CAF1234@mail.example.com>",
                    "stage": "responder",
                    "error_class": "RateLimitError",
                    "error_message": "429 from provider after 3 attempts",
                    "attempts": 3,
                    "original_topic": "mail.inbound",
                    "first_failure_at": "2026-11-27T10:00:05Z",
                    "last_failure_at": "2026-11-27T10:03:35Z",
                    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                    "reprocessed_at": None,
                    "created_at": "2026-11-27T10:03:36Z",
                    "reprocessable": True,
                }
            ]
        }
    )

    id: uuid.UUID
    message_key: str
    stage: str
    error_class: str
    error_message: str
    attempts: int
    original_topic: str
    first_failure_at: datetime
    last_failure_at: datetime
    trace_id: str | None = None
    reprocessed_at: datetime | None = None
    created_at: datetime
    reprocessable: bool = Field(description="True when the original inbound email is stored.")


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next_cursor: str | None = None


class DecisionOut(BaseModel):
    """The routing decision recorded with the task: where the email went, and why.

    The latest one a status event carried (an operator's reprocess records a new one).
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_DECISION_EXAMPLE]})

    route: str = Field(description="faq, catalogue, llm or handoff.")
    intent: str
    reason: str = Field(description="A sentence a person can read.")
    confidence: float = Field(ge=0.0, le=1.0)
    language: str = Field(description="The email's language as decided: es or en.")
    product_skus: list[str] = Field(
        default_factory=list, description="Matched products, best first."
    )
    evidence: list[str] = Field(default_factory=list, description="The rules that matched.")
    decided_by: str = Field(
        default="router", description="What decided: router (later classifier, fallback)."
    )


class DeliveryOut(BaseModel):
    """A row of the sender's ledger for this task."""

    kind: str
    state: str
    recipient: str
    smtp_message_id: str
    attempts: int
    last_error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None


class TaskDetail(TaskSummary):
    """Everything about one task: the email, the reply, its history and its cost."""

    thread_key: str | None = None
    status_reason: str | None = Field(
        default=None,
        description="The latest decision's reason (screening, route, hand-off, gate, a "
        "person's action); a dead letter's error. Never an SMTP reply.",
    )
    delivery_result: str | None = Field(
        default=None,
        description="What the sender last reported about delivering the task's mail, such "
        "as 'accepted: 250 2.0.0 Ok'; null when nothing was sent.",
    )
    last_error: str | None = None
    redrive_count: int = Field(
        default=0,
        description="Times the sender's sweep republished the email while it sat in 'received'.",
    )
    updated_at: datetime
    decision: DecisionOut | None = Field(
        default=None,
        description="The routing decision; null until the responder decided, and for "
        "tasks from before decisions were recorded.",
    )
    correction: CorrectionOut | None = Field(
        default=None,
        description="An operator's routing correction (PUT /v1/tasks/{task_id}/correction); "
        "null when there is none.",
    )
    email: EmailOut
    reply: ReplyOut
    usage: UsageOut
    trace: TraceOut
    status_changes: list[StatusChangeOut] = Field(description="Oldest first.")
    errors: list[str] = Field(description="Last error and every dead letter's message.")
    dead_letters: list[DeadLetterOut]
    deliveries: list[DeliveryOut]


class ReprocessOut(BaseModel):
    """The original email was published again to ``mail.inbound``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "task_id": "3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11",
                    "message_key": "<CAF1234@mail.example.com>",
                    "request_key": "op-2026-11-27-001",
                    "event_id": "5c1b0cb5-9a77-5b5b-8e0c-1d0d0f6f2e7a",
                    "reprocess_of_trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                    "requested_at": "2026-11-27T11:00:00Z",
                }
            ]
        }
    )

    task_id: uuid.UUID | None = None
    message_key: str
    request_key: str | None = Field(default=None, description="The Idempotency-Key, if sent.")
    event_id: uuid.UUID = Field(description="event_id of the republished InboundEmail.")
    reprocess_of_trace_id: str | None = None
    requested_at: datetime


class BulkReprocessIn(BaseModel):
    """Which dead letters to republish; all filters are optional and combine with AND."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"stage": "responder", "error_class": "RateLimitError", "dry_run": True},
            ]
        },
    )

    stage: DeadLetterStage | None = None
    error_class: str | None = Field(default=None, max_length=255, pattern=r"^[^\x00]*$")
    since: IsoDateTime | None = Field(
        default=None, description="Dead letters created at or after (ISO 8601)."
    )
    dry_run: bool = Field(default=False, description="Only count what would be republished.")
    limit: int = Field(default=100, ge=1, le=10_000, description="Most dead letters to take.")


class BulkSkip(BaseModel):
    dead_letter_id: uuid.UUID
    message_key: str
    reason: str


class BulkReprocessOut(BaseModel):
    dry_run: bool
    matched: int = Field(description="Open dead letters matching the filter (up to limit).")
    published: int
    published_message_keys: list[str]
    skipped: list[BulkSkip]


class ProviderOut(BaseModel):
    """Latest breaker and limiter snapshot of one LLM provider."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "groq",
                    "breaker_state": "closed",
                    "open_until": None,
                    "consecutive_failures": 0,
                    "requests_in_window": 12,
                    "tokens_in_window": 5400,
                    "request_limit": 30,
                    "next_free_at": None,
                    "updated_at": "2026-11-27T10:00:00Z",
                }
            ]
        }
    )

    provider: str
    breaker_state: Literal["closed", "open", "half_open"]
    open_until: datetime | None = None
    consecutive_failures: int
    requests_in_window: int
    tokens_in_window: int
    request_limit: int
    next_free_at: datetime | None = None
    updated_at: datetime = Field(description="When the responder published this snapshot.")


class ProvidersOut(BaseModel):
    providers: list[ProviderOut]
    caught_up: bool = Field(
        description="False until the state topic was read to its end once since start-up."
    )


class FirstResponse(BaseModel):
    count: int = Field(description="Tasks with both received_at and first_replied_at.")
    p50_seconds: float | None = None
    p90_seconds: float | None = None


class LlmDay(BaseModel):
    day: date
    requests: int = Field(description="LLM calls, counted from each LLM task's attempts.")
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class DayVolume(BaseModel):
    day: date = Field(description="A UTC day.")
    tasks: int = Field(description="Tasks created that day.")
    answerable: int = Field(description="Of them, mail somebody should answer.")
    automated: int = Field(description="Of them, answered by FAQ, catalogue or LLM.")


class DeadLetterStats(BaseModel):
    open: int = Field(description="Dead letters not reprocessed yet (any age).")
    in_window: int
    oldest_open_age_seconds: float | None = None


class StatsOut(BaseModel):
    """Operational figures over a window of task creation times."""

    window: str
    since: datetime
    until: datetime
    tasks: int
    by_status: dict[str, int]
    by_route: dict[str, int]
    automation_rate: float | None = Field(
        default=None,
        description="Share of answerable tasks answered by FAQ, catalogue or LLM "
        "(no person involved); null when there were none.",
    )
    faq_share: float | None = Field(
        default=None, description="Share of automated answers that came from the FAQ."
    )
    would_be_automation_rate: float | None = Field(
        default=None,
        description="Share of answerable tasks that were, or in shadow mode (MAILROOM_SHADOW) "
        "would have been, answered automatically: automation_rate plus the shadowed tasks "
        "recorded 'shadow: would send' on the FAQ, catalogue or LLM route. Drafts and "
        "hand-offs do not count. Null when there were none.",
    )
    handoffs_by_reason: dict[str, int]
    first_response: FirstResponse
    llm_by_day: list[LlmDay]
    by_day: list[DayVolume] = Field(
        default_factory=list,
        description="Per UTC day with tasks in the window (oldest first): tasks created, "
        "answerable (as for automation_rate), automated; the console's 14-day chart draws "
        "the same counts.",
    )
    dead_letters: DeadLetterStats
    corrections: dict[str, RouteCorrections] = Field(
        default_factory=dict,
        description="Per decided route (the routing decision's, else the task's; for a "
        "corrected task the one its correction corrected): tasks decided, those an operator "
        "corrected, those given another route, and the share corrected.",
    )


class TransactionalIn(BaseModel):
    """A transactional email to send, such as an order confirmation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "template": "order_confirmation",
                    "to": "ana@example.com",
                    "locale": "es",
                    "data": {"order_id": "A-1001", "total": "15999.00"},
                    "request_id": "order-A-1001-confirmation",
                }
            ]
        },
    )

    template: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    to: str = Field(
        max_length=320,
        pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        description="Recipient address.",
    )
    locale: Literal["es", "en"] = "es"
    data: dict[str, Any] = Field(default_factory=dict, description="Template variables.")
    request_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Your idempotency key; the sender sends once per request_id. "
        "Generated when omitted.",
    )


class TransactionalOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "order-A-1001-confirmation",
                    "event_id": "0b6f0c0e-54a4-4d2b-8e0b-7c2d8a6f4e11",
                    "template": "order_confirmation",
                }
            ]
        }
    )

    id: str = Field(description="The request_id the sender deduplicates on.")
    event_id: uuid.UUID
    template: str


class AlertOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "1e7b3a66-0c55-4e0e-8a43-4b3f5d6e7a88",
                    "kind": "breaker_opened",
                    "severity": "warning",
                    "message": "groq breaker opened after 5 failures",
                    "message_key": None,
                    "details": {"provider": "groq"},
                    "occurred_at": "2026-11-27T10:05:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    kind: str
    severity: str
    message: str
    message_key: str | None = None
    details: dict[str, Any]
    occurred_at: datetime


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, str]
