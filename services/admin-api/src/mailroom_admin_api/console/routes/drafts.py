"""Drafts: the replies waiting in the Drafts folder beside the customer's mail; edit one and
approve it (sent through the ledger), or discard it.

Both actions are the ``POST /v1/drafts/{key}/approve|discard`` service (a DraftAction on
``mail.draft-actions`` for the sender), recorded as the operator's, as there.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.console.pages import CheckedFormDep, ConsoleView, SignedInViewDep
from mailroom_admin_api.deps import ResourcesDep, SessionDep
from mailroom_admin_api.draft_schemas import DraftApproveIn
from mailroom_admin_api.drafts_logic import DraftFacts, pick
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.repository import drafts as drafts_repo
from mailroom_admin_api.services.corrections_logic import DEFAULT_CORRECTED_BY
from mailroom_admin_api.services.drafts import list_drafts, request_action
from mailroom_common.db.models import DraftState
from mailroom_common.logging import get_logger
from mailroom_common.topics import DRAFT_ACTIONS

__all__ = ["PAGE", "edited_text", "router"]

log = get_logger(__name__)

router = APIRouter(include_in_schema=False)

PAGE = "/console/drafts"
ACTOR = DEFAULT_CORRECTED_BY  # the shared admin token names nobody (see person.py)
SHOWN = 50
_DONE = {
    "approved": "drafts.done_approved",
    "approved_edited": "drafts.done_approved_edited",
    "discarded": "drafts.done_discarded",
}


def edited_text(submitted: str, drafted: str | None) -> str | None:
    """The text to send instead of the drafted one, or None when it is unchanged.

    Browsers submit a textarea with CRLF line breaks; the draft is stored with LF.
    """
    text = submitted.replace("\r\n", "\n").replace("\r", "\n")
    if drafted is not None and text.rstrip() == drafted.replace("\r\n", "\n").rstrip():
        return None
    return text


async def _render(
    view: ConsoleView,
    db: AsyncSession,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
    error_key: str | None = None,
    edits: dict[str, str] | None = None,
) -> HTMLResponse:
    page = await list_drafts(db, None, SHOWN)
    return view.render(
        "drafts.html",
        status=status,
        active="drafts",
        drafts=page,
        notice=notice,
        error=error,
        error_key=error_key,
        edits=edits or {},
    )


@router.get(PAGE)
async def drafts(view: SignedInViewDep, db: SessionDep, done: str | None = None) -> HTMLResponse:
    return await _render(view, db, notice=_DONE.get(done or ""))


async def _drafted_text(db: AsyncSession, message_key: str) -> str | None:
    rows = await drafts_repo.drafts_for(db, message_key)
    pending = [r for r in rows if r.state == DraftState.FILED]
    facts = pick([DraftFacts(r.kind, r.state) for r in pending])
    if facts is None:
        return None
    return next(r.body_text for r in pending if r.kind == facts.kind)


async def _act(
    view: ConsoleView,
    db: AsyncSession,
    resources: ResourcesDep,
    message_key: str,
    *,
    action: Literal["approve", "discard"],
    body_text: str | None,
) -> Response | None:
    try:
        await request_action(
            db,
            resources.producer,
            resources.settings.kafka.topic(DRAFT_ACTIONS),
            message_key,
            action=action,
            body_text=body_text,
            actor=ACTOR,
        )
    except ProblemError as exc:
        await db.rollback()
        if exc.type.endswith("/kafka-unavailable"):
            return await _render(view, db, status=exc.status, error_key="drafts.kafka")
        detail = exc.detail or exc.title
        return await _render(
            view, db, status=exc.status, error=view.t("drafts.refused", detail=detail)
        )
    log.info(
        "console.draft_action",
        message_key=message_key,
        action=action,
        edited=body_text is not None,
        by=ACTOR,
    )
    return None


@router.post(PAGE + "/approve")
async def approve(
    view: SignedInViewDep, form: CheckedFormDep, db: SessionDep, resources: ResourcesDep
) -> Response:
    message_key = form.get("message_key")
    submitted = form.get("body_text")
    body_text = edited_text(submitted, await _drafted_text(db, message_key))
    if body_text is not None:
        try:
            DraftApproveIn(body_text=body_text)  # the REST body's rules
        except ValidationError:
            return await _render(
                view, db, status=422, error_key="drafts.empty_body", edits={message_key: submitted}
            )
    refused = await _act(view, db, resources, message_key, action="approve", body_text=body_text)
    if refused is not None:
        return refused
    done = "approved_edited" if body_text is not None else "approved"
    return RedirectResponse(f"{PAGE}?done={done}", status_code=303)


@router.post(PAGE + "/discard")
async def discard(
    view: SignedInViewDep, form: CheckedFormDep, db: SessionDep, resources: ResourcesDep
) -> Response:
    refused = await _act(
        view, db, resources, form.get("message_key"), action="discard", body_text=None
    )
    if refused is not None:
        return refused
    return RedirectResponse(f"{PAGE}?done=discarded", status_code=303)
