"""``/v1/dead-letters``: what was given up on, and republishing it in bulk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mailroom_admin_api.deps import ReprocessorDep, SessionDep, SettingsDep
from mailroom_admin_api.filters import DeadLetterFilter
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes._params import (
    CursorParam,
    LimitParam,
    SinceParam,
    TextParam,
    UntilParam,
    utc,
)
from mailroom_admin_api.schemas import (
    BulkReprocessIn,
    BulkReprocessOut,
    DeadLetterPage,
    DeadLetterStage,
)
from mailroom_admin_api.services import listing

__all__ = ["router"]

router = APIRouter(prefix="/v1/dead-letters", tags=["dead letters"])


@router.get(
    "",
    response_model=DeadLetterPage,
    operation_id="listDeadLetters",
    summary="List dead letters, newest first",
    responses=problem_responses(400, 401, 422),
)
async def list_dead_letters(
    *,
    session: SessionDep,
    stage: Annotated[DeadLetterStage | None, Query(description="Where it failed.")] = None,
    error_class: Annotated[
        str | None, TextParam("Exception class name.", "RateLimitError", 255)
    ] = None,
    message_key: Annotated[
        str | None, TextParam("One email's key.", "<CAF1234@mail.example.com>", 998)
    ] = None,
    open_only: Annotated[bool, Query(description="Only dead letters not reprocessed yet.")] = False,
    since: SinceParam = None,
    until: UntilParam = None,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> DeadLetterPage:
    flt = DeadLetterFilter(
        stage=stage,
        error_class=error_class,
        message_key=message_key,
        since=utc("since", since),
        until=utc("until", until),
        open_only=open_only,
    )
    return await listing.list_dead_letters(session, flt, cursor, limit)


@router.post(
    "/reprocess",
    response_model=BulkReprocessOut,
    operation_id="reprocessDeadLetters",
    summary="Republish open dead letters matching a filter",
    description=(
        "Takes open dead letters (newest first, up to `limit`), one per email, skips those "
        "whose original is not an inbound email or whose task was already sent, and "
        "republishes the rest to mail.inbound. Each dead letter is republished at most once "
        "however often this is called. With `dry_run` nothing is published and "
        "`published` counts what would be."
    ),
    responses=problem_responses(401, 422, 503),
)
async def reprocess_dead_letters(
    body: BulkReprocessIn, session: SessionDep, settings: SettingsDep, reprocessor: ReprocessorDep
) -> BulkReprocessOut:
    limit = min(body.limit, settings.admin.bulk_reprocess_limit)
    return await reprocessor.reprocess_dead_letters(
        session, body.model_copy(update={"limit": limit}), utc("since", body.since)
    )
