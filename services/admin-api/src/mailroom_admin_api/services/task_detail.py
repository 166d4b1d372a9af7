"""``GET /v1/tasks/{id}``: one task with its history, errors, cost and trace link."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.reasons import ChangeView, task_reasons
from mailroom_admin_api.repository import corrections as corrections_repo
from mailroom_admin_api.repository import dead_letters as dead_letters_repo
from mailroom_admin_api.repository import tasks as tasks_repo
from mailroom_admin_api.schemas import (
    DeliveryOut,
    EmailOut,
    ReplyOut,
    StatusChangeOut,
    TaskDetail,
    TraceOut,
    UsageOut,
)
from mailroom_admin_api.services._convert import (
    at_or_epoch,
    dead_letter_out,
    decision_out,
    inbound_original,
    task_original,
    task_summary,
    trace_url,
)
from mailroom_admin_api.services.corrections_logic import correction_out

__all__ = ["get_task_detail", "task_not_found"]


def task_not_found(task_id: uuid.UUID) -> ProblemError:
    return ProblemError(404, "Task not found", f"No task has id {task_id}.", kind="task-not-found")


async def get_task_detail(
    session: AsyncSession, task_id: uuid.UUID, tracing_ui_base_url: str | None
) -> TaskDetail:
    task = await tasks_repo.get_task(session, task_id)
    if task is None:
        raise task_not_found(task_id)
    changes = await tasks_repo.status_changes(session, task.message_key)
    letters = await dead_letters_repo.for_message_key(session, task.message_key)
    ledger = await tasks_repo.deliveries(session, task.message_key)
    correction = await corrections_repo.get(session, task.message_key)

    # The projector stores the email with the task; older tasks only have a dead letter's.
    original = task_original(task) or next(
        (e for e in map(inbound_original, letters) if e is not None), None
    )
    errors = [task.last_error] if task.last_error else []
    errors += [f"{d.stage}: {d.error_class}: {d.error_message}" for d in letters]
    reasons = task_reasons(
        (ChangeView(c.status, c.reason, c.service, c.occurred_at) for c in changes),
        status=task.status,
        dead_letter_error=(
            f"{letters[0].error_class}: {letters[0].error_message}" if letters else None
        ),
    )
    summary = task_summary(task, reasons.status_reason)
    return TaskDetail(
        **summary.model_dump(),
        thread_key=task.thread_key,
        status_reason=reasons.status_reason,
        delivery_result=reasons.delivery_result,
        last_error=task.last_error,
        redrive_count=task.redrive_count,
        updated_at=at_or_epoch(task.updated_at),
        decision=decision_out(task),
        correction=correction_out(correction, task.id) if correction is not None else None,
        email=EmailOut(
            message_key=task.message_key,
            thread_key=task.thread_key,
            mailbox=task.mailbox,
            from_address=task.from_address,
            subject=task.subject,
            received_at=task.received_at,
            text=original.text if original is not None else None,
        ),
        reply=ReplyOut(
            text=task.reply_text, model=task.model, first_replied_at=task.first_replied_at
        ),
        usage=UsageOut(
            prompt_tokens=task.prompt_tokens,
            completion_tokens=task.completion_tokens,
            cost_usd=float(task.cost_usd or 0),
        ),
        trace=TraceOut(trace_id=task.trace_id, url=trace_url(tracing_ui_base_url, task.trace_id)),
        status_changes=[
            StatusChangeOut(
                status=c.status,
                reason=c.reason,
                service=c.service,
                occurred_at=at_or_epoch(c.occurred_at),
                trace_id=c.trace_id,
            )
            for c in changes
        ],
        errors=errors,
        dead_letters=[dead_letter_out(d) for d in letters],
        deliveries=[
            DeliveryOut(
                kind=row.kind,
                state=row.state,
                recipient=row.recipient,
                smtp_message_id=row.smtp_message_id,
                attempts=row.attempts,
                last_error=row.last_error,
                created_at=at_or_epoch(row.created_at),
                sent_at=row.sent_at,
            )
            for row in ledger
        ],
    )
