"""Dead letters: the open ones (or all), filtered; reprocess one; bulk reprocess after a dry run.

The list is ``listing.list_dead_letters`` (GET /v1/dead-letters); one dead letter is
reprocessed through its task (the Mail page's reprocess, POST /v1/tasks/{id}/reprocess);
the bulk form is ``Reprocessor.reprocess_dead_letters`` (POST /v1/dead-letters/reprocess):
the first post is always a dry run that shows how many would be republished, and only the
confirm form it renders, carrying the same filters, runs it for real.
"""

from __future__ import annotations

import uuid
from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mailroom_admin_api.console.pages import CheckedFormDep, ConsoleView, SignedInViewDep
from mailroom_admin_api.console.routes.mail import CONSOLE_ACTOR, KEY_PREFIX
from mailroom_admin_api.deps import ReprocessorDep, SessionDep, SettingsDep
from mailroom_admin_api.filters import DeadLetterFilter
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.repository import tasks as tasks_repo
from mailroom_admin_api.schemas import BulkReprocessIn, BulkReprocessOut, DeadLetterStage
from mailroom_admin_api.services import listing
from mailroom_common.logging import get_logger

__all__ = ["router"]

log = get_logger(__name__)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STAGES: tuple[str, ...] = get_args(DeadLetterStage)
Text = Annotated[str, Query(max_length=255)]


def _filters(stage: str, error_class: str) -> tuple[str | None, str | None, list[str]]:
    errors: list[str] = []
    chosen = stage if stage in STAGES else None
    if stage and chosen is None:
        errors.append("dead_letters.bad_stage")
    cls = error_class.strip() or None
    if cls is not None and "\x00" in cls:
        errors.append("dead_letters.bad_error_class")
    return chosen, cls, errors


@router.get("/console/dead-letters")
async def dead_letters(
    *,
    view: SignedInViewDep,
    db: SessionDep,
    stage: Text = "",
    error_class: Text = "",
    show: Text = "open",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    reprocessed: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    chosen, cls, errors = _filters(stage, error_class)
    open_only = show != "all"
    page = None
    if not errors:
        flt = DeadLetterFilter(stage=chosen, error_class=cls, open_only=open_only)
        try:
            page = await listing.list_dead_letters(db, flt, cursor or None, PAGE_SIZE)
        except ProblemError:
            errors.append("dead_letters.bad_cursor")
    items = page.items if page is not None else []
    task_ids = await tasks_repo.ids_by_message_key(db, [d.message_key for d in items])
    query = {
        k: v
        for k, v in (("stage", chosen or ""), ("error_class", cls or ""), ("show", show))
        if v and not (k == "show" and v == "open")
    }
    next_url = None
    if page is not None and page.next_cursor:
        next_url = "/console/dead-letters?" + urlencode({**query, "cursor": page.next_cursor})
    here = "/console/dead-letters" + (("?" + urlencode(query)) if query else "")
    return view.render(
        "dead_letters.html",
        status=400 if errors else 200,
        active="dead_letters",
        stages=STAGES,
        stage=chosen or "",
        error_class=cls or "",
        show="open" if open_only else "all",
        errors=sorted(set(errors)),
        letters=items,
        task_ids=task_ids,
        next_url=next_url,
        first_url=here if cursor else None,
        # After reprocessing one, the list again (open ones: it is gone) with a notice.
        back="/console/dead-letters?" + urlencode({**query, "reprocessed": "1"}),
        reprocessed=reprocessed,
        key=lambda: f"{KEY_PREFIX}{uuid.uuid4()}",
    )


def _bulk_page(
    view: ConsoleView,
    *,
    stage: str,
    error_class: str,
    result: BulkReprocessOut | None,
    status: int = 200,
    errors: list[str] | None = None,
    failure: str | None = None,
) -> HTMLResponse:
    return view.render(
        "dead_letters_bulk.html",
        status=status,
        active="dead_letters",
        stage=stage,
        error_class=error_class,
        result=result,
        errors=errors or [],
        failure=failure,
    )


@router.post("/console/dead-letters/reprocess")
async def bulk_reprocess(
    view: SignedInViewDep,
    form: CheckedFormDep,
    db: SessionDep,
    settings: SettingsDep,
    reprocessor: ReprocessorDep,
) -> Response:
    chosen, cls, errors = _filters(form.get("stage"), form.get("error_class"))
    if errors:
        return _bulk_page(view, stage="", error_class="", status=400, errors=errors, result=None)
    # Only the confirm form says confirm=yes; anything else is counted, never published.
    dry_run = form.get("confirm") != "yes"
    body = BulkReprocessIn(
        stage=chosen,  # one of STAGES or None
        error_class=cls,
        dry_run=dry_run,
        limit=settings.admin.bulk_reprocess_limit,
    )
    try:
        result = await reprocessor.reprocess_dead_letters(db, body, None)
    except ProblemError as exc:
        await db.rollback()
        return _bulk_page(
            view,
            stage=chosen or "",
            error_class=cls or "",
            status=exc.status,
            failure=exc.detail or exc.title,
            result=None,
        )
    if dry_run:
        return _bulk_page(view, stage=chosen or "", error_class=cls or "", result=result)
    log.info(
        "console.bulk_reprocessed",
        stage=chosen,
        error_class=cls,
        published=result.published,
        by=CONSOLE_ACTOR,
    )
    query = {k: v for k, v in (("stage", chosen), ("error_class", cls)) if v}
    query["reprocessed"] = str(result.published)
    return RedirectResponse("/console/dead-letters?" + urlencode(query), status_code=303)
