"""``/v1/threads``: conversations a person owns (the bot answers none of their mail)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from mailroom_admin_api.deps import SessionDep, SettingsDep
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes._params import CursorParam, LimitParam, message_id_path
from mailroom_admin_api.services.threads import list_owned_threads, release_thread
from mailroom_admin_api.thread_schemas import OwnedThreadPage, ThreadReleaseOut
from mailroom_admin_api.threads_logic import DEFAULT_RELEASED_BY

__all__ = ["router"]

router = APIRouter(prefix="/v1/threads", tags=["threads"])

ThreadParam = Annotated[
    str,
    message_id_path("The thread's group id (URL-encoded), as GET /v1/threads/owned lists it."),
]


@router.get(
    "/owned",
    response_model=OwnedThreadPage,
    operation_id="listOwnedThreads",
    summary="Threads a person owns, most recent activity first",
    description=(
        "A thread is owned (handed off, or a colleague wrote in it) while one of its rows is "
        "unreleased and its last activity is within `MAILROOM_THREAD_QUIET_DAYS`; the bot "
        "answers none of its mail. One item per thread, with the reason and message of its "
        "newest row, `quiet_until` (when it goes back to the bot unless more mail arrives), "
        "and the subject and sender of that message's task. `total_owned` counts every "
        "owned thread, not only this page."
    ),
    responses=problem_responses(400, 401, 422),
)
async def get_owned_threads(
    session: SessionDep,
    settings: SettingsDep,
    cursor: CursorParam = None,
    limit: LimitParam = 50,
) -> OwnedThreadPage:
    return await list_owned_threads(session, settings.common.thread_quiet_days, cursor, limit)


@router.post(
    "/{thread:path}/release",
    response_model=ThreadReleaseOut,
    operation_id="releaseThread",
    summary="Give an owned thread back to the bot",
    description=(
        "Sets `released_at` on every unreleased row of the thread; the responder answers its "
        "next mail again (its owner cache sees the change within seconds). A later hand-off "
        "or a colleague's reply owns it again. 404 `thread-not-owned` when the thread is not "
        "owned now (unknown, released already, or quiet too long), so releasing twice "
        "answers 404 the second time and changes nothing."
    ),
    responses=problem_responses(401, 404, 422),
)
async def post_release(
    thread: ThreadParam, session: SessionDep, settings: SettingsDep
) -> ThreadReleaseOut:
    return await release_thread(
        session, thread, settings.common.thread_quiet_days, DEFAULT_RELEASED_BY
    )
