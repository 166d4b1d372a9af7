"""``/v1/drafts``: replies waiting in the Drafts folder; approve (send) or discard them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from mailroom_admin_api.deps import ResourcesDep, SessionDep
from mailroom_admin_api.draft_schemas import DraftActionOut, DraftApproveIn, DraftPage
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes._params import CursorParam, LimitParam, message_id_path
from mailroom_admin_api.services.drafts import list_drafts, request_action
from mailroom_common.topics import DRAFT_ACTIONS

__all__ = ["router"]

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])

MessageKeyParam = Annotated[
    str,
    message_id_path("The task's message key (URL-encoded), as GET /v1/drafts lists it."),
]


@router.get(
    "",
    response_model=DraftPage,
    operation_id="listDrafts",
    summary="Drafts waiting for a person (answer mode draft), newest first",
    responses=problem_responses(400, 401, 422),
)
async def get_drafts(
    session: SessionDep, cursor: CursorParam = None, limit: LimitParam = 50
) -> DraftPage:
    return await list_drafts(session, cursor, limit)


@router.post(
    "/{message_key:path}/approve",
    response_model=DraftActionOut,
    status_code=202,
    operation_id="approveDraft",
    summary="Send a draft (optionally with an edited text) through the send ledger",
    description=(
        "Publishes a DraftAction to mail.draft-actions; the sender sends the reply exactly "
        "once and removes the draft from the Drafts folder. Unless a person already sent it "
        "from the mailbox: then nothing more is sent. Refused with 409 when the draft is not "
        "pending or the task is not drafted, 404 when the task has no draft."
    ),
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def approve_draft(
    message_key: MessageKeyParam,
    session: SessionDep,
    resources: ResourcesDep,
    body: DraftApproveIn | None = None,
) -> DraftActionOut:
    return await request_action(
        session,
        resources.producer,
        resources.settings.kafka.topic(DRAFT_ACTIONS),
        message_key,
        action="approve",
        body_text=body.body_text if body is not None else None,
    )


@router.post(
    "/{message_key:path}/discard",
    response_model=DraftActionOut,
    status_code=202,
    operation_id="discardDraft",
    summary="Throw a draft away: the task becomes discarded, nothing is ever sent",
    description=(
        "Publishes a DraftAction to mail.draft-actions; the sender settles the message as "
        "never to be sent and removes the draft from the Drafts folder."
    ),
    responses=problem_responses(401, 404, 409, 422, 503),
)
async def discard_draft(
    message_key: MessageKeyParam, session: SessionDep, resources: ResourcesDep
) -> DraftActionOut:
    return await request_action(
        session,
        resources.producer,
        resources.settings.kafka.topic(DRAFT_ACTIONS),
        message_key,
        action="discard",
    )
