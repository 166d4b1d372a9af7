"""``/v1/handoffs``: the tasks waiting for a person, the longest-waiting first; and
``/v1/tasks/{task_id}/resolve``: a person answered one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mailroom_admin_api.deps import ResourcesDep, SessionDep
from mailroom_admin_api.handoff_schemas import HandoffPage, ResolveOut, WaitingStatus
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes._params import (
    CursorParam,
    LimitParam,
    SinceParam,
    UntilParam,
    utc,
)
from mailroom_admin_api.routes.tasks import TaskIdParam
from mailroom_admin_api.services.corrections_logic import DEFAULT_CORRECTED_BY
from mailroom_admin_api.services.handoffs import list_handoffs, resolve_task
from mailroom_admin_api.waiting import HandoffFilter, waiting_statuses
from mailroom_common.topics import STATUS

__all__ = ["router"]

router = APIRouter(tags=["handoffs"])

# The admin API has one shared token, which names nobody: a resolution is the operator's.
DEFAULT_RESOLVED_BY = DEFAULT_CORRECTED_BY


@router.get(
    "/v1/handoffs",
    response_model=HandoffPage,
    operation_id="listHandoffs",
    summary="Tasks waiting for a person (handoff, human_owned), oldest first",
    description=(
        "Each with the hand-off reason (never the sender's report about the "
        "acknowledgement), `waiting_since` (when it reached its status) and `age_s`. "
        "`since`/`until` apply to `waiting_since`; `total_waiting` counts every matching "
        "task, not only this page."
    ),
    responses=problem_responses(400, 401, 422),
)
async def get_handoffs(
    *,
    session: SessionDep,
    status: Annotated[
        list[WaitingStatus] | None,
        Query(
            description="Keep tasks in any of these statuses (repeatable); both when omitted.",
            examples=[["handoff"]],
        ),
    ] = None,
    since: SinceParam = None,
    until: UntilParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> HandoffPage:
    flt = HandoffFilter(
        statuses=waiting_statuses(status or ()),
        since=utc("since", since),
        until=utc("until", until),
    )
    return await list_handoffs(session, flt, cursor, limit)


@router.post(
    "/v1/tasks/{task_id}/resolve",
    response_model=ResolveOut,
    status_code=202,
    operation_id="resolveTask",
    summary="A person answered this task: mark it resolved",
    description=(
        "For a task waiting for a person (`handoff` or `human_owned`): publishes a "
        "StatusChanged `resolved` (producer `admin-api`, reason naming who) to mail.status; "
        "the projector records it, so the task leaves `GET /v1/handoffs` and its history "
        "says who resolved it and when. `resolved` is final: no later report of the same "
        "run reopens it, and it is not reprocessable. One event per task (its id is derived "
        "from the message key), so repeating the request before the projector caught up "
        "changes nothing. 409 `task-not-waiting` for any other status (resolved included), "
        "404 for an unknown task, 503 when Kafka does not take the event."
    ),
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def post_resolve(
    task_id: TaskIdParam, session: SessionDep, resources: ResourcesDep
) -> ResolveOut:
    return await resolve_task(
        session,
        resources.producer,
        resources.settings.kafka.topic(STATUS),
        task_id,
        resolved_by=DEFAULT_RESOLVED_BY,
        via="API",
    )
