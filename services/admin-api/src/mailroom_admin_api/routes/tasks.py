"""``/v1/tasks``: list, inspect and reprocess email tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from mailroom_admin_api.deps import ReprocessorDep, SessionDep, SettingsDep
from mailroom_admin_api.filters import TaskFilter
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes._params import (
    CursorParam,
    LimitParam,
    SinceParam,
    TextParam,
    UntilParam,
    utc,
)
from mailroom_admin_api.schemas import ReprocessOut, TaskDetail, TaskPage
from mailroom_admin_api.services import listing
from mailroom_admin_api.services.task_detail import get_task_detail
from mailroom_common.events import Route, TaskStatus

__all__ = ["router"]

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

TaskIdParam = Annotated[
    uuid.UUID,
    Path(description="The task's id (UUID).", examples=["3f0c5a52-8a8e-4d8e-9a55-3f1f1f0a9c11"]),
]


@router.get(
    "",
    response_model=TaskPage,
    operation_id="listTasks",
    summary="List email tasks, newest first",
    responses=problem_responses(400, 401, 422),
)
async def list_tasks(
    *,
    session: SessionDep,
    status: Annotated[
        list[TaskStatus] | None,
        Query(description="Keep tasks in any of these statuses (repeatable).", examples=[["sent"]]),
    ] = None,
    route: Annotated[Route | None, Query(description="Keep tasks answered by this route.")] = None,
    sender: Annotated[
        str | None, TextParam("Sender address, case-insensitive.", "ana@example.com")
    ] = None,
    subject: Annotated[
        str | None, TextParam("A part of the subject, case-insensitive.", "pedido", 998)
    ] = None,
    since: SinceParam = None,
    until: UntilParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> TaskPage:
    flt = TaskFilter(
        statuses=tuple(s.value for s in status or ()),
        route=route.value if route is not None else None,
        sender=sender,
        subject=subject,
        since=utc("since", since),
        until=utc("until", until),
    )
    return await listing.list_tasks(session, flt, cursor, limit)


@router.get(
    "/{task_id}",
    response_model=TaskDetail,
    operation_id="getTask",
    summary="One task: email, routing decision, reply, status history, errors, cost, trace",
    responses=problem_responses(401, 404, 422),
)
async def get_task(task_id: TaskIdParam, session: SessionDep, settings: SettingsDep) -> TaskDetail:
    return await get_task_detail(session, task_id, settings.admin.tracing_ui_base_url)


@router.post(
    "/{task_id}/reprocess",
    response_model=ReprocessOut,
    status_code=202,
    operation_id="reprocessTask",
    summary="Republish the task's original email to mail.inbound",
    description=(
        "Publishes the stored original email again with attempts reset, a new event id and "
        "`reprocess_of_trace_id` set to the earlier trace. Repeating the call with the same "
        "`Idempotency-Key` returns the same body and publishes nothing (header "
        "`Idempotent-Replayed: true`). Accepted for dead-lettered tasks, and for tasks "
        "stuck in received, processing or retrying (status unchanged for "
        "`ADMIN_REPROCESS_STUCK_AFTER_S`); other statuses, tasks already sent and tasks "
        "without a stored original email are refused with 409."
    ),
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def reprocess_task(
    task_id: TaskIdParam,
    session: SessionDep,
    reprocessor: ReprocessorDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            pattern=r"^[\x21-\x7e]+$",
            description="Your key for this request; retries with it never publish twice.",
            examples=["op-2026-11-27-001"],
        ),
    ] = None,
) -> ReprocessOut:
    body, replayed = await reprocessor.reprocess_task(session, task_id, idempotency_key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return body
