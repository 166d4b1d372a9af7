"""The types the send path passes around: a record's work, verdicts, targets, config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mailroom_common.events import DraftAction, OutboundEmail, TransactionalRequest
from mailroom_common.topics import TopicSpec

from .message import Identity, OutgoingMail

__all__ = ["Done", "HandlerConfig", "Prepared", "Publisher", "Retry", "Target", "Verdict", "Work"]


class Publisher(Protocol):
    async def publish(self, spec: TopicSpec, event: Any, *, key: str | None) -> None: ...


@dataclass
class Work:
    """One consumed record and its in-process retry state."""

    topic: str
    partition: int
    offset: int
    key: str | None
    event: OutboundEmail | TransactionalRequest | DraftAction
    original_topic_spec: str
    attempts: int = 0
    first_failure_at: datetime | None = None
    epoch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tp(self) -> tuple[str, int]:
        return (self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class Done:
    outcome: str


@dataclass(frozen=True, slots=True)
class Retry:
    delay_s: float
    error: str


Verdict = Done | Retry


@dataclass(frozen=True, slots=True)
class HandlerConfig:
    identity: Identity
    shop_name: str
    envelope_from: str
    retry_base_s: float
    retry_max_s: float
    retry_jitter: float
    max_attempts: int
    save_sent: bool
    sent_check: bool
    sent_check_authoritative: bool


@dataclass(frozen=True, slots=True)
class Target:
    """Which task a ledger row belongs to, for the events about it."""

    message_key: str
    kind: str
    thread_key: str | None
    outbound: OutboundEmail | None = None

    @property
    def is_task(self) -> bool:
        # Transactional mail has no email task, so no StatusChanged is emitted for it.
        return self.kind != "transactional"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A message rendered and ready for the ledger: what, as bytes, and for which task."""

    mail: OutgoingMail
    raw: bytes
    target: Target
    smtp_message_id: str
