"""SQLModel tables: PostgreSQL is the record of every email's state.

Who writes what (see docs/architecture.md): the sender's projector owns ``email_tasks``,
``task_status_changes``, ``dead_letters`` and ``alerts``; the sender owns
``send_ledger``, ``suppressions`` and ``reply_drafts``; ingest owns ``ingest_checkpoints``;
the responder owns ``conversation_turns``; the catalogue is loaded by the import command
and read by the responder; the admin API writes ``reprocess_requests``, ``routing_corrections`` and
``dead_letters.reprocessed_at``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

__all__ = [
    "AlertRecord",
    "Category",
    "ConversationTurn",
    "DeadLetterRecord",
    "DraftState",
    "EmailTask",
    "IngestCheckpoint",
    "LedgerState",
    "ProcessedEvent",
    "Product",
    "ReplyDraft",
    "ReprocessRequest",
    "RoutingCorrection",
    "SendLedger",
    "Suppression",
    "TaskStatusChange",
    "ThreadOwner",
    "Variant",
    "metadata",
]

metadata = SQLModel.metadata

_JSON = JSON().with_variant(JSONB(), "postgresql")
# For nullable JSON columns: Python None is SQL NULL (not the JSON value null), so that
# ``IS NULL`` means "nothing stored".
_JSON_OR_NULL = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def _ts(*, nullable: bool = True, default_now: bool = False) -> Any:
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=nullable,
            server_default=func.now() if default_now else None,
        ),
    )


class EmailTask(SQLModel, table=True):
    """One row per received email, keyed by its stable message key."""

    __tablename__ = "email_tasks"
    __table_args__ = (
        Index("ix_email_tasks_status_created", "status", "created_at"),
        Index("ix_email_tasks_from_address", "from_address"),
        # The sender's redrive sweep looks for tasks left in 'received' since a time.
        Index("ix_email_tasks_status_updated", "status", "updated_at"),
        # Every windowed figure (console Today, /v1/stats) filters on created_at.
        Index("ix_email_tasks_created_at", "created_at", postgresql_include=["status", "route"]),
        # The task list's sender filter is case-insensitive.
        Index("ix_email_tasks_sender_lower", text("lower(from_address)")),
        # The waiting list (hand-offs oldest first) over the statuses that wait for a person.
        Index(
            "ix_email_tasks_waiting",
            text("coalesce(status_at, created_at)"),
            "id",
            postgresql_where=text("status IN ('handoff', 'human_owned')"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    message_key: str = Field(max_length=998, unique=True, index=True)
    thread_key: str | None = Field(default=None, max_length=998)
    mailbox: str | None = Field(default=None, max_length=255)
    from_address: str | None = Field(default=None, max_length=320)
    subject: str | None = Field(default=None)
    status: str = Field(max_length=32, index=True)
    status_reason: str | None = None
    route: str | None = Field(default=None, max_length=32, index=True)
    intent: str | None = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    last_error: str | None = None
    reply_text: str | None = None
    model: str | None = Field(default=None, max_length=128)
    prompt_tokens: int = Field(default=0)
    completion_tokens: int = Field(default=0)
    cost_usd: Decimal = Field(default=Decimal(0), sa_column=Column(Numeric(12, 6), default=0))
    trace_id: str | None = Field(default=None, max_length=32)
    # Time of the newest event applied to the status; older events never overwrite it.
    status_at: datetime | None = _ts()
    received_at: datetime | None = _ts()
    first_replied_at: datetime | None = _ts()
    # The answerable InboundEmail as JSON (its latest run), kept so a task the responder
    # never processed can be republished. It holds the customer's text: see the retention
    # note in docs/architecture.md.
    original: dict[str, Any] | None = Field(
        default=None, sa_column=Column(_JSON_OR_NULL, nullable=True)
    )
    # Times the sender's redrive sweep republished ``original`` for the current run, and
    # when it gave up (alerted) instead; both reset when an operator starts a new run.
    redrive_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, default=0, server_default="0")
    )
    redrive_alerted_at: datetime | None = _ts()
    # The routing decision (events.DecisionRecord as JSON) of the latest status event that
    # carried one, its reason and confidence as columns for listings, and that event's
    # time: a decision replaces the stored one only if its event is newer.
    decision: dict[str, Any] | None = Field(
        default=None, sa_column=Column(_JSON_OR_NULL, nullable=True)
    )
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    confidence: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    decision_at: datetime | None = _ts()
    created_at: datetime | None = _ts(nullable=False, default_now=True)
    updated_at: datetime | None = _ts(nullable=False, default_now=True)


class TaskStatusChange(SQLModel, table=True):
    """Every status an email went through, when and why (one row per event)."""

    __tablename__ = "task_status_changes"
    # Hand-off reasons in a window: status and time.
    __table_args__ = (Index("ix_task_status_changes_status_occurred", "status", "occurred_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    event_id: uuid.UUID = Field(unique=True)
    message_key: str = Field(max_length=998, index=True)
    status: str = Field(max_length=32)
    reason: str | None = None
    service: str | None = Field(default=None, max_length=64)
    trace_id: str | None = Field(default=None, max_length=32)
    occurred_at: datetime | None = _ts(nullable=False)


class ProcessedEvent(SQLModel, table=True):
    """Event ids a consumer has applied, so a redelivered event changes nothing."""

    __tablename__ = "processed_events"

    event_id: uuid.UUID = Field(primary_key=True)
    consumer: str = Field(primary_key=True, max_length=64)
    processed_at: datetime | None = _ts(nullable=False, default_now=True)


class LedgerState:
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    SUPPRESSED = "suppressed"


class SendLedger(SQLModel, table=True):
    """The outbound send ledger: at most one message per (task, kind)."""

    __tablename__ = "send_ledger"
    __table_args__ = (
        UniqueConstraint("message_key", "kind", name="uq_send_ledger_task_kind"),
        # The loop guards count recent sends per recipient and per thread.
        Index("ix_send_ledger_recipient_updated", "recipient", "updated_at"),
        Index("ix_send_ledger_thread_updated", "thread_key", "updated_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    message_key: str = Field(max_length=998, index=True)
    kind: str = Field(max_length=32)
    smtp_message_id: str = Field(max_length=998, unique=True)
    recipient: str = Field(max_length=320, index=True)
    thread_key: str | None = Field(default=None, max_length=998)
    subject: str | None = None
    state: str = Field(max_length=16, index=True)
    attempts: int = Field(default=0)
    last_error: str | None = None
    created_at: datetime | None = _ts(nullable=False, default_now=True)
    updated_at: datetime | None = _ts(nullable=False, default_now=True)
    sent_at: datetime | None = _ts()


class Suppression(SQLModel, table=True):
    """Addresses mailroom must not write to (fed by bounces and operators)."""

    __tablename__ = "suppressions"

    address: str = Field(primary_key=True, max_length=320)
    reason: str
    created_at: datetime | None = _ts(nullable=False, default_now=True)


class ConversationTurn(SQLModel, table=True):
    """What the customer said and what was answered, for the last-turns prompt context."""

    __tablename__ = "conversation_turns"
    __table_args__ = (Index("ix_turns_thread_created", "thread_key", "created_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True))
    thread_key: str = Field(max_length=998)
    customer_address: str | None = Field(default=None, max_length=320, index=True)
    role: str = Field(max_length=16)  # "customer" or "shop"
    text: str
    message_key: str | None = Field(default=None, max_length=998)
    created_at: datetime | None = _ts(nullable=False, default_now=True)


class Category(SQLModel, table=True):
    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=128)


class Product(SQLModel, table=True):
    __tablename__ = "products"

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=255, index=True)
    category_id: int = Field(foreign_key="categories.id", index=True)
    description: str = ""
    keywords: str = Field(default="", description="Extra search words, space separated.")
    active: bool = True


class Variant(SQLModel, table=True):
    __tablename__ = "variants"
    __table_args__ = (UniqueConstraint("product_id", "size", "colour", name="uq_variant"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="products.id", index=True, ondelete="CASCADE")
    size: str = Field(max_length=16)
    colour: str = Field(max_length=64)
    price: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    currency: str = Field(default="ARS", max_length=3)
    stock: int = Field(default=0, ge=0)
    # False once a ``import-catalogue --replace`` file no longer lists it: never offered,
    # kept for the tasks that refer to it; listed again, it is active again.
    active: bool = Field(
        default=True,
        sa_column=Column(Boolean, nullable=False, default=True, server_default=true()),
    )


class IngestCheckpoint(SQLModel, table=True):
    """Where ingest is in each mailbox folder; advanced only after Kafka acknowledged."""

    __tablename__ = "ingest_checkpoints"

    mailbox: str = Field(primary_key=True, max_length=255)
    folder: str = Field(primary_key=True, max_length=255)
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime | None = _ts(nullable=False, default_now=True)


class DeadLetterRecord(SQLModel, table=True):
    __tablename__ = "dead_letters"

    id: uuid.UUID = Field(primary_key=True, description="The dead-letter event's id.")
    message_key: str = Field(max_length=998, index=True)
    stage: str = Field(max_length=32)
    error_class: str = Field(max_length=255, index=True)
    error_message: str
    attempts: int = 0
    original_topic: str = Field(max_length=255)
    original: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    first_failure_at: datetime | None = _ts(nullable=False)
    last_failure_at: datetime | None = _ts(nullable=False)
    trace_id: str | None = Field(default=None, max_length=32)
    reprocessed_at: datetime | None = _ts()
    created_at: datetime | None = _ts(nullable=False, default_now=True)


class AlertRecord(SQLModel, table=True):
    __tablename__ = "alerts"

    id: uuid.UUID = Field(primary_key=True, description="The alert event's id.")
    kind: str = Field(max_length=64, index=True)
    severity: str = Field(max_length=16)
    message: str
    message_key: str | None = Field(default=None, max_length=998)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    occurred_at: datetime | None = _ts(nullable=False)


class ReprocessRequest(SQLModel, table=True):
    """An operator's reprocess call, kept so the same request key republishes once."""

    __tablename__ = "reprocess_requests"

    request_key: str = Field(primary_key=True, max_length=255)
    message_key: str = Field(max_length=998, index=True)
    earlier_trace_id: str | None = Field(default=None, max_length=32)
    created_at: datetime | None = _ts(nullable=False, default_now=True)


class RoutingCorrection(SQLModel, table=True):
    """An operator's label for one task: the route (and FAQ topic, products) it should have
    taken. Written by the admin API; exported as a labelled routing corpus."""

    __tablename__ = "routing_corrections"

    message_key: str = Field(primary_key=True, max_length=998)
    route: str = Field(max_length=32)
    intent: str | None = Field(default=None, max_length=64)
    product_skus: list[str] = Field(default_factory=list, sa_column=Column(_JSON, nullable=False))
    note: str | None = None
    # Where the router had sent the task when the correction was made (the decision's route,
    # else the task's), so the stats compare against what was corrected.
    decided_route: str | None = Field(default=None, max_length=32)
    corrected_by: str = Field(max_length=255)
    corrected_at: datetime | None = _ts(nullable=False, default_now=True)


class DraftState:
    FILING = "filing"  # claimed; the APPEND to Drafts may or may not have happened
    FILED = "filed"  # in the Drafts folder, waiting for a person (pending)
    APPROVED = "approved"  # an operator approved it: the ledger sends it
    SENT = "sent"  # sent through the ledger after approval
    SENT_BY_PERSON = "sent_by_person"  # a person sent it (or answered) from the mailbox
    DISCARDED = "discarded"  # the operator threw it away: never sent


class ReplyDraft(SQLModel, table=True):
    """A reply filed in the mailbox's Drafts folder (answer mode ``draft``); the sender's.

    One row per (task, kind), claimed in ``filing`` before the IMAP APPEND so a crash never
    files it twice; ``smtp_message_id`` is the ledger's deterministic Message-ID, the one
    the draft carries and the one it is sent with."""

    __tablename__ = "reply_drafts"
    __table_args__ = (
        UniqueConstraint("message_key", "kind", name="uq_reply_drafts_task_kind"),
        # GET /v1/drafts lists the pending ones, newest first; the Sent watcher reads them.
        Index("ix_reply_drafts_state_created", "state", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    message_key: str = Field(max_length=998)
    kind: str = Field(max_length=32)
    smtp_message_id: str = Field(max_length=998, unique=True)
    thread_key: str | None = Field(default=None, max_length=998)
    recipient: str = Field(max_length=320)
    subject: str | None = None
    # The drafted text; the text sent once an operator approved an edited one.
    body_text: str
    route: str | None = Field(default=None, max_length=32)
    # The OutboundEmail as JSON: what the approved message is built from.
    outbound: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    folder: str | None = Field(default=None, max_length=255)
    state: str = Field(max_length=16)
    decided_by: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = _ts()
    filed_at: datetime | None = _ts()
    removed_at: datetime | None = _ts()  # taken out of the Drafts folder
    created_at: datetime | None = _ts(nullable=False, default_now=True)
    updated_at: datetime | None = _ts(nullable=False, default_now=True)


class ThreadOwner(SQLModel, table=True):
    """A thread a person owns: its later mails are flagged for them, never answered.

    One row per id of the thread (``mailroom_common.threads.thread_ids``), so a reply that
    quotes only part of the chain still finds its owner; ``thread`` groups the rows of one
    conversation (the id the admin API lists and releases). Written by ingest's action
    worker; ``released_at`` by the admin API. Owned while not released and the last activity
    is within ``MAILROOM_THREAD_QUIET_DAYS``.
    """

    __tablename__ = "thread_owners"
    __table_args__ = (
        # The responder's cache reads what changed since its last look.
        Index("ix_thread_owners_updated", "updated_at"),
        Index("ix_thread_owners_thread", "thread"),
    )

    thread_id: str = Field(primary_key=True, max_length=998)
    thread: str = Field(max_length=998)
    reason: str = Field(max_length=500)
    # The mail that made this row owned (its hand-off, the shop's message, or the later mail
    # that added the id): the responder never holds a mail's own ownership against it.
    message_key: str = Field(max_length=998)
    owned_since: datetime | None = _ts(nullable=False, default_now=True)
    last_activity_at: datetime | None = _ts(nullable=False, default_now=True)
    released_at: datetime | None = _ts()
    released_by: str | None = Field(default=None, max_length=255)
    updated_at: datetime | None = _ts(nullable=False, default_now=True)
