"""Tasks waiting for a person, the longest-waiting first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.handoff_schemas import HandoffOut, HandoffPage, ResolveOut, WaitingStatus
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.reasons import DELIVERY_SERVICE, summary_reason
from mailroom_admin_api.repository import handoffs as handoffs_repo
from mailroom_admin_api.repository import tasks as tasks_repo
from mailroom_admin_api.services.listing import _page
from mailroom_admin_api.services.task_detail import task_not_found
from mailroom_admin_api.waiting import (
    HandoffFilter,
    age_seconds,
    resolve_event_id,
    resolve_refusal,
    resolved_reason,
)
from mailroom_common.db.models import EmailTask
from mailroom_common.events import StatusChanged, TaskStatus
from mailroom_common.kafka import send_event
from mailroom_common.logging import get_logger

__all__ = ["list_handoffs", "resolve_task"]

log = get_logger(__name__)


async def list_handoffs(
    session: AsyncSession,
    flt: HandoffFilter,
    cursor: str | None,
    limit: int,
    *,
    now: datetime | None = None,
) -> HandoffPage:
    rows, next_cursor = await _page(
        lambda c, n: handoffs_repo.list_waiting(session, flt, c, n),
        lambda row: (row[1], row[0].id),
        cursor,
        limit,
    )
    total = await handoffs_repo.count_waiting(session, flt)
    reasons = await tasks_repo.latest_decision_reasons(
        session, [task.message_key for task, _ in rows], DELIVERY_SERVICE
    )
    at = now if now is not None else datetime.now(UTC)
    return HandoffPage(
        items=[
            _handoff_out(task, since, reasons.get(task.message_key), at) for task, since in rows
        ],
        next_cursor=next_cursor,
        total_waiting=total,
    )


def _handoff_out(
    task: EmailTask, waiting_since: datetime, latest_decision: str | None, now: datetime
) -> HandoffOut:
    return HandoffOut(
        task_id=task.id,
        message_key=task.message_key,
        from_address=task.from_address,
        subject=task.subject,
        # The query keeps only waiting statuses.
        status=cast(WaitingStatus, task.status),
        route=task.route,
        reason=summary_reason(
            status=task.status,
            latest_decision=latest_decision,
            decision_reason=task.decision_reason,
            last_error=task.last_error,
        ),
        waiting_since=waiting_since,
        age_s=age_seconds(waiting_since, now),
        trace_id=task.trace_id,
    )


async def resolve_task(
    session: AsyncSession,
    producer: AIOKafkaProducer,
    topic: str,
    task_id: uuid.UUID,
    *,
    resolved_by: str,
    via: str,
) -> ResolveOut:
    """A person answered a task waiting for them: publish its ``resolved`` status to
    ``mail.status`` (keyed by the message key, like every status) for the projector.

    404 for an unknown task, 409 unless it is ``handoff`` or ``human_owned`` now.
    """
    task = await tasks_repo.get_task(session, task_id)
    if task is None:
        raise task_not_found(task_id)
    refused = resolve_refusal(task.status)
    if refused is not None:
        raise ProblemError(409, "Task not waiting for a person", refused, kind="task-not-waiting")
    event = StatusChanged(
        event_id=resolve_event_id(task.message_key),
        producer="admin-api",
        message_key=task.message_key,
        status=TaskStatus.RESOLVED,
        reason=resolved_reason(resolved_by, via),
        trace_id=task.trace_id,
    )
    try:
        await send_event(producer, topic, event, key=task.message_key)
    except KafkaError as exc:
        raise ProblemError(
            503,
            "Kafka unavailable",
            f"Could not publish to {topic}: {type(exc).__name__}; try again.",
            kind="kafka-unavailable",
        ) from exc
    log.info(
        "task.resolve_requested",
        task_id=str(task.id),
        previous_status=task.status,
        resolved_by=resolved_by,
        via=via,
    )
    return ResolveOut(
        task_id=task.id,
        message_key=task.message_key,
        previous_status=cast(WaitingStatus, task.status),
        event_id=event.event_id,
        resolved_by=resolved_by,
    )
