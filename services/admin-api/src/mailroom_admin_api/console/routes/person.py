"""Needs a person: hand-offs and human-owned tasks, and the threads a person owns, oldest
first; mark a task resolved, give a thread back to the bot.

Both actions call the services of the REST API (``POST /v1/tasks/{id}/resolve``,
``POST /v1/threads/{thread}/release``), recorded as the operator's, as there.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.console.pages import CheckedFormDep, ConsoleView, SignedInViewDep
from mailroom_admin_api.deps import ResourcesDep, SessionDep, SettingsDep
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.services.corrections_logic import DEFAULT_CORRECTED_BY
from mailroom_admin_api.services.handoffs import list_handoffs, resolve_task
from mailroom_admin_api.services.threads import list_owned_threads, release_thread
from mailroom_admin_api.settings import ServiceSettings
from mailroom_admin_api.waiting import HandoffFilter
from mailroom_common.logging import get_logger
from mailroom_common.topics import STATUS

__all__ = ["PAGE", "router"]

log = get_logger(__name__)

router = APIRouter(include_in_schema=False)

PAGE = "/console/person"
# The console signs in with the one shared admin token, which names nobody: an action
# taken here is the operator's, exactly as the same call through /v1.
ACTOR = DEFAULT_CORRECTED_BY
SHOWN = 100  # rows of each list on the page (the oldest)
_DONE = {"resolved": "person.done_resolved", "released": "person.done_released"}
_KIND_MESSAGE = {
    "task-not-found": "person.not_found",
    "task-not-waiting": "person.not_waiting",
    "thread-not-owned": "person.not_owned",
    "kafka-unavailable": "person.kafka",
}


async def _render(
    view: ConsoleView,
    db: AsyncSession,
    settings: ServiceSettings,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    handoffs = await list_handoffs(db, HandoffFilter(), None, SHOWN)
    threads = await list_owned_threads(db, settings.common.thread_quiet_days, None, SHOWN)
    # The API lists owned threads by most recent activity; this page puts the longest-owned
    # first, like the hand-offs.
    owned = sorted(threads.items, key=lambda th: (th.owned_since, th.thread))
    return view.render(
        "person.html",
        status=status,
        active="needs_person",
        handoffs=handoffs,
        threads=threads,
        owned=owned,
        notice=notice,
        error=error,
    )


@router.get(PAGE)
async def needs_person(
    view: SignedInViewDep, db: SessionDep, settings: SettingsDep, done: str | None = None
) -> HTMLResponse:
    notice = _DONE.get(done or "")
    return await _render(view, db, settings, notice=notice)


@router.post(PAGE + "/tasks/{task_id}/resolve")
async def resolve(
    task_id: Annotated[uuid.UUID, Path()],
    view: SignedInViewDep,
    form: CheckedFormDep,
    db: SessionDep,
    resources: ResourcesDep,
) -> Response:
    del form  # checked for its CSRF token; it carries nothing else
    try:
        await resolve_task(
            db,
            resources.producer,
            resources.settings.kafka.topic(STATUS),
            task_id,
            resolved_by=ACTOR,
            via="console",
        )
    except ProblemError as exc:
        await db.rollback()
        return await _refused(view, db, resources.settings, exc)
    log.info("console.resolved", task_id=str(task_id), by=ACTOR)
    return RedirectResponse(f"{PAGE}?done=resolved", status_code=303)


@router.post(PAGE + "/threads/release")
async def release(
    view: SignedInViewDep, form: CheckedFormDep, db: SessionDep, settings: SettingsDep
) -> Response:
    thread = form.get("thread").strip()
    if not thread:
        return await _render(view, db, settings, status=404, error="person.not_owned")
    try:
        await release_thread(db, thread, settings.common.thread_quiet_days, ACTOR)
    except ProblemError as exc:
        return await _refused(view, db, settings, exc)
    log.info("console.thread_released", thread=thread, by=ACTOR)
    return RedirectResponse(f"{PAGE}?done=released", status_code=303)


async def _refused(
    view: ConsoleView, db: AsyncSession, settings: ServiceSettings, exc: ProblemError
) -> HTMLResponse:
    kind = exc.type.rsplit("/", 1)[-1]
    message = _KIND_MESSAGE.get(kind, "error.title")
    return await _render(view, db, settings, status=exc.status, error=message)
