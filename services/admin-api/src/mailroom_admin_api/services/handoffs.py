"""Tasks waiting for a person, the longest-waiting first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.handoff_schemas import HandoffOut, HandoffPage, WaitingStatus
from mailroom_admin_api.reasons import DELIVERY_SERVICE, summary_reason
from mailroom_admin_api.repository import handoffs as handoffs_repo
from mailroom_admin_api.repository import tasks as tasks_repo
from mailroom_admin_api.services.listing import _page
from mailroom_admin_api.waiting import HandoffFilter, age_seconds
from mailroom_common.db.models import EmailTask

__all__ = ["list_handoffs"]


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
