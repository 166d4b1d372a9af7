"""``/v1/alerts``: recent operator alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mailroom_admin_api.deps import SessionDep
from mailroom_admin_api.filters import AlertFilter
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes._params import (
    CursorParam,
    LimitParam,
    SinceParam,
    TextParam,
    UntilParam,
    utc,
)
from mailroom_admin_api.schemas import AlertPage
from mailroom_admin_api.services import listing
from mailroom_common.events import AlertSeverity

__all__ = ["router"]

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


@router.get(
    "",
    response_model=AlertPage,
    operation_id="listAlerts",
    summary="Recent alerts (dead letters, breaker opened, login failures…), newest first",
    responses=problem_responses(400, 401, 422),
)
async def list_alerts(
    *,
    session: SessionDep,
    kind: Annotated[str | None, TextParam("Alert kind.", "breaker_opened", 64)] = None,
    severity: Annotated[AlertSeverity | None, Query(description="Alert severity.")] = None,
    message_key: Annotated[
        str | None, TextParam("One email's key.", "<CAF1234@mail.example.com>", 998)
    ] = None,
    since: SinceParam = None,
    until: UntilParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> AlertPage:
    flt = AlertFilter(
        kind=kind,
        severity=severity.value if severity is not None else None,
        message_key=message_key,
        since=utc("since", since),
        until=utc("until", until),
    )
    return await listing.list_alerts(session, flt, cursor, limit)
