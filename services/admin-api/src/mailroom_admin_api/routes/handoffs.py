"""``/v1/handoffs``: the tasks waiting for a person, the longest-waiting first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mailroom_admin_api.deps import SessionDep
from mailroom_admin_api.handoff_schemas import HandoffPage, WaitingStatus
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes._params import (
    CursorParam,
    LimitParam,
    SinceParam,
    UntilParam,
    utc,
)
from mailroom_admin_api.services.handoffs import list_handoffs
from mailroom_admin_api.waiting import HandoffFilter, waiting_statuses

__all__ = ["router"]

router = APIRouter(prefix="/v1/handoffs", tags=["handoffs"])


@router.get(
    "",
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
