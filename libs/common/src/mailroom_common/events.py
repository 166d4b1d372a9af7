"""Event schemas: the JSON that travels on mailroom's Kafka topics.

Every event carries ``event_type`` (the discriminator), ``schema_version``,
``event_id`` (for idempotent consumers) and ``occurred_at``. Trace context is not part of
the body: it travels in the record headers (see :mod:`mailroom_common.kafka`).

Version policy: a consumer accepts exactly the versions listed in
``SUPPORTED_VERSIONS``; anything else is rejected with :class:`UnsupportedSchemaVersion`
so a producer that moved ahead is noticed instead of silently misread. An optional field
with a default (such as ``StatusChanged.decision``) keeps the version: events from before it
still decode, and it is left out of the JSON while unset, so consumers that predate it
(``extra="forbid"``) still read every event that does not use it. Upgrade the consumers
before a producer starts setting it.
"""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = [
    "SUPPORTED_VERSIONS",
    "TERMINAL_STATUSES",
    "AlertEvent",
    "AlertSeverity",
    "AttachmentMeta",
    "DeadLetterEvent",
    "DecisionRecord",
    "Disposition",
    "DraftAction",
    "Event",
    "EventDecodeError",
    "InboundEmail",
    "MailboxAction",
    "OutboundEmail",
    "OutboundKind",
    "ProviderStateEvent",
    "Route",
    "StatusChanged",
    "TaskStatus",
    "TransactionalRequest",
    "UnsupportedSchemaVersion",
    "decode_event",
    "encode_event",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class TaskStatus(enum.StrEnum):
    """States of an email task; see docs/architecture.md for the transitions."""

    RECEIVED = "received"
    PROCESSING = "processing"
    RETRYING = "retrying"
    REPLIED = "replied"
    IGNORED = "ignored"
    HANDOFF = "handoff"
    REJECTED = "rejected"
    DEAD_LETTER = "dead_letter"
    SENT = "sent"
    SEND_FAILED = "send_failed"
    UNCERTAIN = "uncertain"
    # The shop stays in charge (docs/architecture.md, "Answer modes and ownership"):
    HUMAN_OWNED = "human_owned"  # a person owns the thread: recorded, flagged, not answered
    DRAFTED = "drafted"  # the reply waits in the Drafts folder for a person to send it
    SHADOWED = "shadowed"  # shadow mode: decided and recorded, nothing sent or filed
    DISCARDED = "discarded"  # the operator threw the draft away: nothing is sent
    RESOLVED = "resolved"  # a person answered a hand-off or owned mail (operator): final


TERMINAL_STATUSES = frozenset(
    {
        TaskStatus.IGNORED,
        TaskStatus.HANDOFF,
        TaskStatus.REJECTED,
        TaskStatus.DEAD_LETTER,
        TaskStatus.SENT,
        TaskStatus.SEND_FAILED,
        TaskStatus.UNCERTAIN,
        TaskStatus.HUMAN_OWNED,
        TaskStatus.DRAFTED,
        TaskStatus.SHADOWED,
        TaskStatus.DISCARDED,
        TaskStatus.RESOLVED,
    }
)


class Route(enum.StrEnum):
    FAQ = "faq"
    CATALOGUE = "catalogue"
    LLM = "llm"
    HANDOFF = "handoff"
    IGNORED = "ignored"
    TRANSACTIONAL = "transactional"


class Disposition(enum.StrEnum):
    """What ingest decided about an email before anything answers it."""

    ANSWERABLE = "answerable"
    IGNORED = "ignored"
    REJECTED = "rejected"


class OutboundKind(enum.StrEnum):
    REPLY = "reply"
    HOLDING = "holding"
    HANDOFF_ACK = "handoff_ack"
    TRANSACTIONAL = "transactional"


class AlertSeverity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)

    schema_version: Literal[1] = 1
    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    occurred_at: datetime = Field(default_factory=utcnow)
    producer: str = Field(default="unknown", description="Service that emitted the event.")


class AttachmentMeta(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str | None = None
    content_type: str
    size: int = Field(ge=0)


class InboundEmail(_Event):
    """An email read from the mailbox (topic ``mail.inbound``), answerable or not."""

    event_type: Literal["inbound_email"] = "inbound_email"
    message_key: str = Field(description="Stable per email: Message-ID, or a content hash.")
    thread_key: str = Field(description="Kafka record key: one conversation stays in order.")
    mailbox: str
    folder: str = "INBOX"
    uid: int | None = None
    uidvalidity: int | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    from_address: str | None = None
    from_name: str | None = None
    reply_to: str | None = None
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    subject: str = ""
    sent_at: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow)
    text: str = Field(default="", description="The customer's new text, quotes removed.")
    quoted_text: str = Field(default="", description="Earlier messages the customer quoted.")
    signature: str = ""
    html_only: bool = False
    attachments: list[AttachmentMeta] = Field(default_factory=list)
    size_bytes: int = Field(default=0, ge=0)
    truncated: bool = False
    disposition: Disposition = Disposition.ANSWERABLE
    screen_reason: str | None = Field(
        default=None, description="Why the email is ignored or rejected."
    )
    attempt: int = Field(default=0, ge=0, description="LLM attempts already used.")
    reprocess_of_trace_id: str | None = Field(
        default=None, description="Trace id of the earlier run when an operator reprocesses."
    )


class OutboundEmail(_Event):
    """A message for the sender to deliver (topic ``mail.outbound``)."""

    event_type: Literal["outbound_email"] = "outbound_email"
    message_key: str = Field(description="The email task this answers.")
    kind: OutboundKind = OutboundKind.REPLY
    thread_key: str
    to: str
    subject: str
    body_text: str
    body_html: str | None = None
    in_reply_to: str | None = None
    references: list[str] = Field(default_factory=list)
    route: Route | None = None
    intent: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    # Set on a holding reply sent while the answer is still coming: the sender reports its
    # send (or failure) with this status, stamped with this event's time, instead of
    # ``sent`` (``dead_letter`` for a holding reply without it), so the task keeps waiting
    # for its answer and any later status wins. Left out of the JSON when unset, as
    # ``StatusChanged.decision``: deploy the sender before a responder that sets it.
    keeps_status: TaskStatus | None = Field(default=None, exclude_if=lambda v: v is None)


class TransactionalRequest(_Event):
    """Mail another system asks for, such as an order confirmation (``mail.transactional``)."""

    event_type: Literal["transactional_request"] = "transactional_request"
    request_id: str = Field(description="The caller's idempotency key.")
    template: str
    to: str
    locale: Literal["es", "en"] = "es"
    data: dict[str, Any] = Field(default_factory=dict)


class DecisionRecord(BaseModel):
    """Why a task went where it went: the routing decision, as the task records it.

    Carried by the ``StatusChanged`` the responder emits once the route is decided, stored
    by the projector with the task (``email_tasks.decision``) and shown by the admin API.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    route: Route
    intent: str
    reason: str = Field(description="A sentence a person can read.")
    confidence: float = Field(ge=0.0, le=1.0)
    language: Literal["es", "en"]
    product_skus: list[str] = Field(
        default_factory=list, description="Matched products, best first."
    )
    evidence: list[str] = Field(default_factory=list, description="The rules that matched.")
    decided_by: str = Field(
        default="router", description='What decided: "router" (later "classifier", "fallback").'
    )


class StatusChanged(_Event):
    """A task moved to a new state (topic ``mail.status``); the projector records it."""

    event_type: Literal["status_changed"] = "status_changed"
    message_key: str
    status: TaskStatus
    reason: str | None = None
    route: Route | None = None
    intent: str | None = None
    attempts: int | None = None
    error: str | None = None
    reply_text: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    trace_id: str | None = None
    # Set on RECEIVED so the projector can create the row with what an operator needs.
    from_address: str | None = None
    subject: str | None = None
    mailbox: str | None = None
    received_at: datetime | None = None
    # Set once the route is decided (REPLIED for FAQ, HANDOFF, PROCESSING for the LLM and
    # catalogue routes); the projector keeps the latest one with the task. Left out of the
    # JSON when unset: such events stay exactly what they were before the field existed,
    # so consumers that predate it (extra="forbid") keep reading them.
    decision: DecisionRecord | None = Field(default=None, exclude_if=lambda v: v is None)


class DeadLetterEvent(_Event):
    """Work that will not be retried automatically (topic ``mail.dead-letter``)."""

    event_type: Literal["dead_letter"] = "dead_letter"
    message_key: str
    stage: Literal["ingest", "responder", "sender", "transactional"]
    error_class: str
    error_message: str
    attempts: int = Field(ge=0)
    first_failure_at: datetime
    last_failure_at: datetime
    original: dict[str, Any] = Field(description="The event that failed, as JSON.")
    original_topic: str


class AlertEvent(_Event):
    """Something an operator should look at (topic ``mail.alerts``)."""

    event_type: Literal["alert"] = "alert"
    kind: str = Field(description="e.g. dead_letter, breaker_opened, imap_login_failed")
    severity: AlertSeverity = AlertSeverity.WARNING
    message: str
    message_key: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class ProviderStateEvent(_Event):
    """Snapshot of one LLM provider's breaker and limiter (compacted ``mail.provider-state``)."""

    event_type: Literal["provider_state"] = "provider_state"
    provider: str
    breaker_state: Literal["closed", "open", "half_open"]
    open_until: datetime | None = None
    consecutive_failures: int = Field(ge=0)
    requests_in_window: int = Field(ge=0)
    tokens_in_window: int = Field(ge=0)
    request_limit: int = Field(ge=0)
    next_free_at: datetime | None = None


class MailboxAction(_Event):
    """Something to do to a customer's message in the mailbox (``mail.mailbox-actions``).

    ``handoff``: a person must answer it (flag it, leave it unseen, own its thread).
    ``human_owned``: a later mail in a thread a person owns (flag it, keep the thread's
    activity fresh). ``shop_reply``: somebody at the shop wrote in the thread; ingest owns
    the thread for a person unless the send ledger sent that message itself.
    """

    event_type: Literal["mailbox_action"] = "mailbox_action"
    action: Literal["handoff", "human_owned", "shop_reply"]
    message_key: str
    mailbox: str
    folder: str = "INBOX"
    uid: int | None = None
    uidvalidity: int | None = None
    message_id: str | None = None
    thread_ids: list[str] = Field(
        default_factory=list, description="Every id that names the message's thread."
    )
    thread_key: str | None = Field(
        default=None, description="The thread's root id (ingest's thread key), if known."
    )
    reason: str | None = None


class DraftAction(_Event):
    """An operator's decision about a drafted reply (topic ``mail.draft-actions``).

    ``approve`` sends it through the ledger (``body_text``, when set, replaces the drafted
    text); ``discard`` drops it. Keyed by the task's ``message_key``.
    """

    event_type: Literal["draft_action"] = "draft_action"
    action: Literal["approve", "discard"]
    message_key: str
    body_text: str | None = None
    actor: str = Field(default="operator", description="Who decided, for the task history.")


Event = Annotated[
    InboundEmail
    | OutboundEmail
    | TransactionalRequest
    | StatusChanged
    | DeadLetterEvent
    | AlertEvent
    | ProviderStateEvent
    | MailboxAction
    | DraftAction,
    Field(discriminator="event_type"),
]

SUPPORTED_VERSIONS: frozenset[int] = frozenset({1})

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class EventDecodeError(ValueError):
    """Bytes on a topic are not a valid mailroom event."""


class UnsupportedSchemaVersion(EventDecodeError):
    """The event's ``schema_version`` is not one this consumer understands."""


def encode_event(event: BaseModel) -> bytes:
    """Serialise an event to compact UTF-8 JSON."""
    return event.model_dump_json().encode("utf-8")


def decode_event(raw: bytes | str) -> Event:
    """Parse and validate an event, refusing unknown schema versions clearly."""
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventDecodeError(f"event is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise EventDecodeError("event must be a JSON object")
    version = payload.get("schema_version")
    if version not in SUPPORTED_VERSIONS:
        kind = payload.get("event_type", "?")
        raise UnsupportedSchemaVersion(
            f"{kind} event has schema_version={version!r}; this consumer supports "
            f"{sorted(SUPPORTED_VERSIONS)}"
        )
    try:
        return _EVENT_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise EventDecodeError(
            f"invalid {payload.get('event_type', '?')} event: {details}"
        ) from exc
