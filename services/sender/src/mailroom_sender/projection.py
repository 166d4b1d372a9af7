"""Apply one event to an email task row: pure, so order and duplicates can be tested.

Events reach the projector twice (redelivery) and out of order (different topics and
partitions, retries). The rules that make the final row independent of arrival order:

* **Status**: an event replaces the row's status only if its ordering key
  ``(occurred_at, rank, status, reason)`` is greater than the row's. Time decides first, so
  a reprocessed task can move from ``dead_letter`` back to ``processing``; the rank breaks
  ties (a ``sent`` and a ``processing`` stamped in the same microsecond → ``sent``), and the
  last two make the comparison total, hence the result the maximum over all events
  whatever the order. A late ``processing`` therefore never overwrites ``sent``.
  ``resolved`` (a person answered the hand-off, recorded by the admin API) is final: it
  orders above every other status whatever its time, so a handoff acknowledgement's send
  report or a responder's redelivered hand-off that comes later never reopens it (a
  resolved task is not reprocessable, so no new run moves it either).
* **History**: every event with a status appends one ``task_status_changes`` row (unique
  by event id), winner or not, so "when and why" is complete.
* **Descriptive fields** (route, intent, model, reply text, trace id, last error): set by
  the event that wins the status, otherwise only filled when still empty.
* **Decision** (the routing decision a status event may carry, with its reason and
  confidence as columns): the newest wins, by the carrying event's ``(occurred_at, record)``
  against the stored ``decision_at``, whether or not that event wins the status; an event
  without a decision leaves it alone. So a reprocessed run's decision replaces the old
  run's, and a late ``sent`` or a desk handoff never erases the router's reasons.
* **Counters**: attempts and token/cost figures keep the maximum seen;
  ``first_replied_at`` keeps the earliest reply/sent time.
* **Inbound facts** (sender, subject, mailbox, received time, thread, trace id) are
  filled once.
* **The original email** (an answerable InboundEmail as JSON) is stored once per *run*:
  the first one, then only an operator's reprocess (a new ``reprocess_of_trace_id``,
  newer than the stored one) replaces it, and resets the redrive sweep's count for the new
  run. A duplicate of the same run (ingest re-publishing after a crash) changes nothing.

Duplicate events are filtered before this function by ``processed_events``; applying the
same event twice here is harmless anyway (same key → not greater → no change).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from mailroom_common.events import (
    DeadLetterEvent,
    Disposition,
    InboundEmail,
    StatusChanged,
    TaskStatus,
)

__all__ = ["FINAL", "RANK", "HistoryEntry", "TaskRow", "affects_task", "apply_event", "empty_row"]

RANK: dict[str, int] = {
    TaskStatus.RECEIVED: 0,
    TaskStatus.PROCESSING: 1,
    TaskStatus.RETRYING: 1,
    TaskStatus.REPLIED: 2,
    TaskStatus.IGNORED: 3,
    TaskStatus.REJECTED: 3,
    TaskStatus.HANDOFF: 3,
    TaskStatus.DEAD_LETTER: 3,
    TaskStatus.SENT: 4,
    TaskStatus.SEND_FAILED: 4,
    TaskStatus.UNCERTAIN: 4,
    TaskStatus.HUMAN_OWNED: 3,
    TaskStatus.DRAFTED: 4,
    TaskStatus.SHADOWED: 4,
    TaskStatus.DISCARDED: 4,
    TaskStatus.RESOLVED: 5,
}
# Statuses no later event replaces (the first element of the ordering key).
FINAL: frozenset[str] = frozenset({TaskStatus.RESOLVED.value})
_REPLIED = frozenset({TaskStatus.REPLIED, TaskStatus.SENT})
# Stages whose dead letter ends the task; the sender reports its own failures as SEND_FAILED.
_TASK_ENDING_DEAD_LETTER_STAGES = frozenset({"ingest", "responder"})


@dataclass(frozen=True, slots=True)
class TaskRow:
    message_key: str
    status: str = TaskStatus.RECEIVED.value
    status_reason: str | None = None
    status_at: datetime | None = None  # None: no event applied yet (placeholder row)
    thread_key: str | None = None
    mailbox: str | None = None
    from_address: str | None = None
    subject: str | None = None
    received_at: datetime | None = None
    route: str | None = None
    intent: str | None = None
    attempts: int = 0
    last_error: str | None = None
    reply_text: str | None = None
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    trace_id: str | None = None
    first_replied_at: datetime | None = None
    original: dict[str, Any] | None = None
    redrive_count: int = 0
    redrive_alerted_at: datetime | None = None
    decision: dict[str, Any] | None = None
    decision_reason: str | None = None
    confidence: float | None = None
    decision_at: datetime | None = None  # occurred_at of the event that carried it


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event_id: uuid.UUID
    message_key: str
    status: str
    reason: str | None
    service: str | None
    trace_id: str | None
    occurred_at: datetime


def empty_row(message_key: str) -> TaskRow:
    return TaskRow(message_key=message_key)


def _key(
    at: datetime | None, status: str, reason: str | None
) -> tuple[bool, datetime, int, str, str]:
    assert at is not None
    return (status in FINAL, at, RANK.get(status, 0), status, reason or "")


def _fill(current: str | None, new: str | None, *, wins: bool) -> str | None:
    if new is None:
        return current
    return new if wins or current is None else current


def _with_status(
    row: TaskRow, status: str, reason: str | None, at: datetime
) -> tuple[TaskRow, bool]:
    wins = row.status_at is None or _key(at, status, reason) > _key(
        row.status_at, row.status, row.status_reason
    )
    if wins:
        row = replace(row, status=status, status_reason=reason, status_at=at)
    return row, wins


def _stored_at(original: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(original["occurred_at"]))
    except (KeyError, ValueError):
        return None


def _new_run(original: dict[str, Any] | None, ev: InboundEmail) -> bool:
    """Whether ``ev`` should become the stored original (see the module docstring)."""
    if original is None:
        return True
    if ev.reprocess_of_trace_id is None or ev.reprocess_of_trace_id == original.get(
        "reprocess_of_trace_id"
    ):
        return False
    stored_at = _stored_at(original)
    return stored_at is None or ev.occurred_at > stored_at


def _inbound(row: TaskRow, ev: InboundEmail, trace_id: str | None) -> tuple[TaskRow, HistoryEntry]:
    if ev.disposition is Disposition.ANSWERABLE and _new_run(row.original, ev):
        # mode="json": exactly the JSON encode_event put on the topic, so the redrive
        # sweep and the admin API can validate it back into the same InboundEmail.
        row = replace(
            row, original=ev.model_dump(mode="json"), redrive_count=0, redrive_alerted_at=None
        )
    if ev.disposition is Disposition.ANSWERABLE:
        status, reason = TaskStatus.RECEIVED.value, None
    elif ev.disposition is Disposition.IGNORED:
        status, reason = TaskStatus.IGNORED.value, ev.screen_reason
    else:
        status, reason = TaskStatus.REJECTED.value, ev.screen_reason
    row, _ = _with_status(row, status, reason, ev.occurred_at)
    row = replace(
        row,
        thread_key=row.thread_key or ev.thread_key,
        mailbox=row.mailbox or ev.mailbox,
        from_address=row.from_address or ev.from_address,
        subject=row.subject if row.subject is not None else ev.subject,
        received_at=row.received_at or ev.received_at,
        trace_id=row.trace_id or trace_id,
    )
    entry = HistoryEntry(
        ev.event_id, ev.message_key, status, reason, ev.producer, trace_id, ev.occurred_at
    )
    return row, entry


def _canonical(record: dict[str, Any] | None) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _with_decision(row: TaskRow, ev: StatusChanged) -> TaskRow:
    if ev.decision is None:
        return row
    record = ev.decision.model_dump(mode="json")
    # The record breaks a tie of times, so the result is the maximum whatever the order.
    if row.decision_at is not None and (ev.occurred_at, _canonical(record)) <= (
        row.decision_at,
        _canonical(row.decision),
    ):
        return row
    return replace(
        row,
        decision=record,
        decision_reason=ev.decision.reason,
        confidence=ev.decision.confidence,
        decision_at=ev.occurred_at,
    )


def _status(row: TaskRow, ev: StatusChanged) -> tuple[TaskRow, HistoryEntry]:
    status = ev.status.value
    row, wins = _with_status(row, status, ev.reason, ev.occurred_at)
    row = _with_decision(row, ev)
    first_replied = row.first_replied_at
    if ev.status in _REPLIED and (first_replied is None or ev.occurred_at < first_replied):
        first_replied = ev.occurred_at
    row = replace(
        row,
        route=_fill(row.route, ev.route.value if ev.route else None, wins=wins),
        intent=_fill(row.intent, ev.intent, wins=wins),
        model=_fill(row.model, ev.model, wins=wins),
        reply_text=_fill(row.reply_text, ev.reply_text, wins=wins),
        trace_id=_fill(row.trace_id, ev.trace_id, wins=wins),
        last_error=_fill(row.last_error, ev.error, wins=wins),
        attempts=max(row.attempts, ev.attempts or 0),
        prompt_tokens=max(row.prompt_tokens, ev.prompt_tokens or 0),
        completion_tokens=max(row.completion_tokens, ev.completion_tokens or 0),
        cost_usd=max(row.cost_usd, Decimal(str(ev.cost_usd)) if ev.cost_usd else Decimal(0)),
        first_replied_at=first_replied,
        from_address=row.from_address or ev.from_address,
        subject=row.subject if row.subject is not None else ev.subject,
        mailbox=row.mailbox or ev.mailbox,
        received_at=row.received_at or ev.received_at,
    )
    entry = HistoryEntry(
        ev.event_id, ev.message_key, status, ev.reason, ev.producer, ev.trace_id, ev.occurred_at
    )
    return row, entry


def _dead_letter(row: TaskRow, ev: DeadLetterEvent) -> tuple[TaskRow, HistoryEntry]:
    status = TaskStatus.DEAD_LETTER.value
    reason = f"{ev.stage}: {ev.error_class}: {ev.error_message}"[:2000]
    row, wins = _with_status(row, status, reason, ev.occurred_at)
    row = replace(
        row,
        last_error=_fill(row.last_error, ev.error_message, wins=wins),
        attempts=max(row.attempts, ev.attempts),
    )
    entry = HistoryEntry(
        ev.event_id, ev.message_key, status, reason, ev.producer, None, ev.occurred_at
    )
    return row, entry


def affects_task(event: object) -> bool:
    """Whether the event changes an email task row (others only fill their own tables)."""
    if isinstance(event, InboundEmail | StatusChanged):
        return True
    return isinstance(event, DeadLetterEvent) and event.stage in _TASK_ENDING_DEAD_LETTER_STAGES


def apply_event(
    row: TaskRow | None,
    event: InboundEmail | StatusChanged | DeadLetterEvent,
    *,
    trace_id: str | None = None,
) -> tuple[TaskRow, HistoryEntry | None]:
    """The row after ``event`` and the history entry it adds (None: no task change).

    ``trace_id`` is the trace the event travelled in (from its record headers); an
    inbound email's fills the row's trace id, so the redrive sweep can republish the
    email inside its own trace even before the responder reported anything.
    """
    current = row or empty_row(event.message_key)
    if isinstance(event, InboundEmail):
        return _inbound(current, event, trace_id)
    if isinstance(event, StatusChanged):
        return _status(current, event)
    if event.stage in _TASK_ENDING_DEAD_LETTER_STAGES:
        return _dead_letter(current, event)
    # Sender/transactional dead letters: the sender reports the task status itself.
    return current, None
